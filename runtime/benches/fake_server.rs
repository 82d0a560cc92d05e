//! The in-memory API server through `kube::Api`: 10,000 creates, then a full list and a watch
//! from resourceVersion 0 of the 10,000 ConfigMaps; requests per second and peak heap (by
//! `peak_alloc`), median of runs.
//!
//! `cargo bench -p kube-codegen-runtime --features fake --bench fake_server`

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::core::ObjectMeta;
use kube_codegen_runtime::fake::ApiServer;

#[global_allocator]
static ALLOC: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

const OBJECTS: usize = 10_000;
const RUNS: usize = 5;

struct Run {
    creates: Duration,
    list: Duration,
    watch: Duration,
    peak: usize,
}

async fn run() -> Run {
    let base = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "bench");
    let payload = "x".repeat(900);
    let start = Instant::now();
    for i in 0..OBJECTS {
        let cm = ConfigMap {
            metadata: ObjectMeta { name: Some(format!("cm-{i:05}")), ..Default::default() },
            data: Some([("payload".to_owned(), payload.clone())].into()),
            ..Default::default()
        };
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let creates = start.elapsed();

    let start = Instant::now();
    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), OBJECTS);
    let list_time = start.elapsed();

    let start = Instant::now();
    let stream = api.watch(&WatchParams::default().disable_bookmarks(), "0").await.unwrap();
    let added = stream
        .take(OBJECTS)
        .try_fold(0, |n, e| async move { Ok(n + usize::from(matches!(e, WatchEvent::Added(_)))) })
        .await
        .unwrap();
    assert_eq!(added, OBJECTS);
    let watch = start.elapsed();
    let peak = ALLOC.peak_usage().saturating_sub(base);
    drop(list);
    Run { creates, list: list_time, watch, peak }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let runs: Vec<Run> = (0..RUNS).map(|_| runtime.block_on(run())).collect();
    let creates = median(runs.iter().map(|r| r.creates).collect());
    let list = median(runs.iter().map(|r| r.list).collect());
    let watch = median(runs.iter().map(|r| r.watch).collect());
    let peak = runs.iter().map(|r| r.peak).max().unwrap_or(0);
    println!("| {OBJECTS} ConfigMaps of ~1 KB, median of {RUNS} | time | rate |");
    println!("|---|---|---|");
    println!("| creates | {:.2} s | {:.0} requests/s |", creates.as_secs_f64(), OBJECTS as f64 / creates.as_secs_f64());
    println!(
        "| one list of all | {:.1} ms | {:.0} objects/s |",
        list.as_secs_f64() * 1e3,
        OBJECTS as f64 / list.as_secs_f64()
    );
    println!(
        "| watch from 0 (ADDED each) | {:.1} ms | {:.0} events/s |",
        watch.as_secs_f64() * 1e3,
        OBJECTS as f64 / watch.as_secs_f64()
    );
    println!("| peak heap (server, client, responses) | {:.1} MiB | |", peak as f64 / (1024.0 * 1024.0));
}
