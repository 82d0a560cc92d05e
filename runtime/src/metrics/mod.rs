//! Everything the runtime exports for Prometheus, in one registry: requests of the clients
//! ([`ClientMetrics`]), informers ([`InformerMetrics`]), leader election ([`LeaderMetrics`])
//! and work queues ([`WorkQueueMetrics`]).
//!
//! ```
//! use kube_codegen_runtime::metrics::Metrics;
//!
//! # fn main() -> Result<(), std::fmt::Error> {
//! let mut registry = prometheus_client::registry::Registry::default();
//! let metrics = Metrics::register(&mut registry);
//! // metrics.client_for(&config).layer() on the client's stack; metrics.informers to the
//! // factory; metrics.leader to the leader election; metrics.workqueue to the queues.
//! let queue = kube_codegen_runtime::workqueue::WorkQueue::<String>::builder()
//!     .name("widgets")
//!     .metrics(&metrics.workqueue)
//!     .build();
//! queue.add("default/a".to_owned());
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry)?;
//! // A family appears once it has a series.
//! assert!(text.contains(r#"workqueue_adds_total{name="widgets"} 1"#));
//! assert!(!text.contains("rest_client_requests_total"));
//! # Ok(())
//! # }
//! ```

pub mod client;
mod informer;
mod leader;
mod request;

pub use client::{ClientMetrics, MetricsLayer};
pub use informer::InformerMetrics;
pub(crate) use informer::{InformerSeries, Seen};
pub use leader::LeaderMetrics;
pub(crate) use leader::LeaseSeries;
pub use request::RequestShape;

pub use crate::workqueue::WorkQueueMetrics;

/// Handles to every metric family the runtime exports, registered in one registry.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Requests, latencies, sizes, retries, throttling and transport errors of clients.
    pub client: ClientMetrics,
    /// Per-informer lists, watches, events, errors, cache sizes and ages.
    pub informers: InformerMetrics,
    /// Whether this replica leads, transitions, renew latency and failures.
    pub leader: LeaderMetrics,
    /// client-go's work-queue metrics.
    pub workqueue: WorkQueueMetrics,
}

impl Metrics {
    /// Registers all of the runtime's metrics in `registry`.
    pub fn register(registry: &mut prometheus_client::registry::Registry) -> Metrics {
        Metrics {
            client: ClientMetrics::register(registry),
            informers: InformerMetrics::register(registry),
            leader: LeaderMetrics::register(registry),
            workqueue: WorkQueueMetrics::register(registry),
        }
    }

    /// The client metrics labelled with the host of `config`'s cluster URL: what the
    /// metrics layer and the throttle of a client built from `config` take.
    pub fn client_for(&self, config: &kube::Config) -> ClientMetrics {
        self.client.for_config(config)
    }
}
