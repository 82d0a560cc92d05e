//! Our clients against a real kube-apiserver (envtest's), each in a process of its own so its
//! CPU time and peak memory are its alone; CPU is user + system time of the client process from
//! `/proc/self/stat`, peak memory its `VmHWM` (Linux). Rounds interleave the clients.
//!
//! `sync NS COUNT`: the initial sync of COUNT Pods: our `SharedInformer` (JSON, skipping
//! managedFields with paged and with streaming lists, and keeping them), kube-runtime's
//! reflector (with `.modify()` dropping managedFields, and without), and client-go's shared
//! informer (`clientgo informer-sync`, JSON and protobuf).
//!
//! `reconcile COUNT`: one small controller written three ways, each on a fresh namespace of
//! COUNT BenchItems (`clientgo bench-crd`, `clientgo create-items`) until every item's
//! `status.observed` equals its `spec.size`, written by server-side apply on `/status` with 4
//! workers, then again with nothing left to write: controller-runtime v0.24 (`clientgo
//! reconcile`), this toolkit (a derived resource, a shared informer skipping managedFields, the
//! work queue, `apply_subresource`), and kube-runtime's `Controller`.
//!
//! ```sh
//! dir=$(mktemp -d); kubeconfig=$(../shared/envtest/start "$dir" | tail -n 1)
//! KUBECONFIG=$kubeconfig $dir/bin/kubectl create namespace bench
//! KUBECONFIG=$kubeconfig $dir/bin/clientgo create-pods bench 10000
//! export KUBE_CODEGEN_E2E_KUBECONFIG=$kubeconfig KUBE_CODEGEN_E2E_BIN=$dir/bin
//! cargo bench -p kube-codegen-runtime --features derive --bench real_server -- sync bench 10000 [ROUNDS]
//! cargo bench -p kube-codegen-runtime --features derive --bench real_server -- reconcile 10000 [ROUNDS]
//! ```

use std::collections::HashSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube_codegen_runtime::client::ApplyParams;
use kube_codegen_runtime::informer::{Handler, SharedInformerFactory, drop_managed_fields};
use kube_codegen_runtime::workqueue::WorkQueue;
use kube_codegen_runtime::{CustomResource, ResourceClient};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The benchmark's custom resource, as `clientgo bench-crd` installs it.
#[derive(CustomResource, Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[kube(group = "bench.kube-codegen.dev", version = "v1", kind = "BenchItem", namespaced, status = "BenchItemStatus")]
pub struct BenchItemSpec {
    /// What the status should observe.
    pub size: i64,
}

/// What the controller writes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct BenchItemStatus {
    /// The size last seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<i64>,
}

/// The field manager the three controllers write as.
const MANAGER: &str = "bench-controller";
/// Concurrent reconciles, as `clientgo reconcile`'s default.
const WORKERS: usize = 4;

fn done(item: &BenchItem) -> bool {
    item.status.as_ref().and_then(|s| s.observed) == Some(item.spec.size)
}

/// The status configuration that makes `item` done.
fn status_config(name: &str, namespace: &str, size: i64) -> Value {
    json!({
        "apiVersion": "bench.kube-codegen.dev/v1", "kind": "BenchItem",
        "metadata": {"name": name, "namespace": namespace},
        "status": {"observed": size},
    })
}

