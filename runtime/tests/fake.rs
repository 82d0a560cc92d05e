//! The in-memory API server through kube's own client: what a test of a controller relies on.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube_codegen_runtime::fake::{ApiServer, Verb};
use serde_json::json;

fn config_map(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()},
        "data": {"k": "v"}
    }))
    .unwrap()
}

fn server() -> ApiServer {
    let server = ApiServer::new();
    server.register::<ConfigMap>().register::<Namespace>();
    server
}

/// A watch step that never comes is a failure, not a hang.
async fn within<T>(step: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(10), step).await.expect("the watch stalled")
}

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(status) => status.code,
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test]
async fn create_get_update_delete_with_the_real_status_codes() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let pp = PostParams::default();
    let created = api.create(&pp, &config_map("a", &[])).await.unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("ns"));
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some() && meta.resource_version.is_some());
    assert_eq!(code(api.create(&pp, &config_map("a", &[])).await.unwrap_err()), 409);
    assert_eq!(code(api.get("missing").await.unwrap_err()), 404);

    let mut stale = created.clone();
    let mut fresh = api.get("a").await.unwrap();
    fresh.data = Some([("k".to_string(), "new".to_string())].into());
    let updated = api.replace("a", &pp, &fresh).await.unwrap();
    assert_ne!(updated.metadata.resource_version, created.metadata.resource_version);
    stale.data = Some([("k".to_string(), "lost".to_string())].into());
    assert_eq!(code(api.replace("a", &pp, &stale).await.unwrap_err()), 409, "a stale resourceVersion conflicts");

    let nameless: ConfigMap = serde_json::from_value(json!({"metadata": {}})).unwrap();
    assert_eq!(code(api.create(&pp, &nameless).await.unwrap_err()), 422);
    let generated: ConfigMap = serde_json::from_value(json!({"metadata": {"generateName": "gen-"}})).unwrap();
    let made = api.create(&pp, &generated).await.unwrap();
    assert!(made.metadata.name.as_deref().is_some_and(|n| n.starts_with("gen-") && n.len() == 9));
    let elsewhere: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "x", "namespace": "other"}})).unwrap();
    assert_eq!(
        code(api.create(&pp, &elsewhere).await.unwrap_err()),
        400,
        "a namespace other than the path's is a bad request"
    );

    api.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(code(api.get("a").await.unwrap_err()), 404);
    assert_eq!(code(api.delete("a", &DeleteParams::default()).await.unwrap_err()), 404);
}

#[tokio::test]
async fn lists_filter_by_namespace_labels_and_fields() {
    let server = server();
    let client = server.client();
    let pp = PostParams::default();
    for (ns, name, labels) in [
        ("a", "web", vec![("app", "web"), ("env", "prod")]),
        ("a", "db", vec![("app", "db"), ("env", "prod")]),
        ("b", "web", vec![("app", "web"), ("env", "dev")]),
    ] {
        Api::<ConfigMap>::namespaced(client.clone(), ns).create(&pp, &config_map(name, &labels)).await.unwrap();
    }
    let names = |list: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        list.items
            .iter()
            .map(|c| format!("{}/{}", c.metadata.namespace.as_deref().unwrap(), c.metadata.name.as_deref().unwrap()))
            .collect()
    };
    let all: Api<ConfigMap> = Api::all(client.clone());
    assert_eq!(names(all.list(&ListParams::default()).await.unwrap()), ["a/db", "a/web", "b/web"]);
    let in_a: Api<ConfigMap> = Api::namespaced(client.clone(), "a");
    assert_eq!(names(in_a.list(&ListParams::default()).await.unwrap()), ["a/db", "a/web"]);
    assert_eq!(names(all.list(&ListParams::default().labels("app=web,env!=dev")).await.unwrap()), ["a/web"]);
    assert_eq!(names(all.list(&ListParams::default().labels("env in (dev),!missing")).await.unwrap()), ["b/web"]);
    assert_eq!(names(all.list(&ListParams::default().fields("metadata.name=db")).await.unwrap()), ["a/db"]);
    let list = all.list(&ListParams::default()).await.unwrap();
    assert!(list.metadata.resource_version.is_some());
}

