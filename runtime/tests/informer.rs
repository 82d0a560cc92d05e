//! Informers, listers and the factory against the in-memory API server: events reach handlers
//! in order, and the cache equals the server's state after dropped watches, 410 relists,
//! error responses and quiet periods.

mod common;
use common::{cm, create, eventually, setup};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ObjectMeta, Selector};
use kube_codegen_runtime::ErrorExt;
use kube_codegen_runtime::fake::{Reaction, Verb};
use kube_codegen_runtime::informer::{DeletedObject, Handler, SharedInformerFactory, drop_managed_fields};
use serde_json::json;

type Log = Arc<Mutex<Vec<String>>>;

fn name(c: &ConfigMap) -> String {
    c.metadata.name.clone().unwrap_or_default()
}

/// A handler that writes each event as a line: `add NAME initial`, `update NAME`,
/// `delete NAME known`.
fn recorder(log: &Log) -> Handler<ConfigMap> {
    let (a, u, d) = (Arc::clone(log), Arc::clone(log), Arc::clone(log));
    Handler::new()
        .on_add(move |c, initial| {
            a.lock().unwrap().push(format!("add {}{}", name(c), if initial { " initial" } else { "" }))
        })
        .on_update(move |_, new| u.lock().unwrap().push(format!("update {}", name(new))))
        .on_delete(move |gone| {
            let how = if matches!(gone, DeletedObject::Known(_)) { "known" } else { "unknown" };
            d.lock().unwrap().push(format!("delete {} {how}", name(gone.object())));
        })
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Waits until the cache holds exactly the server's objects at the server's versions.
async fn cache_matches_server(api: &Api<ConfigMap>, factory: &SharedInformerFactory) {
    let server: BTreeMap<String, String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| (name(&c), c.metadata.resource_version.unwrap()))
        .collect();
    let indexer = factory.informer_for::<ConfigMap>().indexer().clone();
    eventually("the cache to equal the server", || {
        let cached: BTreeMap<String, String> =
            indexer.list().iter().map(|c| (name(c), c.metadata.resource_version.clone().unwrap())).collect();
        cached == server
    })
    .await;
}

#[tokio::test]
async fn initial_list_then_live_events_reach_handlers_in_order() {
    let (server, api) = setup();
    create(&api, &["a", "b"]).await;
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let log = Log::default();
    let handler = informer.add_handler(recorder(&log));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    eventually("the handler to sync", || handler.has_synced()).await;
    assert!(informer.has_synced());

    create(&api, &["c"]).await;
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "v"}}))).await.unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    eventually("five events", || lines(&log).len() == 5).await;
    let mut seen = lines(&log);
    seen[..2].sort();
    assert_eq!(seen, ["add a initial", "add b initial", "add c", "update a", "delete b known"]);
    cache_matches_server(&api, &factory).await;

    // Listers read the cache: a namespace through its index, a name with NotFound.
    let lister = informer.lister();
    assert_eq!(lister.namespace("ns").list(&Selector::default()).len(), 2);
    assert!(lister.namespace("other").list(&Selector::default()).is_empty());
    assert!(lister.namespace("ns").get("a").unwrap().data.is_some());
    assert!(lister.namespace("ns").get("b").unwrap_err().is_not_found());
    factory.shutdown().await;
}

#[tokio::test]
async fn many_handlers_share_one_list_and_watch_and_late_ones_get_the_state() {
    let (server, api) = setup();
    create(&api, &["a", "b", "c"]).await;
    let factory = common::factory(&server);
    let logs: Vec<Log> = (0..5).map(|_| Log::default()).collect();
    for log in &logs[..4] {
        factory.informer_for::<ConfigMap>().add_handler(recorder(log));
    }
    factory.start();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    // A handler added after the sync is first given what is cached.
    let late = factory.informer_for::<ConfigMap>().add_handler(recorder(&logs[4]));
    eventually("the late handler to sync", || late.has_synced()).await;
    create(&api, &["d"]).await;
    for log in &logs {
        eventually("four events per handler", || lines(log).len() == 4).await;
        let mut seen = lines(log);
        seen.sort();
        assert_eq!(seen, ["add a initial", "add b initial", "add c initial", "add d"]);
    }
    assert_eq!(server.count(Verb::List, "configmaps"), 1, "{:?}", server.actions());
    assert_eq!(server.count(Verb::Watch, "configmaps"), 1, "{:?}", server.actions());
    factory.shutdown().await;
}

