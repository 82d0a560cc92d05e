//! Leader election's metrics, by Lease `name`: client-go's `leader_election_master_status`,
//! and the transitions, renew latency and renew failures a dashboard alerts on.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type Name = [(&'static str, String); 1];

/// Renew latency buckets: a renewal is one get and one update, well under a second when
/// healthy; the top buckets reach client-go's 10 s renew deadline.
const RENEW_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The leader-election metrics of every candidate given them, registered once.
#[derive(Clone, Debug)]
pub struct LeaderMetrics {
    families: Arc<Families>,
}

#[derive(Debug)]
struct Families {
    leading: Family<Name, Gauge>,
    transitions: Family<Name, Counter>,
    renew: Family<Name, Histogram, fn() -> Histogram>,
    renew_failures: Family<Name, Counter>,
}

impl LeaderMetrics {
    /// Registers the leader-election metrics in `registry`.
    pub fn register(registry: &mut Registry) -> LeaderMetrics {
        let families = Families {
            leading: Family::default(),
            transitions: Family::default(),
            renew: Family::new_with_constructor(|| Histogram::new(RENEW_BUCKETS)),
            renew_failures: Family::default(),
        };
        registry.register(
            "leader_election_master_status",
            "1 while this replica leads the election on the Lease `name`, 0 otherwise",
            families.leading.clone(),
        );
        let r = registry.sub_registry_with_prefix("kube_codegen_leader_election");
        r.register("transitions", "Times this replica started leading", families.transitions.clone());
        r.register(
            "renew_duration_seconds",
            "Time one attempt to renew the held Lease took, answered or not",
            families.renew.clone(),
        );
        r.register(
            "renew_failures",
            "Renew attempts that failed (an error, no answer in time, or the Lease taken over)",
            families.renew_failures.clone(),
        );
        LeaderMetrics { families: Arc::new(families) }
    }

    pub(crate) fn for_lease(&self, name: &str) -> LeaseSeries {
        let label = [("name", name.to_owned())];
        let f = &self.families;
        LeaseSeries {
            leading: f.leading.get_or_create_owned(&label),
            transitions: f.transitions.get_or_create_owned(&label),
            renew: f.renew.get_or_create_owned(&label),
            renew_failures: f.renew_failures.get_or_create_owned(&label),
        }
    }
}

/// One Lease's series.
#[derive(Clone, Debug)]
pub(crate) struct LeaseSeries {
    leading: Gauge,
    transitions: Counter,
    renew: Histogram,
    renew_failures: Counter,
}

impl LeaseSeries {
    pub(crate) fn leading(&self, leads: bool) {
        if leads {
            self.transitions.inc();
        }
        self.leading.set(i64::from(leads));
    }

    pub(crate) fn renewed(&self, took: Duration, ok: bool) {
        self.renew.observe(took.as_secs_f64());
        if !ok {
            self.renew_failures.inc();
        }
    }
}
