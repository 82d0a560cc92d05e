//! One suite, two backends: each scenario runs against the in-memory API server always, and
//! against a real cluster when `KUBE_CODEGEN_E2E_KUBECONFIG` names a kubeconfig (skipped with
//! a message otherwise). Against a cluster a scenario works in a namespace of its own
//! (`kcg-e2e-<random>`) and CRDs in a group of its own (`e2e-<random>.kube-codegen.dev`), and
//! deletes them afterwards, also when it fails.
//!
//! ```sh
//! kind create cluster --name kcg && kind get kubeconfig --name kcg > /tmp/kcg.kubeconfig
//! KUBE_CODEGEN_E2E_KUBECONFIG=/tmp/kcg.kubeconfig \
//!     cargo test -p kube-codegen-runtime --features fake --test two_backends -- --test-threads 2
//! ```
//!
//! Where the fake knowingly differs from a cluster in what a scenario checks, the scenario names
//! the entry of `fake::KNOWN_DIFFERENCES` (the one list of them) through [`Env::differs`];
//! everything else is asserted the same way on both backends.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, VersionMatch,
    WatchEvent, WatchParams,
};
use kube::runtime::wait::{await_condition, conditions};
use kube_codegen_runtime::fake::{ApiServer, KnownDifference};
use kube_codegen_runtime::informer::SharedInformerFactory;

mod support;
use serde_json::{Value, json};
use support::suffix;

/// Which server a scenario runs against.
#[derive(Clone)]
enum Backend {
    Fake(ApiServer),
    Cluster,
}

/// One scenario's world: a client, its namespace, and what it made that must go afterwards.
#[derive(Clone)]
struct Env {
    client: kube::Client,
    backend: Backend,
    namespace: String,
    suffix: String,
    crds: Arc<Mutex<Vec<String>>>,
}

impl Env {
    fn name(&self) -> &'static str {
        match self.backend {
            Backend::Fake(_) => "the in-memory API server",
            Backend::Cluster => "the cluster",
        }
    }

    /// Whether the backend is the fake and the fake differs here (see `fake::KNOWN_DIFFERENCES`).
    fn differs(&self, key: &str) -> bool {
        assert!(KnownDifference::find(key).is_some(), "`{key}` is not in fake::KNOWN_DIFFERENCES");
        matches!(self.backend, Backend::Fake(_))
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Makes the cluster forget history, so an old resourceVersion is gone: the fake compacts
    /// on demand; a cluster compacts etcd by itself every `--etcd-compaction-interval` (5
    /// minutes unless set; CI's envtest runs with 5 s), so this waits, up to two minutes, until
    /// a list at exactly version 1 is refused as expired.
    async fn compact(&self) {
        match &self.backend {
            Backend::Fake(server) => server.compact(),
            Backend::Cluster => {
                let at_one = ListParams::default().at("1").matching(VersionMatch::Exact);
                for _ in 0..120 {
                    match self.config_maps().list(&at_one).await {
                        Err(kube::Error::Api(s)) if (s.code, s.reason.as_str()) == (410, "Expired") => return,
                        _ => tokio::time::sleep(Duration::from_secs(1)).await,
                    }
                }
                panic!("the cluster did not compact version 1 within two minutes");
            }
        }
    }

    /// A CRD of this scenario's own group, `gizmos`, with `status` and `scale`, established.
    async fn gizmo_crd(&self) -> ApiResource {
        let group = format!("e2e-{}.kube-codegen.dev", self.suffix);
        let name = format!("gizmos.{group}");
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {
                            "replicas": {"type": "integer"}, "color": {"type": "string"}}},
                        "status": {"type": "object", "properties": {
                            "replicas": {"type": "integer"}, "ready": {"type": "boolean"}}},
                    }}},
                    "subresources": {"status": {}, "scale": {
                        "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                }],
            },
        }))
        .unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        self.crds.lock().unwrap().push(name.clone());
        crds.create(&PostParams::default(), &crd).await.unwrap();
        let established = await_condition(crds, &name, conditions::is_crd_established());
        tokio::time::timeout(Duration::from_secs(30), established).await.unwrap().unwrap();
        ApiResource {
            group: group.clone(),
            version: "v1".into(),
            api_version: format!("{group}/v1"),
            kind: "Gizmo".into(),
            plural: "gizmos".into(),
        }
    }

    fn gizmos(&self, resource: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, resource)
    }

    /// Deletes what the scenario made: its CRDs, then its namespace.
    async fn clean_up(&self) {
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let made: Vec<String> = std::mem::take(&mut *self.crds.lock().unwrap());
        for name in made {
            let _ = crds.delete(&name, &DeleteParams::default()).await;
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = namespaces.delete(&self.namespace, &DeleteParams::default()).await;
    }
}

