//! Subresources: `status` and `scale` as a CRD declares them, and the named subresources of
//! the core API (`eviction`, `binding`, `log`, `token`, `finalize`, `approval`,
//! `ephemeralcontainers`, `resize`), each changing only what the real one changes.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::responses::{ApiError, Handled, Reply, bad_request, ok};
use super::{ApiServer, Target, applied_configuration, apply_patch, missing, not_found, now, refuse_strategic, status};

/// The subresources a registered resource has.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceOptions {
    /// A `status` subresource: the main endpoint ignores status, `/status` everything else.
    pub status: bool,
    /// A `scale` subresource.
    pub scale: Option<ScaleSubresource>,
}

/// Where a `scale` subresource reads and writes, as JSON paths (`.spec.replicas`), the way a
/// CRD's `subresources.scale` says it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleSubresource {
    /// `specReplicasPath`
    pub spec_replicas_path: String,
    /// `statusReplicasPath`
    pub status_replicas_path: String,
    /// `labelSelectorPath`: a string in serialized label-selector form.
    pub label_selector_path: Option<String>,
}

impl Default for ScaleSubresource {
    fn default() -> Self {
        ScaleSubresource {
            spec_replicas_path: ".spec.replicas".into(),
            status_replicas_path: ".status.replicas".into(),
            label_selector_path: Some(".status.selector".into()),
        }
    }
}

impl ResourceOptions {
    /// What a resource of the Kubernetes API has: `status` (not the kinds that have none, as
    /// `ConfigMap`, `Secret`, RBAC or `Lease`), and `scale` for the workloads.
    pub fn builtin(group: &str, plural: &str) -> ResourceOptions {
        // The v1.36 resources whose objects have no `status`, hence no status subresource.
        let without_status = matches!(
            (group, plural),
            (
                "",
                "configmaps" | "secrets" | "serviceaccounts" | "endpoints" | "events" | "limitranges" | "podtemplates"
            ) | ("apps", "controllerrevisions")
                | ("rbac.authorization.k8s.io", _)
                | ("coordination.k8s.io", "leases")
                | ("events.k8s.io", "events")
                | ("discovery.k8s.io", "endpointslices")
                | ("scheduling.k8s.io", "priorityclasses")
                | ("node.k8s.io", "runtimeclasses")
                | ("networking.k8s.io", "ingressclasses")
                | ("storage.k8s.io", "storageclasses" | "csidrivers" | "csinodes")
                | ("admissionregistration.k8s.io", "mutatingwebhookconfigurations" | "validatingwebhookconfigurations")
        );
        let scale = matches!(
            (group, plural),
            ("apps", "deployments" | "replicasets" | "statefulsets") | ("", "replicationcontrollers")
        );
        // Built-in workloads derive the scale selector from `spec.selector`.
        let scale = scale.then(|| ScaleSubresource { label_selector_path: None, ..ScaleSubresource::default() });
        ResourceOptions { status: !without_status, scale }
    }
}

/// `.spec.replicas` as a JSON pointer.
fn pointer(path: &str) -> String {
    path.trim_start_matches('.').split('.').fold(String::new(), |p, s| format!("{p}/{s}"))
}

/// Sets the value at a JSON pointer, making the objects on the way.
fn set(target: &mut Value, pointer: &str, value: Value) {
    let mut at = target;
    for part in pointer.split('/').skip(1) {
        if !at.is_object() {
            *at = json!({});
        }
        at = &mut at[part];
    }
    *at = value;
}

fn success(code: StatusCode) -> Handled {
    ok(code, json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code.as_u16()}))
}