#[tokio::test]
async fn a_dropped_watch_resumes_without_a_relist() {
    let (server, api) = setup();
    create(&api, &["a"]).await;
    let factory = common::factory(&server);
    let log = Log::default();
    factory.informer_for::<ConfigMap>().add_handler(recorder(&log));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    server.drop_watches();
    create(&api, &["b"]).await;
    eventually("the new object", || lines(&log).contains(&"add b".to_owned())).await;
    assert_eq!(server.count(Verb::List, "configmaps"), 1, "a resumed watch needs no list");
    assert!(server.count(Verb::Watch, "configmaps") >= 2);
    cache_matches_server(&api, &factory).await;
    factory.shutdown().await;
}

#[tokio::test]
async fn a_410_relist_delivers_missed_deletes_as_unknown() {
    let (server, api) = setup();
    create(&api, &["a", "b"]).await;
    let blocked = Arc::new(AtomicBool::new(false));
    let gate = Arc::clone(&blocked);
    server.react(Verb::Watch, "configmaps", move |_| {
        if gate.load(Ordering::Acquire) {
            Reaction::Fail { code: 500, reason: "InternalError".into(), retry_after: None }
        } else {
            Reaction::Pass
        }
    });
    let factory = common::factory(&server);
    let log = Log::default();
    factory.informer_for::<ConfigMap>().add_handler(recorder(&log));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();

    // While the informer cannot watch: a delete and a create it does not see, then the
    // history it would resume from is compacted away.
    blocked.store(true, Ordering::Release);
    server.drop_watches();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    create(&api, &["c"]).await;
    server.compact();
    blocked.store(false, Ordering::Release);

    eventually("the relist", || lines(&log).len() == 4).await;
    let seen = lines(&log);
    assert!(seen.contains(&"delete a unknown".to_owned()), "{seen:?}");
    assert!(seen.contains(&"add c".to_owned()), "{seen:?}");
    assert_eq!(server.count(Verb::List, "configmaps"), 2, "410 Gone means a new list");
    cache_matches_server(&api, &factory).await;
    factory.shutdown().await;
}

#[tokio::test]
async fn error_responses_are_retried_and_reported() {
    let (server, api) = setup();
    create(&api, &["a"]).await;
    server.fail_next(Verb::List, "configmaps", 1, 500).fail_next(Verb::Watch, "configmaps", 1, 429);
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let errors = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&errors);
    informer.on_watch_error(move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
    });
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    create(&api, &["b"]).await;
    cache_matches_server(&api, &factory).await;
    assert_eq!(errors.load(Ordering::Relaxed), 2, "one 500, one 429");
    factory.shutdown().await;
}

#[tokio::test]
async fn wait_for_cache_sync_says_which_informer_failed_and_why() {
    let (server, _) = setup();
    server.fail_next(Verb::List, "secrets", usize::MAX, 403);
    let factory = common::factory(&server);
    factory.informer_for::<ConfigMap>();
    factory.informer_for::<Secret>();
    factory.start();
    let failures = factory.wait_for_cache_sync().await.unwrap_err();
    assert_eq!(failures.0.keys().collect::<Vec<_>>(), ["secrets/v1"]);
    let refused = failures.0["secrets/v1"].status().expect("the server's answer is kept");
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"), "{failures}");
    assert!(failures.to_string().contains("Forbidden"), "{failures}");
    assert!(factory.informer_for::<ConfigMap>().has_synced());
    factory.shutdown().await;
}

