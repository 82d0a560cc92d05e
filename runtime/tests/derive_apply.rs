//! The derive's apply configurations: `<Root>Apply` with the spec's configuration from its
//! fields (serde's names), nested hand-written types that opt in with `#[derive(Apply)]` and
//! `#[apply(nested)]`, and typed apply, `apply_status` and `extract` against the fake.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube_codegen_runtime::apply::ExtractError;
use kube_codegen_runtime::client::ApplyParams;
use kube_codegen_runtime::fake::ApiServer;
use kube_codegen_runtime::{Apply, CustomResource, ErrorExt, ensure_crd};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A gadget's desired state.
#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[kube(group = "apply.example.com", version = "v1", kind = "Gadget", namespaced, status = "GadgetStatus")]
#[serde(rename_all = "camelCase")]
#[apply(nested_status)]
pub struct GadgetSpec {
    /// How many.
    pub replica_count: i32,
    /// Its ports, keyed by name.
    #[apply(nested)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub ports: Option<Vec<Port>>,
    /// Sent whole: `Limits` does not opt in.
    pub limits: Option<Limits>,
    /// Its type, under another name in Rust.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A port.
#[derive(Apply, Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Port {
    /// The key.
    pub name: String,
    /// The number.
    pub number: Option<i32>,
}

/// Limits, applied whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    /// CPU.
    pub cpu: String,
    /// Memory.
    pub memory: String,
}

/// A gadget's observed state.
#[derive(Apply, Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GadgetStatus {
    /// Ready ones.
    pub ready_replicas: Option<i32>,
    /// The phase.
    pub phase: Option<String>,
}

async fn server() -> (ApiServer, GadgetClient) {
    let server = ApiServer::new();
    server.register::<CustomResourceDefinition>();
    ensure_crd(&server.client(), &Gadget::crd(), Duration::from_secs(10)).await.unwrap();
    let client = GadgetClient::new(server.client(), "ns");
    (server, client)
}

#[test]
fn configurations_write_serde_names_and_only_what_is_set() {
    let config = GadgetApply::new("g", "ns").spec(
        GadgetSpecApply::default()
            .replica_count(2)
            .ports([PortApply::default().name("http")])
            .kind("big")
            .limits(Limits { cpu: "1".into(), memory: "1Gi".into() }),
    );
    assert_eq!(
        serde_json::to_value(&config).unwrap(),
        json!({
            "apiVersion": "apply.example.com/v1", "kind": "Gadget",
            "metadata": {"name": "g", "namespace": "ns"},
            "spec": {"replicaCount": 2, "ports": [{"name": "http"}], "type": "big", "limits": {"cpu": "1", "memory": "1Gi"}}
        })
    );
}

#[tokio::test]
async fn derived_resources_apply_and_extract_like_generated_ones() {
    let (_server, gadgets) = server().await;
    let a = GadgetApply::new("g", "ns")
        .spec(GadgetSpecApply::default().replica_count(1).ports([PortApply::default().name("http").number(80)]));
    gadgets.apply(&a, &ApplyParams::manager("a")).await.unwrap();
    let b = GadgetApply::new("g", "ns")
        .spec(GadgetSpecApply::default().ports([PortApply::default().name("metrics").number(9090)]));
    let g = gadgets.apply(&b, &ApplyParams::manager("b")).await.unwrap();
    let ports: Vec<&str> = g.spec.ports.as_deref().unwrap_or_default().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(ports, ["http", "metrics"], "each manager's element, by key");

    let status = GadgetApply::new("g", "ns").status(GadgetStatusApply::default().ready_replicas(1).phase("Running"));
    let g = gadgets.apply_status(&status, &ApplyParams::manager("controller")).await.unwrap();
    assert_eq!(g.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running"));

    let json = |c: &GadgetApply| serde_json::to_value(c).unwrap();
    assert_eq!(json(&GadgetApply::extract(&g, "a").unwrap()), json(&a));
    assert_eq!(json(&GadgetApply::extract(&g, "b").unwrap()), json(&b));
    assert_eq!(json(&GadgetApply::extract_status(&g, "controller").unwrap()), json(&status));

    let conflict = GadgetApply::new("g", "ns").spec(GadgetSpecApply::default().replica_count(5));
    assert!(gadgets.apply(&conflict, &ApplyParams::manager("b")).await.unwrap_err().is_conflict());

    let mut stripped = g.clone();
    stripped.metadata.managed_fields = None;
    assert!(matches!(GadgetApply::extract(&stripped, "a"), Err(ExtractError::NoManagedFields { .. })));
}
