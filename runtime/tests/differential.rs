//! The differential harness: one sequence of raw HTTP requests sent to the in-memory API server
//! and to a real one (`KUBE_CODEGEN_E2E_KUBECONFIG`), every answer compared: status code,
//! content type, and body (a `Status`'s reason, message and causes included) with what varies
//! between any two servers masked (uids, resourceVersions, timestamps, generated names,
//! continue tokens). A step where the fake answers otherwise names the entry of
//! `fake::KNOWN_DIFFERENCES` that says why; the run fails on a difference no step names, and on
//! a step that names one where the answers agree (the list stays exact).
//!
//! Without a real server the fake's half still runs (every step must get an answer), and the
//! comparison is skipped with a message. `KCG_DIFF_DUMP=DIR` writes both sides' masked answers
//! there, one file per step, for reading a difference in full.

use std::collections::BTreeMap;
use std::time::Duration;

use http::{Method, Request};
use http_body_util::BodyExt;
use kube_codegen_runtime::fake::KnownDifference;

mod support;
use serde_json::{Value, json};
use support::{like_kube_apiserver, real_client, suffix};

/// What of an answer is compared.
#[derive(Clone)]
enum Look {
    /// Code, content type and the whole masked body.
    Whole,
    /// Code, content type and the values at these JSON pointers of the body; a pointer that
    /// starts with `@name=` picks, in the array before it, the element whose `name` is that.
    Pick(Vec<String>),
    /// Code and content type only (a body too large or too volatile to compare).
    Code,
}

