//! One client's connection to the in-memory API server, which a test can cut: a replica that
//! loses the API server while the others keep it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use http::{Request, Response};

use super::{ApiServer, Body};

const UP: u8 = 0;
const PARTITIONED: u8 = 1;
const REFUSED: u8 = 2;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The switch of a client made by [`ApiServer::linked_client`].
#[derive(Clone, Debug, Default)]
pub struct Link {
    state: Arc<AtomicU8>,
}

impl Link {
    /// Requests from now on are never answered (a network partition): the client's own
    /// timeouts are all that ends them.
    pub fn partition(&self) {
        self.state.store(PARTITIONED, Ordering::SeqCst);
    }

    /// Requests from now on fail at once with a connection error.
    pub fn refuse(&self) {
        self.state.store(REFUSED, Ordering::SeqCst);
    }

    /// Requests from now on reach the server again.
    pub fn heal(&self) {
        self.state.store(UP, Ordering::SeqCst);
    }
}

/// The service behind a linked client.
#[derive(Clone)]
pub(super) struct Linked {
    pub(super) server: ApiServer,
    pub(super) link: Link,
}

impl tower::Service<Request<kube::client::Body>> for Linked {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let state = self.link.state.load(Ordering::SeqCst);
        let mut server = self.server.clone();
        Box::pin(async move {
            match state {
                PARTITIONED => std::future::pending().await,
                REFUSED => Err("connection refused (Link::refuse)".into()),
                _ => Ok(tower::Service::call(&mut server, request).await.unwrap_or_else(|e: Infallible| match e {})),
            }
        })
    }
}