#[tokio::test]
async fn quiet_periods_with_only_bookmarks_keep_the_watch() {
    let (server, api) = setup();
    server.set_bookmark_interval(Duration::from_millis(50));
    let factory = common::factory(&server);
    let log = Log::default();
    factory.informer_for::<ConfigMap>().add_handler(recorder(&log));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    create(&api, &["late"]).await;
    eventually("the event after the quiet period", || lines(&log) == ["add late"]).await;
    assert_eq!(server.count(Verb::Watch, "configmaps"), 1, "bookmarks do not end the watch");
    factory.shutdown().await;
}

#[tokio::test]
async fn a_slow_handler_holds_up_no_other() {
    let (server, api) = setup();
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let slow = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&slow);
    informer.add_handler(Handler::new().on_add(move |_, _| {
        std::thread::sleep(Duration::from_millis(300));
        counted.fetch_add(1, Ordering::Relaxed);
    }));
    let fast = Log::default();
    informer.add_handler(recorder(&fast));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    create(&api, &["a", "b", "c", "d"]).await;
    eventually("the fast handler", || lines(&fast).len() == 4).await;
    assert!(slow.load(Ordering::Relaxed) < 4, "the slow handler is still working");
    assert_eq!(informer.indexer().len(), 4, "the cache did not wait for it either");
    factory.shutdown().await;
    assert_eq!(slow.load(Ordering::Relaxed), 4, "shutdown drains each handler's queue");
}

#[tokio::test]
async fn resync_repeats_the_cache_as_updates() {
    let (server, api) = setup();
    create(&api, &["a"]).await;
    let factory = common::factory(&server).default_resync(Duration::from_millis(100));
    let log = Log::default();
    factory.informer_for::<ConfigMap>().add_handler(recorder(&log));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    eventually("two resyncs", || lines(&log).iter().filter(|l| *l == "update a").count() >= 2).await;
    factory.shutdown().await;
}

#[tokio::test]
async fn transforms_namespaces_and_selectors_shape_the_cache() {
    let (server, api) = setup();
    let mut managed = cm("a");
    managed.metadata.managed_fields =
        Some(vec![ManagedFieldsEntry { manager: Some("me".into()), ..Default::default() }]);
    managed.metadata.labels = Some([("app".to_owned(), "web".to_owned())].into());
    api.create(&PostParams::default(), &managed).await.unwrap();
    create(&api, &["b"]).await;
    let other: Api<ConfigMap> = Api::namespaced(server.client(), "other");
    other.create(&PostParams::default(), &cm("c")).await.unwrap();

    let factory = common::factory(&server)
        .namespace("ns")
        .transform(drop_managed_fields)
        .tweak_list_params(|config| config.label_selector = Some("app=web".into()));
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let cached = informer.indexer().list();
    assert_eq!(cached.len(), 1);
    assert_eq!(name(&cached[0]), "a");
    assert!(cached[0].metadata.managed_fields.is_none());
    let reads = server.actions().into_iter().filter(|a| matches!(a.verb, Verb::List | Verb::Watch));
    assert!(reads.into_iter().all(|a| a.namespace.as_deref() == Some("ns")), "{:?}", server.actions());
    factory.shutdown().await;
}

#[tokio::test]
async fn streaming_lists_sync_through_a_watch() {
    let (server, api) = setup();
    create(&api, &["a", "b"]).await;
    let factory = common::factory(&server).streaming_lists(true);
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    assert_eq!(informer.indexer().len(), 2);
    assert_eq!(server.count(Verb::List, "configmaps"), 0);
    factory.shutdown().await;
}

