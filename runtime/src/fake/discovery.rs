//! Discovery: `/api`, `/apis` and each served group-version's resources, and the same as
//! aggregated discovery (`apidiscovery.k8s.io/v2`, one request for every group).

use super::*;

/// What a client sends to ask `/api` and `/apis` for aggregated discovery.
const AGGREGATED: &str = "as=APIGroupDiscoveryList";
/// The content type the real server answers aggregated discovery with.
const AGGREGATED_TYPE: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

impl ApiServer {
    /// `/api`, `/apis`, `/apis/<group>` and the resource lists of each group-version, so
    /// `kube::Discovery` works.
    pub(super) fn discovery(&self, path: &str, accept: &str) -> Option<Response<Body>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let state = self.lock();
        // The first type a client accepts wins, as the server negotiates it; kube and
        // client-go list the aggregated v2 form first and plain JSON last.
        let aggregated = accept.split(',').next().is_some_and(|first| first.contains(AGGREGATED));
        if aggregated && matches!(segments.as_slice(), ["api"] | ["apis"]) {
            let core = segments.as_slice() == ["api"];
            let body = aggregated_list(&state, core);
            let mut response = respond(StatusCode::OK, &body);
            response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(AGGREGATED_TYPE));
            return Some(response);
        }
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (group, version, _) in state.served.keys() {
            let versions = groups.entry(group.as_str()).or_default();
            if !versions.contains(&version.as_str()) {
                versions.push(version.as_str());
            }
        }
        for versions in groups.values_mut() {
            by_priority(versions);
        }
        let group_json = |name: &str, versions: &[&str]| {
            let versions: Vec<Value> =
                versions.iter().map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v})).collect();
            json!({"name": name, "versions": versions, "preferredVersion": versions.first()})
        };
        let body = match segments.as_slice() {
            ["api"] => json!({
                "kind": "APIVersions",
                "versions": groups.get("").cloned().unwrap_or_default(),
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
            }),
            ["apis"] => json!({
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": groups.iter().filter(|(g, _)| !g.is_empty()).map(|(g, v)| group_json(g, v)).collect::<Vec<_>>(),
            }),
            ["apis", group] => {
                let mut body = group_json(group, groups.get(group)?);
                body["kind"] = json!("APIGroup");
                body["apiVersion"] = json!("v1");
                body
            }
            ["api", version] => resource_list(&state, "", version)?,
            ["apis", group, version] => resource_list(&state, group, version)?,
            _ => return None,
        };
        Some(respond(StatusCode::OK, &body))
    }
}

/// The versions of a group, newest first as the server prefers them: GA before beta before
/// alpha, higher numbers first (Kubernetes' version priority).
fn by_priority(versions: &mut [&str]) {
    fn rank(v: &str) -> (u8, u64, u64) {
        let rest = v.strip_prefix('v').unwrap_or(v);
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major = digits.parse().unwrap_or(0);
        let tail = &rest[digits.len()..];
        let (level, minor) = match tail {
            "" => (3, 0),
            t if t.starts_with("beta") => (2, t["beta".len()..].parse().unwrap_or(0)),
            t if t.starts_with("alpha") => (1, t["alpha".len()..].parse().unwrap_or(0)),
            _ => (0, 0),
        };
        (level, major, minor)
    }
    versions.sort_by(|a, b| rank(b).cmp(&rank(a)).then_with(|| a.cmp(b)));
}

