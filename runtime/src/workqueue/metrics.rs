//! client-go's work-queue metrics, in a prometheus-client registry the user serves.

use std::sync::{Arc, Mutex, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `name` label every series of a queue carries.
type Name = [(&'static str, String); 1];

type Histograms = Family<Name, Histogram, fn() -> Histogram>;

/// The metrics of every queue built with them, registered once in a registry under
/// client-go's names (`workqueue_depth`, `workqueue_adds_total`,
/// `workqueue_queue_duration_seconds`, `workqueue_work_duration_seconds`,
/// `workqueue_unfinished_work_seconds`, `workqueue_longest_running_processor_seconds`,
/// `workqueue_retries_total`), each series labelled with its queue's `name`.
///
/// ```
/// use prometheus_client::registry::Registry;
/// use kube_codegen_runtime::workqueue::{WorkQueue, WorkQueueMetrics};
///
/// let mut registry = Registry::default();
/// let metrics = WorkQueueMetrics::register(&mut registry);
/// let queue = WorkQueue::<String>::builder().name("widgets").metrics(&metrics).build();
/// queue.add("default/a".to_string());
/// let mut text = String::new();
/// prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
/// assert!(text.contains(r#"workqueue_adds_total{name="widgets"} 1"#));
/// ```
#[derive(Clone, Debug)]
pub struct WorkQueueMetrics {
    depth: Family<Name, Gauge>,
    adds: Family<Name, Counter>,
    retries: Family<Name, Counter>,
    queue_duration: Histograms,
    work_duration: Histograms,
    in_flight: Arc<InFlightCollector>,
}

impl WorkQueueMetrics {
    /// Registers the work-queue metrics in `registry` and returns the handle queues take.
    pub fn register(registry: &mut Registry) -> Self {
        // client-go's buckets: 1 ns to 10 s by tens.
        let histogram: fn() -> Histogram = || Histogram::new(exponential_buckets(1e-8, 10.0, 10));
        let metrics = WorkQueueMetrics {
            depth: Family::default(),
            adds: Family::default(),
            retries: Family::default(),
            queue_duration: Family::new_with_constructor(histogram),
            work_duration: Family::new_with_constructor(histogram),
            in_flight: Arc::new(InFlightCollector::default()),
        };
        let wq = registry.sub_registry_with_prefix("workqueue");
        wq.register("depth", "Current depth of the work queue", metrics.depth.clone());
        wq.register("adds", "Items added to the work queue", metrics.adds.clone());
        wq.register("retries", "Retries handled by the work queue", metrics.retries.clone());
        wq.register(
            "queue_duration_seconds",
            "How long an item stays in the work queue before it is handed out",
            metrics.queue_duration.clone(),
        );
        wq.register(
            "work_duration_seconds",
            "How long processing an item from the work queue takes",
            metrics.work_duration.clone(),
        );
        wq.register_collector(Box::new(Arc::clone(&metrics.in_flight)));
        metrics
    }

    pub(super) fn for_queue(&self, name: &str, in_flight: Weak<dyn InFlight>) -> QueueMetrics {
        let label = [("name", name.to_string())];
        let mut queues = self.in_flight.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.retain(|(_, q)| q.strong_count() > 0);
        queues.push((name.to_string(), in_flight));
        QueueMetrics {
            depth: self.depth.get_or_create_owned(&label),
            adds: self.adds.get_or_create_owned(&label),
            retries: self.retries.get_or_create_owned(&label),
            queue_duration: self.queue_duration.get_or_create_owned(&label),
            work_duration: self.work_duration.get_or_create_owned(&label),
        }
    }
}

/// One queue's series.
#[derive(Clone, Debug)]
pub(super) struct QueueMetrics {
    pub depth: Gauge,
    pub adds: Counter,
    pub retries: Counter,
    pub queue_duration: Histogram,
    pub work_duration: Histogram,
}

/// What a queue tells a scrape of the work in progress: the seconds all of it has run so
/// far, and the longest one.
pub(super) trait InFlight: Send + Sync {
    fn unfinished(&self) -> (f64, f64);
}

/// Unfinished work and the longest-running item are read at scrape time, so a worker stuck on
/// one item shows as a number that keeps growing.
#[derive(Default)]
struct InFlightCollector {
    queues: Mutex<Vec<(String, Weak<dyn InFlight>)>>,
}

impl std::fmt::Debug for InFlightCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlightCollector").finish_non_exhaustive()
    }
}

impl Collector for InFlightCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let queues: Vec<(String, (f64, f64))> = {
            let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            queues.iter().filter_map(|(name, q)| Some((name.clone(), q.upgrade()?.unfinished()))).collect()
        };
        let series = [
            (
                "unfinished_work_seconds",
                "Seconds of work in progress not yet observed by work_duration; a large value means stuck workers",
                false,
            ),
            (
                "longest_running_processor_seconds",
                "Seconds the longest-running item of the queue has been processed",
                true,
            ),
        ];
        for (metric, help, longest) in series {
            let mut family = encoder.encode_descriptor(metric, help, None, ConstGauge::new(0.0).metric_type())?;
            for (name, (total, max)) in &queues {
                let label = [("name", name.clone())];
                ConstGauge::new(if longest { *max } else { *total }).encode(family.encode_family(&label)?)?;
            }
        }
        Ok(())
    }
}