/// This toolkit's controller: informer, lister, work queue, server-side apply of the status.
async fn toolkit_reconcile(client: kube::Client, namespace: &str, count: usize) -> (usize, usize) {
    let factory = SharedInformerFactory::new(client.clone()).namespace(namespace).transform(drop_managed_fields);
    let informer = factory.informer_for::<BenchItem>();
    let queue = WorkQueue::<String>::builder().name("benchitems").build();
    let (on_add, on_update) = (queue.clone(), queue.clone());
    let name = |o: &Arc<BenchItem>| o.metadata.name.clone().unwrap_or_default();
    informer.add_handler(
        Handler::new().on_add(move |o, _| on_add.add(name(o))).on_update(move |_, o| on_update.add(name(o))),
    );
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let lister = informer.lister();
    let items = ResourceClient::<BenchItem>::namespaced(client, namespace);
    let finished = Arc::new(Mutex::new(HashSet::new()));
    let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reconciles = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (queue, lister, items) = (queue.clone(), lister.clone(), items.clone());
            let (finished, writes, reconciles) = (finished.clone(), writes.clone(), reconciles.clone());
            let namespace = namespace.to_owned();
            tokio::spawn(async move {
                // Dropping each `work` tells the queue the item is done.
                while let Some(work) = queue.get().await {
                    reconciles.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let key = work.key();
                    let Ok(item) = lister.namespace(&namespace).get(key) else { continue };
                    let ok = if done(&item) {
                        true
                    } else {
                        let config = status_config(key, &namespace, item.spec.size);
                        let params = ApplyParams::manager(MANAGER).force();
                        let written = items.apply_subresource::<_, BenchItem>("status", &config, &params).await;
                        writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        written.is_ok()
                    };
                    if ok {
                        queue.forget(key);
                        finished.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone());
                    } else {
                        queue.add_rate_limited(key.clone());
                    }
                }
            })
        })
        .collect();
    while finished.lock().unwrap_or_else(|p| p.into_inner()).len() < count {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    queue.shut_down();
    for w in workers {
        let _ = w.await;
    }
    factory.shutdown().await;
    (reconciles.load(std::sync::atomic::Ordering::Relaxed), writes.load(std::sync::atomic::Ordering::Relaxed))
}

/// The same controller on kube-runtime's `Controller`.
async fn kube_runtime_reconcile(client: kube::Client, namespace: &str, count: usize) -> (usize, usize) {
    struct Context {
        api: Api<BenchItem>,
        namespace: String,
        finished: Mutex<HashSet<String>>,
        writes: std::sync::atomic::AtomicUsize,
        reconciles: std::sync::atomic::AtomicUsize,
    }
    let api: Api<BenchItem> = Api::namespaced(client, namespace);
    let context = Arc::new(Context {
        api: api.clone(),
        namespace: namespace.to_owned(),
        finished: Mutex::new(HashSet::new()),
        writes: Default::default(),
        reconciles: Default::default(),
    });
    async fn reconcile(item: Arc<BenchItem>, cx: Arc<Context>) -> Result<Action, kube::Error> {
        cx.reconciles.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = item.metadata.name.clone().unwrap_or_default();
        if !done(&item) {
            let config = status_config(&name, &cx.namespace, item.spec.size);
            cx.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            cx.api.patch_status(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&config)).await?;
        }
        cx.finished.lock().unwrap_or_else(|p| p.into_inner()).insert(name);
        Ok(Action::await_change())
    }
    fn retry(_: Arc<BenchItem>, _: &kube::Error, _: Arc<Context>) -> Action {
        Action::requeue(std::time::Duration::from_millis(100))
    }
    let config = kube::runtime::controller::Config::default().concurrency(WORKERS as u16);
    let controller = Controller::new(api, watcher::Config::default())
        .with_config(config)
        .run(reconcile, retry, context.clone())
        .for_each(|_| async {});
    let cx = context.clone();
    let finished = async move {
        while cx.finished.lock().unwrap_or_else(|p| p.into_inner()).len() < count {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        _ = controller => panic!("the controller ended"),
        _ = finished => {}
    }
    (
        context.reconciles.load(std::sync::atomic::Ordering::Relaxed),
        context.writes.load(std::sync::atomic::Ordering::Relaxed),
    )
}

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
    if let Some(how) = case.strip_prefix("reconcile-") {
        let (reconciles, writes) = match how {
            "toolkit" => toolkit_reconcile(client, namespace, count).await,
            _ => kube_runtime_reconcile(client, namespace, count).await,
        };
        let (cpu, rss) = usage();
        println!(
            "{}",
            json!({"objects": count, "reconciles": reconciles, "writes": writes, "wall_s": start.elapsed().as_secs_f64(), "cpu_s": cpu, "maxrss_mb": rss})
        );
        return;
    }
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