/// One request of the sequence.
#[derive(Clone)]
struct Step {
    name: String,
    method: Method,
    /// With `{ns}`, `{group}` and captured `{names}` replaced.
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
    look: Look,
    /// (name, JSON pointer): a value of this answer for later paths and bodies.
    capture: Option<(&'static str, &'static str)>,
    /// The known difference this step shows on the fake.
    differs: Option<&'static str>,
    /// Asked again (up to 60 s) until the value at this pointer (into `{"code", "body"}`) is
    /// this one; then compared.
    until: Option<(&'static str, Value)>,
}

fn step(name: &str, method: Method, path: &str) -> Step {
    Step {
        name: name.to_owned(),
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        body: None,
        look: Look::Whole,
        capture: None,
        differs: None,
        until: None,
    }
}

fn get(name: &str, path: &str) -> Step {
    step(name, Method::GET, path)
}

fn send(name: &str, method: Method, path: &str, body: Value) -> Step {
    step(name, method, path).json(body)
}

impl Step {
    fn json(mut self, body: Value) -> Step {
        self.body = Some(body.to_string());
        self.header("content-type", "application/json")
    }
    fn patch(name: &str, path: &str, content_type: &str, body: Value) -> Step {
        let mut s = step(name, Method::PATCH, path);
        s.body = Some(body.to_string());
        s.header("content-type", content_type)
    }
    fn header(mut self, name: &'static str, value: &str) -> Step {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_owned()));
        self
    }
    fn accept(self, value: &str) -> Step {
        self.header("accept", value)
    }
    fn pick(mut self, pointers: &[&str]) -> Step {
        self.look = Look::Pick(pointers.iter().map(|p| (*p).to_owned()).collect());
        self
    }
    fn code_only(mut self) -> Step {
        self.look = Look::Code;
        self
    }
    fn capture(mut self, name: &'static str, pointer: &'static str) -> Step {
        self.capture = Some((name, pointer));
        self
    }
    fn differs(mut self, key: &'static str) -> Step {
        assert!(KnownDifference::find(key).is_some(), "`{key}` is not in fake::KNOWN_DIFFERENCES");
        self.differs = Some(key);
        self
    }
    fn until(mut self, pointer: &'static str, value: Value) -> Step {
        self.until = Some((pointer, value));
        self
    }
}

/// An answer as compared: code, media type, masked body.
#[derive(Clone, Debug, PartialEq)]
struct Answer {
    code: u16,
    content_type: String,
    body: Value,
}

impl Answer {
    fn as_json(&self) -> Value {
        json!({"code": self.code, "contentType": self.content_type, "body": self.body})
    }
}

/// The server a sequence runs against, with what it has captured so far.
struct Side {
    client: kube::Client,
    vars: BTreeMap<&'static str, String>,
}

impl Side {
    fn fill(&self, text: &str, ns: &str, group: &str) -> String {
        let mut out = text.replace("{ns}", ns).replace("{group}", group);
        for (name, value) in &self.vars {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    /// Sends a step and reads its whole answer (a watch ends by its `timeoutSeconds`).
    async fn ask(&mut self, step: &Step, ns: &str, group: &str) -> (Answer, Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (answer, raw) = self.ask_once(step, ns, group).await;
            let done = match &step.until {
                None => true,
                Some((pointer, value)) => pick(&json!({"code": answer.code, "body": raw}), pointer) == *value,
            };
            if done || tokio::time::Instant::now() > deadline {
                if let Some((name, pointer)) = step.capture {
                    let value = pick(&raw, pointer);
                    let value = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                    self.vars.insert(name, value);
                }
                return (answer, raw);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn ask_once(&self, step: &Step, ns: &str, group: &str) -> (Answer, Value) {
        let mut request = Request::builder().method(step.method.clone()).uri(self.fill(&step.path, ns, group));
        for (name, value) in &step.headers {
            request = request.header(*name, value.as_str());
        }
        let body = step.body.as_deref().map(|b| self.fill(b, ns, group)).unwrap_or_default();
        let request = request.body(kube::client::Body::from(body.into_bytes())).unwrap();
        let response = tokio::time::timeout(Duration::from_secs(30), self.client.send(request))
            .await
            .unwrap_or_else(|_| panic!("{}: no answer within 30 s", step.name))
            .unwrap_or_else(|e| panic!("{}: {e}", step.name));
        let code = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .replace(' ', "")
            .to_ascii_lowercase();
        let bytes = tokio::time::timeout(Duration::from_secs(30), response.into_body().collect())
            .await
            .unwrap_or_else(|_| panic!("{}: the answer did not end within 30 s", step.name))
            .unwrap_or_else(|e| panic!("{}: {e}", step.name))
            .to_bytes();
        let raw = parse(&bytes);
        let body = match &step.look {
            Look::Whole => mask(&raw),
            Look::Pick(pointers) => {
                let picked: serde_json::Map<String, Value> = pointers
                    .iter()
                    .map(|p| {
                        // Masked as the field it is: `/metadata/continue` as a `continue`.
                        let key = p.rsplit('/').next().unwrap_or_default().to_owned();
                        let mut wrapped = serde_json::Map::new();
                        wrapped.insert(key.clone(), pick(&raw, p));
                        (p.clone(), mask(&Value::Object(wrapped)).get(&key).cloned().unwrap_or_default())
                    })
                    .collect();
                Value::Object(picked)
            }
            Look::Code => Value::Null,
        };
        (Answer { code, content_type, body }, raw)
    }
}

/// A body as JSON: one document, a stream of them (a watch), or what it was (size and, for
/// text, the text).
fn parse(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return v;
    }
    let events: Result<Vec<Value>, _> = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>().collect();
    match events {
        Ok(events) if events.len() > 1 => json!({"stream": events}),
        _ => match std::str::from_utf8(bytes) {
            Ok(text) if text.len() < 400 => json!({"text": text}),
            Ok(_) => json!({"textBytes": "many"}),
            Err(_) => json!({"binary": true}),
        },
    }
}

/// The value at `pointer`, where a segment `@key=value` picks an array's element by a field.
fn pick(value: &Value, pointer: &str) -> Value {
    let mut at = value;
    for segment in pointer.split('/').skip(1) {
        let next = match (segment.strip_prefix('@').and_then(|s| s.split_once('=')), at) {
            (Some((key, wanted)), Value::Array(items)) => {
                items.iter().find(|i| i.get(key).and_then(Value::as_str) == Some(wanted))
            }
            (None, Value::Object(map)) => map.get(segment),
            (None, Value::Array(items)) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return Value::String("<absent>".into()),
        }
    }
    at.clone()
}

/// A `Status` with several causes lists them in the order Go's map iteration gave, which
/// varies from one request to the next: its causes are sorted, and its message rebuilt from
/// them when it lists exactly them.
fn sort_causes(status: &mut Value) {
    let Some(causes) = status.pointer_mut("/details/causes").and_then(Value::as_array_mut) else { return };
    let said = |c: &Value| {
        format!("{}: {}", c["field"].as_str().unwrap_or("<nil>"), c["message"].as_str().unwrap_or_default())
    };
    let listed: Vec<String> = causes.iter().map(said).collect();
    causes.sort_by_key(|c| c.to_string());
    let sorted: Vec<String> = causes.iter().map(said).collect();
    let Some(message) = status["message"].as_str() else { return };
    let Some((head, list)) = message.split_once(": [") else { return };
    let inner = list.strip_suffix(']').unwrap_or(list);
    if inner.len() == listed.join(", ").len() && listed.iter().all(|l| inner.contains(l.as_str())) {
        status["message"] = json!(format!("{head}: [{}]", sorted.join(", ")));
    }
}

/// What varies between any two servers, replaced by a placeholder.
fn mask(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let generate_name = map.get("generateName").and_then(Value::as_str);
            let masked = map
                .iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("uid" | "resourceVersion" | "continue" | "selfLink", Value::String(s)) if !s.is_empty() => {
                            json!(format!("<{k}>"))
                        }
                        (
                            "creationTimestamp" | "deletionTimestamp" | "time" | "lastTransitionTime" | "renewTime"
                            | "acquireTime",
                            Value::String(_),
                        ) => json!("<time>"),
                        ("name", Value::String(n)) if generate_name.is_some_and(|g| n.starts_with(g)) => {
                            json!(format!("{}<random>", generate_name.unwrap_or_default()))
                        }
                        ("serverAddress" | "clusterIP", Value::String(_)) => json!("<address>"),
                        // Each server hashes its own documents.
                        ("serverRelativeURL", Value::String(url)) => {
                            json!(
                                url.split_once("?hash=").map_or(url.clone(), |(path, _)| format!("{path}?hash=<hash>"))
                            )
                        }
                        ("clusterIPs", Value::Array(ips)) => json!(vec!["<address>"; ips.len()]),
                        ("message", Value::String(m)) => json!(mask_numbers(m)),
                        _ => mask(v),
                    };
                    (k.clone(), v)
                })
                .collect();
            let mut masked = Value::Object(masked);
            sort_causes(&mut masked);
            masked
        }
        Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
        other => other.clone(),
    }
}

