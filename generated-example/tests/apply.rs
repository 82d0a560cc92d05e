//! Typed server-side apply with the generated apply configurations, against the in-memory API
//! server: what each manager owns, conflicts, `force`, subresources and `extract`.

use generated_example::widgets::Clientset;
use generated_example::widgets::example::v1::{
    Widget, WidgetApply, WidgetSpecApply, WidgetSpecPortsApply, WidgetSpecSize, WidgetStatusApply,
    WidgetStatusConditionsApply, WidgetStatusConditionsStatus,
};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube_codegen_runtime::ErrorExt;
use kube_codegen_runtime::apply::{ExtractError, ScaleApply};
use kube_codegen_runtime::client::ApplyParams;
use kube_codegen_runtime::fake::ApiServer;
use serde_json::{Value, json};

/// A server with the example's CRDs created through its API, so widgets are defaulted and
/// validated by their schema as a real server would.
async fn server() -> (ApiServer, Clientset) {
    let server = ApiServer::new();
    server.register::<CustomResourceDefinition>();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/inputs/widgets.yaml")).unwrap();
    let crds: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&text).unwrap();
    for crd in &crds {
        kube_codegen_runtime::ensure_crd(&server.client(), crd, Duration::from_secs(10)).await.unwrap();
    }
    let cs = Clientset::new(server.client());
    (server, cs)
}

/// The fields `manager` owns through `subresource` ("" for the main resource), as FieldsV1.
fn owned(w: &Widget, manager: &str, subresource: &str) -> Value {
    let entries: &[ManagedFieldsEntry] = w.metadata.managed_fields.as_deref().unwrap_or_default();
    let entry = entries
        .iter()
        .find(|e| e.manager.as_deref() == Some(manager) && e.subresource.as_deref().unwrap_or("") == subresource);
    entry.and_then(|e| e.fields_v1.as_ref()).map(|f| f.0.clone()).unwrap_or(Value::Null)
}

#[tokio::test]
async fn each_manager_owns_what_it_sets_and_no_more() {
    let (_server, cs) = server().await;
    let widgets = cs.example_v1().widgets("ns");

    // Sets only replicas: `size` is defaulted by the schema, and not owned by anyone.
    let a = WidgetApply::new("w", "ns").spec(WidgetSpecApply::default().replicas(3));
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        json!({"apiVersion": "example.kube-codegen.dev/v1", "kind": "Widget",
               "metadata": {"name": "w", "namespace": "ns"}, "spec": {"replicas": 3}}),
        "nothing but what was set is sent"
    );
    let w = widgets.apply(&a, &ApplyParams::manager("a")).await.unwrap();
    assert_eq!(w.spec.as_ref().unwrap().size, WidgetSpecSize::Medium, "the schema's default");
    assert_eq!(owned(&w, "a", ""), json!({"f:spec": {"f:replicas": {}}}));

    // A second manager sets one element of the `ports` map-list, by its key.
    let b = WidgetApply::new("w", "ns")
        .spec(WidgetSpecApply::default().ports([WidgetSpecPortsApply::default().name("http").number(80)]));
    let w = widgets.apply(&b, &ApplyParams::manager("b")).await.unwrap();
    assert_eq!(
        owned(&w, "b", ""),
        json!({"f:spec": {"f:ports": {"k:{\"name\":\"http\"}": {".": {}, "f:name": {}, "f:number": {}}}}})
    );

    // The first re-applies with another element of the same list: b's element stays b's.
    let a2 = WidgetApply::new("w", "ns").spec(
        WidgetSpecApply::default().replicas(5).ports([WidgetSpecPortsApply::default().name("metrics").number(9090)]),
    );
    let w = widgets.apply(&a2, &ApplyParams::manager("a")).await.unwrap();
    let ports: Vec<(&str, i32)> = w
        .spec
        .as_ref()
        .unwrap()
        .ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|p| (p.name.as_str(), p.number.unwrap_or(0)))
        .collect();
    assert_eq!(ports, [("http", 80), ("metrics", 9090)]);
    assert_eq!(w.spec.as_ref().unwrap().replicas, Some(5));

    // `extract` gives back exactly what each applied.
    assert_eq!(WidgetApply::extract(&w, "a").unwrap(), a2);
    assert_eq!(WidgetApply::extract(&w, "b").unwrap(), b);
    assert_eq!(WidgetApply::extract(&w, "nobody").unwrap(), WidgetApply::new("w", "ns"), "owns nothing");

    // A field another manager owns at another value is a conflict naming both, unless forced.
    let c = WidgetApply::new("w", "ns").spec(WidgetSpecApply::default().replicas(7));
    let err = widgets.apply(&c, &ApplyParams::manager("c")).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let message = err.to_string();
    assert!(message.contains("\"a\"") && message.contains(".spec.replicas"), "{message}");
    let w = widgets.apply(&c, &ApplyParams::manager("c").force()).await.unwrap();
    assert_eq!(w.spec.as_ref().unwrap().replicas, Some(7));
    assert_eq!(
        owned(&w, "a", ""),
        json!({"f:spec": {"f:ports": {"k:{\"name\":\"metrics\"}": {".": {}, "f:name": {}, "f:number": {}}}}})
    );

    // A manager that drops a field it alone owned removes it; one still owned by another stays.
    let b2 = WidgetApply::new("w", "ns").spec(WidgetSpecApply::default());
    let w = widgets.apply(&b2, &ApplyParams::manager("b")).await.unwrap();
    let names: Vec<&str> =
        w.spec.as_ref().unwrap().ports.as_deref().unwrap_or_default().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["metrics"]);
}

