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
                    let resources: Vec<Value> =
                        resources.iter().map(|(plural, s)| resource_discovery(group, version, plural, s)).collect();
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
    let verbs: &[&str] = if s.create_only { &["create"] } else { &ALL_VERBS };
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

/// What every stored resource serves.
const ALL_VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// The `APIResourceList` of a group-version, if it is served.
pub(super) fn resource_list(state: &State, group: &str, version: &str) -> Option<Value> {
    let verbs = ALL_VERBS;
    let mut resources = Vec::new();
    for ((_, _, plural), s) in state.served.iter().filter(|((g, v, _), _)| g == group && v == version) {
        let verbs: &[&str] = if s.create_only { &["create"] } else { &verbs };
        resources.push(json!({"name": plural, "singularName": s.kind.to_lowercase(), "namespaced": s.namespaced, "kind": s.kind, "verbs": verbs}));
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
