//! The in-memory API server writes as the real one does where controllers write most:
//! concurrent patches lose nothing, server-side apply works on subresources with ownership per
//! subresource, custom resources' lists merge as their schemas say and refuse strategic merge,
//! watches with selectors see objects start and stop matching, field selectors are the ones
//! each resource registers, and create-only resources answer through reactors.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenReview;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube_codegen_runtime::fake::{ApiServer, Reaction, Verb};
use serde_json::{Value, json};

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(status) => status.code,
        other => panic!("not an API error: {other}"),
    }
}

fn message(e: kube::Error) -> String {
    match e {
        kube::Error::Api(status) => status.message,
        other => panic!("not an API error: {other}"),
    }
}

/// 16 tasks each add 1 to a counter 200 times by JSON patch with a `test` of the value they
/// read, retrying when the test fails: the counter must end at 3,200.
async fn count_to_3200(api: Api<ConfigMap>) {
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    loop {
                        let seen = api.get("counter").await.unwrap();
                        let n: u64 = seen.data.unwrap()["n"].parse().unwrap();
                        let patch = json_patch::Patch(
                            serde_json::from_value(json!([
                                {"op": "test", "path": "/data/n", "value": n.to_string()},
                                {"op": "replace", "path": "/data/n", "value": (n + 1).to_string()},
                            ]))
                            .unwrap(),
                        );
                        match api.patch("counter", &PatchParams::default(), &Patch::<()>::Json(patch)).await {
                            Ok(_) => break,
                            Err(e) => assert_eq!(code(e), 422, "a failed test is 422"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(api.get("counter").await.unwrap().data.unwrap()["n"], "3200");
}

fn counter() -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": "counter"}, "data": {"n": "0"}})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_never_lose_an_update_in_process() {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    api.create(&PostParams::default(), &counter()).await.unwrap();
    count_to_3200(api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_never_lose_an_update_over_tcp() {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let serving = server.serve("127.0.0.1:0").await.unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(serving.kubeconfig()).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()).await.unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(kube::Client::try_from(config).unwrap());
    api.create(&PostParams::default(), &counter()).await.unwrap();
    count_to_3200(api).await;
}

fn managers(object: &Value) -> Vec<(String, String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["manager"].as_str().unwrap_or_default().to_owned(),
                e["operation"].as_str().unwrap_or_default().to_owned(),
                e["subresource"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn apply_on_status_and_scale_owns_fields_per_subresource() {
    let server = ApiServer::new();
    server.register::<Deployment>();
    let api: Api<Deployment> = Api::namespaced(server.client(), "ns");
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
    });
    api.patch("web", &PatchParams::apply("deployer"), &Patch::Apply(&deployment)).await.unwrap();

    // Status by apply: its own entry, with `subresource: status`; the spec is untouched.
    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                        "status": {"replicas": 2, "readyReplicas": 1}});
    let written = api.patch_status("web", &PatchParams::apply("reporter"), &Patch::Apply(&status)).await.unwrap();
    assert_eq!(written.status.as_ref().unwrap().ready_replicas, Some(1));
    assert_eq!(written.spec.as_ref().unwrap().replicas, Some(2));
    let raw = serde_json::to_value(&written).unwrap();
    assert!(managers(&raw).contains(&("reporter".into(), "Apply".into(), "status".into())), "{:?}", managers(&raw));
    // A second manager applying the same status field conflicts, naming the owner; forced, wins.
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                       "status": {"readyReplicas": 2}});
    let e = api.patch_status("web", &PatchParams::apply("other"), &Patch::Apply(&other)).await.unwrap_err();
    assert!(message(e).contains("conflict with \"reporter\": .status.readyReplicas"));
    let forced = api.patch_status("web", &PatchParams::apply("other").force(), &Patch::Apply(&other)).await.unwrap();
    assert_eq!(forced.status.unwrap().ready_replicas, Some(2));

    // Scale by apply: the deployer owns spec.replicas, so an autoscaler conflicts until forced,
    // then owns it through `scale`.
    let scale =
        json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 5}});
    let pp = PatchParams::apply("autoscaler");
    let e = api.patch_scale("web", &pp, &Patch::Apply(&scale)).await.unwrap_err();
    assert_eq!(message(e), "Apply failed with 1 conflict: conflict with \"deployer\": .spec.replicas");
    let scaled = api.patch_scale("web", &pp.clone().force(), &Patch::Apply(&scale)).await.unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(5));
    let raw = serde_json::to_value(api.get("web").await.unwrap()).unwrap();
    assert_eq!(raw["spec"]["replicas"], 5);
    assert!(managers(&raw).contains(&("autoscaler".into(), "Apply".into(), "scale".into())), "{:?}", managers(&raw));
    // Re-applying the deployment without replicas leaves them to the autoscaler.
    let mut without = deployment.clone();
    without["spec"].as_object_mut().unwrap().remove("replicas");
    let after = api.patch("web", &PatchParams::apply("deployer"), &Patch::Apply(&without)).await.unwrap();
    assert_eq!(after.spec.unwrap().replicas, Some(5));
}

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                   "subresources": {"status": {}},
                   "selectableFields": [{"jsonPath": ".spec.color"}],
                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": {
                       "color": {"type": "string"},
                       "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                 "x-kubernetes-list-map-keys": ["port", "protocol"],
                                 "items": {"type": "object", "properties": {
                                    "port": {"type": "integer"}, "protocol": {"type": "string"}, "name": {"type": "string"}}}},
                       "conditions": {"type": "array", "items": {"type": "object", "properties": {
                                    "type": {"type": "string"}, "status": {"type": "string"}}}}}},
                     "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    }))
    .unwrap()
}