async fn env(backend: Backend) -> Env {
    let client = match &backend {
        Backend::Fake(server) => server.client(),
        Backend::Cluster => {
            let path = std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG").unwrap();
            let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
            kube::Client::try_from(config).unwrap()
        }
    };
    let suffix = suffix();
    let namespace = format!("kcg-e2e-{suffix}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    Env { client, backend, namespace, suffix, crds: Arc::default() }
}

fn fake() -> Backend {
    let server = ApiServer::new();
    server.register::<Namespace>().register::<ConfigMap>().register::<Lease>().register::<CustomResourceDefinition>();
    Backend::Fake(server)
}

/// Runs `scenario` against the fake, then against the cluster if one is named; cleans up
/// after each, also after a failure, and says which backend failed.
async fn on_both<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut backends = vec![fake()];
    match std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG") {
        Some(_) => backends.push(Backend::Cluster),
        None => eprintln!("{name}: not run against a cluster: KUBE_CODEGEN_E2E_KUBECONFIG is not set"),
    }
    let on = if backends.len() == 2 { "fake,cluster" } else { "fake" };
    for backend in backends {
        run_on(backend, name, &scenario).await;
    }
    // CI tallies the scenarios each backend ran (`KCG_REPORT_DIR`), one line per scenario.
    if let Some(dir) = std::env::var_os("KCG_REPORT_DIR") {
        use std::io::Write as _;
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::path::Path::new(&dir).join("two_backends.tsv");
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        file.write_all(format!("{name}\t{on}\n").as_bytes()).unwrap();
    }
}

/// Runs `scenario` against one backend, cleaning up after it whatever happens.
async fn run_on<F, Fut>(backend: Backend, name: &str, scenario: &F)
where
    F: Fn(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let env = env(backend).await;
    let outcome = AssertUnwindSafe(scenario(env.clone())).catch_unwind().await;
    env.clean_up().await;
    if let Err(panic) = outcome {
        eprintln!("{name} failed against {}", env.name());
        std::panic::resume_unwind(panic);
    }
}

/// A scenario that fails still leaves nothing behind: its namespace and CRDs are deleted.
#[tokio::test]
async fn a_failing_scenario_cleans_up_after_itself() {
    let backend = fake();
    let Backend::Fake(server) = &backend else { unreachable!() };
    let server = server.clone();
    let failing = |env: Env| async move {
        env.gizmo_crd().await;
        panic!("a scenario that fails");
    };
    let outcome = AssertUnwindSafe(run_on(backend, "failing", &failing)).catch_unwind().await;
    assert!(outcome.is_err(), "the failure is passed on");
    let namespaces: Api<Namespace> = Api::all(server.client());
    assert!(namespaces.list(&ListParams::default()).await.unwrap().items.is_empty());
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    assert!(crds.list(&ListParams::default()).await.unwrap().items.is_empty());
}

fn cm(name: &str, labels: Value, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": data})).unwrap()
}

