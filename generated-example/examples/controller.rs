//! A small Widget controller on the generated code: an informer factory feeds a work queue,
//! the worker reads the lister and writes `status` through the clientset by server-side apply.
//!
//! With `KUBECONFIG` set it runs against that cluster (the Widget CRD must be installed; stop it
//! with Ctrl-C). Without, it runs against the in-memory API server, creates the CRDs and a few
//! widgets there, reconciles them and exits.
//!
//! `cargo run -p generated-example --example controller`

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use generated_example::widgets::example::v1::{
    Widget, WidgetApply, WidgetSpec, WidgetStatusApply, WidgetStatusConditionsApply, WidgetStatusConditionsStatus,
};
use generated_example::widgets::{Clientset, SharedInformerFactory};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube_codegen_runtime::client::{ApplyParams, PostParams};
use kube_codegen_runtime::informer::{Handler, Lister, SharedInformerFactory as Options, drop_managed_fields};
use tokio::sync::mpsc;

type Key = (String, String);

/// The field manager this controller writes as.
const MANAGER: &str = "widget-controller";

/// What the widget's status should say: its replicas, and Ready once it has any. Only these
/// fields are sent, and only these are the controller's.
fn desired_status(widget: &Widget) -> WidgetStatusApply {
    let replicas = widget.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let ready = if replicas > 0 { WidgetStatusConditionsStatus::True } else { WidgetStatusConditionsStatus::False };
    WidgetStatusApply::default()
        .replicas(replicas)
        .conditions([WidgetStatusConditionsApply::default().r#type("Ready").status(ready)])
}

/// Brings one widget's status in line with its spec; `true` when it wrote.
async fn reconcile(cs: &Clientset, lister: &Lister<Widget>, (ns, name): &Key) -> Result<bool, kube::Error> {
    // The cache, not the server, answers reads; a widget deleted since it was queued is done.
    let Ok(widget) = lister.namespace(ns).get(name) else { return Ok(false) };
    let desired = desired_status(&widget);
    // The status as it is, read as a configuration: equal when nothing needs writing.
    let current = widget.status.as_ref().and_then(|s| serde_json::to_value(s).ok());
    if current.and_then(|s| serde_json::from_value::<WidgetStatusApply>(s).ok()).as_ref() == Some(&desired) {
        return Ok(false);
    }
    let config = WidgetApply::new(name.as_str(), ns.as_str()).status(desired);
    // The controller owns the status: it takes over what another writer left there.
    cs.example_v1().widgets(ns).apply_status(&config, &ApplyParams::manager(MANAGER).force()).await?;
    Ok(true)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let in_memory = std::env::var_os("KUBECONFIG").is_none();
    let (client, server) = if in_memory {
        let server = kube_codegen_runtime::fake::ApiServer::new();
        server.register::<CustomResourceDefinition>();
        (server.client(), Some(server))
    } else {
        (kube::Client::try_default().await?, None)
    };
    let cs = Clientset::new(client.clone());
    if in_memory {
        seed(&client, &cs).await?;
    }

    let factory = SharedInformerFactory::with(Options::new(client).transform(drop_managed_fields));
    let widgets = factory.example_v1().widgets();
    let (queue, mut work) = mpsc::unbounded_channel::<Key>();
    let key = |w: &Arc<Widget>| {
        (w.metadata.namespace.clone().unwrap_or_default(), w.metadata.name.clone().unwrap_or_default())
    };
    let (on_add, on_update) = (queue.clone(), queue);
    widgets.informer().add_handler(
        Handler::new()
            .on_add(move |w, _| drop(on_add.send(key(w))))
            .on_update(move |_, w| drop(on_update.send(key(w)))),
    );
    factory.start();
    factory.wait_for_cache_sync().await?;
    let lister = widgets.lister();
    println!("synced: {} widgets in the cache", lister.list(&Default::default()).len());

    let mut written = BTreeSet::new();
    loop {
        let next = if in_memory {
            // In memory, stop once the queue has been quiet for a moment.
            match tokio::time::timeout(Duration::from_millis(300), work.recv()).await {
                Ok(next) => next,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                next = work.recv() => next,
                _ = tokio::signal::ctrl_c() => break,
            }
        };
        let Some(key) = next else { break };
        match reconcile(&cs, &lister, &key).await {
            Ok(true) => {
                println!("reconciled {}/{}", key.0, key.1);
                written.insert(key);
            }
            Ok(false) => {}
            Err(e) => eprintln!("reconciling {}/{}: {e}", key.0, key.1),
        }
    }
    factory.shutdown().await;
    if server.is_some() {
        for w in cs.example_v1().widgets_all().list(&Default::default()).await?.items {
            let status = w.status.unwrap_or_default();
            println!(
                "{}: replicas {:?}, Ready {:?}",
                w.metadata.name.unwrap_or_default(),
                status.replicas,
                status.conditions.unwrap_or_default().first().map(|c| c.status.clone())
            );
        }
    }
    println!("{} widgets written", written.len());
    Ok(())
}

/// The example's CRDs, created through the API, and three widgets.
async fn seed(client: &kube::Client, cs: &Clientset) -> Result<(), Box<dyn std::error::Error>> {
    let crds: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(include_str!("../inputs/widgets.yaml"))?;
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    for crd in &crds {
        api.create(&PostParams::default(), crd).await?;
    }
    for (ns, name, replicas) in [("default", "small", 1), ("default", "none", 0), ("team-a", "big", 5)] {
        let mut w = Widget::default();
        w.metadata.name = Some(name.into());
        w.spec = Some(WidgetSpec { replicas: Some(replicas), ..Default::default() });
        cs.example_v1().widgets(ns).create(&PostParams::default(), &w).await?;
    }
    Ok(())
}
