//! Per-informer metrics: what it listed and watched, the events it applied, what went wrong,
//! and, read at scrape time, how many objects it caches and how long since it last heard
//! from the server. Series are labelled by `resource` (`pods`, `deployments.apps`), the
//! label the client metrics use too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use http::{Request, Response};
use kube::client::Body;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::time::Instant;

use super::request::Shape;
use crate::informer::InformerError;

type Resource = [(&'static str, String); 1];
type WithKind = [(&'static str, String); 2];

/// The informer metrics of every informer given them, registered once.
#[derive(Clone, Debug)]
pub struct InformerMetrics {
    families: Arc<Families>,
}

#[derive(Debug)]
struct Families {
    lists: Family<Resource, Counter>,
    relists: Family<Resource, Counter>,
    watches: Family<Resource, Counter>,
    gone: Family<Resource, Counter>,
    events: Family<WithKind, Counter>,
    errors: Family<WithKind, Counter>,
    probes: Arc<Probes>,
}

impl InformerMetrics {
    /// Registers the informer metrics in `registry`.
    pub fn register(registry: &mut Registry) -> InformerMetrics {
        let families = Families {
            lists: Family::default(),
            relists: Family::default(),
            watches: Family::default(),
            gone: Family::default(),
            events: Family::default(),
            errors: Family::default(),
            probes: Arc::default(),
        };
        let r = registry.sub_registry_with_prefix("kube_codegen_informer");
        r.register("lists", "Lists an informer started, the first one and every relist", families.lists.clone());
        r.register(
            "relists",
            "Lists started after the first: after a 410 Gone, or a watch that could not resume",
            families.relists.clone(),
        );
        r.register("watches", "Watch requests sent for an informer's resource", families.watches.clone());
        r.register(
            "gone",
            "410 Gone answers: the resourceVersion to resume from was compacted away",
            families.gone.clone(),
        );
        r.register(
            "events",
            "Changes applied to the cache, by type: listed (from a list), added, modified, deleted",
            families.events.clone(),
        );
        r.register(
            "errors",
            "What went wrong, by kind: watch, transform, index, handler, callback, handler_thread, stopped",
            families.errors.clone(),
        );
        r.register_collector(Box::new(Arc::clone(&families.probes)));
        InformerMetrics { families: Arc::new(families) }
    }

    /// The series of one informer of `resource`; `cached` reads its cache's size at scrape
    /// time (it holds the informer weakly).
    pub(crate) fn series(
        &self,
        resource: String,
        cached: Box<dyn Fn() -> Option<usize> + Send + Sync>,
    ) -> Arc<InformerSeries> {
        let f = &self.families;
        let label = [("resource", resource.clone())];
        let kind = |k: &str| [("resource", resource.clone()), ("type", k.to_owned())];
        let error = |k: &str| [("resource", resource.clone()), ("kind", k.to_owned())];
        let series = Arc::new(InformerSeries {
            base: Instant::now(),
            lists: f.lists.get_or_create_owned(&label),
            relists: f.relists.get_or_create_owned(&label),
            gone: f.gone.get_or_create_owned(&label),
            listed: f.events.get_or_create_owned(&kind("listed")),
            added: f.events.get_or_create_owned(&kind("added")),
            modified: f.events.get_or_create_owned(&kind("modified")),
            deleted: f.events.get_or_create_owned(&kind("deleted")),
            errors: ErrorCounters {
                watch: f.errors.get_or_create_owned(&error("watch")),
                transform: f.errors.get_or_create_owned(&error("transform")),
                index: f.errors.get_or_create_owned(&error("index")),
                handler: f.errors.get_or_create_owned(&error("handler")),
                callback: f.errors.get_or_create_owned(&error("callback")),
                handler_thread: f.errors.get_or_create_owned(&error("handler_thread")),
                stopped: f.errors.get_or_create_owned(&error("stopped")),
            },
            last_event: AtomicU64::new(0),
            last_list: AtomicU64::new(0),
            listed_once: OnceLock::new(),
            resource,
            cached,
        });
        let mut probes = self.families.probes.informers.lock().unwrap_or_else(|p| p.into_inner());
        probes.retain(|s| s.strong_count() > 0);
        probes.push(Arc::downgrade(&series));
        series
    }

    /// `client` with each watch request counted for the resource it watches
    /// (`kube_codegen_informer_watches_total`): the watcher restarts watches on its own,
    /// without telling the informer, so they are counted where they are sent. The factory
    /// given these metrics does this to its client; an informer built by hand needs its `Api`
    /// made from the client this returns.
    pub fn observe_client(&self, client: kube::Client) -> kube::Client {
        let default_namespace = client.default_namespace().to_owned();
        kube::Client::new(WatchCounter { client, watches: self.families.watches.clone() }, default_namespace)
    }
}

/// Counts watch requests, then hands them to the client it wraps.
#[derive(Clone)]
struct WatchCounter {
    client: kube::Client,
    watches: Family<Resource, Counter>,
}

impl tower::Service<Request<Body>> for WatchCounter {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<Body>, kube::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), kube::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let shape = Shape::parse(request.method(), request.uri().path(), request.uri().query(), None);
        if shape.verb == "watch" {
            self.watches.get_or_create(&[("resource", shape.resource_name())]).inc();
        }
        let client = self.client.clone();
        Box::pin(async move { client.send(request).await })
    }
}

struct ErrorCounters {
    watch: Counter,
    transform: Counter,
    index: Counter,
    handler: Counter,
    callback: Counter,
    handler_thread: Counter,
    stopped: Counter,
}

/// One informer's series: counters it bumps as events arrive, and what the scrape reads.
pub(crate) struct InformerSeries {
    resource: String,
    base: Instant,
    lists: Counter,
    relists: Counter,
    gone: Counter,
    listed: Counter,
    added: Counter,
    modified: Counter,
    deleted: Counter,
    errors: ErrorCounters,
    /// Nanoseconds after `base` (plus one, so 0 means never) of the last event and the last
    /// completed list.
    last_event: AtomicU64,
    last_list: AtomicU64,
    listed_once: OnceLock<()>,
    cached: Box<dyn Fn() -> Option<usize> + Send + Sync>,
}

impl std::fmt::Debug for InformerSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InformerSeries").field("resource", &self.resource).finish_non_exhaustive()
    }
}

