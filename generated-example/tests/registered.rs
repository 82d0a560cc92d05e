//! Generated resource types registered directly (no CRD created) are served as their CRD says:
//! a status subresource only where declared, scale at the CRD's paths, map-lists keyed as the
//! schema keys them, 415 for strategic merge.

use generated_example::edge_cases::edge::v1::Oddity;
use generated_example::widgets::example::v1::{Gadget, Widget};
use kube::api::{Api, Patch, PatchParams};
use kube_codegen_runtime::ResourceSchema;
use kube_codegen_runtime::fake::ApiServer;
use serde_json::json;

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(status) => status.code,
        other => panic!("not an API error: {other}"),
    }
}

#[test]
fn generated_types_say_what_their_crd_says() {
    assert_eq!((Widget::CUSTOM, Widget::STATUS), (true, true));
    let scale = Widget::SCALE.unwrap();
    assert_eq!((scale.spec_replicas, scale.label_selector), (".spec.replicas", Some(".status.selector")));
    assert_eq!((Gadget::STATUS, Gadget::SCALE), (true, None));
    let lists = Widget::list_schema().unwrap();
    assert_eq!(lists["properties"]["spec"]["properties"]["ports"]["x-kubernetes-list-map-keys"], json!(["name"]));
    assert_eq!((Oddity::CUSTOM, Oddity::STATUS), (true, true));
}

#[tokio::test]
async fn registered_generated_types_are_served_faithfully() {
    let server = ApiServer::new();
    server.register_generated::<Widget>();
    let api: Api<Widget> = Api::namespaced(server.client(), "ns");
    let apply = |manager: &str, ports: serde_json::Value| {
        let body = json!({"apiVersion": "example.kube-codegen.dev/v1", "kind": "Widget",
                          "metadata": {"name": "w"}, "spec": {"size": "Large", "ports": ports}});
        let api = api.clone();
        let pp = PatchParams::apply(manager);
        async move { api.patch("w", &pp, &Patch::Apply(body)).await }
    };
    apply("a", json!([{"name": "http", "number": 80}])).await.unwrap();
    // Ports are keyed by name: another manager's port sits beside a's.
    let both = apply("b", json!([{"name": "dns", "number": 53}])).await.unwrap();
    assert_eq!(both.spec.unwrap().ports.unwrap().len(), 2);
    // The status subresource: the main endpoint ignores status, /status writes it.
    let status = Patch::Merge(json!({"status": {"replicas": 3}}));
    let after = api.patch("w", &PatchParams::default(), &status).await.unwrap();
    assert!(after.status.is_none());
    let after = api.patch_status("w", &PatchParams::default(), &status).await.unwrap();
    assert_eq!(after.status.unwrap().replicas, Some(3));
    // Scale at the CRD's paths.
    let scale = api.get_scale("w").await.unwrap();
    assert_eq!(scale.status.unwrap().replicas, 3);
    // Strategic merge: 415, as for any custom resource.
    let smp = Patch::Strategic(json!({"spec": {"replicas": 2}}));
    assert_eq!(code(api.patch("w", &PatchParams::default(), &smp).await.unwrap_err()), 415);
}