#[tokio::test]
async fn custom_and_label_indexes() {
    let (server, api) = setup();
    let pods: Api<Pod> = Api::namespaced(server.client(), "ns");
    for (n, node) in [("p1", "n1"), ("p2", "n1"), ("p3", "n2")] {
        let pod =
            json!({"metadata": {"name": n, "labels": {"node": node}}, "spec": {"nodeName": node, "containers": []}});
        pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    }
    let _ = api;
    let factory = common::factory(&server);
    let informer = factory.informer_for::<Pod>();
    informer
        .indexer()
        .add_index("by-node", Arc::new(|p: &Pod| p.spec.iter().filter_map(|s| s.node_name.clone()).collect()))
        .unwrap();
    informer.indexer().add_label_index().unwrap();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let lister = informer.lister();
    assert_eq!(lister.by_index("by-node", "n1").unwrap().len(), 2);
    assert_eq!(lister.namespace("ns").by_index("labels", "node=n2").unwrap().len(), 1);
    let mut nodes = informer.indexer().list_index_values("by-node").unwrap();
    nodes.sort();
    assert_eq!(nodes, ["n1", "n2"]);
    assert!(lister.by_index("nope", "x").is_err());
    let selector: Selector = [("node", "n1")].into_iter().collect();
    assert_eq!(lister.namespace("ns").list(&selector).len(), 2);
    factory.shutdown().await;
}

