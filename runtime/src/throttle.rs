//! Client-side rate limiting (client-go's `QPS` and `Burst`, `util/flowcontrol`) as a tower
//! layer on `kube::Client`, so every typed client, informer and controller built from one
//! client shares one budget; and the server's own pushback: a 429 (or 5xx) with `Retry-After`
//! is retried after the wait it asks for, as client-go's request retries do.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kube_codegen_runtime::throttle::ThrottleLayer;
//!
//! let config = kube::Config::infer().await?;
//! let client = kube::client::ClientBuilder::try_from(config)?
//!     .with_layer(&ThrottleLayer::client_go_default()) // 5 per second, bursts of 10
//!     .build();
//! # let _ = client; Ok(()) }
//! ```

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use http::{Request, Response, StatusCode};
use kube::client::Body;

use crate::metrics::ClientMetrics;
use crate::metrics::client::Throttled;

/// Waits longer than this are logged, as client-go logs them.
const LOG_WAITS_OVER: Duration = Duration::from_secs(1);

/// client-go's bound on retries of one request the server asked to retry later.
const MAX_RETRIES: u32 = 10;

/// governor's clock on tokio's time, so a paused test clock paces the bucket too.
#[derive(Clone, Copy, Debug, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;
    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// A token bucket of `qps` requests per second holding up to `burst`, in front of every
/// request of the clients built with it; clones share the bucket.
#[derive(Clone)]
pub struct ThrottleLayer {
    bucket: Arc<Bucket>,
    /// Requests wait for tokens one at a time, in the order they came (tokio's mutex is
    /// fair): governor answers whoever asks first after a token frees, which lets a
    /// steady stream of requests starve one (an informer's watch, say).
    turn: Arc<tokio::sync::Mutex<()>>,
    qps: f64,
    burst: u32,
    retries: u32,
    metrics: Option<ClientMetrics>,
}

impl std::fmt::Debug for ThrottleLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleLayer").field("qps", &self.qps).field("burst", &self.burst).finish()
    }
}

impl ThrottleLayer {
    /// `qps` requests per second on average, `burst` at once; the bucket starts full. A
    /// `qps` that is not a positive number is taken as one request a day, `burst` 0 as 1.
    pub fn new(qps: f64, burst: u32) -> Self {
        let period = if qps.is_finite() && qps > 0.0 { Duration::from_secs_f64(1.0 / qps) } else { DAY };
        // Only a zero period has no quota, and the period is at least a nanosecond.
        let quota = Quota::with_period(period.max(Duration::from_nanos(1))).unwrap_or(Quota::per_hour(NonZeroU32::MIN));
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        ThrottleLayer {
            bucket: Arc::new(RateLimiter::direct_with_clock(quota.allow_burst(burst), TokioClock)),
            turn: Arc::default(),
            qps,
            burst: burst.get(),
            retries: MAX_RETRIES,
            metrics: None,
        }
    }

    /// client-go's defaults when throttling is on: 5 requests per second, bursts of 10.
    pub fn client_go_default() -> Self {
        Self::new(5.0, 10)
    }

    /// How many times one request is retried when the server answers 429 or 5xx with
    /// `Retry-After` (client-go's 10 unless set; 0 hands every such answer back at once).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Records the time requests wait for tokens, and the retries `Retry-After` asked for,
    /// in `metrics` (`rest_client_rate_limiter_duration_seconds`, `rest_client_request_retries_total`).
    pub fn metrics(mut self, metrics: &ClientMetrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// Waits for a token of the shared bucket; how long it waited.
    async fn acquire(&self, what: &str) -> Duration {
        let start = tokio::time::Instant::now();
        let _turn = self.turn.lock().await;
        while let Err(not_until) = self.bucket.check() {
            tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
        }
        let waited = start.elapsed();
        if waited > LOG_WAITS_OVER {
            tracing::info!(
                "waited {:.2} s due to client-side throttling, not priority and fairness, request: {}",
                waited.as_secs_f64(),
                what
            );
        }
        waited
    }
}

const DAY: Duration = Duration::from_secs(86_400);

impl<S> tower::Layer<S> for ThrottleLayer {
    type Service = Throttle<S>;
    fn layer(&self, inner: S) -> Throttle<S> {
        Throttle { inner: Arc::new(tokio::sync::Mutex::new(inner)), layer: self.clone() }
    }
}

/// The service [`ThrottleLayer`] wraps around a client's stack.
pub struct Throttle<S> {
    /// Shared, not cloned: kube's default stack is a `BoxService`, which cannot be cloned, and
    /// a retry calls it again from the response future. Held only to send, never while
    /// waiting for an answer.
    inner: Arc<tokio::sync::Mutex<S>>,
    layer: ThrottleLayer,
}

impl<S> Clone for Throttle<S> {
    fn clone(&self) -> Self {
        Throttle { inner: Arc::clone(&self.inner), layer: self.layer.clone() }
    }
}

impl<S> std::fmt::Debug for Throttle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").field("layer", &self.layer).finish_non_exhaustive()
    }
}

impl<S, B> tower::Service<Request<Body>> for Throttle<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // The inner service's readiness is awaited in the call, after the token.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        let layer = self.layer.clone();
        Box::pin(async move {
            let what = format!("{}:{}", request.method(), request.uri());
            let method = request.method().clone();
            let mut request = request;
            let mut attempt = 0;
            let mut throttled = Throttled::default();
            loop {
                let waited = layer.acquire(&what).await;
                throttled.waited += waited;
                if let Some(m) = &layer.metrics {
                    m.rate_limited(&method, waited);
                }
                // A body that cannot be replayed (a stream) is sent once, whatever the answer.
                let retry = (attempt < layer.retries).then(|| copy(&request)).flatten();
                let started = tokio::time::Instant::now();
                let sent = {
                    let mut service = inner.lock().await;
                    tower::ServiceExt::ready(&mut *service).await?.call(request)
                };
                let mut response = sent.await?;
                let (Some(next), Some(wait)) = (retry, retry_after(&response)) else {
                    // What a metrics layer outside this one needs to count as one inside would.
                    if throttled.waited > Duration::ZERO || !throttled.retried.is_empty() {
                        response.extensions_mut().insert(throttled);
                    }
                    return Ok(response);
                };
                attempt += 1;
                log_retry(&response, &what, wait, attempt, layer.retries);
                if let Some(m) = &layer.metrics {
                    m.retried(&method, response.status(), wait);
                }
                throttled.retried.push((response.status(), started.elapsed()));
                throttled.waited += wait;
                drop(response);
                tokio::time::sleep(wait).await;
                request = next;
            }
        })
    }
}

/// Says which request the server pushed back on, and which priority-and-fairness flow schema
/// and priority level it was judged by (the UIDs its response names).
fn log_retry<B>(response: &Response<B>, what: &str, wait: Duration, attempt: u32, retries: u32) {
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    tracing::info!(
        status = response.status().as_u16(),
        flow_schema = header("X-Kubernetes-PF-FlowSchema-UID"),
        priority_level = header("X-Kubernetes-PF-PriorityLevel-UID"),
        "the server asked to retry {what} in {} s (attempt {attempt} of {retries})",
        wait.as_secs(),
    );
}

/// The same request again, if its body can be replayed.
fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

/// The wait a 429 or 5xx asks for in whole seconds of `Retry-After`, as client-go reads it.
fn retry_after<B>(response: &Response<B>) -> Option<Duration> {
    let status = response.status();
    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
        return None;
    }
    let seconds: u64 = response.headers().get(http::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}