/// Uids and resource versions inside messages ("too old resource version: 5 (1234)") differ
/// between servers: a uid becomes `<uid>`, runs of three digits or more become `N`.
fn mask_numbers(text: &str) -> String {
    let is_uid = |s: &[u8]| {
        s.len() == 36
            && s.iter()
                .enumerate()
                .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { *b == b'-' } else { b.is_ascii_hexdigit() })
    };
    let bytes = text.as_bytes();
    let mut unuid = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i..i + 36).is_some_and(is_uid) {
            unuid.push_str("<uid>");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            unuid.push(c);
            i += c.len_utf8().max(1);
        }
    }
    let text = unuid.as_str();
    let mut out = String::new();
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 3 {
            out.push('N');
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// Where two answers differ: the JSON pointers and both values, shortened.
fn differences(fake: &Value, real: &Value, at: &str, out: &mut Vec<String>) {
    match (fake, real) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let path = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                differences(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), &path, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{at}/{i}"), out);
            }
        }
        (a, b) if a != b => {
            let short = |v: &Value| {
                let s = v.to_string();
                if s.len() > 240 { format!("{}…", s.chars().take(240).collect::<String>()) } else { s }
            };
            out.push(format!("    {at}: fake {} | real {}", short(a), short(b)));
        }
        _ => {}
    }
}

const APPLY: &str = "application/apply-patch+yaml";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": name}}, "data": data})
}