/// Envtest's `clientgo`, with the server's kubeconfig.
fn clientgo() -> Command {
    let bin = std::env::var_os("KUBE_CODEGEN_E2E_BIN").expect("KUBE_CODEGEN_E2E_BIN names envtest's bin folder");
    let mut c = Command::new(std::path::Path::new(&bin).join("clientgo"));
    c.env("KUBECONFIG", std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG").unwrap_or_default());
    c
}

/// Runs a `clientgo` command to its end, failing loudly.
fn clientgo_run(args: &[&str]) {
    let output = clientgo().args(args).output().unwrap();
    assert!(output.status.success(), "clientgo {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Runs one client in a process of its own and reads what it printed.
fn run(case: &str, namespace: &str, count: usize) -> Value {
    let mut command = match case.strip_prefix("client-go-") {
        Some("reconcile") => {
            let mut c = clientgo();
            c.args(["reconcile", namespace, &count.to_string()]);
            c
        }
        Some(encoding) => {
            let mut c = clientgo();
            c.args(["informer-sync", namespace, &count.to_string(), encoding, "pods"]);
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
    match args.first().map(String::as_str) {
        Some("reconcile") => {
            let count: usize = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(10_000);
            let rounds: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(2);
            reconcile_rounds(count, rounds);
        }
        _ => {
            let namespace = args.get(1).cloned().unwrap_or_else(|| "bench".into());
            let count: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(10_000);
            let rounds: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(3);
            let mut cases: Vec<(&str, &str)> = OURS.to_vec();
            cases.push(("client-go-json", "client-go shared informer, JSON"));
            cases.push(("client-go-proto", "client-go shared informer, protobuf"));
            let mut results: Vec<Vec<Value>> = vec![Vec::new(); cases.len()];
            for _ in 0..rounds {
                for (slot, (case, _)) in cases.iter().enumerate() {
                    results[slot].push(run(case, namespace.as_str(), count));
                }
            }
            table(&format!("{count} Pods"), &cases, results);
        }
    }
}

/// Each controller on fresh namespaces of `count` BenchItems: first with every status to
/// write, then again with nothing left to write.
fn reconcile_rounds(count: usize, rounds: usize) {
    clientgo_run(&["bench-crd"]);
    let controllers = [
        ("client-go-reconcile", "controller-runtime v0.24"),
        ("reconcile-toolkit", "this toolkit (informer, work queue, apply_subresource)"),
        ("reconcile-kube-runtime", "kube-runtime Controller"),
    ];
    let mut cases = Vec::new();
    for (case, what) in controllers {
        cases.push((case, what, false));
        cases.push((case, what, true));
    }
    let mut results: Vec<Vec<Value>> = vec![Vec::new(); cases.len()];
    for round in 0..rounds {
        for (i, (case, _)) in controllers.iter().enumerate() {
            let namespace = format!("rec-{}-{round}-{}", i, std::process::id());
            let kubectl =
                std::path::Path::new(&std::env::var_os("KUBE_CODEGEN_E2E_BIN").unwrap_or_default()).join("kubectl");
            let made = Command::new(kubectl)
                .args(["create", "namespace", &namespace])
                .env("KUBECONFIG", std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG").unwrap_or_default())
                .output()
                .unwrap();
            assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
            clientgo_run(&["create-items", &namespace, &count.to_string()]);
            results[2 * i].push(run(case, &namespace, count));
            results[2 * i + 1].push(run(case, &namespace, count));
        }
    }
    let labelled: Vec<(String, String)> = cases
        .iter()
        .map(|(case, what, again)| {
            ((*case).to_owned(), format!("{what}{}", if *again { ", nothing left to write" } else { "" }))
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = labelled.iter().map(|(c, w)| (c.as_str(), w.as_str())).collect();
    table(&format!("{count} BenchItems"), &borrowed, results);
}

fn table(what: &str, cases: &[(&str, &str)], results: Vec<Vec<Value>>) {
    println!("| {what} | client CPU s (median, range) | wall s (median) | peak MB (median) | writes (median) |");
    println!("|---|---|---|---|---|");
    for ((_, label), runs) in cases.iter().zip(results) {
        let get = |key: &str| runs.iter().filter_map(|r| r[key].as_f64()).collect::<Vec<f64>>();
        let cpu = get("cpu_s");
        let (lo, hi) = (cpu.iter().copied().fold(f64::INFINITY, f64::min), cpu.iter().copied().fold(0.0, f64::max));
        println!(
            "| {label} | {:.2} ({lo:.2}-{hi:.2}) | {:.2} | {:.0} | {:.0} |",
            median(cpu.clone()),
            median(get("wall_s")),
            median(get("maxrss_mb")),
            median(get("writes"))
        );
    }
}