/// What an informer tells its series.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Seen {
    ListStarted,
    Listed,
    ListDone,
    Added,
    Modified,
    Deleted,
}

impl InformerSeries {
    pub(crate) fn seen(&self, what: Seen) {
        let now = || u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1;
        match what {
            Seen::ListStarted => {
                self.lists.inc();
                if self.listed_once.set(()).is_err() {
                    self.relists.inc();
                }
            }
            // The list's items arrive together: its end sets the time, not each item (a clock
            // read per object is a visible share of an initial sync).
            Seen::Listed => {
                self.listed.inc();
                return;
            }
            Seen::ListDone => self.last_list.store(now(), Ordering::Relaxed),
            Seen::Added => {
                self.added.inc();
            }
            Seen::Modified => {
                self.modified.inc();
            }
            Seen::Deleted => {
                self.deleted.inc();
            }
        }
        self.last_event.store(now(), Ordering::Relaxed);
    }

    pub(crate) fn error(&self, error: &InformerError) {
        let e = &self.errors;
        let counter = match error {
            InformerError::Watch(w) => {
                if crate::informer::status_of(w).is_some_and(|s| s.code == 410) {
                    self.gone.inc();
                }
                &e.watch
            }
            InformerError::Transform { .. } => &e.transform,
            InformerError::Index(_) => &e.index,
            InformerError::Handler { .. } => &e.handler,
            InformerError::Callback { .. } => &e.callback,
            InformerError::HandlerThread(_) => &e.handler_thread,
            InformerError::Stopped(_) => &e.stopped,
        };
        counter.inc();
    }

    /// Seconds since `at` (as stored), if it ever happened.
    fn since(&self, at: &AtomicU64) -> Option<f64> {
        let at = at.load(Ordering::Relaxed).checked_sub(1)?;
        let now = self.base.elapsed().as_nanos() as f64;
        Some(((now - at as f64) / 1e9).max(0.0))
    }
}

/// Reads every live informer's cache size and ages at scrape time.
#[derive(Default)]
struct Probes {
    informers: Mutex<Vec<Weak<InformerSeries>>>,
}

impl std::fmt::Debug for Probes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probes").finish_non_exhaustive()
    }
}

impl Collector for Probes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let live: Vec<Arc<InformerSeries>> = {
            let informers = self.informers.lock().unwrap_or_else(|p| p.into_inner());
            informers.iter().filter_map(Weak::upgrade).collect()
        };
        type Read = fn(&InformerSeries) -> Option<f64>;
        let gauges: [(&str, &str, Read); 3] = [
            ("objects", "Objects in the informer's cache", |s| (s.cached)().map(|n| n as f64)),
            (
                "seconds_since_last_event",
                "Seconds since the informer last applied an event or list item (absent before the first)",
                |s| s.since(&s.last_event),
            ),
            (
                "seconds_since_last_list",
                "Seconds since the informer last completed a list (absent before the first)",
                |s| s.since(&s.last_list),
            ),
        ];
        // Informers of one resource (a typed and a metadata one, say) share its series: the
        // cache sizes add up, the ages are the freshest.
        for (index, (name, help, read)) in gauges.into_iter().enumerate() {
            let mut values: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
            for series in &live {
                if let Some(value) = read(series) {
                    values
                        .entry(series.resource.as_str())
                        .and_modify(|v| *v = if index == 0 { *v + value } else { v.min(value) })
                        .or_insert(value);
                }
            }
            let mut family = encoder.encode_descriptor(name, help, None, ConstGauge::new(0.0).metric_type())?;
            for (resource, value) in values {
                let label = [("resource", resource)];
                let encoder = family.encode_family(&label)?;
                // A count reads as one.
                if index == 0 {
                    ConstGauge::new(value as i64).encode(encoder)?
                } else {
                    ConstGauge::new(value).encode(encoder)?
                }
            }
        }
        Ok(())
    }
}
