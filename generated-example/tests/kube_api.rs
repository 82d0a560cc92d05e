//! Generated resources through `kube::Api`, against the in-memory API server.

use generated_example::widgets::example::v1 as widgets;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_codegen_runtime::fake::ApiServer;
use serde_json::json;

#[tokio::test]
async fn a_generated_resource_round_trips_through_kube_api() {
    let server = ApiServer::new();
    server.register::<widgets::Widget>().register::<widgets::Gadget>();
    let client = server.client();
    let api: Api<widgets::Widget> = Api::namespaced(client.clone(), "ns");
    let mut w = widgets::Widget::default();
    w.metadata.name = Some("w".into());
    w.spec =
        Some(widgets::WidgetSpec { size: widgets::WidgetSpecSize::Large, replicas: Some(2), ..Default::default() });
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.spec, w.spec);
    assert_eq!(created.metadata.generation, Some(1));

    let patched =
        api.patch("w", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": "Huge"}}))).await.unwrap();
    // A value the schema does not list survives the trip through the server.
    assert_eq!(patched.spec.unwrap().size, widgets::WidgetSpecSize::Other("Huge".into()));
    assert_eq!(patched.metadata.generation, Some(2), "a spec change bumps the generation");

    let gadgets: Api<widgets::Gadget> = Api::all(client);
    let mut g = widgets::Gadget::default();
    g.metadata.name = Some("g".into());
    gadgets.create(&PostParams::default(), &g).await.unwrap();
    assert_eq!(gadgets.list(&Default::default()).await.unwrap().items.len(), 1);
}