async fn widgets(server: &ApiServer) -> Api<DynamicObject> {
    server.register::<CustomResourceDefinition>();
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.create(&PostParams::default(), &widget_crd()).await.unwrap();
    let resource = ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    Api::namespaced_with(server.client(), "ns", &resource)
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
}

#[tokio::test]
async fn custom_resources_merge_lists_as_their_schema_says() {
    let server = ApiServer::new();
    let api = widgets(&server).await;
    let a = widget(json!({"ports": [{"port": 80, "protocol": "TCP", "name": "http"}],
                          "conditions": [{"type": "A", "status": "True"}]}));
    api.patch("w", &PatchParams::apply("a"), &Patch::Apply(&a)).await.unwrap();
    // A second manager's port, keyed by (port, protocol), sits beside the first one's.
    let b = widget(json!({"ports": [{"port": 80, "protocol": "UDP", "name": "dns"}]}));
    let both = api.patch("w", &PatchParams::apply("b"), &Patch::Apply(&b)).await.unwrap();
    assert_eq!(both.data["spec"]["ports"].as_array().unwrap().len(), 2);
    // `conditions` has no list type here: atomic, however Kubernetes-like its name. Another
    // manager's conditions conflict with a's whole list.
    let c = widget(json!({"conditions": [{"type": "B", "status": "True"}]}));
    let e = api.patch("w", &PatchParams::apply("c"), &Patch::Apply(&c)).await.unwrap_err();
    assert!(message(e).contains("conflict with \"a\": .spec.conditions"));
    let replaced = api.patch("w", &PatchParams::apply("c").force(), &Patch::Apply(&c)).await.unwrap();
    assert_eq!(replaced.data["spec"]["conditions"], json!([{"type": "B", "status": "True"}]));
    // a drops its port: b's stays.
    let a_again = widget(json!({"conditions": [{"type": "B", "status": "True"}]}));
    let after = api.patch("w", &PatchParams::apply("a").force(), &Patch::Apply(&a_again)).await.unwrap();
    assert_eq!(after.data["spec"]["ports"], json!([{"port": 80, "protocol": "UDP", "name": "dns"}]));

    // Strategic merge is for built-in types: 415 on a custom resource, main and status.
    let smp = Patch::Strategic(json!({"spec": {"color": "red"}}));
    assert_eq!(code(api.patch("w", &PatchParams::default(), &smp).await.unwrap_err()), 415);
    assert_eq!(code(api.patch_status("w", &PatchParams::default(), &smp).await.unwrap_err()), 415);
    // Merge patch is fine.
    let merge = Patch::Merge(json!({"spec": {"color": "red"}}));
    assert_eq!(api.patch("w", &PatchParams::default(), &merge).await.unwrap().data["spec"]["color"], "red");
}

