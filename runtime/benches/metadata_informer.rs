//! A metadata-only informer against the full informer on the same 10,000 ConfigMaps of about
//! 1 KB (with about 1 KB of managedFields each, as objects in a cluster carry) from the
//! in-memory API server, keeping managedFields and skipping them: initial sync time, peak heap during the sync, and what
//! the informer retains: the heap its shutdown and drop give back (the server in the same
//! process keeps list snapshots, which a heap total after the sync would count). Runs
//! alternate between the two; medians of 15, heap the largest seen. The speed-up is the
//! median of each pair's own ratio (a full sync and the metadata sync next to it), which
//! the machine's drift over a run moves far less than a ratio of the two medians. With `--remote`, the server
//! runs in a child process that answers list pages it has served before from memory (see
//! `informer_sync`), so the times are the client's alone, as against a cluster.
//!
//! `cargo bench -p kube-codegen-runtime --features fake --bench metadata_informer -- [COUNT] [--remote] [--only full|metadata]`

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube_codegen_runtime::informer::SharedInformerFactory;

mod common;
use common::{Heap, clients, mb, measure_end, measure_start, median, serve_if_child};

const RUNS: usize = 15;

/// One initial sync: of a metadata informer or a full one, keeping managedFields or not (each
/// kind's default is what a factory without options does: full informers keep them, metadata
/// informers skip them).
async fn sync(client: kube::Client, metadata: bool, keep: bool) -> (Duration, Heap, usize) {
    let base = measure_start();
    let start = Instant::now();
    let mut factory = SharedInformerFactory::new(client);
    if metadata && keep {
        factory = factory.keep_metadata_managed_fields();
    } else if !metadata && !keep {
        factory = factory.skip_managed_fields();
    }
    let len = if metadata {
        factory.metadata_for::<ConfigMap>();
        factory.start();
        factory.wait_for_cache_sync().await.unwrap();
        factory.metadata_for::<ConfigMap>().indexer().len()
    } else {
        factory.informer_for::<ConfigMap>();
        factory.start();
        factory.wait_for_cache_sync().await.unwrap();
        factory.informer_for::<ConfigMap>().indexer().len()
    };
    let took = start.elapsed();
    let peak = measure_end(base).peak;
    let held = common::current_usage();
    factory.shutdown().await;
    drop(factory);
    let retained = held.saturating_sub(common::current_usage());
    (took, Heap { peak, retained }, len)
}

fn main() {
    if serve_if_child() {
        return;
    }
    let count: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let remote = std::env::args().any(|a| a == "--remote");
    // `--only full` or `--only metadata`: that informer alone, each kind's default, for profiling.
    let args: Vec<String> = std::env::args().collect();
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(|a| a == "metadata");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let client = clients(count, true, remote).await;
        if remote {
            // Every page asked once, untimed, so that every timed run is answered from memory.
            for metadata in [false, true] {
                sync(client(), metadata, true).await;
            }
        }
        if let Some(metadata) = only {
            for _ in 0..50 {
                sync(client(), metadata, !metadata).await;
            }
            return;
        }
        println!(
            "{count} ConfigMaps of about 1 KB with about 1 KB of managedFields, median of {RUNS} alternating pairs"
        );
        println!("| informer | managedFields | sync | objects/s | heap peak | retained |");
        println!("|---|---|---|---|---|---|");
        // (what, full keeps managedFields, metadata keeps them)
        let comparisons =
            [("each kind's default", true, false), ("both keep them", true, true), ("both skip them", false, false)];
        for (what, full_keeps, metadata_keeps) in comparisons {
            let mut results: [(Vec<Duration>, Heap); 2] =
                [(Vec::new(), Heap { peak: 0, retained: 0 }), (Vec::new(), Heap { peak: 0, retained: 0 })];
            for run in 0..RUNS {
                let order = if run % 2 == 0 { [false, true] } else { [true, false] };
                for metadata in order {
                    let keep = if metadata { metadata_keeps } else { full_keeps };
                    let (took, heap, len) = sync(client(), metadata, keep).await;
                    assert_eq!(len, count);
                    let (times, worst) = &mut results[usize::from(metadata)];
                    times.push(took);
                    worst.peak = worst.peak.max(heap.peak);
                    worst.retained = worst.retained.max(heap.retained);
                }
            }
            let [(full_times, full_heap), (meta_times, meta_heap)] = results;
            // Run i of each is one pair, measured side by side.
            let mut ratios: Vec<f64> =
                full_times.iter().zip(&meta_times).map(|(f, m)| f.as_secs_f64() / m.as_secs_f64()).collect();
            ratios.sort_by(f64::total_cmp);
            let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
            let (full, meta) = (median(full_times), median(meta_times));
            let kept = |keep: bool| if keep { "kept" } else { "skipped" };
            for (informer, t, h, keep) in [
                ("full (`informer_for`)", full, &full_heap, full_keeps),
                ("metadata (`metadata_for`)", meta, &meta_heap, metadata_keeps),
            ] {
                println!(
                    "| {informer} | {} | {:.1} ms | {:.0} | {:.1} MiB | {:.1} MiB |",
                    kept(keep),
                    t.as_secs_f64() * 1e3,
                    count as f64 / t.as_secs_f64(),
                    mb(h.peak),
                    mb(h.retained)
                );
            }
            println!(
                "| metadata / full | {what} | **{ratio:.2}x faster** (pairs {:.2}x to {:.2}x) | | {:.0}% | **{:.0}%** |",
                ratios.first().copied().unwrap_or(f64::NAN),
                ratios.last().copied().unwrap_or(f64::NAN),
                100.0 * meta_heap.peak as f64 / full_heap.peak.max(1) as f64,
                100.0 * meta_heap.retained as f64 / full_heap.retained.max(1) as f64
            );
        }
    });
}