/// `/api` or `/apis` as aggregated discovery: every group with its versions and their
/// resources and subresources, in one `APIGroupDiscoveryList`.
fn aggregated_list(state: &State, core: bool) -> Value {
    // group -> version -> (plural, resource)
    type Versions<'a> = BTreeMap<&'a str, Vec<(&'a str, &'a Served)>>;
    let mut groups: BTreeMap<&str, Versions> = BTreeMap::new();
    for ((group, version, plural), served) in &state.served {
        if group.is_empty() == core {
            groups.entry(group).or_default().entry(version).or_default().push((plural, served));
        }
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let mut order: Vec<&str> = versions.keys().copied().collect();
            by_priority(&mut order);
            let versions: Vec<Value> = order
                .iter()
                .map(|version| {
                    let mut resources = versions.get(version).cloned().unwrap_or_default();
                    resources.sort_by_key(|(plural, _)| *plural);
                    let resources: Vec<Value> = resources
                        .iter()
                        .map(|(plural, s)| {
                            with_names(resource_discovery(group, version, plural, s), names(state, group, plural))
                        })
                        .collect();
                    json!({"version": version, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let metadata = if core {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": group, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// One resource of aggregated discovery.
fn resource_discovery(group: &str, version: &str, plural: &str, s: &Served) -> Value {
    let kind = |kind: &str| json!({"group": group, "version": version, "kind": kind});
    let verbs = verbs(s);
    let mut subresources = Vec::new();
    if s.options.status {
        subresources
            .push(json!({"subresource": "status", "responseKind": kind(&s.kind), "verbs": ["get", "patch", "update"]}));
    }
    if s.options.scale.is_some() {
        subresources.push(json!({
            "subresource": "scale",
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": ["get", "patch", "update"],
        }));
    }
    json!({
        "resource": plural,
        "responseKind": kind(&s.kind),
        "scope": if s.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": s.kind.to_lowercase(),
        "verbs": verbs,
        "subresources": subresources,
    })
}

/// What every stored built-in resource serves, in the order the server lists them.
const ALL_VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
/// The same for a custom resource, in apiextensions' order.
const CUSTOM_VERBS: [&str; 8] = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

fn verbs(s: &Served) -> &'static [&'static str] {
    match (s.create_only, s.custom || s.schema.is_some()) {
        (true, _) => &["create"],
        (false, true) => &CUSTOM_VERBS,
        (false, false) => &ALL_VERBS,
    }
}

/// A resource's short names and categories: a CRD's from its `spec.names`, a built-in
/// resource's as kube-apiserver v1.36 lists them.
fn names(state: &State, group: &str, plural: &str) -> (Vec<String>, Vec<String>) {
    let crd = state
        .objects
        .get(&storage("apiextensions.k8s.io", "customresourcedefinitions"))
        .and_then(|crds| crds.get(&(String::new(), format!("{plural}.{group}"))));
    if let Some(crd) = crd {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
        };
        return (strings(&crd["spec"]["names"]["shortNames"]), strings(&crd["spec"]["names"]["categories"]));
    }
    let (short, categories): (&[&str], &[&str]) = match (group, plural) {
        ("", "componentstatuses") => (&["cs"], &[]),
        ("", "configmaps") => (&["cm"], &[]),
        ("", "endpoints") => (&["ep"], &[]),
        ("", "events") | ("events.k8s.io", "events") => (&["ev"], &[]),
        ("", "limitranges") => (&["limits"], &[]),
        ("", "namespaces") => (&["ns"], &[]),
        ("", "nodes") => (&["no"], &[]),
        ("", "persistentvolumeclaims") => (&["pvc"], &[]),
        ("", "persistentvolumes") => (&["pv"], &[]),
        ("", "pods") => (&["po"], &["all"]),
        ("", "replicationcontrollers") => (&["rc"], &["all"]),
        ("", "resourcequotas") => (&["quota"], &[]),
        ("", "serviceaccounts") => (&["sa"], &[]),
        ("", "services") => (&["svc"], &["all"]),
        ("admissionregistration.k8s.io" | "apiregistration.k8s.io", _) => (&[], &["api-extensions"]),
        ("apiextensions.k8s.io", "customresourcedefinitions") => (&["crd", "crds"], &["api-extensions"]),
        ("apps", "daemonsets") => (&["ds"], &["all"]),
        ("apps", "deployments") => (&["deploy"], &["all"]),
        ("apps", "replicasets") => (&["rs"], &["all"]),
        ("apps", "statefulsets") => (&["sts"], &["all"]),
        ("autoscaling", "horizontalpodautoscalers") => (&["hpa"], &["all"]),
        ("batch", "cronjobs") => (&["cj"], &["all"]),
        ("batch", "jobs") => (&[], &["all"]),
        ("certificates.k8s.io", "certificatesigningrequests") => (&["csr"], &[]),
        ("networking.k8s.io", "ingresses") => (&["ing"], &[]),
        ("networking.k8s.io", "ipaddresses") => (&["ip"], &[]),
        ("networking.k8s.io", "networkpolicies") => (&["netpol"], &[]),
        ("policy", "poddisruptionbudgets") => (&["pdb"], &[]),
        ("scheduling.k8s.io", "priorityclasses") => (&["pc"], &[]),
        ("storage.k8s.io", "storageclasses") => (&["sc"], &[]),
        ("storage.k8s.io", "volumeattributesclasses") => (&["vac"], &[]),
        _ => (&[], &[]),
    };
    let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
    (owned(short), owned(categories))
}

/// Discovery's `storageVersionHash`: the first 8 bytes of the SHA-256 of
/// `group/version/kind` (of the version objects are stored in), in base64.
fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.get(..8).unwrap_or_default())
}

/// Adds short names and categories to a discovery entry when there are any, as the server's
/// `omitempty` does.
fn with_names(mut entry: Value, (short, categories): (Vec<String>, Vec<String>)) -> Value {
    if !short.is_empty() {
        entry["shortNames"] = json!(short);
    }
    if !categories.is_empty() {
        entry["categories"] = json!(categories);
    }
    entry
}

/// The `APIResourceList` of a group-version, if it is served.
pub(super) fn resource_list(state: &State, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for ((_, _, plural), s) in state.served.iter().filter(|((g, v, _), _)| g == group && v == version) {
        let entry = json!({
            "name": plural, "singularName": s.kind.to_lowercase(), "namespaced": s.namespaced, "kind": s.kind,
            "verbs": verbs(s), "storageVersionHash": storage_version_hash(group, version, &s.kind),
        });
        resources.push(with_names(entry, names(state, group, plural)));
        if s.options.status {
            resources.push(json!({"name": format!("{plural}/status"), "singularName": "", "namespaced": s.namespaced, "kind": s.kind, "verbs": ["get", "patch", "update"]}));
        }
        if s.options.scale.is_some() {
            resources.push(json!({"name": format!("{plural}/scale"), "singularName": "", "namespaced": s.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
}
