//! Reads of 100,000 cached ConfigMaps: a lister's namespace list and label-selector list
//! (through the namespace and label indexes) against kube-runtime's `Store::state_filter` and
//! `state_filter_selector` (a scan); then the steady state: 1,000 updates a second through the
//! in-memory API server, and how long each takes to reach an informer's handler.
//!
//! `cargo bench -p kube-codegen-runtime --features fake --bench informer_read`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::{ObjectMeta, Selector};
use kube::runtime::{reflector, watcher};
use kube_codegen_runtime::fake::ApiServer;
use kube_codegen_runtime::informer::{Handler, Lister, SharedInformerFactory};

const OBJECTS: usize = 100_000;
const ROUNDS: usize = 101;

fn configmap(i: usize) -> ConfigMap {
    let labels = [("app".to_owned(), format!("app-{}", i % 7)), ("shard".to_owned(), format!("shard-{:04}", i % 1000))];
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("cm-{i:06}")),
            namespace: Some(format!("ns-{:04}", (i / 100) % 1000)),
            labels: Some(labels.into()),
            resource_version: Some(i.to_string()),
            ..Default::default()
        },
        data: Some([("payload".to_owned(), "x".repeat(900))].into()),
        ..Default::default()
    }
}

fn median_of(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(ROUNDS);
    let mut found = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        found = std::hint::black_box(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[ROUNDS / 2], found)
}

/// A lister over an informer's cache of `objects`, filled by an initial sync from the fake:
/// only an informer writes its cache.
fn cached(objects: &[ConfigMap]) -> Lister<ConfigMap> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = ApiServer::new();
        server.register::<ConfigMap>();
        for o in objects {
            let mut o = serde_json::to_value(o).unwrap();
            o["apiVersion"] = "v1".into();
            o["kind"] = "ConfigMap".into();
            server.seed(&o).unwrap();
        }
        let factory = SharedInformerFactory::new(server.client());
        let informer = factory.informer_for::<ConfigMap>();
        informer.indexer().add_label_index().unwrap();
        factory.start();
        factory.wait_for_cache_sync().await.unwrap();
        factory.shutdown().await;
        informer.lister()
    })
}

fn reads() {
    let objects: Vec<ConfigMap> = (0..OBJECTS).map(configmap).collect();
    let lister = cached(&objects);
    assert_eq!(lister.indexer().len(), OBJECTS);
    let (store, mut writer) = reflector::store::<ConfigMap>();
    writer.apply_watcher_event(&watcher::Event::Init);
    for o in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(o));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    assert_eq!(store.len(), OBJECTS);

    let shard: Selector = [("shard", "shard-0042")].into_iter().collect();
    let everything = Selector::default();
    type Query<'a> = Box<dyn FnMut() -> usize + 'a>;
    let cases: [(&str, Query, Query); 2] = [
        (
            "one namespace (100 objects)",
            Box::new(|| lister.namespace("ns-0042").list(&everything).len()),
            Box::new(|| store.state_filter(|o| o.metadata.namespace.as_deref() == Some("ns-0042")).len()),
        ),
        (
            "label selector `shard=shard-0042` (100 objects)",
            Box::new(|| lister.list(&shard).len()),
            Box::new(|| store.state_filter_selector(&shard).len()),
        ),
    ];
    println!("| {OBJECTS} cached objects, median of {ROUNDS} | Lister | Store scan | speed-up |");
    println!("|---|---|---|---|");
    for (what, mut ours, mut theirs) in cases {
        let (a, n) = median_of(&mut ours);
        let (b, m) = median_of(&mut theirs);
        assert_eq!(n, m, "{what}");
        println!(
            "| {what} | {:.1} µs | {:.1} µs | {:.0}x |",
            a.as_secs_f64() * 1e6,
            b.as_secs_f64() * 1e6,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}

fn nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
}

async fn steady_state() {
    const RATE: usize = 1_000;
    const SECONDS: usize = 5;
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    for i in 0..1000 {
        let cm = ConfigMap {
            metadata: ObjectMeta { name: Some(format!("cm-{i}")), ..Default::default() },
            ..Default::default()
        };
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let factory = SharedInformerFactory::new(server.client());
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(RATE * SECONDS)));
    let seen = Arc::clone(&latencies);
    factory.informer_for::<ConfigMap>().add_handler(Handler::new().on_update(move |_, new: &Arc<ConfigMap>| {
        let sent = new.metadata.annotations.as_ref().and_then(|a| a.get("sent")).and_then(|s| s.parse::<u128>().ok());
        if let Some(sent) = sent {
            seen.lock().unwrap().push(Duration::from_nanos((nanos().saturating_sub(sent)) as u64));
        }
    }));
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let start = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE as u64));
    for i in 0..RATE * SECONDS {
        ticker.tick().await;
        let patch = serde_json::json!({"metadata": {"annotations": {"sent": nanos().to_string()}}});
        api.patch(&format!("cm-{}", i % 1000), &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    }
    let issued = start.elapsed();
    for _ in 0..500 {
        if latencies.lock().unwrap().len() == RATE * SECONDS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    factory.shutdown().await;
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
    println!();
    println!("| steady state | updates | rate achieved | handler latency p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {RATE}/s for {SECONDS} s, 1,000 objects | {} | {:.0}/s | {:.2} ms | {:.2} ms | {:.2} ms |",
        l.len(),
        (RATE * SECONDS) as f64 / issued.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        l[l.len() - 1].as_secs_f64() * 1e3
    );
}

fn main() {
    reads();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(steady_state());
}
