//! What the informer benchmarks share: a counting allocator, heap measures, and ConfigMaps of
//! about 1 KB on the in-memory API server.

#![allow(dead_code)]

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube_codegen_runtime::fake::ApiServer;
use serde_json::json;

#[global_allocator]
static ALLOC: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

/// Heap above the baseline: (peak during, retained after).
pub struct Heap {
    pub peak: usize,
    pub retained: usize,
}

pub fn measure_start() -> usize {
    ALLOC.reset_peak_usage();
    ALLOC.current_usage()
}

/// Heap in use now.
pub fn current_usage() -> usize {
    ALLOC.current_usage()
}

pub fn measure_end(base: usize) -> Heap {
    Heap { peak: ALLOC.peak_usage().saturating_sub(base), retained: ALLOC.current_usage().saturating_sub(base) }
}

/// `count` ConfigMaps of about 1 KB over 1,000 namespaces; each with about 1 KB of
/// managedFields when `managed`.
pub async fn populate(count: usize, managed: bool) -> ApiServer {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let filler: String = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(25);
    for i in 0..count {
        let ns = format!("ns-{:04}", i % 1000);
        let mut cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:06}"), "namespace": ns, "labels": {"app": format!("app-{}", i % 7)}},
            "data": {"payload": &filler[..900]},
        });
        if managed {
            cm["metadata"]["managedFields"] = json!([{
                "manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
                "time": "2026-11-26T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:payload": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}},
                    "f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                    "f:filler": {"f:a": {}, "f:b": {}, "f:c": {}, "f:padding": &filler[..600]}},
            }]);
        }
        // Seeded, not created: a create would record its own manager in place of these.
        server.seed(&cm).unwrap();
    }
    server
}

pub fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The environment variable that makes a bench binary a server: `COUNT,MANAGED`.
const SERVE: &str = "KUBE_CODEGEN_BENCH_SERVE";

/// An API server in a child process (this bench binary run again), so that the heap and CPU
/// measured here are the client's alone, as against a cluster; killed when dropped.
pub struct Remote {
    child: std::process::Child,
    url: String,
}

impl Remote {
    /// Starts a child serving `count` ConfigMaps (with managedFields when `managed`) on a
    /// loopback port.
    pub fn start(count: usize, managed: bool) -> Remote {
        use std::io::BufRead;
        let exe = std::env::current_exe().expect("the bench binary's path");
        let mut child = std::process::Command::new(exe)
            .env(SERVE, format!("{count},{managed}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("starting the server process");
        let stdout = child.stdout.take().expect("the server's stdout");
        let mut url = String::new();
        std::io::BufReader::new(stdout).read_line(&mut url).expect("the server's address");
        Remote { child, url: url.trim().to_owned() }
    }

    /// A client of the remote server (plain HTTP).
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("the server's URL"));
        kube::Client::try_from(config).expect("a client")
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a child started by [`Remote::start`]: populates, serves, prints the URL, and serves until
/// its parent closes stdin. Returns `false` in the parent, which then runs the bench.
pub fn serve_if_child() -> bool {
    let Ok(spec) = std::env::var(SERVE) else { return false };
    let (count, managed) = spec.split_once(',').unwrap_or(("0", "false"));
    let (count, managed): (usize, bool) = (count.parse().unwrap_or(0), managed == "true");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let server = populate(count, managed).await;
        let serving = server.serve("127.0.0.1:0").await.expect("serving");
        println!("{}", serving.url());
        // Until the parent goes away (its end of stdin closes).
        let _ = tokio::task::spawn_blocking(|| std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1])).await;
        drop(serving);
    });
    true
}
