//! Initial sync of a shared informer against kube-runtime's reflector + store, on the same
//! ConfigMaps from the in-memory API server: objects per second (median of runs) and heap
//! (peak during the sync and retained after it, above what was allocated before it), by
//! `peak_alloc`'s counting allocator. With `--remote`, the server runs in a child process and
//! is reached over loopback HTTP, answering list pages it has served before from memory, so
//! heap and CPU are the client's alone, as against a cluster. Rounds interleave the cases.
//!
//! `cargo bench -p kube-codegen-runtime --features fake --bench informer_sync -- [COUNT...] [--remote] [--only TEXT]`

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube_codegen_runtime::informer::{SharedInformerFactory, drop_managed_fields};

mod common;
use common::{Heap, clients, mb, measure_end, measure_start, median, serve_if_child};

async fn reflector_sync(client: kube::Client, strip: bool) -> (Duration, Heap, usize) {
    let base = measure_start();
    let start = Instant::now();
    let (reader, writer) = reflector::store::<ConfigMap>();
    let api: Api<ConfigMap> = Api::all(client);
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let task = if strip {
        let stream = stream.modify(|cm| {
            cm.metadata.managed_fields = None;
        });
        tokio::spawn(reflector(writer, stream).for_each(|_| async {}))
    } else {
        tokio::spawn(reflector(writer, stream).for_each(|_| async {}))
    };
    reader.wait_until_ready().await.unwrap();
    let took = start.elapsed();
    let heap = measure_end(base);
    let len = reader.state().len();
    task.abort();
    let _ = task.await;
    (took, heap, len)
}

/// How the informer treats managedFields.
#[derive(Clone, Copy, PartialEq)]
enum Fields {
    Keep,
    /// `transform(drop_managed_fields)`: taken as `skip_managed_fields()`, never decoded.
    Drop,
    /// The same by a closure, which the factory cannot recognise: decoded, then dropped.
    DropAfterDecoding,
}

async fn informer_sync(client: kube::Client, fields: Fields) -> (Duration, Heap, usize) {
    let base = measure_start();
    let start = Instant::now();
    let mut factory = SharedInformerFactory::new(client);
    match fields {
        Fields::Keep => {}
        Fields::Drop => factory = factory.transform(drop_managed_fields),
        // A closure on purpose: the factory recognises only the function itself.
        #[allow(clippy::redundant_closure)]
        Fields::DropAfterDecoding => factory = factory.transform(|meta| drop_managed_fields(meta)),
    }
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let took = start.elapsed();
    let heap = measure_end(base);
    let len = informer.indexer().len();
    factory.shutdown().await;
    (took, heap, len)
}

fn main() {
    if serve_if_child() {
        return;
    }
    let remote = std::env::args().any(|a| a == "--remote");
    // `--only TEXT`: only the cases whose description contains TEXT (for profiling one).
    let args: Vec<String> = std::env::args().collect();
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let counts: Vec<usize> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let counts = if counts.is_empty() { vec![10_000, 100_000] } else { counts };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        println!("| objects | managedFields | what | objects/s (median) | heap peak | heap retained |");
        println!("|---|---|---|---|---|---|");
        for &count in &counts {
            for managed in [false, true] {
                let runs = if count >= 100_000 { 3 } else { 5 };
                let mut cases: Vec<(&str, Option<Fields>)> =
                    vec![("kube-runtime reflector + Store", None), ("SharedInformer", Some(Fields::Keep))];
                if managed {
                    cases.push(("reflector, managedFields dropped by `.modify()`", None));
                    cases.push(("SharedInformer, `transform(drop_managed_fields)`", Some(Fields::Drop)));
                    cases.push((
                        "SharedInformer, the same by a closure (decoded, then dropped)",
                        Some(Fields::DropAfterDecoding),
                    ));
                }
                let cases: Vec<_> = cases
                    .into_iter()
                    .enumerate()
                    .filter(|(_, (what, _))| only.as_deref().is_none_or(|only| what.contains(only)))
                    .collect();
                if cases.is_empty() {
                    continue;
                }
                let client = clients(count, managed, remote).await;
                if remote {
                    // The remote server's first answer to each page is computed, later ones are
                    // replayed: one untimed sync leaves every case the same server.
                    reflector_sync(client(), false).await;
                }
                // Rounds interleave the cases, so a slow spell of the machine hits them alike.
                let mut results = vec![(Vec::new(), Heap { peak: 0, retained: 0 }); cases.len()];
                for _ in 0..runs {
                    for (slot, (index, (_, ours))) in cases.iter().enumerate() {
                        let strip = *index >= 2;
                        let (took, h, len) = match ours {
                            Some(fields) => informer_sync(client(), *fields).await,
                            None => reflector_sync(client(), strip).await,
                        };
                        assert_eq!(len, count);
                        let (times, heap) = &mut results[slot];
                        times.push(took);
                        *heap = Heap { peak: heap.peak.max(h.peak), retained: heap.retained.max(h.retained) };
                    }
                }
                for ((_, (what, _)), (times, heap)) in cases.iter().zip(results) {
                    let t = median(times);
                    println!(
                        "| {count} | {} | {what} | {:.0} | {:.1} MiB | {:.1} MiB |",
                        if managed { "yes" } else { "no" },
                        count as f64 / t.as_secs_f64(),
                        mb(heap.peak),
                        mb(heap.retained)
                    );
                }
            }
        }
    });
}
