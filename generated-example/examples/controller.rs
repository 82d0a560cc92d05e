//! A Widget controller on the generated code and the runtime's controller toolkit: a shared
//! informer factory and its lister, a work queue with rate-limited retries, server-side apply
//! for `status`, Events about what it did, leader election on a Lease, client-side rate
//! limiting, the runtime's metrics (requests, informers, leader election, work queue) in one
//! registry, a tracing span per reconcile, and a graceful shutdown.
//!
//! Without `KUBECONFIG` it runs against the in-memory API server and shows everything in a few
//! seconds: two replicas in one process campaign for the lease; the leader reconciles three
//! widgets (one write fails once and is retried); it then shuts down, releasing the lease; the
//! other replica takes over at once and reconciles a change; the Events and metrics are
//! printed. With `KUBECONFIG` it runs one replica against that cluster (the Widget CRD must be
//! installed), serves its metrics on `127.0.0.1:9090/metrics`, and stops on Ctrl-C.
//!
//! `cargo run -p generated-example --example controller`

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use generated_example::widgets::example::v1::{
    Widget, WidgetApply, WidgetSpec, WidgetStatusApply, WidgetStatusConditionsApply, WidgetStatusConditionsStatus,
};
use generated_example::widgets::{Clientset, SharedInformerFactory};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube_codegen_runtime::client::{ApplyParams, Patch, PatchParams, PostParams};
use kube_codegen_runtime::informer::{Handler, Lister, SharedInformerFactory as Options, drop_managed_fields};
use kube_codegen_runtime::leader_election::LeaderElection;
use kube_codegen_runtime::metrics::Metrics;
use kube_codegen_runtime::throttle::ThrottleLayer;
use kube_codegen_runtime::workqueue::WorkQueue;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tower::Layer;
use tracing::Instrument;

type Key = (String, String);

/// The field manager this controller writes as, and the name its Events carry.
const MANAGER: &str = "widget-controller";

/// Workers per replica.
const WORKERS: usize = 2;

