//! The generated informer factory, informers and listers of the example CRDs against the
//! in-memory API server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use generated_example::widgets::example::v1::{Gadget, Widget, WidgetSpec};
use generated_example::widgets::{Clientset, SharedInformerFactory};
use kube::core::Selector;
use kube_codegen_runtime::ErrorExt;
use kube_codegen_runtime::client::{DeleteParams, PostParams};
use kube_codegen_runtime::fake::{ApiServer, Verb};
use kube_codegen_runtime::informer::Handler;

fn widget(name: &str, app: &str) -> Widget {
    let mut w = Widget::default();
    w.metadata.name = Some(name.into());
    w.metadata.labels = Some([("app".to_owned(), app.to_owned())].into());
    w.spec = Some(WidgetSpec { replicas: Some(1), ..Default::default() });
    w
}

/// A server with Widgets and Gadgets, and widgets `a` (app web) and `b` (app db) in `ns`.
async fn two_widgets() -> (ApiServer, Clientset) {
    let server = ApiServer::new();
    server.register::<Widget>().register::<Gadget>();
    let cs = Clientset::new(server.client());
    for (name, app) in [("a", "web"), ("b", "db")] {
        cs.example_v1().widgets("ns").create(&PostParams::default(), &widget(name, app)).await.unwrap();
    }
    (server, cs)
}

#[tokio::test]
async fn generated_factory_serves_informers_and_listers() {
    let (server, cs) = two_widgets().await;
    let widgets = cs.example_v1().widgets("ns");

    let factory = SharedInformerFactory::new(server.client());
    let informer = factory.example_v1().widgets();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    informer.informer().add_handler(
        Handler::new().on_add(move |w: &Arc<Widget>, _| log.lock().unwrap().push(w.metadata.name.clone().unwrap())),
    );
    // Asking again gives the same informer, so one list and one watch serve both.
    let again = factory.example_v1().widgets();
    factory.example_v1().gadgets();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();

    let lister = again.lister();
    assert_eq!(lister.namespace("ns").get("a").unwrap().spec.as_ref().unwrap().replicas, Some(1));
    assert!(lister.namespace("ns").get("zzz").unwrap_err().is_not_found());
    let web: Selector = [("app", "web")].into_iter().collect();
    assert_eq!(lister.namespace("ns").list(&web).len(), 1);
    assert_eq!(factory.example_v1().gadgets().lister().list(&Selector::default()).len(), 0);

    widgets.delete("b", &DeleteParams::default()).await.unwrap();
    for _ in 0..500 {
        if lister.namespace("ns").get("b").is_err() && seen.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(lister.namespace("ns").get("b").unwrap_err().is_not_found());
    assert_eq!(server.count(Verb::List, "widgets"), 1);
    assert_eq!(server.count(Verb::Watch, "widgets"), 1);
    factory.shutdown().await;
}

/// The generated tree's metadata-only informer and the clients' metadata reads: names and
/// labels without specs, on the wire and in the cache.
#[tokio::test]
async fn generated_metadata_informer_and_metadata_reads() {
    use futures::StreamExt;

    let (server, cs) = two_widgets().await;
    let widgets = cs.example_v1().widgets("ns");
    let one = widgets.get_metadata("a").await.unwrap();
    assert_eq!(one.metadata.labels.unwrap()["app"], "web");
    let listed = widgets.list_metadata(&Default::default()).await.unwrap();
    let mut names: Vec<_> = listed.items.iter().filter_map(|m| m.metadata.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    // The kube::Api underneath, for anything the typed methods do not cover.
    assert_eq!(widgets.api().get("b").await.unwrap().spec.unwrap().replicas, Some(1));

    let mut events =
        widgets.watch_metadata(&Default::default(), &listed.metadata.resource_version.clone().unwrap()).await.unwrap();
    widgets.create(&PostParams::default(), &widget("c", "web")).await.unwrap();
    match events.next().await {
        Some(Ok(kube::api::WatchEvent::Added(m))) => assert_eq!(m.metadata.name.as_deref(), Some("c")),
        other => panic!("expected c added, got {other:?}"),
    }

    let factory = SharedInformerFactory::new(server.client());
    let metadata = factory.example_v1().widgets_metadata();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let web: Selector = [("app", "web")].into_iter().collect();
    let cached = metadata.lister().namespace("ns").list(&web);
    let mut names: Vec<_> = cached.iter().filter_map(|m| m.metadata.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["a", "c"]);
    factory.shutdown().await;
}