fn code(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(status) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn create_get_update_delete_and_conflicts() {
    on_both("crud", |env| async move {
        let api = env.config_maps();
        let created = api.create(&PostParams::default(), &cm("one", json!({}), json!({"k": "1"}))).await.unwrap();
        let again = api.create(&PostParams::default(), &cm("one", json!({}), json!({}))).await.unwrap_err();
        assert_eq!(code(again), (409, "AlreadyExists".into()));
        let mut current = api.get("one").await.unwrap();
        assert_eq!(current.metadata.uid, created.metadata.uid);

        // An update at a stale resourceVersion is a conflict; at the current one it lands.
        current.data = Some([("k".to_owned(), "2".to_owned())].into());
        let updated = api.replace("one", &PostParams::default(), &current).await.unwrap();
        assert_ne!(updated.metadata.resource_version, current.metadata.resource_version);
        let stale = api.replace("one", &PostParams::default(), &current).await.unwrap_err();
        assert_eq!(code(stale), (409, "Conflict".into()));

        api.delete("one", &DeleteParams::default()).await.unwrap();
        let gone = api.get("one").await.unwrap_err();
        assert_eq!(code(gone), (404, "NotFound".into()));
    })
    .await;
}

#[tokio::test]
async fn label_and_field_selectors() {
    on_both("selectors", |env| async move {
        let api = env.config_maps();
        for (name, labels) in [
            ("cm-a", json!({"app": "a", "tier": "web"})),
            ("cm-b", json!({"app": "b", "tier": "db"})),
            ("cm-c", json!({"app": "c"})),
        ] {
            api.create(&PostParams::default(), &cm(name, labels, json!({}))).await.unwrap();
        }
        let names = |list: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
            let mut names: Vec<String> = list.items.into_iter().filter_map(|c| c.metadata.name).collect();
            names.sort();
            names
        };
        let by_labels = |selector: &'static str| {
            let api = api.clone();
            async move { names(api.list(&ListParams::default().labels(selector)).await.unwrap()) }
        };
        assert_eq!(by_labels("app=a").await, ["cm-a"]);
        assert_eq!(by_labels("app!=a").await, ["cm-b", "cm-c"]);
        assert_eq!(by_labels("app in (a,b)").await, ["cm-a", "cm-b"]);
        assert_eq!(by_labels("!tier").await, ["cm-c"]);
        assert_eq!(by_labels("tier,app notin (a)").await, ["cm-b"]);
        let by_name = api.list(&ListParams::default().fields("metadata.name=cm-b")).await.unwrap();
        assert_eq!(names(by_name), ["cm-b"]);
        let unknown = api.list(&ListParams::default().fields("data.k=1")).await.unwrap_err();
        assert_eq!(code(unknown).0, 400);
    })
    .await;
}

#[tokio::test]
async fn pagination_reads_one_snapshot() {
    on_both("pagination", |env| async move {
        let api = env.config_maps();
        for i in 0..7 {
            api.create(&PostParams::default(), &cm(&format!("page-{i}"), json!({}), json!({}))).await.unwrap();
        }
        let mut params = ListParams::default().limit(3);
        let mut pages = Vec::new();
        loop {
            let page = api.list(&params).await.unwrap();
            if pages.is_empty() {
                assert_eq!(page.metadata.remaining_item_count, Some(4));
                // Written after the first page: not in the snapshot the pages read.
                api.create(&PostParams::default(), &cm("page-late", json!({}), json!({}))).await.unwrap();
            }
            pages.push(page.items.len());
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
        assert_eq!(pages, [3, 3, 1]);
    })
    .await;
}

#[tokio::test]
async fn watch_delivers_in_order_and_resumes() {
    on_both("watch", |env| async move {
        let api = env.config_maps();
        let start = api.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
        let mut stream = api.watch(&WatchParams::default().timeout(20), &start).await.unwrap().boxed();
        api.create(&PostParams::default(), &cm("w", json!({}), json!({"k": "1"}))).await.unwrap();
        api.patch("w", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "2"}}))).await.unwrap();
        api.delete("w", &DeleteParams::default()).await.unwrap();
        let mut seen = Vec::new();
        let mut added_at = String::new();
        while seen.len() < 3 {
            match stream.try_next().await.unwrap().unwrap() {
                WatchEvent::Added(o) => {
                    added_at = o.metadata.resource_version.clone().unwrap();
                    seen.push("ADDED");
                }
                WatchEvent::Modified(_) => seen.push("MODIFIED"),
                WatchEvent::Deleted(_) => seen.push("DELETED"),
                WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(e) => panic!("watch error: {e:?}"),
            }
        }
        assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED"]);

        // Resumed after the ADDED, the rest again.
        let mut resumed = api.watch(&WatchParams::default().timeout(20), &added_at).await.unwrap().boxed();
        let mut again = Vec::new();
        while again.len() < 2 {
            match resumed.try_next().await.unwrap().unwrap() {
                WatchEvent::Modified(_) => again.push("MODIFIED"),
                WatchEvent::Deleted(_) => again.push("DELETED"),
                WatchEvent::Bookmark(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(again, ["MODIFIED", "DELETED"]);
    })
    .await;
}

