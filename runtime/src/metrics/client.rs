//! Every request a `kube::Client` sends, counted and timed: a tower layer beside the throttle
//! layer, in either order, under client-go's metric names where client-go has one.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kube_codegen_runtime::metrics::Metrics;
//! use kube_codegen_runtime::throttle::ThrottleLayer;
//!
//! let mut registry = prometheus_client::registry::Registry::default();
//! let metrics = Metrics::register(&mut registry);
//! let config = kube::Config::infer().await?;
//! let observed = metrics.client_for(&config);
//! let client = kube::client::ClientBuilder::try_from(config)?
//!     .with_layer(&observed.layer())
//!     .with_layer(&ThrottleLayer::client_go_default().metrics(&observed))
//!     .build();
//! # let _ = client; Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use kube::client::Body;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::time::Instant;
use tracing::Instrument;

use super::request::{Shape, method_name};

/// client-go's request latency buckets, in seconds: 5 ms to a minute.
const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0];

/// client-go's size buckets: 64 bytes to 16 MiB by fours, so a 3 MiB list and a 300 B get
/// land apart.
const SIZE_BUCKETS: [f64; 10] =
    [64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0];

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Labels2 = [(&'static str, String); 2];
type Labels3 = [(&'static str, String); 3];
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The client's metrics, registered once; [`for_host`](Self::for_host) names the API server
/// the layers built from it label their series with.
#[derive(Clone, Debug)]
pub struct ClientMetrics {
    series: Arc<Series>,
    host: Arc<str>,
    /// The series of each (method, verb, resource) seen, resolved once: a family lookup
    /// hashes and allocates its label values, several times the cost of a request to the
    /// in-memory server; this hashes a few borrowed strings.
    resolved: Arc<Mutex<ResolvedMap>>,
}

/// Resolved series by the hash of (method, verb, group, resource, subresource).
type ResolvedMap = HashMap<u64, Vec<Arc<Resolved>>, foldhash::fast::RandomState>;

/// One (method, verb, resource)'s series, and its status counters as codes come.
#[derive(Debug)]
struct Resolved {
    method: http::Method,
    verb: &'static str,
    resource: String,
    duration: Histogram,
    by_resource: Histogram,
    request_size: Histogram,
    response_size: Histogram,
    codes: Mutex<Vec<(StatusCode, Counter)>>,
    /// For a code not seen yet, and failures.
    requests: Family<Labels3, Counter>,
    transport_errors: Family<Labels2, Counter>,
    host: Arc<str>,
}

#[derive(Debug)]
struct Series {
    requests: Family<Labels3, Counter>,
    duration: Histograms<Labels2>,
    by_resource: Histograms<Labels2>,
    request_size: Histograms<Labels2>,
    response_size: Histograms<Labels2>,
    rate_limiter: Histograms<Labels2>,
    retries: Family<Labels3, Counter>,
    retry_wait: Family<[(&'static str, String); 1], Counter<f64>>,
    transport_errors: Family<Labels2, Counter>,
}

impl ClientMetrics {
    /// Registers the client metrics in `registry`.
    pub fn register(registry: &mut Registry) -> ClientMetrics {
        let latency: fn() -> Histogram = || Histogram::new(LATENCY_BUCKETS);
        let size: fn() -> Histogram = || Histogram::new(SIZE_BUCKETS);
        let series = Series {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency),
            by_resource: Family::new_with_constructor(latency),
            request_size: Family::new_with_constructor(size),
            response_size: Family::new_with_constructor(size),
            rate_limiter: Family::new_with_constructor(latency),
            retries: Family::default(),
            retry_wait: Family::default(),
            transport_errors: Family::default(),
        };
        let rest = registry.sub_registry_with_prefix("rest_client");
        rest.register(
            "requests",
            "HTTP requests by status code (<error> when none came), method and host",
            series.requests.clone(),
        );
        rest.register(
            "request_duration_seconds",
            "Time from sending a request to its response's headers, by HTTP method and host",
            series.duration.clone(),
        );
        rest.register("request_size_bytes", "Request body sizes, by HTTP method and host", series.request_size.clone());
        rest.register(
            "response_size_bytes",
            "Response body sizes as read (a watch's when it ends), by HTTP method and host",
            series.response_size.clone(),
        );
        rest.register(
            "rate_limiter_duration_seconds",
            "Time requests waited for the client-side rate limiter, by HTTP method and host",
            series.rate_limiter.clone(),
        );
        rest.register(
            "request_retries",
            "Requests sent again because the server answered 429 or 5xx with Retry-After, by the code retried, method and host",
            series.retries.clone(),
        );
        let ours = registry.sub_registry_with_prefix("kube_codegen_client");
        ours.register(
            "request_duration_seconds",
            "Time from sending a request to its response's headers, by Kubernetes verb and resource (resource.group/subresource)",
            series.by_resource.clone(),
        );
        ours.register(
            "retry_after_wait_seconds",
            "Seconds spent waiting as the server's Retry-After asked, by host",
            series.retry_wait.clone(),
        );
        ours.register(
            "transport_errors",
            "Requests that got no response, by kind (connect, timeout, tls, other) and host",
            series.transport_errors.clone(),
        );
        ClientMetrics { series: Arc::new(series), host: Arc::from(""), resolved: Arc::default() }
    }

    /// The same series, labelled with `host` (`10.0.0.1:6443`): the layers' requests carry
    /// only a path, the cluster's address being added below them.
    pub fn for_host(&self, host: impl Into<String>) -> ClientMetrics {
        ClientMetrics { series: Arc::clone(&self.series), host: Arc::from(host.into()), resolved: Arc::default() }
    }

    /// The same series, labelled with the host of `config`'s cluster URL.
    pub fn for_config(&self, config: &kube::Config) -> ClientMetrics {
        self.for_host(config.cluster_url.authority().map(|a| a.as_str()).unwrap_or_default())
    }

    /// The tower layer that records each request (see the module documentation).
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer { metrics: self.clone() }
    }

    pub(crate) fn rate_limited(&self, method: &http::Method, waited: Duration) {
        let labels = [("verb", method.as_str().to_owned()), ("host", self.host.to_string())];
        self.series.rate_limiter.get_or_create(&labels).observe(waited.as_secs_f64());
    }

    pub(crate) fn retried(&self, method: &http::Method, status: StatusCode, wait: Duration) {
        let labels = [code_label(status), ("method", method.as_str().to_owned()), ("host", self.host.to_string())];
        self.series.retries.get_or_create(&labels).inc();
        self.series.retry_wait.get_or_create(&[("host", self.host.to_string())]).inc_by(wait.as_secs_f64());
    }

    /// The series of requests of `method` shaped as `shape`.
    fn resolve(&self, method: &http::Method, shape: &Shape<'_>) -> Arc<Resolved> {
        let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        let hash =
            resolved.hasher().hash_one((method.as_str(), shape.verb, shape.group, shape.resource, shape.subresource));
        let same = |r: &&Arc<Resolved>| r.method == method && r.verb == shape.verb && same_resource(&r.resource, shape);
        let bucket = resolved.entry(hash).or_default();
        if let Some(found) = bucket.iter().find(same) {
            return Arc::clone(found);
        }
        let s = &self.series;
        let by_method = [("verb", method.as_str().to_owned()), ("host", self.host.to_string())];
        let resource = shape.resource_name();
        let entry = Arc::new(Resolved {
            method: method.clone(),
            verb: shape.verb,
            duration: s.duration.get_or_create_owned(&by_method),
            by_resource: s
                .by_resource
                .get_or_create_owned(&[("verb", shape.verb.to_owned()), ("resource", resource.clone())]),
            request_size: s.request_size.get_or_create_owned(&by_method),
            response_size: s.response_size.get_or_create_owned(&by_method),
            codes: Mutex::default(),
            requests: s.requests.clone(),
            transport_errors: s.transport_errors.clone(),
            host: Arc::clone(&self.host),
            resource,
        });
        bucket.push(Arc::clone(&entry));
        entry
    }
}

impl Resolved {
    /// Whether these are the series of requests of `method` shaped as `shape`.
    fn is(&self, method: &http::Method, shape: &Shape<'_>) -> bool {
        self.method == method && self.verb == shape.verb && same_resource(&self.resource, shape)
    }

    /// One exchange that got an answer.
    fn answered(&self, status: StatusCode, elapsed: Duration) {
        {
            let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
            match codes.iter().find(|(code, _)| *code == status) {
                Some((_, counter)) => {
                    counter.inc();
                }
                None => {
                    let labels = [
                        code_label(status),
                        ("method", self.method.as_str().to_owned()),
                        ("host", self.host.to_string()),
                    ];
                    let counter = self.requests.get_or_create_owned(&labels);
                    counter.inc();
                    codes.push((status, counter));
                }
            }
        }
        self.duration.observe(elapsed.as_secs_f64());
        self.by_resource.observe(elapsed.as_secs_f64());
    }

    /// One exchange that got no answer.
    fn failed(&self, kind: &'static str) {
        let labels = [
            ("code", "<error>".to_owned()),
            ("method", self.method.as_str().to_owned()),
            ("host", self.host.to_string()),
        ];
        self.requests.get_or_create(&labels).inc();
        self.transport_errors.get_or_create(&[("kind", kind.to_owned()), ("host", self.host.to_string())]).inc();
    }
}

/// Whether `name` (`deployments.apps/scale`) is the resource label of `shape`.
fn same_resource(name: &str, shape: &Shape<'_>) -> bool {
    let Some(rest) = name.strip_prefix(shape.resource) else { return false };
    let rest = if shape.group.is_empty() {
        rest
    } else {
        match rest.strip_prefix('.').and_then(|r| r.strip_prefix(shape.group)) {
            Some(r) => r,
            None => return false,
        }
    };
    match shape.subresource {
        Some(sub) => rest.strip_prefix('/') == Some(sub),
        None => rest.is_empty(),
    }
}

fn code_label(status: StatusCode) -> (&'static str, String) {
    ("code", status.as_u16().to_string())
}

/// What the throttle layer did for one request, attached to its response so a metrics layer
/// outside it records what one inside would have: the time spent waiting (for tokens and
/// for `Retry-After`), and the attempts it retried, with their codes and latencies.
#[derive(Clone, Debug, Default)]
pub(crate) struct Throttled {
    pub waited: Duration,
    pub retried: Vec<(StatusCode, Duration)>,
}

/// Records each request of the clients built with it in a [`ClientMetrics`].
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    metrics: ClientMetrics,
}

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;
    fn layer(&self, inner: S) -> MetricsService<S> {
        MetricsService { inner, metrics: self.metrics.clone(), last: None }
    }
}

/// The service [`MetricsLayer`] wraps around a client's stack.
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    metrics: ClientMetrics,
    /// The series of the last request: requests come in runs of one resource (a list's
    /// pages, a controller's writes), and this skips the shared map for them.
    last: Option<Arc<Resolved>>,
}

impl<S, B> tower::Service<Request<Body>> for MetricsService<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Unpin,
{
    type Response = Response<SizedBody<B>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let content_type = request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let shape = Shape::parse(request.method(), request.uri().path(), request.uri().query(), content_type);
        let resolved = match &self.last {
            Some(last) if last.is(request.method(), &shape) => Arc::clone(last),
            _ => {
                let resolved = self.metrics.resolve(request.method(), &shape);
                self.last = Some(Arc::clone(&resolved));
                resolved
            }
        };
        let span = tracing::debug_span!(
            "request",
            otel.kind = "client",
            k8s.verb = shape.verb,
            k8s.resource = %resolved.resource,
            k8s.namespace = shape.namespace,
            http.method = method_name(request.method()),
            http.status_code = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        if let Some(bytes) = request.body().size_hint().exact() {
            resolved.request_size.observe(bytes as f64);
        }
        let start = Instant::now();
        let answer = self.inner.call(request);
        let entered = span.clone();
        Box::pin(
            async move {
                let answer = answer.await.map_err(Into::into);
                let elapsed = start.elapsed();
                let span = entered;
                // Recorded only where a subscriber listens: this runs on every request.
                let traced = !span.is_disabled();
                if traced {
                    span.record("duration_ms", elapsed.as_secs_f64() * 1e3);
                }
                match answer {
                    Ok(response) => {
                        if traced {
                            span.record("http.status_code", response.status().as_u16());
                        }
                        let own = match response.extensions().get::<Throttled>() {
                            // Outside the throttle: the attempts it retried count as requests,
                            // and its waits are not the server's latency.
                            Some(throttled) => {
                                let mut own = elapsed.saturating_sub(throttled.waited);
                                for (status, took) in &throttled.retried {
                                    resolved.answered(*status, *took);
                                    own = own.saturating_sub(*took);
                                }
                                own
                            }
                            None => elapsed,
                        };
                        resolved.answered(response.status(), own);
                        let histogram = Some(resolved.response_size.clone());
                        Ok(response.map(|body| SizedBody { body, read: 0, histogram }))
                    }
                    Err(error) => {
                        let kind = transport_error_kind(error.as_ref());
                        tracing::debug!(kind, "request failed without a response: {error}");
                        resolved.failed(kind);
                        Err(error)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// What kind of failure left a request without a response: read from the error's chain, as
/// hyper, the timeout connector and the TLS stack report them (none has a shared type).
fn transport_error_kind(error: &(dyn std::error::Error + 'static)) -> &'static str {
    let mut connect = false;
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                TimedOut => return "timeout",
                ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | AddrNotAvailable
                | HostUnreachable | NetworkUnreachable => connect = true,
                _ => {}
            }
        }
        if e.downcast_ref::<tokio::time::error::Elapsed>().is_some() {
            return "timeout";
        }
        if let Some(hyper) = e.downcast_ref::<hyper_util::client::legacy::Error>()
            && hyper.is_connect()
        {
            connect = true;
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
            return "tls";
        }
        source = e.source();
    }
    if connect { "connect" } else { "other" }
}

/// A response body that records its size once read to the end, or once dropped.
#[derive(Debug)]
pub struct SizedBody<B> {
    body: B,
    read: u64,
    histogram: Option<Histogram>,
}

impl<B> SizedBody<B> {
    fn record(&mut self) {
        if let Some(h) = self.histogram.take() {
            h.observe(self.read as f64);
        }
    }
}

impl<B> Drop for SizedBody<B> {
    fn drop(&mut self) {
        self.record();
    }
}

impl<B: HttpBody + Unpin> HttpBody for SizedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.read += bytes::Buf::remaining(data) as u64;
                }
            }
            Poll::Ready(None) => self.record(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