#[tokio::test]
async fn dynamic_informers_and_cluster_scoped_listers() {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::core::{ApiResource, DynamicObject};
    let (server, api) = setup();
    server.register::<Namespace>();
    create(&api, &["a", "b"]).await;
    let namespaces: Api<Namespace> = Api::all(server.client());
    let ns = Namespace { metadata: ObjectMeta { name: Some("ns".into()), ..Default::default() }, ..Default::default() };
    namespaces.create(&PostParams::default(), &ns).await.unwrap();

    let factory = common::factory(&server);
    let resource = ApiResource::erase::<ConfigMap>(&());
    let dynamic = factory.for_resource(&resource, true);
    assert_eq!(factory.for_resource(&resource, true).indexer().len(), dynamic.indexer().len());
    let typed_namespaces = factory.informer_for::<Namespace>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let mut names: Vec<String> =
        dynamic.indexer().list().iter().map(|o: &Arc<DynamicObject>| o.metadata.name.clone().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    assert!(dynamic.indexer().get("ns/a").unwrap().data["data"].is_null());
    let lister = typed_namespaces.lister();
    assert_eq!(lister.get("ns").unwrap().metadata.name.as_deref(), Some("ns"));
    assert!(lister.get("nope").unwrap_err().is_not_found());
    // The typed ConfigMap informer is a different cache from the dynamic one.
    assert_eq!(factory.informer_for::<ConfigMap>().indexer().len(), 0);
    factory.shutdown().await;
}

#[tokio::test]
async fn a_removed_handler_hears_nothing_more() {
    let (server, api) = setup();
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let (kept, removed) = (Log::default(), Log::default());
    informer.add_handler(recorder(&kept));
    let registration = informer.add_handler(recorder(&removed));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    create(&api, &["a"]).await;
    eventually("both handlers", || lines(&kept).len() == 1 && lines(&removed).len() == 1).await;
    informer.remove_handler(&registration);
    create(&api, &["b"]).await;
    eventually("the kept handler", || lines(&kept).len() == 2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(lines(&removed), ["add a"]);
    factory.shutdown().await;
}

#[tokio::test]
async fn an_informers_events_as_a_stream_share_its_one_list_and_watch() {
    use futures::StreamExt;
    use kube_codegen_runtime::informer::InformerEvent;

    let (server, api) = setup();
    create(&api, &["a", "b"]).await;
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let mut events = informer.events();
    let log = Log::default();
    informer.add_handler(recorder(&log));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    create(&api, &["c"]).await;
    api.delete("a", &DeleteParams::default()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 4 {
        // Beside other work in a select, as a controller's loop would have it.
        let event = tokio::select! {
            e = events.next() => e.expect("the stream ends only when dropped"),
            _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("no event within 10 s; saw {seen:?}"),
        };
        seen.push(match &event {
            InformerEvent::Added { object, initial } => format!("add {} {initial}", name(object)),
            InformerEvent::Updated { new, .. } => format!("update {}", name(new)),
            InformerEvent::Deleted(d) => format!("delete {}", name(d.object())),
        });
    }
    seen[..2].sort();
    assert_eq!(seen, ["add a true", "add b true", "add c false", "delete a"]);
    assert!(events.has_synced());
    // The stream and the callback handler ride the informer's one list and one watch.
    assert_eq!(server.count(Verb::List, "configmaps"), 1, "{:?}", server.actions());
    assert_eq!(server.count(Verb::Watch, "configmaps"), 1, "{:?}", server.actions());
    eventually("the callback handler to see the same", || lines(&log).len() == 4).await;

    // Dropped, the stream's handler goes: later events reach only the others.
    drop(events);
    create(&api, &["d"]).await;
    eventually("the handler to see d", || lines(&log).len() == 5).await;
    factory.shutdown().await;
}

#[tokio::test]
async fn dropping_a_stream_whose_buffer_is_full_releases_its_handler() {
    let (server, api) = setup();
    create(&api, &["a", "b", "c"]).await;
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    // Never read: its handler blocks on the full one-event buffer.
    let unread = informer.events_with_capacity(1);
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let dropped = tokio::task::spawn_blocking(move || drop(unread));
    tokio::time::timeout(Duration::from_secs(10), dropped).await.expect("drop hung").unwrap();
    // The informer is unharmed.
    create(&api, &["d"]).await;
    let lister = informer.lister();
    eventually("the cache to see d", || lister.namespace("ns").get("d").is_ok()).await;
    factory.shutdown().await;
}

/// kube-runtime's Controller with its own reconciler, fed by a shared informer: the informer,
/// the controller and three handlers together make one list and one watch.
#[cfg(feature = "controller")]
#[tokio::test]
async fn a_kube_runtime_controller_on_a_shared_informer_adds_no_list_or_watch() {
    use futures::StreamExt;
    use kube::runtime::controller::Action;

    #[derive(Debug)]
    struct Never;
    impl std::fmt::Display for Never {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("never")
        }
    }
    impl std::error::Error for Never {}

    let (server, api) = setup();
    create(&api, &["a", "b"]).await;
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let logs: Vec<Log> = (0..3).map(|_| Log::default()).collect();
    for log in &logs {
        informer.add_handler(recorder(log));
    }
    let reconciled = Log::default();
    let controller = informer.controller();
    let seen = Arc::clone(&reconciled);
    let reconcile = move |cm: Arc<ConfigMap>, _: Arc<()>| {
        let seen = Arc::clone(&seen);
        async move {
            seen.lock().unwrap().push(name(&cm));
            Ok::<_, Never>(Action::await_change())
        }
    };
    let running = tokio::spawn(
        controller.run(reconcile, |_, _: &Never, _| Action::await_change(), Arc::new(())).for_each(|_| async {}),
    );
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    eventually("the controller to reconcile a and b", || {
        let mut r = lines(&reconciled);
        r.sort();
        r == ["a", "b"]
    })
    .await;
    create(&api, &["c"]).await;
    eventually("the controller to reconcile c", || lines(&reconciled).contains(&"c".to_owned())).await;
    for log in &logs {
        eventually("each handler to see three adds", || lines(log).len() == 3).await;
    }
    assert_eq!(server.count(Verb::List, "configmaps"), 1, "{:?}", server.actions());
    assert_eq!(server.count(Verb::Watch, "configmaps"), 1, "{:?}", server.actions());
    running.abort();
    factory.shutdown().await;
}

/// A metadata-only informer: the server is asked for `PartialObjectMetadata`, so the cache
/// holds names, labels and versions and nothing of the objects' data; watch events arrive the
/// same way; its lister answers by namespace and label like any other.
#[tokio::test]
async fn a_metadata_informer_caches_metadata_only_and_follows_the_watch() {
    use kube::core::PartialObjectMeta;

    let (server, api) = setup();
    let mut big = cm("big");
    big.data = Some([("payload".to_owned(), "x".repeat(10_000))].into());
    big.metadata.labels = Some([("app".to_owned(), "web".to_owned())].into());
    api.create(&PostParams::default(), &big).await.unwrap();
    create(&api, &["small"]).await;

    // The wire: what kube's metadata requests get back.
    let listed = api.list_metadata(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 2);
    let got = api.get_metadata("big").await.unwrap();
    assert_eq!(got.types.as_ref().map(|t| t.kind.as_str()), Some("PartialObjectMetadata"));
    assert_eq!(got.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str), Some("web"));

    let factory = common::factory(&server);
    let informer = factory.metadata_for::<ConfigMap>();
    let full = factory.informer_for::<ConfigMap>();
    assert_eq!(factory.metadata_for::<ConfigMap>().lister().list(&Selector::default()).len(), 0, "not started yet");
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let lister = informer.lister();
    let cached: Vec<Arc<PartialObjectMeta<ConfigMap>>> = lister.namespace("ns").list(&Selector::default());
    assert_eq!(cached.len(), 2);
    let selector: Selector = kube::core::Expression::Equal("app".into(), "web".into()).into();
    let web = lister.list(&selector);
    assert_eq!(web.len(), 1);
    assert_eq!(web[0].metadata.name.as_deref(), Some("big"));
    // A separate cache from the full informer's, which has the data.
    assert!(full.lister().namespace("ns").get("big").unwrap().data.is_some());

    create(&api, &["late"]).await;
    eventually("the metadata cache to see a watched add", || lister.namespace("ns").get("late").is_ok()).await;
    api.delete("small", &DeleteParams::default()).await.unwrap();
    eventually("the metadata cache to see a watched delete", || lister.namespace("ns").get("small").is_err()).await;

    // What crossed the wire for the metadata informer: one list and one watch of its own.
    assert_eq!(server.count(Verb::List, "configmaps"), 3, "the test's list_metadata, the two informers");
    assert_eq!(server.count(Verb::Watch, "configmaps"), 2);
    factory.shutdown().await;
}

#[tokio::test]
async fn the_fake_answers_metadata_requests_as_partial_object_metadata() {
    let (server, api) = setup();
    let mut one = cm("one");
    one.data = Some([("k".to_owned(), "v".to_owned())].into());
    api.create(&PostParams::default(), &one).await.unwrap();
    let request = |accept: &str, uri: &str| http::Request::get(uri).header("Accept", accept).body(Vec::new()).unwrap();
    let client = server.client();
    let single: serde_json::Value = client
        .request(request(
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            "/api/v1/namespaces/ns/configmaps/one",
        ))
        .await
        .unwrap();
    assert_eq!(single["kind"], "PartialObjectMetadata");
    assert_eq!(single["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(single["metadata"]["name"], "one");
    assert!(single.get("data").is_none());
    let list: serde_json::Value = client
        .request(request(
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            "/api/v1/namespaces/ns/configmaps",
        ))
        .await
        .unwrap();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata");
    assert!(list["items"][0].get("data").is_none());
    // Without the Accept parameter, the whole object as before.
    let whole: serde_json::Value =
        client.request(request("application/json", "/api/v1/namespaces/ns/configmaps/one")).await.unwrap();
    assert_eq!(whole["kind"], "ConfigMap");
    assert_eq!(whole["data"]["k"], "v");
}

/// Metadata informers leave managedFields out unless the factory keeps them.
#[tokio::test]
async fn metadata_informers_skip_managed_fields_unless_kept() {
    let (server, api) = setup();
    let mut one = cm("one");
    one.data = Some([("k".to_owned(), "v".to_owned())].into());
    api.create(&PostParams::default(), &one).await.unwrap();
    assert!(api.get("one").await.unwrap().metadata.managed_fields.is_some(), "the server records the create's manager");
    for keep in [false, true] {
        let mut factory = SharedInformerFactory::new(server.client());
        if keep {
            factory = factory.keep_metadata_managed_fields();
        }
        let metadata = factory.metadata_for::<ConfigMap>();
        let whole = factory.informer_for::<ConfigMap>();
        factory.start();
        factory.wait_for_cache_sync().await.unwrap();
        let cached = metadata.lister().namespace("ns").get("one").unwrap();
        assert_eq!(cached.metadata.managed_fields.is_some(), keep, "metadata informer, kept: {keep}");
        // Whole objects keep them either way, unless skipped for every informer.
        assert!(whole.lister().namespace("ns").get("one").unwrap().metadata.managed_fields.is_some());
        factory.shutdown().await;
    }
}

/// `transform(drop_managed_fields)` is done by skipping the entries while decoding: an entry
/// the typed decode refuses does not stop the sync, as it does for any other transform (which
/// needs the object decoded whole first).
#[tokio::test]
async fn the_drop_managed_fields_transform_never_decodes_the_entries() {
    let (server, _) = setup();
    let odd = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "odd", "namespace": "ns", "managedFields": [{"manager": 5, "fieldsV1": "not an object"}]},
        "data": {"k": "v"},
    });
    server.seed(&odd).unwrap();

    let factory = SharedInformerFactory::new(server.client()).transform(drop_managed_fields);
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync_timeout(Duration::from_secs(10)).await.unwrap();
    let cached = informer.lister().namespace("ns").get("odd").unwrap();
    assert!(cached.metadata.managed_fields.is_none());
    assert_eq!(cached.data.as_ref().unwrap()["k"], "v");
    factory.shutdown().await;

    // Any other transform sees whole objects, so this one cannot be decoded.
    #[allow(clippy::redundant_closure)] // a closure on purpose: the factory recognises only the function
    let factory = SharedInformerFactory::new(server.client()).transform(|meta| drop_managed_fields(meta));
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    assert!(factory.wait_for_cache_sync_timeout(Duration::from_millis(300)).await.is_err());
    assert!(informer.lister().namespace("ns").get("odd").is_err());
    factory.shutdown().await;
}

