//! The in-memory API server against real traffic: every request recorded against Kubernetes
//! v1.36.2 (`../shared/corpus/replays/v1-36`) is sent to the fake, and its status code and the
//! shape of its response are compared with the recording, field by field. Values that differ
//! run to run (uids, timestamps, resourceVersions, generated names) are not compared. Every
//! difference that remains must match one of `ACCEPTED`, which says why it is accepted; a rule
//! that no longer matches anything fails the test too, so the list stays true.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use http_body_util::BodyExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube_codegen_runtime::fake::{ApiServer, Exchange};
use serde_json::Value;

/// (recording, JSON pointer pattern, why). In patterns `*` is one segment and a trailing `**`
/// any number of them.
const ACCEPTED: &[(&str, &str, &str)] = &[
    (
        "api_versions-list",
        "/groups/**",
        "discovery lists the groups registered with the fake, not the twenty a cluster serves",
    ),
    (
        "job-create",
        "/status/**",
        "the Job controller writes the status (active, ready, startTime, failed, conditions); the fake runs no controllers",
    ),
    (
        "job-create",
        "/metadata/managedFields",
        "the controller's status writes add a `kube-controller-manager` entry with `subresource: status`",
    ),
    (
        "job-create",
        "/metadata/managedFields/0/**",
        "the controller's entry comes first in the recording, so entries are compared against the other's",
    ),
    (
        "job-create",
        "/items/*/metadata/ownerReferences",
        "deleting the Job orphans its pods, and the garbage collector takes their ownerReferences; the fake has no garbage collector",
    ),
    (
        "job-create",
        "/items/*/metadata/managedFields/*/fieldsV1/f:metadata/f:ownerReferences",
        "as above: the orphaned pods' managedFields no longer list the ownerReferences",
    ),
    (
        "patch-deployment",
        "/items",
        "the ReplicaSet controller made two pods that the collection delete removed; the fake runs no controllers",
    ),
];

fn corpus() -> PathBuf {
    std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

/// Values that differ between any two runs of the same request.
fn volatile(key: &str) -> bool {
    matches!(
        key,
        "uid"
            | "resourceVersion"
            | "creationTimestamp"
            | "time"
            | "lastTransitionTime"
            | "lastUpdateTime"
            | "lastProbeTime"
            | "startTime"
            | "startedAt"
            | "finishedAt"
            | "deletionTimestamp"
            | "completionTime"
            | "controller-uid"
            | "batch.kubernetes.io/controller-uid"
            | "expirationTimestamp"
            | "continue"
    )
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Field-by-field differences: (pointer, what).
fn diff(recorded: &Value, actual: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) => {
            let keys: BTreeSet<&String> = r.keys().chain(a.keys()).collect();
            for k in keys {
                let here = format!("{at}/{}", escape(k));
                match (r.get(k), a.get(k)) {
                    (Some(_), None) => out.push((here, "missing".into())),
                    (None, Some(_)) => out.push((here, "extra".into())),
                    (Some(rv), Some(av)) if volatile(k) && rv.is_string() == av.is_string() => {}
                    (Some(rv), Some(av)) => diff(rv, av, &here, out),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if r.len() != a.len() {
                out.push((at.to_owned(), format!("length {} recorded, {} served", r.len(), a.len())));
            }
            for (i, (rv, av)) in r.iter().zip(a).enumerate() {
                diff(rv, av, &format!("{at}/{i}"), out);
            }
        }
        (r, a) if std::mem::discriminant(r) != std::mem::discriminant(a) => {
            out.push((at.to_owned(), format!("{r} recorded, {a} served")));
        }
        (r, a) if r != a => out.push((at.to_owned(), format!("{r} recorded, {a} served"))),
        _ => {}
    }
}

fn matches(pattern: &str, pointer: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = pointer.split('/').collect();
    match p.last() {
        Some(&"**") => s.len() >= p.len() - 1 && p[..p.len() - 1].iter().zip(&s).all(|(p, s)| *p == "*" || p == s),
        _ => p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| *p == "*" || p == s),
    }
}

/// The JSON values of a response: one object, or one per watch event line.
fn values(body: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(body);
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        return vec![v];
    }
    text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Objects the recorded cluster already had, or that its controllers made, which a list or a
/// watch response shows: seeded into the fake before the request.
fn seed_from(server: &ApiServer, exchange: &Exchange, list_kind_of: &dyn Fn(&str) -> Option<String>) {
    if exchange.request_method != "GET" || exchange.response_status_code != 200 {
        return;
    }
    for v in values(exchange.response_body.as_bytes()) {
        let objects: Vec<Value> = match (&v["items"], &v["object"]) {
            (Value::Array(items), _) => {
                let kind = v["kind"].as_str().and_then(list_kind_of).unwrap_or_default();
                items
                    .iter()
                    .map(|i| {
                        let mut i = i.clone();
                        i["apiVersion"] = v["apiVersion"].clone();
                        i["kind"] = Value::String(kind.clone());
                        i
                    })
                    .collect()
            }
            (_, o) if o.is_object() && v["type"] == "ADDED" => vec![o.clone()],
            _ => continue,
        };
        for o in objects {
            let _ = server.seed(&o);
        }
    }
}

async fn send(server: &ApiServer, e: &Exchange, events: usize) -> (u16, Vec<u8>) {
    let mut request = http::Request::builder().method(e.request_method.as_str()).uri(&e.request_url);
    if let Some(ct) = &e.request_content_type {
        request = request.header(http::header::CONTENT_TYPE, ct);
    }
    let request = request.body(kube::client::Body::from(e.request_body.clone().into_bytes())).unwrap();
    let response = server.client().send(request).await.unwrap();
    let code = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    // A watch stays open: read as many events as were recorded, or stop after a quiet second.
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(1), body.frame()).await;
        match frame {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
                if events > 0 && bytes.iter().filter(|b| **b == b'\n').count() >= events {
                    break;
                }
            }
            _ => break,
        }
    }
    (code, bytes)
}

