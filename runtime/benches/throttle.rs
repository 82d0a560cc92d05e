//! Whether client-side throttling holds its rate: 8 tasks issue GETs as fast as they can
//! through one throttled client against the in-memory API server, at 5, 50 and 500 requests a
//! second with a burst of 10, in real time. The rate past the burst is
//! (requests - burst) / elapsed, against the set rate.
//!
//! `cargo bench -p kube-codegen-runtime --features fake --bench throttle`

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use kube_codegen_runtime::fake::ApiServer;
use kube_codegen_runtime::throttle::ThrottleLayer;
use tower::Layer;

const TASKS: usize = 8;
const BURST: u32 = 10;

async fn run(qps: f64, seconds: f64) -> (usize, Duration) {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let cm = ConfigMap { metadata: ObjectMeta { name: Some("a".into()), ..Default::default() }, ..Default::default() };
    Api::<ConfigMap>::namespaced(server.client(), "default").create(&PostParams::default(), &cm).await.unwrap();
    let client = kube::Client::new(ThrottleLayer::new(qps, BURST).layer(server.clone()), "default");
    let requests = BURST as usize + (qps * seconds).round() as usize;
    let per_task = requests / TASKS;
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
            tokio::spawn(async move {
                for _ in 0..per_task {
                    api.get("a").await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (per_task * TASKS, start.elapsed())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("{TASKS} tasks, burst {BURST}, real time");
    for (qps, seconds) in [(5.0, 8.0), (50.0, 4.0), (500.0, 4.0)] {
        let (n, elapsed) = rt.block_on(run(qps, seconds));
        let rate = (n as f64 - f64::from(BURST)) / elapsed.as_secs_f64();
        println!(
            "set {qps:>5} qps: {n:>5} requests in {:>6.3} s, {rate:>7.2} qps past the burst ({:+.2}%)",
            elapsed.as_secs_f64(),
            (rate / qps - 1.0) * 100.0
        );
    }
}
