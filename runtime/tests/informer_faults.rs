//! Faults an informer survives, visibly: panicking transforms, index functions and handlers
//! skip an object or an event and are reported (last error, error hook, health), never a
//! frozen cache; two Rust types of one resource share a factory; a controller started before
//! its CRD waits for it with a timeout.

mod common;
use common::{create, eventually, setup};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::core::ObjectMeta;
use kube_codegen_runtime::fake::ApiServer;
use kube_codegen_runtime::informer::{Handler, IndexError, InformerError, SyncError};
use serde_json::json;

fn named(c: &ConfigMap) -> &str {
    c.metadata.name.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn a_panicking_transform_skips_the_object_and_is_reported() {
    let (server, api) = setup();
    create(&api, &["a", "bad-1"]).await;
    let factory = common::factory(&server).transform(|meta| {
        assert!(!meta.name.as_deref().unwrap_or_default().starts_with("bad"), "no bad objects, please");
        meta
    });
    let informer = factory.informer_for::<ConfigMap>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook = Arc::clone(&seen);
    informer.on_error(move |e| hook.lock().unwrap().push(e.to_string()));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    assert_eq!(informer.indexer().keys(), ["ns/a"]);
    assert!(matches!(informer.last_error(), Some(InformerError::Transform { ref key, .. }) if key == "ns/bad-1"));

    // The informer goes on: later objects arrive, a later bad one is skipped too.
    create(&api, &["bad-2", "c"]).await;
    eventually("c to be cached", || informer.indexer().get("ns/c").is_some()).await;
    assert!(informer.indexer().get("ns/bad-2").is_none());
    let health = informer.health();
    assert!(health.is_healthy() && health.errors == 2, "{health:?}");
    assert!(seen.lock().unwrap().iter().all(|e| e.contains("no bad objects, please")));
    assert!(factory.is_healthy());
    factory.shutdown().await;
    assert!(!informer.is_running());
}

#[tokio::test]
async fn a_panicking_index_function_leaves_the_cache_and_its_indexes_as_they_were() {
    let (server, api) = setup();
    create(&api, &["a", "b"]).await;
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let by_data = Arc::new(|c: &ConfigMap| {
        let data = c.data.clone().unwrap_or_default();
        assert!(!data.contains_key("boom"), "index function panics on boom");
        data.keys().cloned().collect::<Vec<_>>()
    });
    informer.indexer().add_index("by-key", by_data).unwrap();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();

    // An update the index function panics on: the old version stays, filed as before.
    let mut b = api.get("b").await.unwrap();
    b.data = Some([("boom".to_owned(), "1".to_owned())].into());
    api.replace("b", &PostParams::default(), &b).await.unwrap();
    create(&api, &["after"]).await;
    eventually("`after` to be cached", || informer.indexer().get("ns/after").is_some()).await;
    let cached = informer.indexer().get("ns/b").unwrap();
    assert!(cached.data.is_none(), "the cache took the object the index refused");
    assert_eq!(informer.indexer().by_index("namespace", "ns").unwrap().len(), 3);
    assert!(informer.indexer().list_index_values("by-key").unwrap().is_empty());
    assert!(matches!(
        informer.last_error(),
        Some(InformerError::Index(IndexError::Panicked { ref key, .. })) if key == "ns/b"
    ));
    assert!(informer.health().is_healthy());
    factory.shutdown().await;
}

#[tokio::test]
async fn a_panicking_handler_is_reported_and_keeps_getting_events() {
    let (server, api) = setup();
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let adds = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&adds);
    informer.add_handler(Handler::new().on_add(move |c: &Arc<ConfigMap>, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        assert!(named(c) != "bad", "handler panics on bad");
    }));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    create(&api, &["a", "bad", "c"]).await;
    eventually("three adds", || adds.load(Ordering::SeqCst) == 3).await;
    eventually("the panic to be reported", || informer.last_error().is_some()).await;
    assert!(
        matches!(informer.last_error(), Some(InformerError::Handler { ref event, .. }) if event == "add ns/bad"),
        "{:?}",
        informer.last_error()
    );
    assert!(informer.health().is_healthy());
    factory.shutdown().await;
}

