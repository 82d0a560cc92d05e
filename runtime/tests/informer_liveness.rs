//! No wait hangs and no callback deadlocks or kills an informer: a shutdown before the first
//! sync ends every wait with an error; transforms, index functions and error callbacks run
//! outside the informer's locks, so they may call back into it, and their panics are reported
//! while the informer keeps serving; the read-only cache and a handler's backlog.

mod common;
use common::{cm, create, eventually, setup};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use kube_codegen_runtime::fake::Verb;
use kube_codegen_runtime::informer::{Handler, InformerError, SharedInformer, SyncError, SyncState};

#[tokio::test(start_paused = true)]
async fn a_shutdown_before_the_first_sync_ends_every_wait_with_an_error() {
    let (server, _) = setup();
    // Listing fails for ever (retried with backoff): the informer never syncs.
    server.fail_next(Verb::List, "configmaps", usize::MAX, 500);
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    let (one, all) = (informer.clone(), &factory);
    let waits = async { tokio::join!(one.wait_for_sync(), all.wait_for_cache_sync()) };
    let shutdown = async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        factory.shutdown().await;
    };
    let ((waited, all_waited), ()) =
        tokio::time::timeout(Duration::from_secs(300), async { tokio::join!(waits, shutdown) })
            .await
            .expect("the waits ended with the shutdown");
    assert!(matches!(waited, Err(SyncError::ShutDown)), "{waited:?}");
    let failures = all_waited.expect_err("not synced");
    assert!(matches!(failures.0.get("configmaps/v1"), Some(SyncError::ShutDown)), "{failures}");
    assert!(matches!(informer.sync_state(), SyncState::ShutDown));
    // A wait that starts after the shutdown ends at once, as does the timed one.
    assert!(matches!(informer.wait_for_sync().await, Err(SyncError::ShutDown)));
    let timed = factory.wait_for_cache_sync_timeout(Duration::from_secs(60)).await.expect_err("not synced");
    assert!(matches!(timed.0.get("configmaps/v1"), Some(SyncError::ShutDown)), "{timed}");
    assert!(!informer.is_running());
}

#[tokio::test]
async fn a_synced_informer_stays_synced_after_a_shutdown() {
    let (server, api) = setup();
    create(&api, &["a"]).await;
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    factory.shutdown().await;
    assert!(informer.has_synced() && !informer.is_running());
    informer.wait_for_sync().await.expect("the cache held the list");
}

#[tokio::test]
async fn a_dropped_informer_task_is_a_stopped_informer() {
    let (server, _) = setup();
    server.fail_next(Verb::List, "configmaps", usize::MAX, 500);
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let informer = SharedInformer::new(api, watcher::Config::default(), None);
    let task = tokio::spawn(informer.clone().run(std::future::pending()));
    eventually("the informer to run", || informer.is_running()).await;
    task.abort();
    let _ = task.await;
    let waited = tokio::time::timeout(Duration::from_secs(5), informer.wait_for_sync()).await.expect("ended");
    assert!(matches!(waited, Err(SyncError::Stopped(kube_codegen_runtime::informer::Stopped::Dropped))), "{waited:?}");
    assert!(matches!(informer.last_error(), Some(InformerError::Stopped(_))));
}

/// An informer on `ns` ConfigMaps whose transform calls `during` with the informer itself.
fn calling_back(
    server: &kube_codegen_runtime::fake::ApiServer,
    during: impl Fn(&SharedInformer<ConfigMap>, &ConfigMap) + Send + Sync + 'static,
) -> SharedInformer<ConfigMap> {
    let me: Arc<OnceLock<SharedInformer<ConfigMap>>> = Arc::default();
    let this = Arc::clone(&me);
    let transform = Arc::new(move |o: ConfigMap| {
        if let Some(informer) = this.get() {
            during(informer, &o);
        }
        o
    });
    let informer =
        SharedInformer::new(Api::namespaced(server.client(), "ns"), watcher::Config::default(), Some(transform));
    let _ = me.set(informer.clone());
    informer
}

