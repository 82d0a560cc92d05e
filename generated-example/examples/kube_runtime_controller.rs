//! kube-runtime's `Controller`, with its own reconciler and error policy, on the generated
//! informer factory: the controller's store and triggers come from the shared Widget informer,
//! so it adds no list or watch of its own, and any handler or other controller rides the same
//! one. A kube-rs user keeps their reconciler and gains the shared cache.
//!
//! Runs against the in-memory API server, reconciles three widgets, counts the requests.
//!
//! `cargo run -p generated-example --example kube_runtime_controller`

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use generated_example::widgets::example::v1::{Widget, WidgetApply, WidgetSpec, WidgetStatusApply};
use generated_example::widgets::{Clientset, SharedInformerFactory};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::runtime::controller::Action;
use kube_codegen_runtime::client::{ApplyParams, PostParams};
use kube_codegen_runtime::informer::Handler;

/// What the reconciler needs: the clientset.
struct Context {
    clientset: Clientset,
}

/// A kube-rs reconciler, unchanged by where its events come from.
async fn reconcile(widget: Arc<Widget>, cx: Arc<Context>) -> Result<Action, kube::Error> {
    let (Some(ns), Some(name)) = (widget.metadata.namespace.as_deref(), widget.metadata.name.as_deref()) else {
        return Ok(Action::await_change());
    };
    let replicas = widget.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let config = WidgetApply::new(name, ns).status(WidgetStatusApply::default().replicas(replicas));
    cx.clientset
        .example_v1()
        .widgets(ns)
        .apply_status(&config, &ApplyParams::manager("kube-runtime-controller"))
        .await?;
    println!("reconciled {ns}/{name}");
    Ok(Action::requeue(Duration::from_secs(300)))
}

fn error_policy(_: Arc<Widget>, error: &kube::Error, _: Arc<Context>) -> Action {
    eprintln!("reconcile failed: {error}");
    Action::requeue(Duration::from_secs(5))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let server = kube_codegen_runtime::fake::ApiServer::new();
    server.register::<CustomResourceDefinition>();
    let client = server.client();
    let crds: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(include_str!("../inputs/widgets.yaml"))?;
    let crd_api: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    for crd in &crds {
        crd_api.create(&PostParams::default(), crd).await?;
    }
    let cs = Clientset::new(client.clone());
    for (ns, name, replicas) in [("default", "small", 1), ("default", "none", 0), ("team-a", "big", 5)] {
        let mut w = Widget::default();
        w.metadata.name = Some(name.into());
        w.spec = Some(WidgetSpec { replicas: Some(replicas), ..Default::default() });
        cs.example_v1().widgets(ns).create(&PostParams::default(), &w).await?;
    }

    let factory = SharedInformerFactory::new(client.clone());
    let widgets = factory.example_v1().widgets();
    // Another consumer of the same informer: a plain handler.
    widgets.informer().add_handler(Handler::new().on_add(|w: &Arc<Widget>, _| {
        println!("handler saw {}", w.metadata.name.as_deref().unwrap_or_default());
    }));
    let controller = widgets
        .informer()
        .controller()
        .run(reconcile, error_policy, Arc::new(Context { clientset: cs.clone() }))
        .for_each(|_| async {});
    factory.start();
    let running = tokio::spawn(controller);

    // Stop once the cache shows every widget with a status (reading the cache, not the server,
    // so the request counts below are the informer's alone).
    let lister = widgets.lister();
    for _ in 0..400 {
        let cached = lister.list(&Default::default());
        if !cached.is_empty() && cached.iter().all(|w| w.status.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    running.abort();
    factory.shutdown().await;
    let reconciled = lister.list(&Default::default());
    println!(
        "{} widgets reconciled by kube-runtime's Controller on the shared informer: {} list, {} watch of widgets",
        reconciled.iter().filter(|w| w.status.is_some()).count(),
        server.count(kube_codegen_runtime::fake::Verb::List, "widgets"),
        server.count(kube_codegen_runtime::fake::Verb::Watch, "widgets"),
    );
    Ok(())
}
