//! The runtime's metrics against the in-memory API server: the client layer's counters and
//! histograms after a known sequence of requests, in either order with the throttle; a
//! connect failure; informer metrics through a list, watch events, a dropped watch and a 410;
//! leader metrics at a handover; and the whole registry as a Prometheus scraper parses it.

use std::time::Duration;

use http::Request;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube_codegen_runtime::fake::{ApiServer, Verb};
use kube_codegen_runtime::informer::SharedInformerFactory;
use kube_codegen_runtime::leader_election::LeaderElection;
use kube_codegen_runtime::metrics::Metrics;
use kube_codegen_runtime::scale::{ScaleClient, ScaleError};
use kube_codegen_runtime::throttle::ThrottleLayer;
use prometheus_client::registry::Registry;
use serde_json::json;
use tower::Layer;

fn cm(name: &str) -> ConfigMap {
    ConfigMap { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
}

fn text(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text
}

/// The value of the sample `name` whose labels include every pair of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        matches.then(|| value.parse().ok()).flatten()
    })
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
}

#[tokio::test]
async fn the_client_layer_counts_every_request_code_by_code() {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let layer = metrics.client.for_host("fake:6443").layer();
    let client = kube::Client::new(layer.layer(server.clone()), "default");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    api.create(&PostParams::default(), &cm("first")).await.unwrap();
    api.create(&PostParams::default(), &cm("second")).await.unwrap();
    api.create(&PostParams::default(), &cm("first")).await.unwrap_err();
    api.get("first").await.unwrap();
    api.get("missing-one").await.unwrap_err();
    api.list(&Default::default()).await.unwrap();
    server.fail_next(Verb::Get, "configmaps", 2, 500);
    api.get("first").await.unwrap_err();
    api.get("first").await.unwrap_err();
    // A raw get, whose body length is the response size recorded for it.
    let before = text(&registry);
    let body = client
        .request_text(Request::get("/api/v1/namespaces/default/configmaps/second").body(vec![]).unwrap())
        .await
        .unwrap();

    let t = text(&registry);
    let requests = |code: &str, method: &str| {
        sample(&t, "rest_client_requests_total", &[("code", code), ("method", method), ("host", "fake:6443")])
            .unwrap_or(0.0)
    };
    assert_eq!(requests("201", "POST"), 2.0, "{t}");
    assert_eq!(requests("409", "POST"), 1.0);
    assert_eq!(requests("200", "GET"), 3.0);
    assert_eq!(requests("404", "GET"), 1.0);
    assert_eq!(requests("500", "GET"), 2.0);
    assert_eq!(value(&t, "rest_client_request_duration_seconds_count", &[("verb", "GET")]), 6.0);
    assert_eq!(value(&t, "rest_client_request_duration_seconds_count", &[("verb", "POST")]), 3.0);
    let by = |verb: &str| {
        value(&t, "kube_codegen_client_request_duration_seconds_count", &[("verb", verb), ("resource", "configmaps")])
    };
    assert_eq!((by("create"), by("get"), by("list")), (3.0, 5.0, 1.0));
    // No object name became a label value.
    for name in ["first", "second", "missing-one"] {
        assert!(!t.contains(&format!("\"{name}\"")), "{name} in a label:\n{t}");
    }
    let sum = |t: &str| sample(t, "rest_client_response_size_bytes_sum", &[("verb", "GET")]).unwrap_or(0.0);
    assert_eq!(sum(&t) - sum(&before), body.len() as f64);
    assert_eq!(value(&t, "rest_client_request_size_bytes_count", &[("verb", "POST")]), 3.0);
}

