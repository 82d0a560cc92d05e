//! Controllers record Events with kube-runtime's `Recorder`; the in-memory API server serves
//! `events.k8s.io/v1` as a cluster does, so a test can read them back.

use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::Resource;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube_codegen_runtime::fake::{ApiServer, Verb};

#[tokio::test]
async fn a_recorders_events_are_created_then_counted_as_a_series() {
    let server = ApiServer::new();
    server.register::<ConfigMap>().register::<K8sEvent>();
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), "team-a");
    let cm =
        ConfigMap { metadata: ObjectMeta { name: Some("web".into()), ..Default::default() }, ..Default::default() };
    let cm = cms.create(&PostParams::default(), &cm).await.unwrap();
    let reference: ObjectReference = cm.object_ref(&());

    let recorder = Recorder::new(
        server.client(),
        Reporter { controller: "widget-controller".into(), instance: Some("pod-a".into()) },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("status written".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let warning = Event { type_: EventType::Warning, reason: "Failed".into(), ..event };
    recorder.publish(&warning, &reference).await.unwrap();

    let events: Api<K8sEvent> = Api::namespaced(server.client(), "team-a");
    let mut listed = events.list(&ListParams::default()).await.unwrap().items;
    listed.sort_by_key(|e| e.reason.clone());
    let summary: Vec<_> = listed
        .iter()
        .map(|e| {
            (
                e.reason.clone().unwrap_or_default(),
                e.type_.clone().unwrap_or_default(),
                e.regarding.as_ref().and_then(|r| r.name.clone()).unwrap_or_default(),
                e.reporting_controller.clone().unwrap_or_default(),
                e.series.as_ref().map_or(1, |s| s.count),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Failed".to_owned(), "Warning".to_owned(), "web".to_owned(), "widget-controller".to_owned(), 1),
            ("Reconciled".to_owned(), "Normal".to_owned(), "web".to_owned(), "widget-controller".to_owned(), 2),
        ]
    );
    assert_eq!(server.count(Verb::Create, "events"), 2);
    assert_eq!(server.count(Verb::Patch, "events"), 1, "the repeat is a patch of the series");
}