/// The Gizmo CRD of the run's own group: defaults, pruning, an enum, a CEL rule, status and
/// scale subresources, a selectable field.
fn gizmo_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.{group}"},
        "spec": {
            "group": "{group}", "scope": "Namespaced",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList",
                      "shortNames": ["gz"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "selectableFields": [{"jsonPath": ".spec.color"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object",
                        "properties": {
                            "replicas": {"type": "integer", "minimum": 0},
                            "color": {"type": "string", "enum": ["red", "green", "blue"], "default": "red"},
                            "label": {"type": "string", "maxLength": 8},
                            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                            "limits": {"type": "object",
                                "x-kubernetes-validations": [{"rule": "self.low <= self.high",
                                                              "message": "low must not exceed high"}],
                                "properties": {"low": {"type": "integer"}, "high": {"type": "integer", "default": 10}}}}},
                    "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                }}},
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
            }],
        },
    })
}

fn gizmo(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "{group}/v1", "kind": "Gizmo", "metadata": {"name": name}, "spec": spec})
}

/// The sequence, area by area.
fn sequence() -> Vec<Step> {
    let cms = "/api/v1/namespaces/{ns}/configmaps";
    let gizmos = "/apis/{group}/v1/namespaces/{ns}/gizmos";
    vec![
        // Setup and the raw HTTP a client sends first.
        send(
            "create the namespace",
            Method::POST,
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "{ns}"}}),
        )
        .pick(&["/kind", "/metadata/name", "/spec", "/status"]),
        get("/version", "/version").pick(&["/major", "/minor"]),
        get("/api", "/api"),
        get("/api/v1 configmaps", "/api/v1").pick(&[
            "/kind",
            "/groupVersion",
            "/resources/@name=configmaps",
            "/resources/@name=pods",
            "/resources/@name=pods~1status",
        ]),
        get("/apis apps", "/apis").pick(&["/kind", "/groups/@name=apps"]),
        get("/apis/apps/v1 deployments", "/apis/apps/v1")
            .pick(&["/resources/@name=deployments", "/resources/@name=deployments~1scale"]),
        get("aggregated discovery", "/apis")
            .accept("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
            .pick(&["/kind", "/apiVersion"]),
        get("/openapi/v3 index", "/openapi/v3").pick(&["/paths/api~1v1", "/paths/apis~1apps~1v1"]),
        get("/openapi/v3 of the core group", "/openapi/v3/api/v1")
            .pick(&["/openapi", "/components/schemas/io.k8s.api.core.v1.ConfigMap/properties/data"])
            .differs("openapi-as-loaded"),
        get("/openapi/v2", "/openapi/v2")
            .accept("application/json")
            .pick(&["/swagger", "/definitions/io.k8s.api.core.v1.ConfigMap/properties/binaryData"]),
        get("/openapi/v2 in protobuf only", "/openapi/v2")
            .accept("application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
            .code_only()
            .differs("json-only"),
        get("an unknown group", "/apis/nothing.example.com/v1"),
        get("an unknown resource", "/api/v1/namespaces/{ns}/widgets"),
        // Create, read, and the error kinds.
        send("create", Method::POST, cms, cm("one", json!({"k": "1"}))).capture("rv1", "/metadata/resourceVersion"),
        send("create again", Method::POST, cms, cm("one", json!({}))),
        send("create another", Method::POST, cms, cm("two", json!({"k": "2"}))),
        send(
            "create without a name",
            Method::POST,
            cms,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        ),
        send(
            "create with generateName",
            Method::POST,
            cms,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
        ),
        send(
            "create in another namespace than the path's",
            Method::POST,
            cms,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "elsewhere"}}),
        ),
        send(
            "create with the wrong kind",
            Method::POST,
            cms,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}),
        ),
        send("create with a body that is not an object", Method::POST, cms, json!([1, 2])),
        step("create with a body that is not JSON", Method::POST, cms)
            .json(json!(null))
            .header("content-type", "application/json"),
        send("create with an invalid name", Method::POST, cms, cm("Not_Valid", json!({}))),
        send(
            "create with an invalid label",
            Method::POST,
            cms,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lbl", "labels": {"a b": "c"}}}),
        )
        .differs("builtin-validation"),
        step("delete what label validation refused", Method::DELETE, &format!("{cms}/lbl"))
            .code_only()
            .differs("builtin-validation"),
        send(
            "create a namespace with an invalid name",
            Method::POST,
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}),
        ),
        send(
            "create a service whose name starts with a digit",
            Method::POST,
            "/api/v1/namespaces/{ns}/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}}),
        ),
        // A built-in kind's /status write keeps the labels, annotations and finalizers sent,
        // except a workload's labels.
        send(
            "create a service",
            Method::POST,
            "/api/v1/namespaces/{ns}/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}),
        )
        .code_only(),
        Step::patch(
            "labels and annotations through a service's status",
            "/api/v1/namespaces/{ns}/services/svc/status",
            MERGE,
            json!({"metadata": {"labels": {"sent": "yes"}, "annotations": {"a": "b"}}, "spec": {"type": "NodePort"}}),
        )
        .pick(&["/metadata/labels", "/metadata/annotations", "/spec/type"]),
        send(
            "create a deployment",
            Method::POST,
            "/apis/apps/v1/namespaces/{ns}/deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "dep"},
                   "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                   "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
        )
        .code_only(),
        Step::patch(
            "labels and annotations through a deployment's status",
            "/apis/apps/v1/namespaces/{ns}/deployments/dep/status",
            MERGE,
            json!({"metadata": {"labels": {"sent": "yes"}, "annotations": {"a": "b"}}}),
        )
        .pick(&["/metadata/labels", "/metadata/annotations"]),
        get("list pods by an unsupported field", "/api/v1/namespaces/{ns}/pods?fieldSelector=spec.nope%3D1"),
        send("dry-run create", Method::POST, &format!("{cms}?dryRun=All"), cm("dry", json!({}))),
        get("dry-run created nothing", &format!("{cms}/dry")),
        get("get", &format!("{cms}/one")),
        get("get a missing one", &format!("{cms}/missing")),
        get("get in a missing namespace", "/api/v1/namespaces/missing-ns/configmaps/one"),
        // Updates and patches.
        send("update without a resourceVersion", Method::PUT, &format!("{cms}/one"), cm("one", json!({"k": "2"}))),
        send(
            "update at a stale resourceVersion",
            Method::PUT,
            &format!("{cms}/one"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "resourceVersion": "{rv1}"}, "data": {"k": "3"}}),
        ),
        send("update with another name than the path's", Method::PUT, &format!("{cms}/one"), cm("two", json!({}))),
        send("update of a missing one", Method::PUT, &format!("{cms}/missing"), cm("missing", json!({}))),
        Step::patch("merge patch", &format!("{cms}/one"), MERGE, json!({"data": {"m": "1"}})),
        Step::patch(
            "json patch",
            &format!("{cms}/one"),
            JSON_PATCH,
            json!([{"op": "add", "path": "/data/j", "value": "1"}]),
        ),
        Step::patch(
            "json patch whose test fails",
            &format!("{cms}/one"),
            JSON_PATCH,
            json!([{"op": "test", "path": "/data/j", "value": "2"}]),
        ),
        Step::patch("strategic merge patch", &format!("{cms}/one"), STRATEGIC, json!({"data": {"s": "1"}})),
        Step::patch("patch of a missing one", &format!("{cms}/missing"), MERGE, json!({"data": {}})),
        Step::patch("patch with an unknown content type", &format!("{cms}/one"), "text/plain", json!({})),
        // Server-side apply.
        Step::patch(
            "apply creates",
            &format!("{cms}/ssa?fieldManager=mgr-a"),
            APPLY,
            cm("ssa", json!({"a": "1", "shared": "x"})),
        ),
        Step::patch(
            "apply by another manager",
            &format!("{cms}/ssa?fieldManager=mgr-b"),
            APPLY,
            cm("ssa", json!({"b": "1"})),
        ),
        Step::patch(
            "apply that conflicts",
            &format!("{cms}/ssa?fieldManager=mgr-b"),
            APPLY,
            cm("ssa", json!({"b": "1", "shared": "y"})),
        ),
        Step::patch(
            "apply forced",
            &format!("{cms}/ssa?fieldManager=mgr-b&force=true"),
            APPLY,
            cm("ssa", json!({"b": "1", "shared": "y"})),
        ),
        Step::patch("apply dropping a field", &format!("{cms}/ssa?fieldManager=mgr-a"), APPLY, cm("ssa", json!({}))),
        Step::patch("apply without a field manager", &format!("{cms}/ssa"), APPLY, cm("ssa", json!({}))),
        Step::patch(
            "apply with force on another patch type",
            &format!("{cms}/ssa?fieldManager=x&force=true"),
            MERGE,
            json!({}),
        ),
        // Lists, selectors, pages.
        get("list", &format!("{cms}?labelSelector=app")).pick(&[
            "/kind",
            "/apiVersion",
            "/items/0/metadata/name",
            "/items/1/metadata/name",
            "/metadata",
        ]),
        get("list by label", &format!("{cms}?labelSelector=app%3Dssa")).pick(&["/items/0/metadata/name", "/items/1"]),
        get("list by a malformed label selector", &format!("{cms}?labelSelector=app%3D%3D%3D")),
        get("list by name", &format!("{cms}?fieldSelector=metadata.name%3Done"))
            .pick(&["/items/0/metadata/name", "/items/1"]),
        get("list by an unsupported field", &format!("{cms}?fieldSelector=data.k%3D1")),
        get("first page", &format!("{cms}?labelSelector=app&limit=2"))
            .pick(&["/items/0/metadata/name", "/items/2", "/metadata/remainingItemCount", "/metadata/continue"])
            .capture("next", "/metadata/continue"),
        get("second page", &format!("{cms}?labelSelector=app&limit=2&continue={{next}}"))
            .pick(&["/items/0/metadata/name", "/metadata/remainingItemCount"]),
        get("a malformed continue token", &format!("{cms}?limit=2&continue=garbage")),
        get(
            "list across namespaces",
            "/api/v1/configmaps?labelSelector=app%3Done&fieldSelector=metadata.namespace%3D{ns}",
        )
        .pick(&["/kind", "/items/0/metadata/name", "/items/0/metadata/namespace"]),
        get(
            "list by a shard selector",
            &format!("{cms}?shardSelector=shardRange(object.metadata.uid,%270x0%27,%270x8000000000000000%27)"),
        )
        .pick(&["/metadata/shardInfo"])
        .differs("shard-selector"),
        get("list by a malformed shard selector", &format!("{cms}?shardSelector=bogus")).differs("shard-selector"),
        get("list as a Table", cms)
            .accept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
            .pick(&["/kind", "/apiVersion"])
            .differs("json-only"),
        get("get as protobuf", &format!("{cms}/one"))
            .accept("application/vnd.kubernetes.protobuf,application/json")
            .code_only()
            .differs("json-only"),
        get("get as YAML only", &format!("{cms}/one")).accept("application/yaml").code_only().differs("json-only"),
        get("get accepting nothing the server offers", &format!("{cms}/one")).accept("image/png"),
        get("get as PartialObjectMetadata", &format!("{cms}/one"))
            .accept("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"),
        // Watch.
        get(
            "watch from a version",
            &format!("{cms}?watch=true&resourceVersion={{rv1}}&timeoutSeconds=2&labelSelector=app%3Done"),
        ),
        get(
            "watch with initial events",
            &format!(
                "{cms}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=2&labelSelector=app%3Done"
            ),
        ),
        get(
            "watch with initial events, no bookmarks",
            &format!(
                "{cms}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1&labelSelector=app"
            ),
        ),
        get("watch with a malformed version", &format!("{cms}?watch=true&resourceVersion=abc&timeoutSeconds=1")),
        // Deletion.
        send(
            "finalized object",
            Method::POST,
            cms,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fin", "finalizers": ["example.com/hold"]}}),
        ),
        step("delete a finalized object", Method::DELETE, &format!("{cms}/fin")),
        get("it stays, marked", &format!("{cms}/fin")).pick(&[
            "/metadata/deletionTimestamp",
            "/metadata/deletionGracePeriodSeconds",
            "/metadata/finalizers",
        ]),
        Step::patch(
            "the last finalizer removed",
            &format!("{cms}/fin"),
            MERGE,
            json!({"metadata": {"finalizers": null}}),
        ),
        get("then it is gone", &format!("{cms}/fin")),
        step("delete", Method::DELETE, &format!("{cms}/one")),
        step("delete a missing one", Method::DELETE, &format!("{cms}/one")),
        send(
            "delete with a precondition that fails",
            Method::DELETE,
            &format!("{cms}/ssa"),
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}),
        ),
        step("delete a collection", Method::DELETE, &format!("{cms}?labelSelector=app%3Dssa"))
            .pick(&["/kind", "/items/0/metadata/name"]),
        get("after the collection", &format!("{cms}?labelSelector=app")).pick(&["/items/0/metadata/name", "/items/1"]),
        // Custom resources.
        send("create a CRD", Method::POST, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", gizmo_crd())
            .pick(&["/kind", "/metadata/name", "/spec/names"]),
        get("the CRD is established", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.{group}")
            .until("/body/status/conditions/@type=Established/status", json!("True"))
            .pick(&[
                "/status/acceptedNames",
                "/status/conditions/@type=Established/status",
                "/status/conditions/@type=NamesAccepted/status",
                "/status/storedVersions",
            ]),
        get("its group in discovery", "/apis/{group}/v1").until("/body/kind", json!("APIResourceList")).pick(&[
            "/kind",
            "/groupVersion",
            "/resources/@name=gizmos",
            "/resources/@name=gizmos~1status",
            "/resources/@name=gizmos~1scale",
        ]),
        send("create defaulted and pruned", Method::POST, gizmos, gizmo("g", json!({"replicas": 2, "unknown": true}))),
        send("create with a wrong type", Method::POST, gizmos, gizmo("bad", json!({"replicas": 1, "color": 5}))),
        send(
            "create outside an enum and a minimum",
            Method::POST,
            gizmos,
            gizmo("bad", json!({"replicas": -1, "color": "pink"})),
        ),
        send(
            "create too long and too many",
            Method::POST,
            gizmos,
            gizmo("bad", json!({"replicas": 1, "label": "123456789", "tags": ["a", "b", "c"]})),
        ),
        send(
            "create breaking a CEL rule",
            Method::POST,
            gizmos,
            gizmo("cel", json!({"replicas": 1, "limits": {"low": 20}})),
        ),
        step("delete what the CEL rule refused", Method::DELETE, &format!("{gizmos}/cel")).code_only(),
        send(
            "create keeping a CEL rule",
            Method::POST,
            gizmos,
            gizmo("cel-ok", json!({"replicas": 1, "limits": {"low": 2}})),
        ),
        Step::patch(
            "patch breaking the CEL rule",
            &format!("{gizmos}/cel-ok"),
            MERGE,
            json!({"spec": {"limits": {"low": 11}}}),
        ),
        Step::patch(
            "patch leaving the CEL rule's value alone",
            &format!("{gizmos}/cel-ok"),
            MERGE,
            json!({"spec": {"color": "green"}}),
        ),
        send(
            "create a Gizmo of the wrong kind",
            Method::POST,
            gizmos,
            json!({"apiVersion": "{group}/v1", "kind": "Gadget", "metadata": {"name": "x"}}),
        ),
        send("create a Gizmo with a name that is no path segment", Method::POST, gizmos, gizmo("a%b", json!({}))),
        get("list Gizmos by an unsupported field", &format!("{gizmos}?fieldSelector=spec.size%3D1")),
        Step::patch(
            "strategic merge patch of a custom resource",
            &format!("{gizmos}/g"),
            STRATEGIC,
            json!({"spec": {"replicas": 3}}),
        ),
        Step::patch(
            "status patch",
            &format!("{gizmos}/g/status"),
            MERGE,
            json!({"status": {"replicas": 2}, "spec": {"color": "blue"}, "metadata": {"labels": {"sent": "yes"}}}),
        ),
        get("scale", &format!("{gizmos}/g/scale")),
        Step::patch("scale patch", &format!("{gizmos}/g/scale"), MERGE, json!({"spec": {"replicas": 4}})),
        get("list by a selectable field", &format!("{gizmos}?fieldSelector=spec.color%3Dred"))
            .pick(&["/items/0/metadata/name", "/items/1"]),
        step(
            "delete the CRD",
            Method::DELETE,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.{group}",
        )
        .code_only(),
        get("its resources are gone", gizmos).until("/code", json!(404)),
    ]
}