/// The code a watch from version 1 ends with: either the watch is refused, or its first event
/// is an ERROR (the real server answers from its watch cache with the event); `None` when it
/// delivers objects instead (the version is not compacted yet).
async fn watch_from_one(api: &Api<ConfigMap>) -> Option<u16> {
    match api.watch(&WatchParams::default().timeout(10), "1").await {
        Err(e) => Some(code(e).0),
        Ok(stream) => match stream.boxed().try_next().await {
            Ok(Some(WatchEvent::Error(status))) => Some(status.code),
            _ => None,
        },
    }
}

#[tokio::test]
async fn a_watch_from_a_compacted_version_is_gone() {
    on_both("410", |env| async move {
        let api = env.config_maps();
        api.create(&PostParams::default(), &cm("old", json!({}), json!({}))).await.unwrap();
        env.compact().await;
        let answer = watch_from_one(&api).await;
        if env.differs("watch-cache-window") {
            assert_eq!(answer, Some(410));
        } else {
            // Refused, or replayed from the watch cache: never any other error.
            assert!(matches!(answer, Some(410) | None), "{answer:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn status_and_scale_subresources() {
    on_both("status-and-scale", |env| async move {
        let gizmos = env.gizmos(&env.gizmo_crd().await);
        let mut gizmo: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("e2e-{}.kube-codegen.dev/v1", env.suffix), "kind": "Gizmo",
            "metadata": {"name": "g"}, "spec": {"replicas": 2, "color": "red"}, "status": {"replicas": 9},
        }))
        .unwrap();
        let created = gizmos.create(&PostParams::default(), &gizmo).await.unwrap();
        assert!(created.data.get("status").is_none_or(Value::is_null), "create ignores status: {:?}", created.data);

        let status = json!({"status": {"replicas": 2, "ready": true}, "spec": {"color": "blue"}});
        let patched = gizmos.patch_status("g", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
        assert_eq!(patched.data["status"], json!({"replicas": 2, "ready": true}));
        assert_eq!(patched.data["spec"]["color"], "red", "/status leaves spec alone");

        gizmo.metadata.resource_version = patched.metadata.resource_version.clone();
        gizmo.data["status"] = json!({"replicas": 0});
        gizmo.data["spec"]["color"] = json!("green");
        let replaced = gizmos.replace("g", &PostParams::default(), &gizmo).await.unwrap();
        assert_eq!(replaced.data["spec"]["color"], "green");
        assert_eq!(replaced.data["status"]["replicas"], 2, "the main resource leaves status alone");

        let scale = gizmos.get_scale("g").await.unwrap();
        assert_eq!(scale.spec.and_then(|s| s.replicas), Some(2));
        assert_eq!(scale.status.map(|s| s.replicas), Some(2));
        let to_five = json!({"spec": {"replicas": 5}});
        gizmos.patch_scale("g", &PatchParams::default(), &Patch::Merge(&to_five)).await.unwrap();
        assert_eq!(gizmos.get("g").await.unwrap().data["spec"]["replicas"], 5);
    })
    .await;
}

#[tokio::test]
async fn server_side_apply_between_two_managers() {
    on_both("server-side-apply", |env| async move {
        let api = env.config_maps();
        let config =
            |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": data});
        api.patch("ssa", &PatchParams::apply("mgr-a"), &Patch::Apply(config(json!({"a": "1", "shared": "x"}))))
            .await
            .unwrap();
        api.patch("ssa", &PatchParams::apply("mgr-b"), &Patch::Apply(config(json!({"b": "1"})))).await.unwrap();

        let conflict = api
            .patch("ssa", &PatchParams::apply("mgr-b"), &Patch::Apply(config(json!({"b": "1", "shared": "y"}))))
            .await
            .unwrap_err();
        let kube::Error::Api(status) = conflict else { panic!("expected a conflict") };
        assert_eq!(status.code, 409);
        assert!(status.message.contains("mgr-a") && status.message.contains(".data.shared"), "{}", status.message);

        let forced = PatchParams::apply("mgr-b").force();
        api.patch("ssa", &forced, &Patch::Apply(config(json!({"b": "1", "shared": "y"})))).await.unwrap();
        // mgr-a drops `a` from its configuration: nobody else owns it, so it goes; `shared` is
        // mgr-b's now and stays.
        let after = api.patch("ssa", &PatchParams::apply("mgr-a"), &Patch::Apply(config(json!({})))).await.unwrap();
        let data = after.data.unwrap_or_default();
        assert_eq!(data.get("a"), None);
        assert_eq!(data.get("shared").map(String::as_str), Some("y"));
        assert_eq!(data.get("b").map(String::as_str), Some("1"));
        let managers: Vec<String> =
            after.metadata.managed_fields.unwrap_or_default().into_iter().filter_map(|m| m.manager).collect();
        assert!(managers.contains(&"mgr-b".to_owned()), "{managers:?}");
    })
    .await;
}

#[tokio::test]
async fn crd_lifecycle_serves_then_removes_its_resources() {
    on_both("crd-lifecycle", |env| async move {
        let resource = env.gizmo_crd().await;
        let gizmos = env.gizmos(&resource);
        let gizmo: DynamicObject = serde_json::from_value(json!({
            "apiVersion": resource.api_version, "kind": "Gizmo", "metadata": {"name": "g"},
            "spec": {"replicas": 1, "unknown": true},
        }))
        .unwrap();
        let created = gizmos.create(&PostParams::default(), &gizmo).await.unwrap();
        assert!(created.data["spec"].get("unknown").is_none(), "pruned by the schema");
        let invalid = json!({"apiVersion": resource.api_version, "kind": "Gizmo", "metadata": {"name": "bad"}, "spec": {"replicas": "two"}});
        let refused = gizmos.create(&PostParams::default(), &serde_json::from_value(invalid).unwrap()).await.unwrap_err();
        assert_eq!(code(refused), (422, "Invalid".into()));

        let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
        let name = format!("gizmos.{}", resource.group);
        let uid = crds.get(&name).await.unwrap().metadata.uid.unwrap_or_default();
        crds.delete(&name, &DeleteParams::default()).await.unwrap();
        // Gone once its instances are: the real server's cleanup finalizer deletes them first.
        let deleted = await_condition(crds, &name, conditions::is_deleted(&uid));
        tokio::time::timeout(Duration::from_secs(60), deleted).await.unwrap().unwrap();
        let after = gizmos.list(&ListParams::default()).await.unwrap_err();
        assert_eq!(code(after).0, 404);
    })
    .await;
}

#[tokio::test]
async fn informer_and_lister_follow_the_server() {
    informer_follows(false).await;
}

/// The same with the informer's list streamed through a watch (`sendInitialEvents`).
#[tokio::test]
async fn informer_with_streaming_lists_follows_the_server() {
    informer_follows(true).await;
}

async fn informer_follows(streaming: bool) {
    let name = if streaming { "informer (streaming list)" } else { "informer" };
    on_both(name, |env| async move {
        let api = env.config_maps();
        api.create(&PostParams::default(), &cm("before", json!({"app": "x"}), json!({}))).await.unwrap();
        let factory =
            SharedInformerFactory::new(env.client.clone()).namespace(&env.namespace).streaming_lists(streaming);
        let informer = factory.informer_for::<ConfigMap>();
        factory.start();
        tokio::time::timeout(Duration::from_secs(30), informer.wait_for_sync()).await.unwrap().unwrap();
        let lister = informer.lister().namespace(&env.namespace);
        assert!(lister.get("before").is_ok());

        api.create(&PostParams::default(), &cm("after", json!({"app": "x"}), json!({}))).await.unwrap();
        api.delete("before", &DeleteParams::default()).await.unwrap();
        let selector: kube::core::Selector = kube::core::Expression::Equal("app".into(), "x".into()).into();
        for _ in 0..3000 {
            let names: Vec<String> = lister.list(&selector).iter().filter_map(|c| c.metadata.name.clone()).collect();
            if names == ["after"] {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the lister never showed exactly `after`");
    })
    .await;
}

/// Whether the cluster runs kube-controller-manager's garbage collector
/// (`KUBE_CODEGEN_E2E_CONTROLLERS` names the controllers it runs, as envtest's
/// `KCG_ENVTEST_CONTROLLERS` does).
fn cluster_collects_garbage() -> bool {
    std::env::var("KUBE_CODEGEN_E2E_CONTROLLERS").is_ok_and(|c| c == "*" || c.contains("garbage-collector"))
}

/// Deleting an owner with each propagation policy: in the background and in the foreground
/// its dependents go too; orphaned, they stay, without the reference. Against a cluster this
/// needs its garbage collector; the fake has none, so there the dependents stay as they were.
#[tokio::test]
async fn deletion_propagates_to_dependents_by_policy() {
    if std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG").is_some() && !cluster_collects_garbage() {
        eprintln!("propagation: not run: the cluster's garbage collector is not named in KUBE_CODEGEN_E2E_CONTROLLERS");
        return;
    }
    on_both("propagation", |env| async move {
        let api = env.config_maps();
        for (policy, gone) in [("Background", true), ("Foreground", true), ("Orphan", false)] {
            let owner_name = format!("owner-{}", policy.to_lowercase());
            let owner = api.create(&PostParams::default(), &cm(&owner_name, json!({}), json!({}))).await.unwrap();
            let reference = json!([{
                "apiVersion": "v1", "kind": "ConfigMap", "name": owner_name,
                "uid": owner.metadata.uid, "blockOwnerDeletion": true,
            }]);
            let dependent_name = format!("dependent-{}", policy.to_lowercase());
            let dependent: ConfigMap =
                serde_json::from_value(json!({"metadata": {"name": dependent_name, "ownerReferences": reference}}))
                    .unwrap();
            api.create(&PostParams::default(), &dependent).await.unwrap();
            let params = match policy {
                "Background" => DeleteParams::background(),
                "Foreground" => DeleteParams::foreground(),
                _ => DeleteParams::orphan(),
            };
            api.delete(&owner_name, &params).await.unwrap();
            // The owner goes: at once on the fake; on a cluster once the garbage collector has
            // done what its policy's finalizer asks (`foregroundDeletion`, `orphan`).
            let uid = owner.metadata.uid.clone().unwrap_or_default();
            let owner_gone = await_condition(api.clone(), &owner_name, conditions::is_deleted(&uid));
            tokio::time::timeout(Duration::from_secs(60), owner_gone).await.unwrap().unwrap();
            let expected_gone = gone && !env.differs("no-controllers");
            let mut dependent = None;
            for _ in 0..600 {
                dependent = api.get_opt(&dependent_name).await.unwrap();
                let orphaned =
                    dependent.as_ref().is_some_and(|d| d.metadata.owner_references.as_ref().is_none_or(Vec::is_empty));
                let settled = match (expected_gone, env.differs("no-controllers")) {
                    (true, _) => dependent.is_none(),
                    (false, true) => true,
                    (false, false) => orphaned,
                };
                if settled {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            match (expected_gone, dependent) {
                (true, None) => {}
                (false, Some(d)) if env.differs("no-controllers") => {
                    assert!(d.metadata.owner_references.is_some_and(|r| !r.is_empty()), "{policy}: nothing changes it");
                }
                (false, Some(d)) => {
                    assert!(
                        d.metadata.owner_references.is_none_or(|r| r.is_empty()),
                        "{policy}: the reference is removed"
                    );
                }
                (gone, d) => panic!("{policy}: expected the dependent gone: {gone}, found {d:?}"),
            }
        }
    })
    .await;
}