/// The throttle outside the metrics layer or inside it: the same requests, retries and waits.
#[tokio::test(start_paused = true)]
async fn throttle_and_metrics_count_the_same_in_either_order() {
    for metrics_outside in [true, false] {
        let server = ApiServer::new();
        server.register::<ConfigMap>();
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry).client.for_host("fake");
        let throttle = ThrottleLayer::new(100.0, 1).metrics(&metrics);
        let client = if metrics_outside {
            kube::Client::new(metrics.layer().layer(throttle.layer(server.clone())), "default")
        } else {
            kube::Client::new(throttle.layer(metrics.layer().layer(server.clone())), "default")
        };
        server.set_latency(Duration::from_millis(30));
        server.fail_next(Verb::Create, "configmaps", 2, 429);
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        api.create(&PostParams::default(), &cm("a")).await.unwrap();
        api.get("a").await.unwrap();
        let t = text(&registry);
        let got = (
            value(&t, "rest_client_requests_total", &[("code", "429"), ("method", "POST")]),
            value(&t, "rest_client_requests_total", &[("code", "201"), ("method", "POST")]),
            value(&t, "rest_client_request_retries_total", &[("code", "429"), ("method", "POST")]),
            value(&t, "kube_codegen_client_retry_after_wait_seconds_total", &[("host", "fake")]),
            value(&t, "rest_client_rate_limiter_duration_seconds_count", &[("verb", "POST")]),
            value(&t, "rest_client_request_duration_seconds_count", &[("verb", "POST")]),
        );
        assert_eq!(got, (2.0, 1.0, 2.0, 2.0, 3.0, 3.0), "metrics outside: {metrics_outside}\n{t}");
        // Latency is the server's: three answers of 30 ms, not the 2 s of Retry-After waits.
        let latency = value(&t, "rest_client_request_duration_seconds_sum", &[("verb", "POST")]);
        assert!((0.08..0.2).contains(&latency), "metrics outside: {metrics_outside}: {latency}");
    }
}