#[tokio::test]
async fn status_and_scale_are_applied_through_their_subresources() {
    let (_server, cs) = server().await;
    let widgets = cs.example_v1().widgets("ns");
    let spec = WidgetApply::new("w", "ns").spec(WidgetSpecApply::default().size(WidgetSpecSize::Large).replicas(2));
    widgets.apply(&spec, &ApplyParams::manager("user")).await.unwrap();

    let status = WidgetApply::new("w", "ns").status(WidgetStatusApply::default().replicas(2).conditions([
        WidgetStatusConditionsApply::default().r#type("Ready").status(WidgetStatusConditionsStatus::True),
    ]));
    let w = widgets.apply_status(&status, &ApplyParams::manager("controller")).await.unwrap();
    assert_eq!(w.status.as_ref().and_then(|s| s.replicas), Some(2));
    assert_eq!(owned(&w, "controller", "status")["f:status"]["f:replicas"], json!({}));
    // Conditions come back with the status (code-generator issue 173 lost them).
    assert_eq!(WidgetApply::extract_status(&w, "controller").unwrap(), status);
    assert_eq!(
        WidgetApply::extract(&w, "controller").unwrap(),
        WidgetApply::new("w", "ns"),
        "nothing on the main resource"
    );
    // The main endpoint ignores status; the user's spec is untouched by the controller.
    assert_eq!(WidgetApply::extract(&w, "user").unwrap(), spec);

    // The user owns spec.replicas: an autoscaler takes it over by force, as on a real server.
    let autoscaler = ApplyParams::manager("autoscaler");
    let err = widgets.apply_scale(&ScaleApply::replicas("w", 4), &autoscaler).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let scale = widgets.apply_scale(&ScaleApply::replicas("w", 4), &autoscaler.force()).await.unwrap();
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(4));
    let w = widgets.get("w").await.unwrap();
    assert_eq!(w.spec.as_ref().unwrap().replicas, Some(4));
    assert_eq!(owned(&w, "autoscaler", "scale"), json!({"f:spec": {"f:replicas": {}}}));
}

#[tokio::test]
async fn bad_applies_fail_before_a_request_and_extract_says_what_it_lacks() {
    let (server, cs) = server().await;
    let widgets = cs.example_v1().widgets("ns");
    let before = server.actions().len();
    let no_manager = widgets.apply(&WidgetApply::new("w", "ns"), &ApplyParams::default()).await.unwrap_err();
    assert!(no_manager.to_string().contains("field manager"), "{no_manager}");
    let no_name = widgets.apply(&WidgetApply::default(), &ApplyParams::manager("a")).await.unwrap_err();
    assert!(no_name.to_string().contains("metadata.name"), "{no_name}");
    assert_eq!(server.actions().len(), before, "nothing was sent");

    let mut w = widgets
        .apply(&WidgetApply::new("w", "ns").spec(WidgetSpecApply::default().replicas(1)), &ApplyParams::manager("a"))
        .await
        .unwrap();
    // As after an informer's `drop_managed_fields`: ownership is unknown, not empty.
    w.metadata.managed_fields = None;
    let err = WidgetApply::extract(&w, "a").unwrap_err();
    assert!(matches!(err, ExtractError::NoManagedFields { ref name } if name == "w"), "{err}");
    assert!(err.to_string().contains("managedFields"), "{err}");
}
