//! Every subresource kind of a generated clientset (k8s-openapi types) against the in-memory
//! API server, with what only it can show (logs it was given, eviction of a pod no kubelet
//! holds, its action log); the verbs a real server runs too are in `clientset_both.rs`. Compiled and run in a harness by `tests/clientset_fake.rs`, with the
//! clientset generated from the v1.36 swagger as `harness::k8s`.

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
use kube_codegen_runtime::client::{EvictParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube_codegen_runtime::fake::ApiServer;
use serde_json::json;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), ..Default::default() }
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

    // Create, get, lists, pages, updates, patches, watches and collections run in
    // `clientset_both.rs`, on the fake and on a real server; here, what only the fake can show.

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
