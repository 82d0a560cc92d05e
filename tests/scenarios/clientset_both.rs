//! The generated clientset (k8s-openapi types) against the in-memory API server, or against a
//! real kube-apiserver when `KCG_SCENARIO_URL` names one (plain HTTP: `kubectl proxy` in front
//! of it). Objects are valid as a real server wants them; everything lives in a namespace of
//! its own, deleted at the end. Compiled and run by `tests/clientset_fake.rs`.

use futures::StreamExt;
use harness::k8s::Clientset;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    Binding, ConfigMap, Container, Namespace, Node, ObjectReference, Pod, PodSpec, PodStatus, PodTemplateSpec,
    ServiceAccount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube_codegen_runtime::ErrorExt;
use kube_codegen_runtime::client::{
    DeleteParams, Either, EvictParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube_codegen_runtime::fake::ApiServer;
use kube_codegen_runtime::kube;
use serde_json::json;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), ..Default::default() }
}

fn labelled(name: &str, app: &str) -> ObjectMeta {
    ObjectMeta { labels: Some([("app".to_owned(), app.to_owned())].into()), ..meta(name) }
}

fn pod_spec() -> PodSpec {
    PodSpec { containers: vec![Container { name: "c".into(), image: Some("example.com/i:1".into()), ..Default::default() }], ..Default::default() }
}