impl ApiServer {
    pub(super) fn subresource(
        &self,
        t: &Target,
        name: &str,
        sub: &str,
        method: &Method,
        content_type: &str,
        body: &[u8],
    ) -> Handled {
        let (group, _, plural) = &t.resource;
        let kind = (group.as_str(), plural.as_str(), sub);
        let unserved =
            || ApiError { details: Some(json!({})), ..not_found("the server could not find the requested resource") };
        let served = match kind {
            (_, _, "status") => t.served.options.status,
            (_, _, "scale") => t.served.options.scale.is_some(),
            ("", "pods", "eviction" | "binding" | "log" | "ephemeralcontainers" | "resize")
            | ("", "serviceaccounts", "token")
            | ("", "namespaces", "finalize")
            | ("certificates.k8s.io", "certificatesigningrequests", "approval") => true,
            _ => false,
        };
        if !served {
            return Err(unserved());
        }
        let Some(current) = self.current(t, name) else {
            return Err(missing(t, name));
        };
        match (kind, method) {
            ((_, _, "scale"), _) => self.scale(t, name, current, method, content_type, body),
            ((_, _, "eviction"), &Method::POST) => {
                self.delete(t, name)?;
                success(StatusCode::CREATED)
            }
            ((_, _, "binding"), &Method::POST) => {
                let Ok(binding) = serde_json::from_slice::<Value>(body) else {
                    return Err(bad_request("the body must be a Binding"));
                };
                let Some(node) = binding["target"]["name"].as_str().filter(|n| !n.is_empty()) else {
                    return Err(bad_request("Binding.target.name is required"));
                };
                let already = |bound: &str| {
                    status(
                        StatusCode::CONFLICT,
                        "Conflict",
                        &format!("pod {name} is already assigned to node \"{bound}\""),
                    )
                };
                if let Some(bound) = current["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
                    return Err(already(bound));
                }
                let node = node.to_owned();
                self.update_with(t, name, false, |current| {
                    // Checked again under the write's lock: two binds race to one winner.
                    if let Some(bound) = current["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
                        return Err(already(bound));
                    }
                    let mut object = current.clone();
                    object["spec"]["nodeName"] = json!(node);
                    Ok(object)
                })?;
                success(StatusCode::CREATED)
            }
            ((_, _, "log"), &Method::GET) => {
                let key = (t.namespace.clone().unwrap_or_default(), name.to_owned());
                Ok(Reply::Text(self.lock().logs.get(&key).cloned().unwrap_or_default()))
            }
            ((_, _, "token"), &Method::POST) => {
                let Ok(mut request) = serde_json::from_slice::<Value>(body) else {
                    return Err(bad_request("the body must be a TokenRequest"));
                };
                let seconds = request["spec"]["expirationSeconds"].as_i64().unwrap_or(3600);
                let expires = k8s_openapi::jiff::Timestamp::now()
                    .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(seconds))
                    .unwrap_or_default()
                    .round(k8s_openapi::jiff::Unit::Second)
                    .unwrap_or_default();
                let uid = &current["metadata"]["uid"];
                let namespace = t.namespace.as_deref().unwrap_or_default();
                request["apiVersion"] = json!("authentication.k8s.io/v1");
                request["kind"] = json!("TokenRequest");
                request["metadata"]["name"] = json!(name);
                request["metadata"]["namespace"] = json!(namespace);
                request["metadata"]["creationTimestamp"] = json!(now());
                request["status"] = json!({
                    "token": format!("fake-token.{namespace}.{name}.{}", uid.as_str().unwrap_or_default()),
                    "expirationTimestamp": expires.to_string(),
                });
                ok(StatusCode::CREATED, request)
            }
            ((_, _, "status" | "finalize" | "approval" | "ephemeralcontainers" | "resize"), &Method::GET) => {
                ok(StatusCode::OK, current)
            }
            ((_, _, "status"), &Method::PATCH) if content_type.starts_with("application/apply-patch") => {
                self.apply(t, name, body)
            }
            ((_, _, part @ ("status" | "finalize" | "approval" | "ephemeralcontainers" | "resize")), _) => {
                if *method != Method::PUT && *method != Method::PATCH {
                    return Err(method_not_allowed(method, sub));
                }
                let put = write_body(t, method, content_type, body, "a JSON object")?;
                self.update_with(t, name, put.is_some(), |current| {
                    let sent = match &put {
                        Some(sent) => sent.clone(),
                        None => apply_patch(current.clone(), content_type, body, &t.served.kind, name)?,
                    };
                    // Only what the subresource owns changes; the rest stays as stored.
                    let mut object = current.clone();
                    let metadata = if matches!(part, "status" | "finalize") { kept_metadata(t) } else { &[] };
                    for owned in owned_by(part).iter().chain(metadata) {
                        let value = sent.pointer(owned).cloned().unwrap_or(Value::Null);
                        set(&mut object, owned, value);
                    }
                    keep_sent_version(&mut object, &sent, method);
                    Ok(object)
                })
            }
            _ => Err(method_not_allowed(method, sub)),
        }
    }

    fn scale(
        &self,
        t: &Target,
        name: &str,
        current: Value,
        method: &Method,
        content_type: &str,
        body: &[u8],
    ) -> Handled {
        let paths = t.served.options.scale.clone().unwrap_or_default();
        let scale_of = |object: &Value| {
            let selector = match &paths.label_selector_path {
                Some(p) => object.pointer(&pointer(p)).cloned().unwrap_or(Value::Null),
                None => json!(selector_string(&object["spec"]["selector"])),
            };
            let mut status = json!({
                "replicas": object.pointer(&pointer(&paths.status_replicas_path)).cloned().unwrap_or(json!(0)),
            });
            if selector.as_str().is_some_and(|s| !s.is_empty()) {
                status["selector"] = selector;
            }
            let meta = &object["metadata"];
            json!({
                "apiVersion": "autoscaling/v1",
                "kind": "Scale",
                "metadata": {
                    "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                    "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
                },
                "spec": {"replicas": object.pointer(&pointer(&paths.spec_replicas_path)).cloned().unwrap_or(json!(0))},
                "status": status,
            })
        };
        let replicas_of = |sent: &Value| {
            sent["spec"]["replicas"]
                .as_i64()
                .ok_or_else(|| status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", "spec.replicas: Required value"))
        };
        match *method {
            Method::GET => return ok(StatusCode::OK, scale_of(&current)),
            // Applied in the object's terms: the manager owns the replicas field the scale
            // subresource maps to, through `scale`.
            Method::PATCH if content_type.starts_with("application/apply-patch") => {
                let Some(manager) = t.query.get("fieldManager").filter(|m| !m.is_empty()) else {
                    return Err(bad_request("PATCH, fieldManager is required for apply requests"));
                };
                let replicas = replicas_of(&applied_configuration(body)?)?;
                let mut applied = json!({});
                set(&mut applied, &pointer(&paths.spec_replicas_path), json!(replicas));
                self.apply_value(t, name, manager, applied)?;
            }
            Method::PUT | Method::PATCH => {
                let put = write_body(t, method, content_type, body, "a Scale")?;
                self.update_with(t, name, put.is_some(), |current| {
                    let sent = match &put {
                        Some(sent) => sent.clone(),
                        None => apply_patch(scale_of(current), content_type, body, "Scale", name)?,
                    };
                    let replicas = replicas_of(&sent)?;
                    let mut object = current.clone();
                    set(&mut object, &pointer(&paths.spec_replicas_path), json!(replicas));
                    keep_sent_version(&mut object, &sent, method);
                    Ok(object)
                })?;
            }
            _ => return Err(method_not_allowed(method, "scale")),
        }
        match self.current(t, name) {
            Some(stored) => ok(StatusCode::OK, scale_of(&stored)),
            None => Err(missing(t, name)),
        }
    }
}

