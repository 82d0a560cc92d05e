//! `#[derive(CustomResource)]`: the CRD it describes, and the resource, client, lister and
//! informer it gives, against the in-memory API server.
// `Widget`'s and `Gizmo`'s versions are declared deprecated (the CRD's `deprecated`), so their
// clients, listers and informers warn where named, as generated ones do.
#![allow(deprecated)]

use std::time::Duration;

use kube::CustomResourceExt;
use kube_codegen_runtime::client::{ListParams, Patch, PatchParams, PostParams};
use kube_codegen_runtime::fake::{ApiServer, Verb};
use kube_codegen_runtime::informer::SharedInformerFactory;
use kube_codegen_runtime::{CustomResource, ErrorExt, ensure_crd};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A widget's desired state.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas"),
    shortname = "wd",
    category = "all",
    printcolumn(name = "Replicas", json_path = ".spec.replicas", type_ = "integer"),
    selectable = ".spec.size",
    annotation("example.com/owner", "team-a"),
    label = "tier=backend",
    derive = "PartialEq",
    attr = "allow(clippy::derive_partial_eq_without_eq)",
    validation = "self.spec.replicas >= 0",
    deprecated = "use example.com/v2",
    doc = "A widget, for testing."
)]
pub struct WidgetSpec {
    /// How many.
    pub replicas: i32,
    /// How big.
    pub size: String,
}

/// A widget's observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WidgetStatus {
    /// How many there are.
    pub replicas: i32,
}

/// A cluster-scoped resource with every default.
#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[kube(group = "example.com", version = "v1alpha1", kind = "Policy", plural = "policies", schema = "manual")]
pub struct PolicySpec {
    /// What it allows.
    pub rule: String,
}

#[test]
fn crd_has_every_attribute() {
    let expected = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "annotations": {"example.com/owner": "team-a"},
            "labels": {"tier": "backend"},
            "name": "widgets.example.com",
        },
        "spec": {
            "group": "example.com",
            "names": {
                "categories": ["all"],
                "kind": "Widget",
                "listKind": "WidgetList",
                "plural": "widgets",
                "shortNames": ["wd"],
                "singular": "widget",
            },
            "scope": "Namespaced",
            "versions": [{
                "additionalPrinterColumns": [{"jsonPath": ".spec.replicas", "name": "Replicas", "type": "integer"}],
                "deprecated": true,
                "deprecationWarning": "use example.com/v2",
                "name": "v1",
                "schema": {"openAPIV3Schema": {
                    "description": "A widget, for testing.",
                    "properties": {
                        "spec": {
                            "description": "A widget's desired state.",
                            "properties": {
                                "replicas": {"description": "How many.", "format": "int32", "type": "integer"},
                                "size": {"description": "How big.", "type": "string"},
                            },
                            "required": ["replicas", "size"],
                            "type": "object",
                        },
                        "status": {
                            "description": "A widget's observed state.",
                            "nullable": true,
                            "properties": {
                                "replicas": {"description": "How many there are.", "format": "int32", "type": "integer"},
                            },
                            "required": ["replicas"],
                            "type": "object",
                        },
                    },
                    "required": ["spec"],
                    "title": "Widget",
                    "type": "object",
                    "x-kubernetes-validations": [{"rule": "self.spec.replicas >= 0"}],
                }},
                "selectableFields": [{"jsonPath": ".spec.size"}],
                "served": true,
                "storage": true,
                "subresources": {
                    "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
                    "status": {},
                },
            }],
        },
    });
    assert_eq!(serde_json::to_value(Widget::crd()).unwrap(), expected);
    assert_eq!(Widget::crd_name(), "widgets.example.com");
    assert_eq!(Widget::shortnames(), ["wd"]);
    assert_eq!(Widget::api_resource().plural, "widgets");
}

#[test]
fn crd_of_a_resource_with_every_default() {
    let expected = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "policies.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Policy", "listKind": "PolicyList", "plural": "policies", "singular": "policy"},
            "scope": "Cluster",
            "versions": [{"name": "v1alpha1", "served": true, "storage": true}],
        },
    });
    assert_eq!(serde_json::to_value(Policy::crd()).unwrap(), expected);
    assert!(Policy::shortnames().is_empty());
    let p = Policy::new("p", PolicySpec { rule: "deny".into() });
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        json!({
            "apiVersion": "example.com/v1alpha1", "kind": "Policy", "metadata": {"name": "p"}, "spec": {"rule": "deny"},
        })
    );
}