#[tokio::test]
async fn field_selectors_are_the_ones_each_resource_registers() {
    let server = ApiServer::new();
    server.register::<Pod>().register::<Secret>();
    let pods: Api<Pod> = Api::namespaced(server.client(), "ns");
    for (name, node, phase) in [("a", "n1", "Running"), ("b", "n2", "Pending")] {
        let pod = json!({"metadata": {"name": name}, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]}});
        pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
        let status = Patch::Merge(json!({"status": {"phase": phase}}));
        pods.patch_status(name, &PatchParams::default(), &status).await.unwrap();
    }
    let names = |list: kube::core::ObjectList<Pod>| -> Vec<String> {
        list.items.into_iter().map(|p| p.metadata.name.unwrap()).collect()
    };
    assert_eq!(names(pods.list(&ListParams::default().fields("spec.nodeName=n1")).await.unwrap()), ["a"]);
    assert_eq!(names(pods.list(&ListParams::default().fields("status.phase!=Running")).await.unwrap()), ["b"]);
    let e = pods.list(&ListParams::default().fields("spec.priority=1")).await.unwrap_err();
    assert_eq!(code(e), 400);

    let secrets: Api<Secret> = Api::namespaced(server.client(), "ns");
    let tls = json!({"metadata": {"name": "t"}, "type": "kubernetes.io/tls"});
    secrets.create(&PostParams::default(), &serde_json::from_value(tls).unwrap()).await.unwrap();
    let found = secrets.list(&ListParams::default().fields("type=kubernetes.io/tls")).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(code(pods.list(&ListParams::default().fields("type=x")).await.unwrap_err()), 400);

    // A CRD's selectableFields.
    let api = widgets(&server).await;
    api.patch("w", &PatchParams::apply("a"), &Patch::Apply(&widget(json!({"color": "red"})))).await.unwrap();
    assert_eq!(api.list(&ListParams::default().fields("spec.color=red")).await.unwrap().items.len(), 1);
    assert_eq!(api.list(&ListParams::default().fields("spec.color=blue")).await.unwrap().items.len(), 0);
    assert_eq!(code(api.list(&ListParams::default().fields("spec.size=1")).await.unwrap_err()), 400);
}

#[tokio::test]
async fn watches_with_selectors_see_objects_start_and_stop_matching() {
    let server = ApiServer::new();
    server.register::<ConfigMap>();
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "ns");
    let cm = |name: &str, tier: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": {"tier": tier}}})).unwrap()
    };
    api.create(&PostParams::default(), &cm("a", "web")).await.unwrap();
    let rv = api.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let wp = WatchParams::default().labels("tier=web");
    let mut watch = api.watch(&wp, &rv).await.unwrap().boxed();
    let relabel = |tier: &str| Patch::Merge(json!({"metadata": {"labels": {"tier": tier}}}));
    api.patch("a", &PatchParams::default(), &relabel("db")).await.unwrap();
    api.create(&PostParams::default(), &cm("b", "db")).await.unwrap();
    api.patch("b", &PatchParams::default(), &relabel("web")).await.unwrap();
    api.patch("b", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "v"}}))).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.try_next()).await.unwrap().unwrap().unwrap();
        seen.push(match event {
            WatchEvent::Added(o) => format!("added {}", o.metadata.name.unwrap()),
            WatchEvent::Modified(o) => format!("modified {}", o.metadata.name.unwrap()),
            WatchEvent::Deleted(o) => format!("deleted {}", o.metadata.name.unwrap()),
            other => format!("{other:?}"),
        });
    }
    // a stopped matching (DELETED); b's create did not match; b started matching (ADDED),
    // then changed while matching (MODIFIED).
    assert_eq!(seen, ["deleted a", "added b", "modified b"]);
    // Replayed from history, the same.
    let replayed: Vec<String> = api
        .watch(&wp, &rv)
        .await
        .unwrap()
        .take(3)
        .map(|e| match e.unwrap() {
            WatchEvent::Added(o) => format!("added {}", o.metadata.name.unwrap()),
            WatchEvent::Modified(o) => format!("modified {}", o.metadata.name.unwrap()),
            WatchEvent::Deleted(o) => format!("deleted {}", o.metadata.name.unwrap()),
            other => format!("{other:?}"),
        })
        .collect()
        .await;
    assert_eq!(replayed, seen);
}