#[tokio::test]
async fn a_handler_added_after_the_informer_stopped_takes_no_thread() {
    let (server, _) = setup();
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let before = informer.add_handler(Handler::new());
    assert!(before.is_active());
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    assert!(informer.is_running());
    factory.shutdown().await;
    assert!(!informer.is_running());
    let after = informer.add_handler(Handler::new());
    assert!(!after.is_active());
    assert!(!factory.is_healthy());
}

/// A second Rust type of the core `configmaps`, as a crate generating its own would have.
#[derive(Clone, Debug, Default, PartialEq)]
struct MyConfigMap {
    metadata: ObjectMeta,
    data: Option<std::collections::BTreeMap<String, String>>,
}
kube_codegen_runtime::resource! {
    MyConfigMap {
        api_version: "v1",
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        scope: Namespaced,
        list_kind: "ConfigMapList",
    }
}
kube_codegen_runtime::object! {
    MyConfigMap [resource] {
        "metadata" => metadata: ObjectMeta [required],
        "data" => data: Option<std::collections::BTreeMap<String, String>> [optional],
    }
}

#[tokio::test]
async fn two_types_of_one_resource_get_an_informer_each() {
    let (server, api) = setup();
    create(&api, &["a"]).await;
    let factory = common::factory(&server);
    let theirs = factory.informer_for::<ConfigMap>();
    let ours = factory.informer_for::<MyConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    assert_eq!(theirs.indexer().keys(), ["ns/a"]);
    assert_eq!(ours.indexer().keys(), ["ns/a"]);
    // The same informer each time, per type.
    assert!(factory.informer_for::<MyConfigMap>().has_synced());
    let names: Vec<String> = factory.health().into_iter().map(|h| h.resource).collect();
    assert_eq!(names.len(), 2);
    assert!(names.iter().any(|n| n.contains("MyConfigMap")), "{names:?}");
    factory.shutdown().await;
}

/// A custom resource whose CRD is installed after its informer starts.
#[derive(Clone, Debug, Default, PartialEq)]
struct Gizmo {
    metadata: ObjectMeta,
}
kube_codegen_runtime::resource! {
    Gizmo {
        api_version: "example.com/v1",
        group: "example.com",
        version: "v1",
        kind: "Gizmo",
        plural: "gizmos",
        scope: Namespaced,
        list_kind: "GizmoList",
    }
}
kube_codegen_runtime::object! {
    Gizmo [resource] {
        "metadata" => metadata: ObjectMeta [required],
    }
}

fn gizmo_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Gizmo", "plural": "gizmos", "listKind": "GizmoList", "singular": "gizmo"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }))
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_crd_that_is_installed_later() {
    let server = ApiServer::new();
    server.register::<CustomResourceDefinition>();
    let factory = common::factory(&server);
    let gizmos = factory.informer_for::<Gizmo>();
    factory.start();
    // Not there: the plain wait fails at once, naming the 404; the timed one says what is
    // missing and the last error.
    let failures = factory.wait_for_cache_sync().await.unwrap_err();
    assert_eq!(failures.0["gizmos.example.com/v1"].status().map(|s| s.code), Some(404), "{failures}");
    let failures = factory.wait_for_cache_sync_timeout(Duration::from_secs(5)).await.unwrap_err();
    let why = &failures.0["gizmos.example.com/v1"];
    assert!(
        matches!(why, SyncError::Timeout { after, last_error: Some(InformerError::Watch(_)) } if *after == Duration::from_secs(5)),
        "{why}"
    );
    assert!(why.to_string().contains("not synced after 5s") && why.to_string().contains("404"), "{why}");

    // Installed while the controller waits: the wait ends with the informer synced.
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    let install = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        crds.create(&PostParams::default(), &gizmo_crd()).await.unwrap();
    };
    let (waited, ()) = tokio::join!(factory.wait_for_cache_sync_timeout(Duration::from_secs(120)), install);
    waited.unwrap();
    assert!(gizmos.has_synced() && gizmos.is_running());
    factory.shutdown().await;
}
