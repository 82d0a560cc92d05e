//! The fake on a real socket: `ApiServer::serve("127.0.0.1:0")` listens over plain HTTP and
//! writes a kubeconfig for it, so a process that only takes a kubeconfig (a controller binary,
//! kubectl) can run against the in-memory server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

use super::ApiServer;

/// A listening fake. Dropping it stops the listener and removes the kubeconfig.
pub struct Serving {
    addr: SocketAddr,
    kubeconfig: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig file whose current context is this server (namespace `default`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

static SERVED: AtomicU64 = AtomicU64::new(0);

impl ApiServer {
    /// Listens on `addr` (`"127.0.0.1:0"` picks a free port) and writes a kubeconfig for it
    /// into the temporary directory. Needs a Tokio runtime.
    pub async fn serve(&self, addr: &str) -> std::io::Result<Serving> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let n = SERVED.fetch_add(1, Ordering::Relaxed);
        let kubeconfig = std::env::temp_dir().join(format!("kube-codegen-fake-{}-{n}.kubeconfig", std::process::id()));
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
                 users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
                 current-context: fake\n"
            ),
        )?;
        let server = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let server = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                        let server = server.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            Ok::<_, std::convert::Infallible>(server.serve_one(parts, body).await)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Serving { addr, kubeconfig, task })
    }
}