#[tokio::test]
async fn a_connect_failure_is_counted_as_such() {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    // Nothing listens on port 1.
    let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
    let observed = metrics.client_for(&config);
    let client = kube::client::ClientBuilder::try_from(config).unwrap().with_layer(&observed.layer()).build();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.get("a").await.unwrap_err();
    let t = text(&registry);
    assert_eq!(
        value(&t, "kube_codegen_client_transport_errors_total", &[("kind", "connect"), ("host", "127.0.0.1:1")]),
        1.0
    );
    assert_eq!(value(&t, "rest_client_requests_total", &[("code", "<error>"), ("method", "GET")]), 1.0);
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

#[tokio::test(start_paused = true)]
async fn informer_metrics_equal_what_the_server_sent() {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for name in ["a", "b", "c"] {
        api.create(&PostParams::default(), &cm(name)).await.unwrap();
    }
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let factory = SharedInformerFactory::new(server.client()).metrics(&metrics.informers);
    let informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let lister = informer.indexer().clone();

    api.create(&PostParams::default(), &cm("d")).await.unwrap();
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "v"}}))).await.unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    eventually("the cache sees the changes", || lister.get("default/d").is_some() && lister.get("default/b").is_none())
        .await;
    let t = text(&registry);
    let count = |name: &str, labels: &[(&str, &str)]| sample(&t, name, labels).unwrap_or(0.0);
    let resource = ("resource", "configmaps");
    assert_eq!(count("kube_codegen_informer_events_total", &[resource, ("type", "listed")]), 3.0, "{t}");
    assert_eq!(count("kube_codegen_informer_events_total", &[resource, ("type", "added")]), 1.0);
    assert_eq!(count("kube_codegen_informer_events_total", &[resource, ("type", "modified")]), 1.0);
    assert_eq!(count("kube_codegen_informer_events_total", &[resource, ("type", "deleted")]), 1.0);
    assert_eq!(count("kube_codegen_informer_objects", &[resource]), 3.0);
    assert_eq!(count("kube_codegen_informer_lists_total", &[resource]), 1.0);
    assert_eq!(count("kube_codegen_informer_watches_total", &[resource]), 1.0);
    assert!(sample(&t, "kube_codegen_informer_seconds_since_last_list", &[resource]).is_some());

    // A dropped watch is resumed: a watch more, no list.
    let watches = server.count(Verb::Watch, "configmaps");
    server.drop_watches();
    eventually("the watch is resumed", || server.count(Verb::Watch, "configmaps") > watches).await;
    // The next resume fails; while the watch is down, "e" is written and the history
    // compacted: the resume after that is answered 410 Gone, and the informer lists again.
    let lists = server.count(Verb::List, "configmaps");
    let watches = server.count(Verb::Watch, "configmaps");
    server.fail_next(Verb::Watch, "configmaps", 1, 500);
    server.drop_watches();
    eventually("the resume fails", || server.count(Verb::Watch, "configmaps") > watches).await;
    api.create(&PostParams::default(), &cm("e")).await.unwrap();
    server.compact();
    eventually("the informer relists", || server.count(Verb::List, "configmaps") > lists).await;
    eventually("the relist is cached", || informer.has_synced() && lister.len() == 4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let t = text(&registry);
    let count = |name: &str, labels: &[(&str, &str)]| sample(&t, name, labels).unwrap_or(0.0);
    assert_eq!(count("kube_codegen_informer_lists_total", &[resource]), 2.0, "{t}");
    assert_eq!(count("kube_codegen_informer_relists_total", &[resource]), 1.0);
    assert_eq!(count("kube_codegen_informer_gone_total", &[resource]), 1.0);
    assert_eq!(count("kube_codegen_informer_errors_total", &[resource, ("kind", "watch")]), 2.0, "the 500 and the 410");
    assert_eq!(
        count("kube_codegen_informer_watches_total", &[resource]),
        server.count(Verb::Watch, "configmaps") as f64,
        "every watch the server served was counted"
    );
    assert_eq!(count("kube_codegen_informer_events_total", &[resource, ("type", "listed")]), 3.0 + 4.0);
    assert_eq!(count("kube_codegen_informer_objects", &[resource]), 4.0);
    // The informer's own health agrees.
    assert_eq!(informer.health().errors, 2);
    // Ages grow with (virtual) time.
    let age = count("kube_codegen_informer_seconds_since_last_event", &[resource]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = sample(&text(&registry), "kube_codegen_informer_seconds_since_last_event", &[resource]).unwrap();
    assert!((later - age - 5.0).abs() < 0.5, "{age} then {later}");
    factory.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn leader_metrics_flip_at_a_handover() {
    let server = ApiServer::new();
    server.register::<Lease>();
    let mut replicas = Vec::new();
    for identity in ["a", "b"] {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let (client, link) = server.linked_client();
        let mut election = LeaderElection::new(client, "kube-system", "ctl", identity).metrics(&metrics.leader);
        let status = election.status();
        let task = tokio::spawn(async move {
            election.run(std::future::pending::<()>(), std::future::pending::<()>).await.unwrap()
        });
        replicas.push((registry, link, status, task));
        // `a` campaigns first.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let leading = |i: usize| value(&text(&replicas[i].0), "leader_election_master_status", &[("name", "ctl")]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!((leading(0), leading(1)), (1.0, 0.0));
    let renewals =
        value(&text(&replicas[0].0), "kube_codegen_leader_election_renew_duration_seconds_count", &[("name", "ctl")]);
    assert!(renewals >= 2.0, "renewals every 2 s: {renewals}");

    // `a` loses the API server: its renewals fail, it steps down, `b` takes over.
    replicas[0].1.partition();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!((leading(0), leading(1)), (0.0, 1.0));
    let a = text(&replicas[0].0);
    let b = text(&replicas[1].0);
    assert!(value(&a, "kube_codegen_leader_election_renew_failures_total", &[("name", "ctl")]) >= 1.0, "{a}");
    assert_eq!(value(&a, "kube_codegen_leader_election_transitions_total", &[("name", "ctl")]), 1.0);
    assert_eq!(value(&b, "kube_codegen_leader_election_transitions_total", &[("name", "ctl")]), 1.0);
    for (_, _, _, task) in replicas {
        task.abort();
    }
}

#[tokio::test]
async fn the_whole_registry_parses_and_every_metric_has_help() {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let client = kube::Client::new(metrics.client.for_host("fake").layer().layer(server.clone()), "default");
    let factory = SharedInformerFactory::new(client.clone()).metrics(&metrics.informers);
    let _informer = factory.informer_for::<ConfigMap>();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let _queue =
        kube_codegen_runtime::workqueue::WorkQueue::<String>::builder().name("q").metrics(&metrics.workqueue).build();
    let _election = LeaderElection::new(client, "default", "l", "me").metrics(&metrics.leader);

    let t = text(&registry);
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&t).unwrap_or_else(|e| panic!("{e:?}\n{t}"));
    for family in [
        "rest_client_requests",
        "rest_client_request_duration_seconds",
        "kube_codegen_client_request_duration_seconds",
        "kube_codegen_informer_lists",
        "kube_codegen_informer_objects",
        "leader_election_master_status",
        "workqueue_depth",
    ] {
        assert!(parsed.families.contains_key(family), "{family} missing from\n{t}");
    }
    for (name, family) in &parsed.families {
        assert!(!family.help.trim().is_empty(), "{name} has no help text");
    }
    factory.shutdown().await;
}

fn crd_with_scale() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                   "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                     "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}}}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn the_scale_client_scales_workloads_and_custom_resources_found_by_kind() {
    let server = ApiServer::new();
    server
        .register::<Deployment>()
        .register::<StatefulSet>()
        .register::<ConfigMap>()
        .register::<CustomResourceDefinition>();
    let client = server.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd_with_scale()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let selector = json!({"matchLabels": {"app": "x"}});
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let workloads = [
        (
            "apps",
            "v1",
            "Deployment",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
            "spec": {"replicas": 1, "selector": selector, "template": template}}),
        ),
        (
            "apps",
            "v1",
            "StatefulSet",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "w"},
            "spec": {"replicas": 1, "selector": selector, "template": template, "serviceName": "s"}}),
        ),
        (
            "example.com",
            "v1",
            "Widget",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"replicas": 1}}),
        ),
    ];
    for (group, version, kind, object) in workloads {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let scale = ScaleClient::for_kind(client.clone(), &gvk).await.unwrap();
        let api: Api<kube::core::DynamicObject> = Api::namespaced_with(client.clone(), "default", scale.resource());
        api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await.unwrap();

        assert_eq!(scale.get(Some("default"), "w").await.unwrap().spec.unwrap().replicas, Some(1), "{kind}");
        scale.set_replicas(Some("default"), "w", 3).await.unwrap();
        let mut current = scale.get(Some("default"), "w").await.unwrap();
        assert_eq!(current.spec.as_ref().unwrap().replicas, Some(3), "{kind}");
        current.spec.as_mut().unwrap().replicas = Some(4);
        scale.update(Some("default"), "w", &current, &PostParams::default()).await.unwrap();
        let applied = scale.apply(Some("default"), "w", 5, "autoscaler", true).await.unwrap();
        assert_eq!(applied.spec.unwrap().replicas, Some(5), "{kind}");
        // The object itself changed.
        let object = api.get("w").await.unwrap();
        assert_eq!(object.data["spec"]["replicas"], 5, "{kind}");
        // A namespaced resource needs a namespace: refused before any request.
        assert!(matches!(scale.get(None, "w").await, Err(ScaleError::Scope { .. })));
    }
    // Found by resource name too.
    let by_name = ScaleClient::for_resource(client.clone(), "deployments.apps").await.unwrap();
    assert_eq!(by_name.get(Some("default"), "w").await.unwrap().spec.unwrap().replicas, Some(5));
    let bare = ScaleClient::for_resource(client.clone(), "statefulsets").await.unwrap();
    assert_eq!(bare.resource().group, "apps");

    // A ConfigMap has no scale: refused, and no scale request was sent.
    server.clear_actions();
    let refused =
        ScaleClient::for_kind(client.clone(), &GroupVersionKind::gvk("", "v1", "ConfigMap")).await.unwrap_err();
    assert!(matches!(&refused, ScaleError::NoScale(r) if r == "configmaps/v1"), "{refused}");
    assert!(
        server.actions().iter().all(|a| a.subresource.is_none() && a.resource != "configmaps"),
        "{:?}",
        server.actions()
    );
    let missing = ScaleClient::for_kind(client, &GroupVersionKind::gvk("apps", "v1", "Gadget")).await.unwrap_err();
    assert!(matches!(missing, ScaleError::NotFound(_)), "{missing}");
}