#[tokio::test]
async fn patches_merge_and_json() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    api.create(&PostParams::default(), &config_map("a", &[("x", "1")])).await.unwrap();
    let merged = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k2": "v2"}, "metadata": {"labels": {"x": null}}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.data.as_ref().unwrap().len(), 2);
    assert!(merged.metadata.labels.unwrap_or_default().is_empty());
    let ops: json_patch_ops::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/data/k", "value": "j"}])).unwrap();
    let patched = api.patch("a", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
    assert_eq!(patched.data.unwrap()["k"], "j");
    assert_eq!(code(api.patch("missing", &PatchParams::default(), &Patch::Merge(json!({}))).await.unwrap_err()), 404);
}

// The JSON patch type kube's `Patch::Json` carries.
use json_patch as json_patch_ops;

#[tokio::test]
async fn finalizers_hold_a_delete_until_removed() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let mut cm = config_map("held", &[]);
    cm.metadata.finalizers = Some(vec!["example.com/cleanup".into()]);
    api.create(&PostParams::default(), &cm).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let held = api.get("held").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    api.patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await.unwrap();
    assert_eq!(code(api.get("held").await.unwrap_err()), 404);
}

#[tokio::test]
async fn watches_replay_then_follow_and_expire() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let pp = PostParams::default();
    let first = api.create(&pp, &config_map("a", &[])).await.unwrap();
    let from = first.metadata.resource_version.unwrap();
    api.create(&pp, &config_map("b", &[])).await.unwrap();

    let stream = api.watch(&WatchParams::default().timeout(5), &from).await.unwrap();
    let mut stream = stream.boxed();
    // Replayed from the history window: b was added after `from`.
    match within(stream.try_next()).await.unwrap() {
        Some(WatchEvent::Added(cm)) => assert_eq!(cm.metadata.name.as_deref(), Some("b")),
        other => panic!("expected b added, got {other:?}"),
    }
    // Then live.
    api.delete("a", &DeleteParams::default()).await.unwrap();
    match within(stream.try_next()).await.unwrap() {
        Some(WatchEvent::Deleted(cm)) => assert_eq!(cm.metadata.name.as_deref(), Some("a")),
        other => panic!("expected a deleted, got {other:?}"),
    }

    server.compact();
    let mut expired = api.watch(&WatchParams::default(), &from).await.unwrap().boxed();
    match within(expired.try_next()).await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test]
async fn kube_runtime_watcher_runs_against_it() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    api.create(&PostParams::default(), &config_map("a", &[])).await.unwrap();
    let mut events = kube::runtime::watcher(api.clone(), kube::runtime::watcher::Config::default()).boxed();
    let mut seen = Vec::new();
    while let Some(event) = within(events.try_next()).await.unwrap() {
        seen.push(format!("{event:?}").split('(').next().unwrap().to_owned());
        if seen.last().map(String::as_str) == Some("InitDone") {
            break;
        }
    }
    assert_eq!(seen, ["Init", "InitApply", "InitDone"]);
    api.create(&PostParams::default(), &config_map("b", &[])).await.unwrap();
    match within(events.try_next()).await.unwrap() {
        Some(kube::runtime::watcher::Event::Apply(cm)) => assert_eq!(cm.metadata.name.as_deref(), Some("b")),
        other => panic!("expected b applied, got {other:?}"),
    }
}

#[tokio::test]
async fn delete_collection_takes_what_the_selector_names() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let pp = PostParams::default();
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
        api.create(&pp, &config_map(name, &[("app", app)])).await.unwrap();
    }
    api.delete_collection(&DeleteParams::default(), &ListParams::default().labels("app=web")).await.unwrap();
    let left: Vec<String> =
        api.list(&ListParams::default()).await.unwrap().items.into_iter().filter_map(|c| c.metadata.name).collect();
    assert_eq!(left, ["c"]);
}

#[tokio::test]
async fn kube_discovery_finds_what_was_registered() {
    let server = server();
    let discovery = kube::Discovery::new(server.client()).run().await.unwrap();
    let gvk = kube::api::GroupVersionKind::gvk("", "v1", "ConfigMap");
    let (resource, caps) = discovery.resolve_gvk(&gvk).expect("ConfigMap is discovered");
    assert_eq!(resource.plural, "configmaps");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let ns = discovery.resolve_gvk(&kube::api::GroupVersionKind::gvk("", "v1", "Namespace")).unwrap();
    assert_eq!(ns.1.scope, kube::discovery::Scope::Cluster);
    assert!(discovery.resolve_gvk(&kube::api::GroupVersionKind::gvk("apps", "v1", "Deployment")).is_none());
}

