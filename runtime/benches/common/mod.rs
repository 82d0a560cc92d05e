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