/// A client of the server to test: the real one at `KCG_SCENARIO_URL`, or a fake.
fn client() -> (kube::Client, &'static str) {
    match std::env::var("KCG_SCENARIO_URL") {
        Ok(url) => {
            let config = kube::Config::new(url.parse().expect("KCG_SCENARIO_URL is a URL"));
            (kube::Client::try_from(config).expect("a client"), "kube-apiserver")
        }
        Err(_) => {
            let server = ApiServer::new();
            server
                .register::<Pod>()
                .register::<ConfigMap>()
                .register::<Deployment>()
                .register::<Namespace>()
                .register::<Node>()
                .register::<ServiceAccount>();
            (server.client(), "the fake")
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (client, backend) = client();
    let cs = Clientset::new(client);
    let pp = PostParams::default();
    let suffix = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 0xffff_ffff);
    let ns_name = format!("kcg-cs-{suffix}");
    let node_name = format!("kcg-cs-{suffix}-node");
    cs.core_v1().namespaces().create(&pp, &Namespace { metadata: meta(&ns_name), ..Default::default() }).await.unwrap();
    let ns = ns_name.as_str();

    // create, already-exists, not-found, dry-run, generateName, an invalid name.
    let cms = cs.core_v1().config_maps(ns);
    for (i, app) in ["web", "web", "db", "cache", "web"].iter().enumerate() {
        let cm = ConfigMap { metadata: labelled(&format!("cm-{i}"), app), ..Default::default() };
        cms.create(&pp, &cm).await.unwrap();
    }
    let err = cms.create(&pp, &ConfigMap { metadata: meta("cm-0"), ..Default::default() }).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    let err = cms.get("missing").await.unwrap_err();
    assert!(err.is_not_found() && !err.is_conflict(), "{err}");
    assert!(cms.get_opt("missing").await.unwrap().is_none());
    let dry = PostParams { dry_run: true, ..Default::default() };
    let would = cms.create(&dry, &ConfigMap { metadata: meta("dry"), ..Default::default() }).await.unwrap();
    assert_eq!(would.metadata.name.as_deref(), Some("dry"));
    assert!(cms.get_opt("dry").await.unwrap().is_none(), "a dry run stores nothing");
    let generated = ObjectMeta { generate_name: Some("gen-".into()), ..Default::default() };
    let made = cms.create(&pp, &ConfigMap { metadata: generated, ..Default::default() }).await.unwrap();
    let made_name = made.metadata.name.unwrap();
    assert!(made_name.starts_with("gen-") && made_name.len() == 9, "{made_name}");
    cms.delete(&made_name, &DeleteParams::default()).await.unwrap();
    let err = cms.create(&pp, &ConfigMap { metadata: meta("Not_Valid"), ..Default::default() }).await.unwrap_err();
    assert!(err.is_invalid(), "{err}");
    let causes = err.status().and_then(|s| s.details.as_ref()).map(|d| d.causes.clone()).unwrap_or_default();
    assert!(causes.iter().any(|c| c.field == "metadata.name"), "{causes:?}");
    let cm0 = cms.get("cm-0").await.unwrap();

    // Label selectors and pagination over one snapshot.
    assert_eq!(cms.list(&ListParams::default().labels("app=web")).await.unwrap().items.len(), 3);
    assert_eq!(cms.list(&ListParams::default().labels("app notin (web)")).await.unwrap().items.len(), 2);
    let first = cms.list(&ListParams::default().limit(2)).await.unwrap();
    let mut names: Vec<String> = first.items.iter().map(|c| c.metadata.name.clone().unwrap()).collect();
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    cms.create(&pp, &ConfigMap { metadata: meta("cm-9"), ..Default::default() }).await.unwrap();
    let mut next = first.metadata.continue_.clone();
    while let Some(token) = next {
        let page = cms.list(&ListParams::default().limit(2).continue_token(&token)).await.unwrap();
        assert_eq!(page.metadata.resource_version, first.metadata.resource_version);
        names.extend(page.items.iter().map(|c| c.metadata.name.clone().unwrap()));
        next = page.metadata.continue_.clone();
    }
    assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]);

    // update with optimistic concurrency; the three patch types.
    let (mut stale, mut fresh) = (cm0.clone(), cm0.clone());
    fresh.data = Some([("k".to_owned(), "v".to_owned())].into());
    cms.update("cm-0", &pp, &fresh).await.unwrap();
    stale.data = Some([("k".to_owned(), "old".to_owned())].into());
    assert!(cms.update("cm-0", &pp, &stale).await.unwrap_err().is_conflict());
    let merged = cms.patch("cm-0", &PatchParams::default(), &Patch::Merge(json!({"data": {"m": "merge"}}))).await.unwrap();
    assert_eq!(merged.data.as_ref().unwrap()["m"], "merge");
    let strategic =
        cms.patch("cm-0", &PatchParams::default(), &Patch::Strategic(json!({"data": {"s": "strategic"}}))).await.unwrap();
    assert_eq!(strategic.data.as_ref().unwrap()["s"], "strategic");
    let ops: kube_codegen_runtime::client::json_patch::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/data/j", "value": "json"}])).unwrap();
    let patched = cms.patch("cm-0", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
    assert_eq!(patched.data.as_ref().unwrap().len(), 4);

    // A watch sees create, update and delete, in order.
    let version = cms.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut events = cms.watch(&WatchParams::default().timeout(10), &version).await.unwrap();
    cms.create(&pp, &ConfigMap { metadata: meta("watched"), ..Default::default() }).await.unwrap();
    cms.patch("watched", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "b"}}))).await.unwrap();
    match cms.delete("watched", &DeleteParams::default()).await.unwrap() {
        Either::Right(status) => assert_eq!(status.details.unwrap().name, "watched"),
        Either::Left(object) => panic!("expected a Status, got {object:?}"),
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match events.next().await.expect("the watch ended early").unwrap() {
            WatchEvent::Added(c) => seen.push(("added", c.metadata.name.unwrap())),
            WatchEvent::Modified(c) => seen.push(("modified", c.metadata.name.unwrap())),
            WatchEvent::Deleted(c) => seen.push(("deleted", c.metadata.name.unwrap())),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, [("added", "watched".into()), ("modified", "watched".into()), ("deleted", "watched".into())]);

    // delete_collection by label returns what it deleted.
    match cms.delete_collection(&DeleteParams::default(), &ListParams::default().labels("app=web")).await.unwrap() {
        Either::Left(list) => assert_eq!(list.items.len(), 3),
        Either::Right(status) => panic!("expected the deleted objects, got {status:?}"),
    }
    assert_eq!(cms.list(&ListParams::default()).await.unwrap().items.len(), 3);

    // A Node (cluster-scoped); a Pod's status through /status only; binding; eviction.
    let nodes = cs.core_v1().nodes();
    nodes.create(&pp, &Node { metadata: meta(&node_name), ..Default::default() }).await.unwrap();
    let pods = cs.core_v1().pods(ns);
    let pod = Pod {
        metadata: meta("p"),
        spec: Some(pod_spec()),
        status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
    };
    let created = pods.create(&pp, &pod).await.unwrap();
    assert_ne!(created.status.and_then(|s| s.phase).as_deref(), Some("Running"), "create ignores status");
    let mut with_status = pods.get("p").await.unwrap();
    with_status.status = Some(PodStatus { phase: Some("Pending".into()), ..Default::default() });
    with_status.metadata.labels = Some([("sent".to_owned(), "yes".to_owned())].into());
    let updated = pods.update_status("p", &pp, &with_status).await.unwrap();
    assert_eq!(updated.status.as_ref().unwrap().phase.as_deref(), Some("Pending"));
    // A pod's status strategy resets only its spec: labels sent to /status are kept.
    assert_eq!(updated.metadata.labels.unwrap_or_default()["sent"], "yes");
    let patched = pods
        .patch_status("p", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Running"}})))
        .await
        .unwrap();
    assert_eq!(patched.status.as_ref().unwrap().phase.as_deref(), Some("Running"));
    let mut main = pods.get("p").await.unwrap();
    main.status = Some(PodStatus { phase: Some("Failed".into()), ..Default::default() });
    let after = pods.update("p", &pp, &main).await.unwrap();
    assert_eq!(after.status.unwrap().phase.as_deref(), Some("Running"), "the main endpoint ignores status");
    assert_eq!(pods.get_status("p").await.unwrap().status.unwrap().phase.as_deref(), Some("Running"));
    let binding = Binding {
        metadata: meta("p"),
        target: ObjectReference { kind: Some("Node".into()), name: Some(node_name.clone()), ..Default::default() },
    };
    assert!(pods.bind("p", &pp, &binding).await.unwrap().is_success());
    assert_eq!(pods.get("p").await.unwrap().spec.unwrap().node_name.as_deref(), Some(node_name.as_str()));
    assert!(pods.bind("p", &pp, &binding).await.unwrap_err().is_conflict(), "a bound pod cannot be bound again");
    let evicted = pods.evict("p", &EvictParams::default()).await.unwrap();
    assert!(evicted.is_success(), "{evicted:?}");
    // Gone, or (a bound pod on a real server, with no kubelet to stop it) terminating.
    let left = pods.get_opt("p").await.unwrap();
    assert!(left.is_none_or(|p| p.metadata.deletion_timestamp.is_some()), "eviction deletes the pod");

    // scale: reads and writes the Deployment's replicas, with optimistic concurrency.
    let deployments = cs.apps_v1().deployments(ns);
    let labels = [("app".to_owned(), "d".to_owned())];
    let deployment = Deployment {
        metadata: meta("d"),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector { match_labels: Some(labels.clone().into()), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels.into()), ..Default::default() }),
                spec: Some(pod_spec()),
            },
            ..Default::default()
        }),
        status: None,
    };
    deployments.create(&pp, &deployment).await.unwrap();
    let mut scale = deployments.get_scale("d").await.unwrap();
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(1));
    assert_eq!(scale.status.as_ref().unwrap().selector.as_deref(), Some("app=d"));
    scale.spec.as_mut().unwrap().replicas = Some(3);
    assert_eq!(deployments.update_scale("d", &pp, &scale).await.unwrap().spec.unwrap().replicas, Some(3));
    assert!(deployments.update_scale("d", &pp, &scale).await.unwrap_err().is_conflict(), "a stale Scale");
    deployments.patch_scale("d", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 5}}))).await.unwrap();
    let d = deployments.get("d").await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(5));
    assert_eq!(d.metadata.generation, Some(3), "each scale is a spec change");

    // A token for a service account.
    let sas = cs.core_v1().service_accounts(ns);
    sas.create(&pp, &ServiceAccount { metadata: meta("sa"), ..Default::default() }).await.unwrap();
    let request = TokenRequest {
        spec: Some(TokenRequestSpec { audiences: Some(vec!["api".into()]), expiration_seconds: Some(600), ..Default::default() }),
        ..Default::default()
    };
    let token = sas.create_token("sa", &pp, &request).await.unwrap();
    assert!(!token.status.unwrap().token.unwrap_or_default().is_empty());

    nodes.delete(&node_name, &DeleteParams::default()).await.unwrap();
    cs.core_v1().namespaces().delete(ns, &DeleteParams::default()).await.unwrap();
    println!("all checks passed on {backend}");
}
