//! Initial sync of Pods from a real kube-apiserver (envtest's), each client in a process of its
//! own so its CPU time and peak memory are its alone: our `SharedInformer` (JSON, skipping
//! managedFields with paged and with streaming lists, and keeping them), kube-runtime's reflector (with `.modify()` dropping
//! managedFields, and without), and client-go's shared informer (`clientgo informer-sync`, JSON
//! and protobuf). Rounds interleave the clients. CPU is user + system time of the client
//! process from `/proc/self/stat`, peak memory its `VmHWM` (Linux).
//!
//! ```sh
//! dir=$(mktemp -d); kubeconfig=$(../shared/envtest/start "$dir" | tail -n 1)
//! KUBECONFIG=$kubeconfig $dir/bin/kubectl create namespace bench
//! KUBECONFIG=$kubeconfig $dir/bin/clientgo create-pods bench 10000
//! KUBE_CODEGEN_E2E_KUBECONFIG=$kubeconfig KUBE_CODEGEN_E2E_BIN=$dir/bin \
//!     cargo bench -p kube-codegen-runtime --bench real_server_sync -- bench 10000 [ROUNDS]
//! ```

use std::process::Command;
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube_codegen_runtime::informer::{SharedInformerFactory, drop_managed_fields};
use serde_json::{Value, json};

/// The clients compared, as `--child` names them.
const OURS: [(&str, &str); 5] = [
    ("informer", "SharedInformer, managedFields skipped"),
    ("informer-stream", "SharedInformer, managedFields skipped, streaming list (watch-list)"),
    ("informer-keep", "SharedInformer, managedFields kept"),
    ("reflector", "kube-runtime reflector, `.modify()` dropping managedFields"),
    ("reflector-keep", "kube-runtime reflector, managedFields kept"),
];

/// User + system CPU seconds of this process so far, and its peak resident memory in MB.
fn usage() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which ends with the last ')': utime and stime are the
    // 12th and 13th of them, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, hwm_kb / 1024.0)
}

async fn client() -> kube::Client {
    let path = std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG").expect("KUBE_CODEGEN_E2E_KUBECONFIG names a kubeconfig");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

/// One client's sync, in this (child) process: prints what it measured as JSON.
async fn child(case: &str, namespace: &str, count: usize) {
    let start = Instant::now();
    let client = client().await;
    let objects = match case {
        "informer" | "informer-stream" | "informer-keep" => {
            let mut factory = SharedInformerFactory::new(client).namespace(namespace);
            if case != "informer-keep" {
                factory = factory.transform(drop_managed_fields);
            }
            if case == "informer-stream" {
                factory = factory.streaming_lists(true);
            }
            let informer = factory.informer_for::<Pod>();
            factory.start();
            factory.wait_for_cache_sync().await.unwrap();
            let n = informer.indexer().len();
            factory.shutdown().await;
            n
        }
        _ => {
            let (reader, writer) = reflector::store::<Pod>();
            let api: Api<Pod> = Api::namespaced(client, namespace);
            let stream = watcher(api, watcher::Config::default()).default_backoff();
            let task = if case == "reflector" {
                let stream = stream.modify(|pod| pod.metadata.managed_fields = None);
                tokio::spawn(reflector(writer, stream).for_each(|_| async {}))
            } else {
                tokio::spawn(reflector(writer, stream).for_each(|_| async {}))
            };
            reader.wait_until_ready().await.unwrap();
            let n = reader.state().len();
            task.abort();
            n
        }
    };
    assert_eq!(objects, count, "{case} cached {objects} of {count} pods");
    let (cpu, rss) = usage();
    println!(
        "{}",
        json!({"objects": objects, "wall_s": start.elapsed().as_secs_f64(), "cpu_s": cpu, "maxrss_mb": rss})
    );
}

/// Runs one client in a process of its own and reads what it printed.
fn run(case: &str, namespace: &str, count: usize) -> Value {
    let mut command = match case.strip_prefix("client-go-") {
        Some(encoding) => {
            let bin =
                std::env::var_os("KUBE_CODEGEN_E2E_BIN").expect("KUBE_CODEGEN_E2E_BIN names envtest's bin folder");
            let mut c = Command::new(std::path::Path::new(&bin).join("clientgo"));
            c.args(["informer-sync", namespace, &count.to_string(), encoding, "pods"]);
            c.env("KUBECONFIG", std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG").unwrap_or_default());
            c
        }
        None => {
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.args(["--child", case, namespace, &count.to_string()]);
            c
        }
    };
    let output = command.output().unwrap();
    assert!(output.status.success(), "{case}: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("{}");
    serde_json::from_str(line).unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--child") {
        let [_, case, namespace, count] = args.as_slice() else { panic!("--child CASE NAMESPACE COUNT") };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(child(case, namespace, count.parse().unwrap()));
        return;
    }
    let namespace = args.first().cloned().unwrap_or_else(|| "bench".into());
    let count: usize = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(3);
    let mut cases: Vec<(&str, &str)> = OURS.to_vec();
    cases.push(("client-go-json", "client-go shared informer, JSON"));
    cases.push(("client-go-proto", "client-go shared informer, protobuf"));
    let mut results: Vec<Vec<Value>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (slot, (case, _)) in cases.iter().enumerate() {
            results[slot].push(run(case, namespace.as_str(), count));
        }
    }
    println!("| {count} Pods | client CPU s (median, range) | wall s (median) | peak MB (median) |");
    println!("|---|---|---|---|");
    for ((_, what), runs) in cases.iter().zip(results) {
        let get = |key: &str| runs.iter().filter_map(|r| r[key].as_f64()).collect::<Vec<f64>>();
        let cpu = get("cpu_s");
        let (lo, hi) = (cpu.iter().copied().fold(f64::INFINITY, f64::min), cpu.iter().copied().fold(0.0, f64::max));
        println!(
            "| {what} | {:.2} ({lo:.2}-{hi:.2}) | {:.2} | {:.0} |",
            median(cpu.clone()),
            median(get("wall_s")),
            median(get("maxrss_mb"))
        );
    }
}