#[tokio::test]
async fn the_fake_serves_the_derived_crd_and_the_typed_client_round_trips() {
    let server = ApiServer::new();
    server.register::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    let client = server.client();
    let installed = ensure_crd(&client, &Widget::crd(), Duration::from_secs(5)).await.unwrap();
    assert!(installed.status.unwrap().conditions.unwrap().iter().any(|c| c.type_ == "Established"));
    // Again: nothing differs, nothing is written.
    server.clear_actions();
    ensure_crd(&client, &Widget::crd(), Duration::from_secs(5)).await.unwrap();
    assert_eq!(server.count(Verb::Update, "customresourcedefinitions"), 0);

    let widgets = WidgetClient::new(client.clone(), "ns");
    let created = widgets
        .create(&PostParams::default(), &Widget::new("w", WidgetSpec { replicas: 2, size: "L".into() }))
        .await
        .unwrap();
    assert_eq!(created.spec, WidgetSpec { replicas: 2, size: "L".into() });
    assert!(widgets.create(&PostParams::default(), &created).await.unwrap_err().is_already_exists());
    // The schema from schemars validates: a string is not an integer.
    let err = widgets
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": "many"}})))
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    let mut with_status = widgets.get("w").await.unwrap();
    with_status.status = Some(WidgetStatus { replicas: 2 });
    widgets.update_status("w", &PostParams::default(), &with_status).await.unwrap();
    let scale = widgets.get_scale("w").await.unwrap();
    assert_eq!(scale.status.unwrap().replicas, 2);

    let factory = SharedInformerFactory::new(client.clone());
    let informer = WidgetInformer::new(factory.informer_for::<Widget>());
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let lister: WidgetLister = informer.lister();
    assert_eq!(lister.namespace("ns").get("w").unwrap().status, Some(WidgetStatus { replicas: 2 }));
    assert_eq!(widgets.list(&ListParams::default()).await.unwrap().items.len(), 1);
    factory.shutdown().await;
}

#[tokio::test]
async fn ensure_crd_updates_a_differing_crd_and_says_when_it_is_not_established() {
    let server = ApiServer::new();
    server.register::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    let client = server.client();
    let mut old = Widget::crd();
    old.spec.names.short_names = None;
    ensure_crd(&client, &old, Duration::from_secs(5)).await.unwrap();
    let updated = ensure_crd(&client, &Widget::crd(), Duration::from_secs(5)).await.unwrap();
    assert_eq!(updated.spec.names.short_names, Some(vec!["wd".to_owned()]));
    assert_eq!(server.count(Verb::Update, "customresourcedefinitions"), 1);

    // A CRD the server never establishes: a clear error, in time.
    let stuck = ApiServer::new();
    stuck.register::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    stuck.react(Verb::Get, "customresourcedefinitions", |_| {
        kube_codegen_runtime::fake::Reaction::Respond(200, serde_json::to_value(Policy::crd()).unwrap())
    });
    let err = ensure_crd(&stuck.client(), &Policy::crd(), Duration::from_millis(200)).await.unwrap_err();
    assert!(err.to_string().contains("policies.example.com was not established"), "{err}");
}