/// What a subresource write sends: a PUT's object (`Some`), or `None` for a patch, which is
/// applied to the stored object under the write's lock. A strategic merge patch of a custom
/// resource is a 415 here, as everywhere.
fn write_body(
    t: &Target,
    method: &Method,
    content_type: &str,
    body: &[u8],
    what: &str,
) -> Result<Option<Value>, ApiError> {
    if let Some(error) = refuse_strategic(t, content_type) {
        return Err(error);
    }
    if *method != Method::PUT {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(Some(v)),
        _ => Err(bad_request(&format!("the body must be {what}"))),
    }
}

/// A PUT names the version it read, which the update checks; a PATCH applies to what is stored.
fn keep_sent_version(object: &mut Value, sent: &Value, method: &Method) {
    if *method == Method::PUT
        && let Some(rv) = sent["metadata"]["resourceVersion"].as_str()
    {
        object["metadata"]["resourceVersion"] = json!(rv);
    }
}

/// The parts of an object a subresource writes, as JSON pointers.
fn owned_by(subresource: &str) -> &'static [&'static str] {
    match subresource {
        "status" => &["/status"],
        "finalize" => &["/spec/finalizers"],
        "approval" => &["/status/conditions"],
        "ephemeralcontainers" => &["/spec/ephemeralContainers"],
        // Resizing changes the containers' resources, which live in the containers.
        "resize" => &["/spec/containers"],
        _ => &[],
    }
}

/// The metadata a `/status` (or a namespace's `/finalize`) write changes besides what the
/// subresource owns, as kube-apiserver v1.36 answers: a built-in kind's strategy resets only
/// its spec, so labels, annotations and finalizers go through, except the workloads' labels,
/// which `apps` resets too; a custom resource's `/status` changes nothing but `status`.
fn kept_metadata(t: &Target) -> &'static [&'static str] {
    const ALL: &[&str] = &["/metadata/labels", "/metadata/annotations", "/metadata/finalizers"];
    const BUT_LABELS: &[&str] = &["/metadata/annotations", "/metadata/finalizers"];
    let (group, _, plural) = &t.resource;
    match (group.as_str(), plural.as_str()) {
        _ if t.is_custom() => &[],
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") => BUT_LABELS,
        _ => ALL,
    }
}

/// A `LabelSelector` as the `a=b,c in (d)` string a `Scale` carries.
fn selector_string(selector: &Value) -> String {
    let mut terms: Vec<String> = selector["matchLabels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    for e in selector["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        terms.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            _ => format!("!{key}"),
        });
    }
    terms.join(",")
}

fn method_not_allowed(method: &Method, sub: &str) -> ApiError {
    status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &format!("{method} is not supported on {sub}"))
}