#[tokio::test]
async fn streaming_lists_end_with_the_initial_events_bookmark() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    api.create(&PostParams::default(), &config_map("a", &[("app", "web")])).await.unwrap();
    api.create(&PostParams::default(), &config_map("b", &[("app", "db")])).await.unwrap();
    let config = kube::runtime::watcher::Config::default().streaming_lists().labels("app=web");
    let mut events = kube::runtime::watcher(api.clone(), config).boxed();
    let mut seen = Vec::new();
    while let Some(event) = within(events.try_next()).await.unwrap() {
        let done = matches!(event, kube::runtime::watcher::Event::InitDone);
        seen.push(event);
        if done {
            break;
        }
    }
    let applied: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            kube::runtime::watcher::Event::InitApply(cm) => cm.metadata.name.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(applied, ["a"], "the selector applies to the initial events");
    let watches = server.actions().iter().filter(|a| a.verb == Verb::Watch).count();
    let lists = server.actions().iter().filter(|a| a.verb == Verb::List).count();
    assert_eq!((watches, lists), (1, 0), "a streaming list is one watch and no list");
}

#[tokio::test]
async fn every_request_is_in_the_action_log() {
    let server = server();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    api.create(&PostParams::default(), &config_map("a", &[])).await.unwrap();
    api.get("a").await.unwrap();
    let _ = api.get("missing").await;
    api.list(&ListParams::default()).await.unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let log: Vec<(&str, Option<String>)> = server.actions().iter().map(|a| (a.verb.as_str(), a.name.clone())).collect();
    assert_eq!(
        log,
        [
            ("create", None),
            ("get", Some("a".into())),
            ("get", Some("missing".into())),
            ("list", None),
            ("delete", Some("a".into()))
        ]
    );
    assert!(server.actions().iter().all(|a| a.resource == "configmaps" && a.namespace.as_deref() == Some("ns")));
    server.clear_actions();
    assert!(server.actions().is_empty());
}

#[tokio::test]
async fn server_side_apply_owns_fields_and_conflicts() {
    use k8s_openapi::api::apps::v1::Deployment;
    let server = server();
    server.register::<Deployment>();
    let api: Api<Deployment> = Api::namespaced(server.client(), "ns");
    let config = |replicas: i32, image: &str| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "d"}}, "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            }},
        })
    };
    // Apply creates; a field manager is required.
    let err = api.patch("d", &PatchParams::default(), &Patch::Apply(config(1, "a:1"))).await.unwrap_err();
    assert_eq!(code(err), 422, "PatchOptions without a fieldManager are invalid");
    let created = api.patch("d", &PatchParams::apply("ops"), &Patch::Apply(config(1, "a:1"))).await.unwrap();
    let managers = created.metadata.managed_fields.clone().unwrap();
    assert_eq!((managers[0].manager.as_deref(), managers[0].operation.as_deref()), (Some("ops"), Some("Apply")));

    // Another manager setting the same field to another value conflicts, until it forces.
    let err = api
        .patch(
            "d",
            &PatchParams::apply("autoscaler"),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 5},
            })),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else { panic!("not a Status") };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(status.message.contains("conflict with \"ops\": .spec.replicas"), "{}", status.message);
    let forced = api
        .patch(
            "d",
            &PatchParams::apply("autoscaler").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 5},
            })),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.as_ref().unwrap().replicas, Some(5));
    assert_eq!(forced.metadata.generation, Some(2));

    // A strategic-merge patch by name changes one container and keeps the rest.
    let patched = api
        .patch(
            "d",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {
            "containers": [{"name": "sidecar", "image": "s:1"}]}}}})),
        )
        .await
        .unwrap();
    let names: Vec<String> =
        patched.spec.unwrap().template.spec.unwrap().containers.into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["main", "sidecar"]);
    let owners: Vec<String> = patched.metadata.managed_fields.unwrap().into_iter().filter_map(|m| m.manager).collect();
    assert_eq!(owners.len(), 3, "ops, autoscaler and the patch's manager: {owners:?}");
}

#[tokio::test]
async fn it_serves_over_tcp_with_a_kubeconfig() {
    let server = server();
    let serving = server.serve("127.0.0.1:0").await.unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(serving.kubeconfig()).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()).await.unwrap();
    assert_eq!(config.default_namespace, "default");
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &config_map("over-tcp", &[])).await.unwrap();
    // The same server, in process.
    let local: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    assert_eq!(local.get("over-tcp").await.unwrap().data.unwrap()["k"], "v");
    let path = serving.kubeconfig().to_owned();
    drop(serving);
    assert!(!path.exists(), "the kubeconfig goes with the listener");
}