/// `skip_managed_fields()`: the cache is what `drop_managed_fields` would leave, without the
/// entries ever being decoded; whole informers and metadata informers alike.
#[tokio::test]
async fn skipping_managed_fields_while_decoding_caches_the_rest_of_each_object() {
    let (server, api) = setup();
    let mut one = cm("one");
    one.data = Some([("k".to_owned(), "v".to_owned())].into());
    api.create(&PostParams::default(), &one).await.unwrap();
    let live = api.get("one").await.unwrap();
    assert!(live.metadata.managed_fields.is_some(), "the server records the create's manager");

    let factory = SharedInformerFactory::new(server.client()).skip_managed_fields();
    let whole = factory.informer_for::<ConfigMap>();
    let metadata = factory.metadata_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let cached = whole.lister().namespace("ns").get("one").unwrap();
    let mut expected = live.clone();
    expected.metadata.managed_fields = None;
    assert_eq!(*cached, expected);
    assert!(metadata.lister().namespace("ns").get("one").unwrap().metadata.managed_fields.is_none());
    // Watched changes arrive the same way.
    let patch = json!({"data": {"k": "w"}});
    api.patch("one", &PatchParams::apply("test").force(), &Patch::Apply(&patch)).await.unwrap();
    let lister = whole.lister();
    eventually("the patch to arrive", || {
        lister.namespace("ns").get("one").is_ok_and(|c| c.data.as_ref().is_some_and(|d| d["k"] == "w"))
    })
    .await;
    assert!(lister.namespace("ns").get("one").unwrap().metadata.managed_fields.is_none());
    factory.shutdown().await;
}
