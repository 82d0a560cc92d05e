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
#[derive(Clone, Copy)]
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

/// Clients of `count` ConfigMaps (with managedFields when `managed`) on a server in this
/// process, or with `remote` in a child over loopback HTTP.
pub async fn clients(count: usize, managed: bool, remote: bool) -> Box<dyn Fn() -> kube::Client> {
    if remote {
        let server = Remote::start(count, managed);
        Box::new(move || server.client())
    } else {
        let server = populate(count, managed).await;
        Box::new(move || server.client())
    }
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
///
/// A list page is answered from memory once it has been served: the same request gets the
/// same bytes (no write happens between runs, and the pages carry their continue tokens), so
/// after a first, untimed sync the server costs the client's machine nothing but writing to the
/// socket, as a cluster on its own machines would. The watch that follows goes to the fake.
pub fn serve_if_child() -> bool {
    let Ok(spec) = std::env::var(SERVE) else { return false };
    let (count, managed) = spec.split_once(',').unwrap_or(("0", "false"));
    let (count, managed): (usize, bool) = (count.parse().unwrap_or(0), managed == "true");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let server = populate(count, managed).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        println!("http://{}", listener.local_addr().expect("the port"));
        let pages = Pages::default();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (server, pages) = (server.clone(), pages.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let (server, pages) = (server.clone(), pages.clone());
                        async move { Ok::<_, std::convert::Infallible>(pages.answer(server, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        // Until the parent goes away (its end of stdin closes).
        let _ = tokio::task::spawn_blocking(|| std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1])).await;
    });
    true
}

type Body = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, std::convert::Infallible>;

/// The list pages served so far, by path and query.
#[derive(Clone, Default)]
struct Pages(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, http::Response<bytes::Bytes>>>>);

impl Pages {
    async fn answer(&self, server: ApiServer, request: http::Request<hyper::body::Incoming>) -> http::Response<Body> {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        // What the server answers depends on the Accept header too (`as=PartialObjectMetadata`).
        let accept = request.headers().get(http::header::ACCEPT).and_then(|a| a.to_str().ok()).unwrap_or("");
        let key = format!("{accept} {}", request.uri());
        let list = request.method() == http::Method::GET && !request.uri().query().unwrap_or("").contains("watch=");
        if list && let Some(page) = self.0.lock().unwrap().get(&key).cloned() {
            return page.map(|body| http_body_util::Full::new(body).boxed_unsync());
        }
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let Ok(response) = server.oneshot(http::Request::from_parts(parts, kube::client::Body::from(body))).await;
        if !list || response.status() != http::StatusCode::OK {
            return response;
        }
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let page = http::Response::from_parts(parts, body);
        self.0.lock().unwrap().insert(key, page.clone());
        page.map(|body| http_body_util::Full::new(body).boxed_unsync())
    }
}
