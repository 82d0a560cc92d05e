//! The generated clients of CRD resources against the in-memory API server, the CRDs created
//! through the API as a user's operator would.

use futures::StreamExt;
use generated_example::widgets::Clientset;
use generated_example::widgets::example::v1::{Gadget, Widget, WidgetSpec, WidgetSpecSize, WidgetStatus};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube_codegen_runtime::ErrorExt;
use kube_codegen_runtime::client::{DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube_codegen_runtime::fake::ApiServer;
use serde_json::json;

fn widget(name: &str, replicas: i32) -> Widget {
    let mut w = Widget::default();
    w.metadata.name = Some(name.into());
    w.spec = Some(WidgetSpec { size: WidgetSpecSize::Large, replicas: Some(replicas), ..Default::default() });
    w
}

/// A server that knows only CRDs, with the example's CRDs created through its API.
async fn server_with_crds() -> (ApiServer, Clientset) {
    let server = ApiServer::new();
    server.register::<CustomResourceDefinition>();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/inputs/widgets.yaml")).unwrap();
    let crds: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&text).unwrap();
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(server.client());
    for crd in &crds {
        api.create(&PostParams::default(), crd).await.unwrap();
    }
    // As with a real server, a CRD is established moments after its create.
    for crd in &crds {
        let name = crd.metadata.name.as_deref().unwrap();
        let established = || async {
            let status = api.get(name).await.unwrap().status.unwrap_or_default();
            status.conditions.unwrap_or_default().iter().any(|c| c.type_ == "Established" && c.status == "True")
        };
        let mut tries = 0;
        while !established().await {
            tries += 1;
            assert!(tries < 200, "{name} was never established");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    let cs = Clientset::new(server.client());
    (server, cs)
}

#[tokio::test]
async fn crd_clients_serve_their_verbs_and_subresources() {
    let (server, cs) = server_with_crds().await;
    let widgets = cs.example_v1().widgets("ns");
    let pp = PostParams::default();

    let created = widgets.create(&pp, &widget("a", 1)).await.unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("ns"));
    assert!(widgets.create(&pp, &widget("a", 1)).await.unwrap_err().is_already_exists());
    assert!(widgets.get("b").await.unwrap_err().is_not_found());
    widgets.create(&pp, &widget("b", 2)).await.unwrap();
    cs.example_v1().widgets("other").create(&pp, &widget("c", 1)).await.unwrap();
    assert_eq!(widgets.list(&ListParams::default()).await.unwrap().items.len(), 2);
    assert_eq!(cs.example_v1().widgets_all().list(&ListParams::default()).await.unwrap().items.len(), 3);
    let page = widgets.list(&ListParams::default().limit(1)).await.unwrap();
    assert_eq!((page.items.len(), page.metadata.remaining_item_count), (1, Some(1)));

    // Status through /status only; a stale update conflicts.
    let mut a = widgets.get("a").await.unwrap();
    a.status = Some(WidgetStatus { replicas: Some(1), selector: Some("app=a".into()), ..Default::default() });
    let with_status = widgets.update_status("a", &pp, &a).await.unwrap();
    assert_eq!(with_status.status.as_ref().unwrap().replicas, Some(1));
    assert!(widgets.update_status("a", &pp, &a).await.unwrap_err().is_conflict());
    let mut main = widgets.get("a").await.unwrap();
    main.status = None;
    let kept = widgets.update("a", &pp, &main).await.unwrap();
    assert_eq!(kept.status.unwrap().replicas, Some(1), "the main endpoint leaves status alone");

    // Scale maps the CRD's paths.
    let scale = widgets.get_scale("a").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(1));
    assert_eq!(scale.status.as_ref().unwrap().selector.as_deref(), Some("app=a"));
    widgets.patch_scale("a", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 4}}))).await.unwrap();
    let a = widgets.get("a").await.unwrap();
    assert_eq!(a.spec.unwrap().replicas, Some(4));
    assert_eq!(a.metadata.generation, Some(2));

    // A watch from now sees the next changes; a cluster-scoped client has no namespace.
    let version = widgets.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut events = widgets.watch(&WatchParams::default().timeout(5), &version).await.unwrap();
    widgets.delete("b", &DeleteParams::default()).await.unwrap();
    match events.next().await.unwrap().unwrap() {
        WatchEvent::Deleted(w) => assert_eq!(w.metadata.name.as_deref(), Some("b")),
        other => panic!("expected the delete, got {other:?}"),
    }
    let gadgets = cs.example_v1().gadgets();
    let mut g = Gadget::default();
    g.metadata.name = Some("g".into());
    gadgets.create(&pp, &g).await.unwrap();
    assert_eq!(gadgets.get("g").await.unwrap().metadata.namespace, None);

    // The deprecated version is served too, from the same storage, as the real server does.
    // Naming it warns (its CRD's deprecationWarning), so this test allows it.
    #[allow(deprecated)]
    let beta = cs.example_v1beta1().widgets("ns");
    let through_beta = beta.list(&ListParams::default()).await.unwrap();
    assert_eq!(through_beta.items.len(), 1);
    #[allow(deprecated)]
    let beta_name = through_beta.items[0].metadata.name.clone();
    assert_eq!(beta_name.as_deref(), Some("a"));

    // The futures are `Send`, so a controller can spawn them.
    let spawned = widgets.clone();
    let got = tokio::spawn(async move { spawned.get("a").await }).await.unwrap().unwrap();
    assert_eq!(got.metadata.name.as_deref(), Some("a"));

    // Deleting the CRD stops serving its resource.
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(server.client());
    crds.delete("widgets.example.kube-codegen.dev", &DeleteParams::default()).await.unwrap();
    assert!(widgets.get("a").await.unwrap_err().is_not_found());
    assert!(gadgets.get("g").await.is_ok(), "other CRDs are still served");
}
