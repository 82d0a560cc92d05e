//! What the metrics cost. (1) The client metrics layer on the cheapest request there is, a GET
//! of one ConfigMap from the in-memory API server: the CPU time per request with and without
//! the layer, in rounds that alternate the two. (2) An informer's initial sync of ConfigMaps
//! with and without informer metrics, alternating likewise. Everything runs on one thread (a
//! current-thread runtime, the in-process server included), whose on-CPU time the kernel
//! counts in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`): the figures move with the machine's
//! speed, the ratios far less.
//!
//! `cargo bench -p kube-codegen-runtime --features fake --bench client_metrics -- [REQUESTS] [OBJECTS] [ROUNDS]`
//!
//! CPU time on a shared machine moves by tens of percent from one round to the next, more
//! than the layer costs; instructions do not. `-- instructions plain|metrics N` sends only `N`
//! GETs through one client, to be run under callgrind at two `N`: the difference over the
//! difference in `N` is the instructions per request, setup excluded
//! (`benches/client-metrics-instructions.sh` does it, and the same for a sync:
//! `instructions sync-plain|sync-metrics N`, with `N` ConfigMaps).

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use kube_codegen_runtime::fake::ApiServer;
use kube_codegen_runtime::informer::SharedInformerFactory;
use kube_codegen_runtime::metrics::Metrics;
use prometheus_client::registry::Registry;
use tower::Layer;

mod common;

/// Nanoseconds this thread has run on a CPU.
fn thread_cpu() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

async fn send_gets(client: kube::Client, count: usize) {
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for _ in 0..count {
        api.get("a").await.unwrap();
    }
}

async fn gets(client: kube::Client, count: usize) -> Duration {
    let start = thread_cpu();
    send_gets(client, count).await;
    Duration::from_nanos(thread_cpu() - start)
}

async fn sync(client: kube::Client, metrics: Option<&Metrics>) -> Duration {
    let start = thread_cpu();
    let mut factory = SharedInformerFactory::new(client);
    if let Some(m) = metrics {
        factory = factory.metrics(&m.informers);
    }
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let took = Duration::from_nanos(thread_cpu() - start);
    assert!(!informer.indexer().is_empty());
    factory.shutdown().await;
    took
}

fn spread(v: &[f64]) -> String {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    format!("median {:.2}, range {:.2}–{:.2}", v[v.len() / 2], v[0], v[v.len() - 1])
}

/// A server holding one ConfigMap, `default/a`.
async fn one_configmap() -> ApiServer {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let cm = ConfigMap { metadata: ObjectMeta { name: Some("a".into()), ..Default::default() }, ..Default::default() };
    Api::<ConfigMap>::namespaced(server.client(), "default").create(&PostParams::default(), &cm).await.unwrap();
    server
}

/// Only `count` GETs through a client with or without the layer, or an initial sync of
/// `count` ConfigMaps with or without informer metrics, for an instruction count.
fn instructions(case: &str, count: usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    if let Some(with) = case.strip_prefix("sync-") {
        return rt.block_on(async {
            let server = common::populate(count, false).await;
            let mut registry = Registry::default();
            let metrics = Metrics::register(&mut registry);
            let mut factory = SharedInformerFactory::new(server.client());
            if with == "metrics" {
                factory = factory.metrics(&metrics.informers);
            }
            let _informer = factory.informer_for::<ConfigMap>();
            factory.start();
            factory.wait_for_cache_sync().await.unwrap();
            factory.shutdown().await;
        });
    }
    rt.block_on(async {
        let (server, mut registry) = (one_configmap().await, Registry::default());
        let metrics = Metrics::register(&mut registry);
        let client = match case {
            "metrics" => kube::Client::new(metrics.client.for_host("fake").layer().layer(server.clone()), "default"),
            _ => server.client(),
        };
        // Untimed: the CPU clock's first read (rustix's vDSO lookup) does not run under valgrind.
        send_gets(client, count).await;
    });
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, case, count] = raw.as_slice()
        && mode == "instructions"
    {
        return instructions(case, count.parse().unwrap_or(0));
    }
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(100_000);
    let objects = args.get(1).copied().unwrap_or(10_000);
    let rounds = args.get(2).copied().unwrap_or(10).max(1);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (server, mut registry) = (one_configmap().await, Registry::default());
        let metrics = Metrics::register(&mut registry);
        let plain = server.client();
        let measured = kube::Client::new(metrics.client.for_host("fake").layer().layer(server.clone()), "default");
        // Warm both paths (allocator, label series) before anything is timed.
        gets(plain.clone(), 1000).await;
        gets(measured.clone(), 1000).await;

        let per_round = (requests / rounds).max(1);
        let (mut without, mut with, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which goes first, so neither always runs on a warmer machine.
            let (a, b) = if round % 2 == 0 {
                let a = gets(plain.clone(), per_round).await;
                (a, gets(measured.clone(), per_round).await)
            } else {
                let b = gets(measured.clone(), per_round).await;
                (gets(plain.clone(), per_round).await, b)
            };
            let (a, b) = (a.as_nanos() as f64 / per_round as f64 / 1e3, b.as_nanos() as f64 / per_round as f64 / 1e3);
            without.push(a);
            with.push(b);
            overhead.push((b / a - 1.0) * 100.0);
        }
        println!(
            "GET of one ConfigMap, in-process server, {} requests per case, {rounds} rounds, one thread",
            per_round * rounds
        );
        println!("  without the metrics layer: {} µs CPU per request", spread(&without));
        println!("  with the metrics layer:    {} µs CPU per request", spread(&with));
        println!("  overhead:                  {} %", spread(&overhead));
        let t = {
            let mut t = String::new();
            prometheus_client::encoding::text::encode(&mut t, &registry).unwrap();
            t
        };
        let counted = t
            .lines()
            .find(|l| l.starts_with("rest_client_requests_total{code=\"200\""))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        println!("  requests counted by the layer: {counted}");

        let server = common::populate(objects, false).await;
        let sync_rounds = rounds.min(6);
        let (mut without, mut with, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
        sync(server.client(), None).await;
        for round in 0..sync_rounds {
            // A registry per sync: series of informers that are gone are not what is measured.
            let mut registry = Registry::default();
            let metrics = Metrics::register(&mut registry);
            let (a, b) = if round % 2 == 0 {
                let a = sync(server.client(), None).await;
                (a, sync(server.client(), Some(&metrics)).await)
            } else {
                let b = sync(server.client(), Some(&metrics)).await;
                (sync(server.client(), None).await, b)
            };
            without.push(a.as_secs_f64() * 1e3);
            with.push(b.as_secs_f64() * 1e3);
            overhead.push((b.as_secs_f64() / a.as_secs_f64() - 1.0) * 100.0);
        }
        println!("Initial sync of {objects} ConfigMaps (~1 KB), in-process server, {sync_rounds} rounds, one thread");
        println!("  without informer metrics: {} ms CPU", spread(&without));
        println!("  with informer metrics:    {} ms CPU", spread(&with));
        println!("  overhead:                 {} %", spread(&overhead));
    });
}