#[tokio::test]
async fn callbacks_may_call_back_into_the_informer() {
    let (server, api) = setup();
    create(&api, &["a"]).await;
    let added = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&added);
    // The transform adds a handler, reads the cache and the health: each takes a lock that
    // the transform once ran under.
    let informer = calling_back(&server, move |informer, o| {
        if o.metadata.name.as_deref() == Some("b") {
            let seen = Arc::clone(&count);
            informer.add_handler(Handler::new().on_add(move |_, _| {
                seen.fetch_add(1, Ordering::SeqCst);
            }));
            let _ = (informer.indexer().len(), informer.health());
        }
    });
    // So does an index function, and an error callback adds another error callback.
    let reader = informer.clone();
    informer
        .indexer()
        .add_index(
            "size",
            Arc::new(move |_: &ConfigMap| {
                let _ = reader.health();
                vec![reader.indexer().len().to_string()]
            }),
        )
        .unwrap();
    let errors = Arc::new(AtomicUsize::new(0));
    let (me, seen) = (informer.clone(), Arc::clone(&errors));
    informer.on_watch_error(move |_| {
        let seen = Arc::clone(&seen);
        me.on_watch_error(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
    });
    let task = tokio::spawn(informer.clone().run(std::future::pending()));
    tokio::time::timeout(Duration::from_secs(10), informer.wait_for_sync()).await.expect("no deadlock").unwrap();
    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    // The handler added from the transform gets `a` from the cache (and `b` after it).
    eventually("the handler added by the transform to see `a`", || added.load(Ordering::SeqCst) >= 1).await;
    // Two errors: the callback added during the first is called for the second.
    server.fail_next(Verb::Watch, "configmaps", 2, 500);
    server.drop_watches();
    eventually("the error callback added by a callback to be called", || errors.load(Ordering::SeqCst) >= 1).await;
    api.create(&PostParams::default(), &cm("c")).await.unwrap();
    eventually("`c` to be cached", || informer.indexer().get("ns/c").is_some()).await;
    assert!(informer.health().is_healthy());
    task.abort();
}

#[tokio::test]
async fn panicking_error_callbacks_are_reported_and_the_informer_keeps_serving() {
    let (server, api) = setup();
    create(&api, &["a"]).await;
    let informer: SharedInformer<ConfigMap> =
        SharedInformer::new(Api::namespaced(server.client(), "ns"), watcher::Config::default(), None);
    let heard = Arc::new(Mutex::new(Vec::new()));
    informer.on_watch_error(|_| panic!("a watch-error callback panicked"));
    informer.on_error(|e| {
        if matches!(e, InformerError::Watch(_)) {
            panic!("an error callback panicked")
        }
    });
    let later = Arc::clone(&heard);
    informer.on_error(move |e| later.lock().unwrap().push(e.to_string()));
    let task = tokio::spawn(informer.clone().run(std::future::pending()));
    informer.wait_for_sync().await.unwrap();
    server.fail_next(Verb::Watch, "configmaps", 1, 500);
    server.drop_watches();
    eventually("the watch error to reach the last callback", || {
        heard.lock().unwrap().iter().any(|e| e.starts_with("watch error"))
    })
    .await;
    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    eventually("`b` to be cached", || informer.indexer().get("ns/b").is_some()).await;
    let health = informer.health();
    assert!(health.is_healthy(), "{health:?}");
    // The watch error, and each callback's panic on it.
    assert!(health.errors >= 3, "{health:?}");
    task.abort();
}

#[tokio::test]
async fn a_slow_handler_shows_its_backlog() {
    let (server, api) = setup();
    let factory = common::factory(&server);
    let informer = factory.informer_for::<ConfigMap>();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let registration = informer.add_handler(Handler::new().on_add(move |_, _| {
        let _ = gate.lock().unwrap().recv();
    }));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    create(&api, &["a", "b", "c"]).await;
    // The first add is being handled; the other two wait.
    eventually("two adds to wait", || registration.backlog() == 2).await;
    assert_eq!(informer.health().handler_backlog, 2);
    for _ in 0..3 {
        release.send(()).unwrap();
    }
    eventually("the backlog to drain", || registration.backlog() == 0).await;
    assert_eq!(informer.health().handler_backlog, 0);
    factory.shutdown().await;
}