/// The derive's client, lister and informer are the text `kube-codegen generate` writes for
/// the CRD that `crd()` returns.
#[test]
fn derived_clients_are_the_generators_text() {
    let dir = std::env::temp_dir().join(format!("kube-codegen-derive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("widget.json");
    std::fs::write(&file, serde_json::to_string(&Widget::crd()).unwrap()).unwrap();
    let model = kube_codegen_openapi::read(&[&file]).unwrap();
    let files = kube_codegen::generate(&model, &kube_codegen::Settings::default()).unwrap();
    let generated: String = files.0.values().cloned().collect();
    // What the derive emitted: the generator's per-resource items over the IR of its CRD.
    let derived =
        kube_codegen_openapi::read_bytes(std::path::Path::new("widget"), Widget::__KUBE_CODEGEN_CRD.as_bytes())
            .unwrap();
    let items = kube_codegen::derive::resource_items_text(&derived.resources[0], "Widget").unwrap();
    assert_eq!(
        items.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["WidgetClient", "WidgetLister", "WidgetInformer"]
    );
    for (name, text) in items {
        assert!(generated.contains(&text), "{name} differs from the generator's:\n{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Two versions of one kind, each its own spec struct.
mod v2 {
    use super::{CustomResource, Deserialize, JsonSchema, Serialize};

    /// The second version of a widget's spec.
    #[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[kube(group = "example.com", version = "v2", kind = "Widget", namespaced, status = "super::WidgetStatus")]
    pub struct WidgetSpec {
        /// How many.
        pub replicas: i32,
        /// How big.
        pub size: String,
        /// A field v1 does not have.
        pub color: Option<String>,
    }
}

#[tokio::test]
async fn versions_merge_into_one_crd_with_one_storage_version() {
    let merged = kube::core::crd::merge_crds(vec![Widget::crd(), v2::Widget::crd()], "v1").unwrap();
    let versions: Vec<(String, bool)> = merged.spec.versions.iter().map(|v| (v.name.clone(), v.storage)).collect();
    assert_eq!(versions, [("v1".to_owned(), true), ("v2".to_owned(), false)]);
    let server = ApiServer::new();
    server.register::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    ensure_crd(&server.client(), &merged, Duration::from_secs(5)).await.unwrap();
    let old = WidgetClient::new(server.client(), "ns");
    old.create(&PostParams::default(), &Widget::new("w", WidgetSpec { replicas: 1, size: "S".into() })).await.unwrap();
    // The same object through the other version (the fake converts as the `None` strategy does).
    let new = v2::WidgetClient::new(server.client(), "ns");
    let through_v2 = new.get("w").await.unwrap();
    assert_eq!((through_v2.spec.size.as_str(), through_v2.spec.color), ("S", None));
}

/// The rest of the attributes, in their other spellings.
#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "example.com",
    version = "v1beta1",
    kind = "Gizmo",
    root = "GizmoResource",
    singular = "gizmo",
    plural = "gizmoes",
    status = "GizmoStatus",
    scale = r#"{"specReplicasPath": ".spec.count", "statusReplicasPath": ".status.count", "labelSelectorPath": ".status.selector"}"#,
    printcolumn = r#"{"name": "Count", "type": "integer", "jsonPath": ".spec.count", "priority": 1}"#,
    annotation = "example.com/note=hello",
    label("app", "gizmos"),
    served = false,
    storage,
    deprecated,
    schema = "disabled",
    validation = kube::core::Rule::new("self.spec.count < 100").message("too many"),
    crates(kube_codegen_runtime = ::kube_codegen_runtime, serde_json = ::serde_json, kube_core = ::kube::core)
)]
pub struct GizmoSpec {
    /// How many.
    pub count: i32,
}

/// A gizmo's observed state.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct GizmoStatus {
    /// How many.
    pub count: i32,
    /// Which pods.
    pub selector: Option<String>,
}

#[tokio::test]
async fn the_other_spellings_give_their_crd_and_a_client() {
    let expected = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "annotations": {"example.com/note": "hello"},
            "labels": {"app": "gizmos"},
            "name": "gizmoes.example.com",
        },
        "spec": {
            "group": "example.com",
            "names": {"kind": "Gizmo", "listKind": "GizmoList", "plural": "gizmoes", "singular": "gizmo"},
            "scope": "Cluster",
            "versions": [{
                "additionalPrinterColumns": [{"jsonPath": ".spec.count", "name": "Count", "priority": 1, "type": "integer"}],
                "deprecated": true,
                "name": "v1beta1",
                "served": false,
                "storage": true,
                "subresources": {
                    "scale": {
                        "labelSelectorPath": ".status.selector",
                        "specReplicasPath": ".spec.count",
                        "statusReplicasPath": ".status.count",
                    },
                    "status": {},
                },
            }],
        },
    });
    assert_eq!(serde_json::to_value(GizmoResource::crd()).unwrap(), expected);
    // With a schema, the rule would be in it; `schema = "disabled"` leaves it out with the schema.
    let mut served = GizmoResource::crd();
    served.spec.versions[0].served = true;
    let server = ApiServer::new();
    server.register::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    ensure_crd(&server.client(), &served, Duration::from_secs(5)).await.unwrap();
    let gizmos = GizmoClient::new(server.client());
    let created =
        gizmos.create(&PostParams::default(), &GizmoResource::new("g", GizmoSpec { count: 3 })).await.unwrap();
    assert_eq!(created.spec.count, 3);
    assert_eq!(gizmos.get_scale("g").await.unwrap().spec.unwrap().replicas, Some(3));
}

mod odd {
    use super::*;

    /// A thing whose plural has a hyphen and which has no status subresource.
    #[derive(CustomResource, Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
    #[kube(group = "odd.example.com", version = "v1", kind = "MyWidget", plural = "my-widgets", namespaced)]
    pub struct MyWidgetSpec {
        /// Anything.
        pub size: i32,
    }
}

#[tokio::test]
async fn derived_types_register_as_their_crd_says() {
    use kube_codegen_runtime::ResourceSchema;
    // Widget: status and scale, a selectable field; MyWidget: none of them.
    assert_eq!((Widget::STATUS, Widget::SCALE.is_some(), Widget::CUSTOM), (true, true, true));
    assert_eq!(Widget::SELECTABLE, ["spec.size"]);
    assert_eq!((odd::MyWidget::STATUS, odd::MyWidget::SCALE), (false, None));
    let server = ApiServer::new();
    server.register_generated::<Widget>().register_generated::<odd::MyWidget>();
    let widgets = WidgetClient::new(server.client(), "ns");
    let mut w = Widget::new("w", WidgetSpec { replicas: 1, size: "L".into() });
    w.status = Some(WidgetStatus { replicas: 4 });
    let created = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert!(created.status.is_none(), "status is written through its subresource only");
    let found = widgets.list(&ListParams::default().fields("spec.size=L")).await.unwrap();
    assert_eq!(found.items.len(), 1);
    // No status subresource: status would be kept by the main endpoint; the plural with a
    // hyphen is served.
    let mine = odd::MyWidgetClient::new(server.client(), "ns");
    mine.create(&PostParams::default(), &odd::MyWidget::new("m", odd::MyWidgetSpec { size: 2 })).await.unwrap();
    assert_eq!(mine.get("m").await.unwrap().spec.size, 2);
    assert_eq!(server.count(Verb::Create, "my-widgets"), 1);
}