#[tokio::test]
async fn the_fake_answers_recorded_requests_as_the_real_server_did() {
    let dir = corpus().join("replays/v1-36");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut unexplained = Vec::new();
    let mut used = vec![false; ACCEPTED.len()];
    let mut compared = 0;
    for file in files {
        let recording = file.file_stem().unwrap().to_string_lossy().into_owned();
        let exchanges: Vec<Exchange> = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let server = ApiServer::new();
        server.register::<Pod>().register::<Deployment>().register::<Job>().register::<CustomResourceDefinition>();
        let list_kind_of = |list: &str| list.strip_suffix("List").map(str::to_owned);
        for (i, e) in exchanges.iter().enumerate() {
            // A repeated request is a poll, and the recorded client waited between polls.
            if i > 0
                && exchanges[i - 1].request_url == e.request_url
                && exchanges[i - 1].request_method == e.request_method
            {
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            seed_from(&server, e, &list_kind_of);
            let events =
                if e.request_url.contains("watch=true") { values(e.response_body.as_bytes()).len() } else { 0 };
            let (code, body) = send(&server, e, events).await;
            let mut found = Vec::new();
            if code != e.response_status_code {
                found.push((String::new(), format!("status {} recorded, {code} served", e.response_status_code)));
            }
            let (recorded, served) = (values(e.response_body.as_bytes()), values(&body));
            if recorded.len() != served.len() {
                found.push((String::new(), format!("{} values recorded, {} served", recorded.len(), served.len())));
            }
            for (j, (r, a)) in recorded.iter().zip(&served).enumerate() {
                let at = if recorded.len() > 1 { format!("/{j}") } else { String::new() };
                diff(r, a, &at, &mut found);
            }
            compared += 1;
            for (pointer, what) in found {
                let mut explained = false;
                for (r, (f, p, _)) in ACCEPTED.iter().enumerate() {
                    if *f == recording && matches(p, &pointer) {
                        used[r] = true;
                        explained = true;
                    }
                }
                if !explained {
                    unexplained
                        .push(format!("{recording} #{i} {} {}: {pointer}: {what}", e.request_method, e.request_url));
                }
            }
        }
    }
    let stale: Vec<String> =
        ACCEPTED.iter().zip(&used).filter(|(_, u)| !**u).map(|((f, p, _), _)| format!("{f} {p}")).collect();
    assert!(compared > 30, "only {compared} exchanges compared");
    assert!(unexplained.is_empty(), "{} unexplained differences:\n{}", unexplained.len(), unexplained.join("\n"));
    assert!(stale.is_empty(), "accepted differences that no longer occur:\n{}", stale.join("\n"));
}