#[tokio::test]
async fn create_only_resources_are_answered_by_reactors() {
    let server = ApiServer::new();
    server.register_create_only::<TokenReview>();
    server.react(Verb::Create, "tokenreviews", |_| {
        Reaction::Respond(
            201,
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "metadata": {},
                   "spec": {"token": "t"}, "status": {"authenticated": true, "user": {"username": "alice"}}}),
        )
    });
    let api: Api<TokenReview> = Api::all(server.client());
    let review: TokenReview = serde_json::from_value(json!({"metadata": {}, "spec": {"token": "t"}})).unwrap();
    let answered = api.create(&PostParams::default(), &review).await.unwrap();
    assert_eq!(answered.status.unwrap().user.unwrap().username.as_deref(), Some("alice"));
    let e = kube::Api::<TokenReview>::all(server.client()).get("x").await.unwrap_err();
    assert_eq!(code(e), 405);
}

/// `ResourceClient::apply`: a configuration holds only what its manager means to own; two
/// managers share an object, a contested field is a conflict naming the owner until forced,
/// and a request without a field manager or a name never reaches the server.
#[tokio::test]
async fn resource_client_apply_checks_before_sending_and_owns_what_it_sets() {
    use kube_codegen_runtime::client::{ApplyParams, ResourceClient};
    let server = ApiServer::new();
    server.register::<ConfigMap>().register::<Deployment>();
    let client = server.client();
    let maps = ResourceClient::<ConfigMap>::namespaced(client.clone(), "ns");

    let no_manager = maps
        .apply(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}), &ApplyParams::default())
        .await
        .unwrap_err();
    assert!(no_manager.to_string().contains("field manager"), "{no_manager}");
    let no_name = maps
        .apply(&json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}}), &ApplyParams::manager("one"))
        .await
        .unwrap_err();
    assert!(no_name.to_string().contains("metadata.name"), "{no_name}");
    assert_eq!(server.count(Verb::Patch, "configmaps"), 0, "nothing was sent");

    let one = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let two = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "2"}});
    maps.apply(&one, &ApplyParams::manager("one")).await.unwrap();
    let both = maps.apply(&two, &ApplyParams::manager("two")).await.unwrap();
    let data = both.data.unwrap();
    assert_eq!((data["a"].as_str(), data["b"].as_str()), ("1", "2"), "each manager keeps its own field");

    let contested = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "9"}});
    let conflict = maps.apply(&contested, &ApplyParams::manager("two")).await.unwrap_err();
    assert!(message(conflict).contains("conflict with \"one\""));
    let forced = maps.apply(&contested, &ApplyParams::manager("two").force()).await.unwrap();
    assert_eq!(forced.data.unwrap()["a"], "9");

    // Through the status subresource, the manager owns status fields only.
    let deployments = ResourceClient::<Deployment>::namespaced(client, "ns");
    let spec = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    deployments.apply(&spec, &ApplyParams::manager("deployer")).await.unwrap();
    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "status": {"readyReplicas": 2}});
    let applied: Deployment =
        deployments.apply_subresource("status", &status, &ApplyParams::manager("reporter")).await.unwrap();
    assert_eq!(applied.status.unwrap().ready_replicas, Some(2));
    let managers: Vec<(String, Option<String>)> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.manager.unwrap_or_default(), m.subresource))
        .collect();
    assert!(managers.contains(&("reporter".into(), Some("status".into()))), "{managers:?}");
    assert!(managers.contains(&("deployer".into(), None)), "{managers:?}");
}
