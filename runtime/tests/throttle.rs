//! Client-side throttling on the in-memory API server under a paused clock: the bucket's pace,
//! one budget for everything built from one client, and retries the server asks for.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use kube_codegen_runtime::fake::{ApiServer, Verb};
use kube_codegen_runtime::informer::SharedInformerFactory;
use kube_codegen_runtime::throttle::ThrottleLayer;
use tokio::time::Instant;
use tower::Layer;

fn throttled(server: &ApiServer, layer: &ThrottleLayer) -> kube::Client {
    kube::Client::new(layer.layer(server.clone()), "default")
}

fn cm(name: &str) -> ConfigMap {
    ConfigMap { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
}

async fn server_with_one() -> ApiServer {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &cm("a")).await.unwrap();
    server
}

#[tokio::test(start_paused = true)]
async fn requests_past_the_burst_go_at_the_rate() {
    let server = server_with_one().await;
    let api: Api<ConfigMap> = Api::namespaced(throttled(&server, &ThrottleLayer::client_go_default()), "default");
    let start = Instant::now();
    for _ in 0..10 {
        api.get("a").await.unwrap();
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "the first ten are the burst");
    for _ in 0..20 {
        api.get("a").await.unwrap();
    }
    // Twenty more at five a second.
    assert_eq!(start.elapsed(), Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn every_client_and_informer_built_from_one_client_shares_its_budget() {
    let server = server_with_one().await;
    let layer = ThrottleLayer::new(1.0, 1);
    let client = throttled(&server, &layer);
    let factory = SharedInformerFactory::new(client.clone());
    factory.informer_for::<ConfigMap>();
    let start = Instant::now();
    factory.start();
    factory.wait_for_cache_sync().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.get("a").await.unwrap();
    api.get("a").await.unwrap();
    // The informer's list and watch and the two gets: one token each, a second apart after the
    // first, in whatever order the watch and the gets took theirs.
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(server.count(Verb::Watch, "configmaps"), 1);
    // Another client stack through a clone of the same layer draws on the same bucket.
    let other: Api<ConfigMap> = Api::namespaced(throttled(&server, &layer), "default");
    other.get("a").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    factory.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_is_retried_after_the_wait_it_asks_for() {
    let server = server_with_one().await;
    server.fail_next(Verb::Get, "configmaps", 2, 429);
    let api: Api<ConfigMap> = Api::namespaced(throttled(&server, &ThrottleLayer::new(100.0, 10)), "default");
    let start = Instant::now();
    let got = api.get("a").await.unwrap();
    assert_eq!(got.metadata.name.as_deref(), Some("a"));
    // Two answers of `Retry-After: 1`.
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    // A create's body is sent again: created once.
    server.fail_next(Verb::Create, "configmaps", 1, 503);
    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    assert!(api.get("b").await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn answers_without_retry_after_and_exhausted_retries_come_back_as_they_are() {
    let server = server_with_one().await;
    let api: Api<ConfigMap> = Api::namespaced(throttled(&server, &ThrottleLayer::new(100.0, 10)), "default");
    server.fail_next(Verb::Get, "configmaps", 1, 500);
    let err = api.get("a").await.unwrap_err();
    assert!(matches!(&err, kube::Error::Api(s) if s.code == 500), "{err}");

    let api: Api<ConfigMap> =
        Api::namespaced(throttled(&server, &ThrottleLayer::new(100.0, 10).max_retries(2)), "default");
    server.fail_next(Verb::Get, "configmaps", 3, 429);
    let start = Instant::now();
    let err = api.get("a").await.unwrap_err();
    assert!(matches!(&err, kube::Error::Api(s) if s.code == 429), "{err}");
    assert_eq!(start.elapsed(), Duration::from_secs(2), "two retries, then the third 429 is the answer");
    api.get("a").await.unwrap();
}