/// What the widget's status should say: its replicas, and Ready once it has any. Only these
/// fields are sent, and only these are the controller's.
fn desired_status(widget: &Widget) -> WidgetStatusApply {
    let replicas = widget.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let ready = if replicas > 0 { WidgetStatusConditionsStatus::True } else { WidgetStatusConditionsStatus::False };
    WidgetStatusApply::default()
        .replicas(replicas)
        .conditions([WidgetStatusConditionsApply::default().r#type("Ready").status(ready)])
}

/// One replica's controller: what its workers share.
struct Replica {
    name: String,
    clientset: Clientset,
    lister: Lister<Widget>,
    queue: WorkQueue<Key>,
    recorder: Recorder,
    written: Arc<Mutex<BTreeSet<Key>>>,
}

impl Replica {
    /// Brings one widget's status in line with its spec; `true` when it wrote.
    async fn reconcile(&self, (ns, name): &Key) -> Result<bool, kube::Error> {
        // The cache, not the server, answers reads; a widget deleted since it was queued is done.
        let Ok(widget) = self.lister.namespace(ns).get(name) else { return Ok(false) };
        let desired = desired_status(&widget);
        // The status as it is, read as a configuration: equal when nothing needs writing.
        let current = widget.status.as_ref().and_then(|s| serde_json::to_value(s).ok());
        if current.and_then(|s| serde_json::from_value::<WidgetStatusApply>(s).ok()).as_ref() == Some(&desired) {
            return Ok(false);
        }
        let config = WidgetApply::new(name.as_str(), ns.as_str()).status(desired);
        // The controller owns the status: it takes over what another writer left there.
        let params = ApplyParams::manager(MANAGER).force();
        self.clientset.example_v1().widgets(ns).apply_status(&config, &params).await?;
        let event = Event {
            type_: EventType::Normal,
            reason: "StatusWritten".into(),
            note: Some(format!(
                "replicas {}, written by {}",
                widget.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                self.name
            )),
            action: "Reconcile".into(),
            secondary: None,
        };
        // An Event that cannot be written is no reason to redo the reconcile.
        if let Err(e) = self.recorder.publish(&event, &widget.object_ref(&())).await {
            eprintln!("{}: recording an event for {ns}/{name}: {e}", self.name);
        }
        Ok(true)
    }

    /// Takes keys until the queue shuts down (or this future is dropped, when leadership ends).
    async fn work(&self) {
        while let Some(key) = self.queue.get().await {
            // One span per reconcile: the requests it sends are spans inside it.
            let span = tracing::info_span!("reconcile", replica = %self.name, namespace = %key.0, name = %key.1);
            match self.reconcile(&key).instrument(span).await {
                Ok(wrote) => {
                    self.queue.forget(&key);
                    if wrote {
                        println!("{}: reconciled {}/{}", self.name, key.0, key.1);
                        self.written.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone());
                    }
                }
                Err(e) => {
                    let tries = self.queue.num_requeues(&key) + 1;
                    let why = match &e {
                        kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
                        other => other.to_string(),
                    };
                    println!(
                        "{}: reconciling {}/{} failed ({why}); retry {tries} after backoff",
                        self.name, key.0, key.1
                    );
                    self.queue.add_rate_limited(key.clone());
                }
            }
        }
    }
}

/// Starts a replica: its informers (warm whether or not it leads, as client-go controllers
/// keep them) feed its queue; its workers run only while it holds the lease. Returns when
/// `shutdown` fires or leadership is lost.
async fn run_replica(
    name: &str,
    client: kube::Client,
    namespace: &str,
    timings: (Duration, Duration, Duration),
    metrics: &Metrics,
    written: Arc<Mutex<BTreeSet<Key>>>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let options = Options::new(client.clone()).transform(drop_managed_fields).metrics(&metrics.informers);
    let factory = SharedInformerFactory::with(options);
    let widgets = factory.example_v1().widgets();
    let queue = WorkQueue::<Key>::builder().name(format!("widgets-{name}")).metrics(&metrics.workqueue).build();
    let key = |w: &Arc<Widget>| {
        (w.metadata.namespace.clone().unwrap_or_default(), w.metadata.name.clone().unwrap_or_default())
    };
    let (on_add, on_update) = (queue.clone(), queue.clone());
    widgets.informer().add_handler(
        Handler::new().on_add(move |w, _| on_add.add(key(w))).on_update(move |_, w| on_update.add(key(w))),
    );
    factory.start();
    factory.wait_for_cache_sync().await?;
    let replica = Replica {
        name: name.to_owned(),
        clientset: Clientset::new(client.clone()),
        lister: widgets.lister(),
        queue: queue.clone(),
        recorder: Recorder::new(client.clone(), Reporter { controller: MANAGER.into(), instance: Some(name.into()) }),
        written,
    };
    let (lease_duration, renew_deadline, retry_period) = timings;
    let who = name.to_owned();
    let mut election = LeaderElection::new(client, namespace, MANAGER, name)
        .lease_duration(lease_duration)
        .renew_deadline(renew_deadline)
        .retry_period(retry_period)
        .metrics(&metrics.leader)
        .on_new_leader(move |leader| println!("{who}: {leader} leads"));
    let status = election.status();
    let draining = queue.clone();
    // A graceful stop: a leader first lets its workers finish what they hold and what is
    // queued (for a few seconds at most), then gives up the lease.
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
        if status.borrow().is_leader {
            let _ = tokio::time::timeout(Duration::from_secs(5), draining.shut_down_with_drain()).await;
        }
    };
    let outcome = election
        .run(stop, || async {
            let workers: Vec<_> = (0..WORKERS).map(|_| replica.work()).collect();
            futures::future::join_all(workers).await;
        })
        .await?;
    println!("{name}: stopped leading ({outcome:?})");
    queue.shut_down();
    factory.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let written = Arc::new(Mutex::new(BTreeSet::new()));
    // client-go's default client-side limit, shared by everything built from one client.
    let throttle = ThrottleLayer::client_go_default();

    if std::env::var_os("KUBECONFIG").is_some() {
        let config = kube::Config::infer().await?;
        let observed = metrics.client_for(&config);
        let client = kube::client::ClientBuilder::try_from(config)?
            .with_layer(&observed.layer())
            .with_layer(&throttle.metrics(&observed))
            .build();
        let namespace = client.default_namespace().to_owned();
        let identity =
            std::env::var("POD_NAME").unwrap_or_else(|_| format!("widget-controller-{}", std::process::id()));
        let registry = Arc::new(registry);
        tokio::spawn(serve_metrics(Arc::clone(&registry)));
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop.send(true);
        });
        let timings = (Duration::from_secs(15), Duration::from_secs(10), Duration::from_secs(2));
        run_replica(&identity, client, &namespace, timings, &metrics, Arc::clone(&written), stopped).await?;
        println!("{} widgets written", written.lock().unwrap_or_else(|p| p.into_inner()).len());
        return Ok(());
    }

    let server = kube_codegen_runtime::fake::ApiServer::new();
    server.register::<CustomResourceDefinition>().register::<Lease>().register::<K8sEvent>();
    let observed = metrics.client.for_host("in-memory");
    let client =
        kube::Client::new(observed.layer().layer(throttle.metrics(&observed).layer(server.clone())), "default");
    let cs = Clientset::new(client.clone());
    seed(&client, &cs).await?;
    // The first status write fails: the work queue retries it after a backoff.
    server.fail_next(kube_codegen_runtime::fake::Verb::Patch, "widgets", 1, 500);

    // Short timings so the handover shows in seconds; a cluster gets client-go's 15/10/2 s.
    let timings = (Duration::from_secs(4), Duration::from_secs(3), Duration::from_millis(500));
    let (stop_a, stopped_a) = watch::channel(false);
    let (stop_b, stopped_b) = watch::channel(false);
    let a = tokio::spawn({
        let (client, metrics, written) = (client.clone(), metrics.clone(), Arc::clone(&written));
        async move { run_replica("replica-a", client, "default", timings, &metrics, written, stopped_a).await }
    });
    wait_until("replica-a to lead and write every widget's status", || async {
        let widgets =
            cs.example_v1().widgets_all().list(&Default::default()).await.map(|l| l.items).unwrap_or_default();
        widgets.len() == 3 && widgets.iter().all(|w| w.status.is_some())
    })
    .await?;
    let b = tokio::spawn({
        let (client, metrics, written) = (client.clone(), metrics.clone(), Arc::clone(&written));
        async move { run_replica("replica-b", client, "default", timings, &metrics, written, stopped_b).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    // replica-a shuts down: it releases the lease and replica-b takes over without waiting for
    // the lease to expire; then a change to a widget is reconciled by the new leader.
    let _ = stop_a.send(true);
    a.await??;
    let lease: kube::Api<Lease> = kube::Api::namespaced(client.clone(), "default");
    wait_until("replica-b to lead", || async {
        let holder = lease.get(MANAGER).await.ok().and_then(|l| l.spec?.holder_identity);
        holder.as_deref() == Some("replica-b")
    })
    .await?;
    let patch = serde_json::json!({"spec": {"replicas": 2}});
    cs.example_v1().widgets("default").patch("small", &PatchParams::default(), &Patch::Merge(&patch)).await?;
    wait_until("replica-b to reconcile the change", || async {
        let small = cs.example_v1().widgets("default").get("small").await.ok();
        small.and_then(|w| w.status?.replicas) == Some(2)
    })
    .await?;
    let _ = stop_b.send(true);
    b.await??;

    for w in cs.example_v1().widgets_all().list(&Default::default()).await?.items {
        let status = w.status.unwrap_or_default();
        println!(
            "{}: replicas {:?}, Ready {:?}",
            w.metadata.name.unwrap_or_default(),
            status.replicas,
            status.conditions.unwrap_or_default().first().map(|c| c.status.clone())
        );
    }
    let events: kube::Api<K8sEvent> = kube::Api::all(client.clone());
    let mut notes: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .map(|e| {
            let regarding = e.regarding.and_then(|r| r.name).unwrap_or_default();
            format!("event {} {regarding}: {}", e.reason.unwrap_or_default(), e.note.unwrap_or_default())
        })
        .collect();
    notes.sort();
    notes.iter().for_each(|n| println!("{n}"));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    let shown = [
        "workqueue_adds_total",
        "workqueue_retries_total",
        "rest_client_requests_total{code=\"500\"",
        "kube_codegen_informer_lists_total",
        "kube_codegen_leader_election_transitions_total",
    ];
    text.lines().filter(|l| shown.iter().any(|s| l.starts_with(s))).for_each(|l| println!("{l}"));
    println!("{} widgets written", written.lock().unwrap_or_else(|p| p.into_inner()).len());
    Ok(())
}

/// Polls `check` every 50 ms for up to 20 s.
async fn wait_until<F, Fut>(what: &str, mut check: F) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("timed out waiting for {what}").into())
}

/// Serves the registry's metrics in Prometheus' text format on 127.0.0.1:9090.
async fn serve_metrics(registry: Arc<Registry>) {
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:9090").await {
        Ok(l) => l,
        Err(e) => return eprintln!("serving metrics on 127.0.0.1:9090: {e}"),
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let registry = Arc::clone(&registry);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_req| {
                let mut text = String::new();
                let body = match prometheus_client::encoding::text::encode(&mut text, &registry) {
                    Ok(()) => text,
                    Err(e) => format!("# encoding failed: {e}\n"),
                };
                async move {
                    hyper::Response::builder()
                        .header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
                        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

/// The example's CRDs, created through the API, and three widgets.
async fn seed(client: &kube::Client, cs: &Clientset) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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