#[tokio::test]
async fn the_fake_answers_as_the_real_server_does() {
    let suffix = suffix();
    let ns = format!("kcg-diff-{suffix}");
    let group = format!("diff-{suffix}.kube-codegen.dev");
    let steps = sequence();
    let dump = std::env::var_os("KCG_DIFF_DUMP").map(std::path::PathBuf::from);

    let mut fake = Side { client: like_kube_apiserver().client(), vars: BTreeMap::new() };
    let real_client = real_client().await;
    let mut real = real_client.clone().map(|client| Side { client, vars: BTreeMap::new() });
    if real.is_none() {
        eprintln!("differential: only the fake's half ran: KUBE_CODEGEN_E2E_KUBECONFIG is not set");
    }

    let mut unlisted = Vec::new();
    let mut stale = Vec::new();
    let mut listed = 0;
    for (i, step) in steps.iter().enumerate() {
        let (fake_answer, _) = fake.ask(step, &ns, &group).await;
        let Some(real) = real.as_mut() else { continue };
        let (real_answer, _) = real.ask(step, &ns, &group).await;
        if let Some(dir) = &dump {
            std::fs::create_dir_all(dir).unwrap();
            let both = json!({"step": step.name, "fake": fake_answer.as_json(), "real": real_answer.as_json()});
            std::fs::write(dir.join(format!("{i:03}.json")), serde_json::to_string_pretty(&both).unwrap()).unwrap();
        }
        let mut found = Vec::new();
        differences(&fake_answer.as_json(), &real_answer.as_json(), "", &mut found);
        match (found.is_empty(), step.differs) {
            (true, None) => {}
            (false, Some(_)) => listed += 1,
            (false, None) => {
                unlisted.push(format!("{} {} ({}):\n{}", step.method, step.path, step.name, found.join("\n")))
            }
            (true, Some(key)) => {
                stale.push(format!("{} ({}): the answers agree, yet it names `{key}`", step.name, step.path))
            }
        }
    }

    if let Some(client) = real_client {
        // Leave nothing behind on the real server.
        for path in [
            format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.{group}"),
            format!("/api/v1/namespaces/{ns}"),
        ] {
            let request =
                Request::builder().method(Method::DELETE).uri(path).body(kube::client::Body::empty()).unwrap();
            let _ = client.send(request).await;
        }
        let report = format!(
            "differential: {} steps on both backends: {} differences, {listed} listed in fake::KNOWN_DIFFERENCES ({} entries), {} unlisted, {} listed but gone",
            steps.len(),
            listed + unlisted.len(),
            kube_codegen_runtime::fake::KNOWN_DIFFERENCES.len(),
            unlisted.len(),
            stale.len()
        );
        println!("{report}");
        // CI prints what the suites report (`KCG_REPORT_DIR`), since the test harness keeps the
        // output of a test that passed.
        if let Some(dir) = std::env::var_os("KCG_REPORT_DIR") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(std::path::Path::new(&dir).join("differential.txt"), format!("{report}\n")).unwrap();
        }
    }
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "the fake answers otherwise than the real server where no known difference says so:\n{}\n\nentries that no longer differ:\n{}",
        unlisted.join("\n\n"),
        stale.join("\n")
    );
}
