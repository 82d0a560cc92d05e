//! Every verb and subresource kind of a generated clientset (k8s-openapi types) against the
//! in-memory API server. Compiled and run in a harness by `tests/clientset_fake.rs`, with the
//! clientset generated from the v1.36 swagger as `harness::k8s`.

use futures::StreamExt;
use harness::k8s::Clientset;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec,
    CertificateSigningRequestStatus,
};
use k8s_openapi::api::core::v1::{
    Binding, ConfigMap, Namespace, NamespaceSpec, Node, ObjectReference, Pod, PodSpec, PodStatus, ServiceAccount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube_codegen_runtime::ErrorExt;
use kube_codegen_runtime::client::{
    DeleteParams, Either, EvictParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube_codegen_runtime::fake::ApiServer;
use serde_json::json;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), ..Default::default() }
}

fn labelled(name: &str, app: &str) -> ObjectMeta {
    ObjectMeta { labels: Some([("app".to_owned(), app.to_owned())].into()), ..meta(name) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = ApiServer::new();
    server
        .register::<Pod>()
        .register::<ConfigMap>()
        .register::<Deployment>()
        .register::<Namespace>()
        .register::<Node>()
        .register::<ServiceAccount>()
        .register::<CertificateSigningRequest>();
    let cs = Clientset::new(server.client());
    let pp = PostParams::default();

    // Discovery on the same client.
    let discovery = cs.discovery().run().await.unwrap();
    assert!(discovery.has_group("apps"), "discovery sees apps");

    // create, get, already-exists, not-found.
    let cms = cs.core_v1().config_maps("ns");
    for (i, app) in ["web", "web", "db", "cache", "web"].iter().enumerate() {
        let cm = ConfigMap { metadata: labelled(&format!("cm-{i}"), app), ..Default::default() };
        cms.create(&pp, &cm).await.unwrap();
    }
    let err = cms.create(&pp, &ConfigMap { metadata: meta("cm-0"), ..Default::default() }).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    let err = cms.get("missing").await.unwrap_err();
    assert!(err.is_not_found() && !err.is_conflict(), "{err}");
    assert!(cms.get_opt("missing").await.unwrap().is_none());
    let cm0 = cms.get("cm-0").await.unwrap();
    assert_eq!(cm0.metadata.labels.as_ref().unwrap()["app"], "web");

    // Label selectors and pagination over a consistent snapshot.
    let web = cms.list(&ListParams::default().labels("app=web")).await.unwrap();
    assert_eq!(web.items.len(), 3);
    let not_web = cms.list(&ListParams::default().labels("app notin (web)")).await.unwrap();
    assert_eq!(not_web.items.len(), 2);
    let first = cms.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("a continue token");
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    // Changes after the first page do not show in the later ones.
    cms.create(&pp, &ConfigMap { metadata: meta("cm-9"), ..Default::default() }).await.unwrap();
    let mut names: Vec<String> = first.items.iter().map(|c| c.metadata.name.clone().unwrap()).collect();
    let mut next = Some(token);
    while let Some(token) = next {
        let page = cms.list(&ListParams::default().limit(2).continue_token(&token)).await.unwrap();
        assert_eq!(page.metadata.resource_version, first.metadata.resource_version);
        names.extend(page.items.iter().map(|c| c.metadata.name.clone().unwrap()));
        next = page.metadata.continue_.clone();
    }
    assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]);
    let all = cs.core_v1().config_maps_all().list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 6);

    // update with optimistic concurrency; patch in all three kinds.
    let mut stale = cm0.clone();
    let mut fresh = cm0.clone();
    fresh.data = Some([("k".to_owned(), "v".to_owned())].into());
    cms.update("cm-0", &pp, &fresh).await.unwrap();
    stale.data = Some([("k".to_owned(), "old".to_owned())].into());
    let err = cms.update("cm-0", &pp, &stale).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let patched = cms
        .patch("cm-0", &PatchParams::default(), &Patch::Merge(json!({"data": {"m": "merge"}})))
        .await
        .unwrap();
    assert_eq!(patched.data.as_ref().unwrap()["m"], "merge");
    let patched = cms
        .patch("cm-0", &PatchParams::default(), &Patch::Strategic(json!({"data": {"s": "strategic"}})))
        .await
        .unwrap();
    assert_eq!(patched.data.as_ref().unwrap()["s"], "strategic");
    let ops: kube_codegen_runtime::client::json_patch::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/data/j", "value": "json"}])).unwrap();
    let patched = cms.patch("cm-0", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
    assert_eq!(patched.data.as_ref().unwrap()["j"], "json");

    // A watch sees create, update and delete.
    let version = cms.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut events = cms.watch(&WatchParams::default().timeout(5), &version).await.unwrap();
    cms.create(&pp, &ConfigMap { metadata: meta("watched"), ..Default::default() }).await.unwrap();
    cms.patch("watched", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "b"}}))).await.unwrap();
    // Gone at once, so the server answers with a Status naming it.
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
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, [("added", "watched".into()), ("modified", "watched".into()), ("deleted", "watched".into())]);

    // delete_collection by label.
    let deleted = cms.delete_collection(&DeleteParams::default(), &ListParams::default().labels("app=web")).await;
    match deleted.unwrap() {
        Either::Left(list) => assert_eq!(list.items.len(), 3),
        Either::Right(status) => panic!("expected the deleted objects, got {status:?}"),
    }
    assert_eq!(cms.list(&ListParams::default()).await.unwrap().items.len(), 3);

    // Cluster-scoped: no namespace anywhere.
    let nodes = cs.core_v1().nodes();
    nodes.create(&pp, &Node { metadata: meta("n1"), ..Default::default() }).await.unwrap();
    assert_eq!(nodes.list(&ListParams::default()).await.unwrap().items.len(), 1);

    // status: the main endpoint ignores status, /status the spec.
    let pods = cs.core_v1().pods("ns");
    let pod = Pod {
        metadata: meta("p"),
        spec: Some(PodSpec { containers: vec![Default::default()], ..Default::default() }),
        status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
    };
    let created = pods.create(&pp, &pod).await.unwrap();
    assert!(created.status.is_none(), "create drops status when there is a status subresource");
    let mut with_status = created.clone();
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

    // ephemeralcontainers and resize read and write the pod.
    let pod_now = pods.get_ephemeral_containers("p").await.unwrap();
    assert_eq!(pod_now.metadata.name.as_deref(), Some("p"));
    let resized = pods
        .patch_resize("p", &PatchParams::default(), &Patch::Merge(json!({"spec": {"containers": [{"name": "c"}]}})))
        .await
        .unwrap();
    assert_eq!(resized.spec.unwrap().containers[0].name, "c");

    // binding, log, eviction.
    let binding = Binding {
        metadata: meta("p"),
        target: ObjectReference { kind: Some("Node".into()), name: Some("n1".into()), ..Default::default() },
    };
    let status = pods.bind("p", &pp, &binding).await.unwrap();
    assert!(status.is_success(), "{status:?}");
    assert_eq!(pods.get("p").await.unwrap().spec.unwrap().node_name.as_deref(), Some("n1"));
    let err = pods.bind("p", &pp, &binding).await.unwrap_err();
    assert!(err.is_conflict(), "a bound pod cannot be bound again: {err}");
    server.set_log("ns", "p", "line 1\nline 2\n");
    assert_eq!(pods.logs("p", &LogParams::default()).await.unwrap(), "line 1\nline 2\n");
    let evicted = pods.evict("p", &EvictParams::default()).await.unwrap();
    assert!(evicted.is_success(), "{evicted:?}");
    assert!(pods.get("p").await.unwrap_err().is_not_found(), "eviction deletes the pod");
    assert!(pods.evict("p", &EvictParams::default()).await.unwrap_err().is_not_found());

    // scale.
    let deployments = cs.apps_v1().deployments("ns");
    let deployment = Deployment {
        metadata: meta("d"),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some([("app".to_owned(), "d".to_owned())].into()),
                ..Default::default()
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
    let scaled = deployments.update_scale("d", &pp, &scale).await.unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(3));
    let err = deployments.update_scale("d", &pp, &scale).await.unwrap_err();
    assert!(err.is_conflict(), "a stale Scale is a conflict: {err}");
    deployments
        .patch_scale("d", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    let d = deployments.get("d").await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(5));
    assert_eq!(d.metadata.generation, Some(3), "each scale is a spec change");

    // token.
    let sas = cs.core_v1().service_accounts("ns");
    sas.create(&pp, &ServiceAccount { metadata: meta("sa"), ..Default::default() }).await.unwrap();
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(vec!["api".into()]),
            expiration_seconds: Some(600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let token = sas.create_token("sa", &pp, &request).await.unwrap();
    assert!(token.status.unwrap().token.unwrap().starts_with("fake-token.ns.sa."));

    // finalize changes only spec.finalizers.
    let namespaces = cs.core_v1().namespaces();
    let ns = Namespace {
        metadata: meta("gone"),
        spec: Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) }),
        status: None,
    };
    let mut ns = namespaces.create(&pp, &ns).await.unwrap();
    ns.spec = Some(NamespaceSpec { finalizers: Some(vec![]) });
    ns.metadata.labels = Some([("sent".to_owned(), "yes".to_owned())].into());
    let finalized = namespaces.finalize("gone", &pp, &ns).await.unwrap();
    assert_eq!(finalized.spec.unwrap().finalizers, Some(vec![]));
    // The labels sent, and the one the server gives every namespace, as kube-apiserver does.
    let labels = finalized.metadata.labels.unwrap_or_default();
    assert_eq!(labels.keys().collect::<Vec<_>>(), ["kubernetes.io/metadata.name", "sent"]);

    // approval changes only status.conditions.
    let csrs = cs.certificates_v1().certificate_signing_requests();
    let csr = CertificateSigningRequest {
        metadata: meta("csr"),
        spec: CertificateSigningRequestSpec { signer_name: "example.com/signer".into(), ..Default::default() },
        status: None,
    };
    let mut csr = csrs.create(&pp, &csr).await.unwrap();
    csr.status = Some(CertificateSigningRequestStatus {
        conditions: Some(vec![CertificateSigningRequestCondition {
            type_: "Approved".into(),
            status: "True".into(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    let approved = csrs.update_approval("csr", &pp, &csr).await.unwrap();
    assert_eq!(approved.status.unwrap().conditions.unwrap()[0].type_, "Approved");

    // The action log names subresources.
    let actions = server.actions();
    let subresources: Vec<&str> = actions.iter().filter_map(|a| a.subresource.as_deref()).collect();
    for s in ["status", "scale", "eviction", "binding", "log", "token", "finalize", "approval", "resize"] {
        assert!(subresources.contains(&s), "no {s} in the action log");
    }
    println!("all checks passed");
}
