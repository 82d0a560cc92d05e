//! `--from-cluster` against the in-memory API server: the CRDs a cluster serves generate what
//! their files do, documents are cached by hash, and failures name the server and document.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube_codegen::cluster;
use kube_codegen_runtime::fake::{ApiServer, Reaction, Verb};
use serde_json::{Value, json};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    assert!(dir.is_dir(), "the shared corpus is not at {} (set KUBE_CODEGEN_CORPUS)", dir.display());
    dir
}

/// Every CRD in a corpus folder, in file order.
fn crds_in(dir: &str) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus().join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut crds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        crds.extend(docs.into_iter().filter(|d| d["kind"] == "CustomResourceDefinition"));
    }
    assert!(!crds.is_empty());
    crds
}

/// A server with these CRDs installed through its API, as `kubectl apply` would.
async fn server_with(crds: &[Value]) -> ApiServer {
    let server = ApiServer::new();
    server.register::<CustomResourceDefinition>();
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::all_with(server.client(), &kube::discovery::ApiResource::erase::<CustomResourceDefinition>(&()));
    for crd in crds {
        let object = serde_json::from_value(crd.clone()).unwrap();
        api.create(&Default::default(), &object).await.unwrap();
    }
    server
}

/// Each CRD as its own file named after it, as the cluster's documents are named.
fn crd_files(crds: &[Value], dir: &Path) -> Vec<PathBuf> {
    crds.iter()
        .map(|crd| {
            let path = dir.join(crd["metadata"]["name"].as_str().unwrap());
            std::fs::write(&path, serde_json::to_vec(crd).unwrap()).unwrap();
            path
        })
        .collect()
}

fn settings() -> kube_codegen::Settings {
    kube_codegen::Settings::default()
}

/// The CRDs in sets a cluster can hold at once: a name appears once in each (the corpus
/// repeats names: one file per version, and older variants).
fn installable_sets(crds: Vec<Value>) -> Vec<Vec<Value>> {
    let mut sets: Vec<Vec<Value>> = Vec::new();
    for crd in crds {
        let name = &crd["metadata"]["name"];
        match sets.iter_mut().find(|set| set.iter().all(|c| &c["metadata"]["name"] != name)) {
            Some(set) => set.push(crd),
            None => sets.push(vec![crd]),
        }
    }
    sets
}

/// Every shared CRD, served by the fake, generates byte for byte what its file generates (in
/// as many servers as it takes to hold each name once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shared_crd_generates_from_the_cluster_as_from_its_file() {
    let mut all = crds_in("crds");
    all.extend(crds_in("crds-variants"));
    let total = all.len();
    let sets = installable_sets(all);
    assert_eq!(sets.iter().map(Vec::len).sum::<usize>(), total);
    for (set, crds) in sets.iter().enumerate() {
        let server = server_with(crds).await;
        let fetched = cluster::fetch(&server.client(), "https://cluster.test", &[], None).await.unwrap();
        assert_eq!(fetched.documents.len(), crds.len(), "one document per CRD, and no v3 documents for their groups");
        let from_cluster = kube_codegen::generate(&fetched.model().unwrap(), &settings()).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let files = crd_files(crds, dir.path());
        let from_files = kube_codegen::generate(&kube_codegen_openapi::read(&files).unwrap(), &settings()).unwrap();
        assert_eq!(from_cluster.0.len(), from_files.0.len(), "{set}");
        for (path, text) in &from_files.0 {
            assert!(from_cluster.0.get(path) == Some(text), "{set}: {} differs", path.display());
        }
    }
}

/// `--only` fetches only the groups it names, and selects as it does for files.
#[tokio::test]
async fn only_fetches_the_groups_it_names() {
    let crds = installable_sets(crds_in("crds")).swap_remove(0);
    let server = server_with(&crds).await;
    let only = vec!["certificates.cert-manager.io".to_owned()];
    let fetched = cluster::fetch(&server.client(), "https://cluster.test", &only, None).await.unwrap();
    let names: Vec<String> =
        fetched.documents.iter().map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| n.ends_with(".cert-manager.io")), "{names:?}");
    assert!(names.contains(&"certificates.cert-manager.io".to_owned()));
}

/// The fake's own v3 document of a CRD group-version reads into the same resources as the CRD:
/// scope, verbs, subresources, kinds.
#[tokio::test]
async fn the_fakes_v3_documents_describe_the_crds_resources() {
    let crds: Vec<Value> = crds_in("crds")
        .into_iter()
        .filter(|c| c["metadata"]["name"].as_str().is_some_and(|n| n.ends_with("cert-manager.io")))
        .collect();
    let server = server_with(&crds).await;
    let client = server.client();
    let index: Value = client.request(http::Request::get("/openapi/v3").body(Vec::new()).unwrap()).await.unwrap();
    let url = index["paths"]["apis/cert-manager.io/v1"]["serverRelativeURL"].as_str().unwrap();
    assert!(url.contains("?hash="), "{url}");
    let document: Value = client.request(http::Request::get(url).body(Vec::new()).unwrap()).await.unwrap();
    let from_v3 = kube_codegen_openapi::read_values(vec![(PathBuf::from("v1"), document)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = crd_files(&crds, dir.path());
    let from_crds = kube_codegen_openapi::read(&files).unwrap();
    let summary = |model: &kube_codegen::Model| -> Vec<String> {
        model
            .resources
            .iter()
            .filter(|r| r.group == "cert-manager.io")
            .map(|r| {
                let subs: Vec<&str> = r.subresources.iter().map(|s| s.name.as_str()).collect();
                format!("{} {} {:?} {:?} {:?} {:?}", r.plural, r.kind, r.scope, r.verbs, subs, r.list_kind)
            })
            .collect()
    };
    assert_eq!(summary(&from_v3), summary(&from_crds));
    assert_eq!(summary(&from_v3).len(), 4);
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kube-codegen")).args(args).output().unwrap()
}

async fn run_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args)
    })
    .await
    .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir`, relative, with its content.
fn tree(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().to_owned(), std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

/// A small OpenAPI v3 document of one built-in group-version, written here: one namespaced
/// resource with a status subresource.
fn gizmo_document(with_status: bool) -> Value {
    let gvk = json!({"group": "gizmo.test", "version": "v1", "kind": "Gizmo"});
    let op = |action: &str| {
        json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/test.gizmo.v1.Gizmo"}}}}}})
    };
    let mut paths = json!({
        "/apis/gizmo.test/v1/namespaces/{namespace}/gizmos": {"get": op("list"), "post": op("post")},
        "/apis/gizmo.test/v1/namespaces/{namespace}/gizmos/{name}": {"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")},
    });
    if with_status {
        paths["/apis/gizmo.test/v1/namespaces/{namespace}/gizmos/{name}/status"] =
            json!({"get": op("get"), "put": op("put")});
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "gizmos", "version": "v1"},
        "paths": paths,
        "components": {"schemas": {
            "test.gizmo.v1.Gizmo": {
                "type": "object",
                "description": "A gizmo.",
                "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "size": {"type": "integer", "format": "int32"}},
                "x-kubernetes-group-version-kind": [gvk],
            },
        }},
    })
}

/// The CLI end to end over HTTP: a kubeconfig, a CRD and a built-in-like group-version, the
/// cache by hash, `list --from-cluster`, and a file input of the same definitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_generates_from_a_served_cluster_and_caches_by_hash() {
    let crds: Vec<Value> =
        crds_in("crds").into_iter().filter(|c| c["metadata"]["name"] == "certificates.cert-manager.io").collect();
    let server = server_with(&crds).await;
    server.load_openapi(gizmo_document(true)).unwrap();
    let serving = server.serve("127.0.0.1:0").await.unwrap();
    let kubeconfig = serving.kubeconfig().to_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let args = |out: &Path| -> Vec<String> {
        ["generate", "--from-cluster", "--kubeconfig", &kubeconfig, "--cache-dir", cache.to_str().unwrap(), "--out"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([out.to_str().unwrap().to_owned()])
            .collect()
    };
    let first = run_async(args(&out)).await;
    assert!(first.status.success(), "{}", stderr(&first));

    // The same definitions from files.
    let inputs = dir.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    let mut files = crd_files(&crds, &inputs);
    files.push(inputs.join("v1"));
    std::fs::write(&files[1], serde_json::to_vec(&gizmo_document(true)).unwrap()).unwrap();
    let from_files = dir.path().join("from-files");
    let mut args_files: Vec<&str> = vec!["generate"];
    args_files.extend(files.iter().map(|f| f.to_str().unwrap()));
    args_files.extend(["--out", from_files.to_str().unwrap()]);
    let files_run = run(&args_files);
    assert!(files_run.status.success(), "{}", stderr(&files_run));
    assert_eq!(tree(&out), tree(&from_files));
    assert!(tree(&out).iter().any(|(_, text)| text.contains("pub struct Gizmo")));

    // The document is cached under its hash: a changed cache file is what the next run reads.
    let cached: Vec<PathBuf> = tree(&cache).into_iter().map(|(p, _)| cache.join(p)).collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    std::fs::write(&cached[0], serde_json::to_vec(&gizmo_document(false)).unwrap()).unwrap();
    let listed = run_async(vec![
        "list".into(),
        "--from-cluster".into(),
        "--kubeconfig".into(),
        kubeconfig.clone(),
        "--cache-dir".into(),
        cache.to_str().unwrap().into(),
    ])
    .await;
    let table = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.status.success(), "{}", stderr(&listed));
    let gizmos = table.lines().find(|l| l.contains("gizmos")).unwrap();
    assert!(!gizmos.contains("status"), "the cached document (without status) was read: {gizmos}");
    assert!(table.lines().any(|l| l.contains("certificates") && l.contains("status")), "{table}");

    // Without the cache, the server's document again.
    let fresh = run_async(vec![
        "list".into(),
        "--from-cluster".into(),
        "--kubeconfig".into(),
        kubeconfig.clone(),
        "--no-cache".into(),
    ])
    .await;
    let table = String::from_utf8_lossy(&fresh.stdout).into_owned();
    assert!(table.lines().any(|l| l.contains("gizmos") && l.contains("status")), "{table}");
}

/// Failures name the server and the document, exit 2, and write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_server_and_the_document() {
    let server = ApiServer::new();
    server.register::<CustomResourceDefinition>();
    let mut broken = gizmo_document(true);
    broken["components"]["schemas"]["test.gizmo.v1.Gizmo"]["properties"]["size"] = json!({"type": 7});
    server.load_openapi(broken).unwrap();
    let serving = server.serve("127.0.0.1:0").await.unwrap();
    let kubeconfig = serving.kubeconfig().to_str().unwrap().to_owned();
    let url = serving.url();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let generate = |kubeconfig: String| {
        vec![
            "generate".to_owned(),
            "--from-cluster".into(),
            "--no-cache".into(),
            "--kubeconfig".into(),
            kubeconfig,
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };

    // A document that does not read: its URL and the JSON pointer.
    let bad = run_async(generate(kubeconfig.clone())).await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let message = stderr(&bad);
    assert!(message.contains(&format!("{url}/openapi/v3/apis/gizmo.test/v1")), "{message}");
    assert!(message.contains("/components/schemas/test.gizmo.v1.Gizmo/properties/size"), "{message}");
    assert!(!out.exists());

    // Forbidden: the request and the server's reason.
    server.react(Verb::List, "customresourcedefinitions", |_| Reaction::Fail {
        code: 403,
        reason: "Forbidden".into(),
        retry_after: None,
    });
    let forbidden = run_async(generate(kubeconfig.clone())).await;
    assert_eq!(forbidden.status.code(), Some(2));
    let message = stderr(&forbidden);
    assert!(message.contains(&format!("{url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions")), "{message}");
    assert!(message.contains("403 Forbidden"), "{message}");
    assert!(!out.exists());

    // Unreachable: the server's address and that it could not be reached.
    let address = serving.addr();
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    drop(serving);
    let gone = dir.path().join("gone.kubeconfig");
    std::fs::write(&gone, config).unwrap();
    let unreachable = run_async(generate(gone.to_str().unwrap().to_owned())).await;
    assert_eq!(unreachable.status.code(), Some(2));
    let message = stderr(&unreachable);
    assert!(message.contains(&address.to_string()) && message.contains("cannot reach the API server"), "{message}");
    assert!(!out.exists());
}

/// The fake serving the v1.36 API (its swagger loaded, served per group-version as
/// `/openapi/v3`) generates what the swagger file generates, in both type modes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v1_36_api_from_the_cluster_generates_as_its_swagger_file() {
    let swagger = corpus().join("openapi/v2/swagger-v1.36.0.json");
    let server = ApiServer::new();
    server.register::<CustomResourceDefinition>();
    server.load_openapi(serde_json::from_slice(&std::fs::read(&swagger).unwrap()).unwrap()).unwrap();
    let fetched = cluster::fetch(&server.client(), "https://cluster.test", &[], None).await.unwrap();
    assert!(fetched.documents.len() > 30, "one document per group-version: {}", fetched.documents.len());
    let from_cluster = fetched.model().unwrap();
    let from_file = kube_codegen_openapi::read(&[&swagger]).unwrap();
    for types in [kube_codegen::TypeMode::MapK8sOpenapi, kube_codegen::TypeMode::Generate] {
        let settings = kube_codegen::Settings { types, ..settings() };
        let a = kube_codegen::generate(&from_cluster, &settings).unwrap();
        let b = kube_codegen::generate(&from_file, &settings).unwrap();
        let only_file: Vec<_> = b.0.keys().filter(|p| !a.0.contains_key(*p)).collect();
        let only_cluster: Vec<_> = a.0.keys().filter(|p| !b.0.contains_key(*p)).collect();
        assert!(only_file.is_empty() && only_cluster.is_empty(), "{types:?}: {only_file:?} vs {only_cluster:?}");
        for (path, text) in &b.0 {
            assert!(a.0.get(path) == Some(text), "{types:?}: {} differs", path.display());
        }
    }
}

/// A real kube-apiserver (`KUBE_CODEGEN_E2E_KUBECONFIG`; CI starts envtest's v1.36.3): its
/// `/openapi/v3` documents read into one model, though each names only its own group's kinds
/// of the definitions they share (`DeleteOptions` lists the core group's and its own), and
/// the model generates in both type modes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_api_servers_documents_read_and_generate() {
    let Some(path) = std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG") else {
        eprintln!("a real API server's documents: SKIPPED: KUBE_CODEGEN_E2E_KUBECONFIG is not set");
        return;
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).unwrap();
    let fetched = cluster::fetch(&client, &server, &[], None).await.unwrap();
    let model = fetched.model().unwrap();
    let served = |plural: &str, group: &str| model.resources.iter().any(|r| r.plural == plural && r.group == group);
    assert!(served("deployments", "apps") && served("pods", "") && served("leases", "coordination.k8s.io"));
    let delete_options = model.types.iter().find(|d| d.name == "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions");
    let groups = delete_options.map(|d| d.gvks.iter().filter(|g| g.kind == "DeleteOptions").count()).unwrap_or(0);
    assert!(groups > 10, "DeleteOptions with the kinds of every document: {groups}");
    for types in [kube_codegen::TypeMode::MapK8sOpenapi, kube_codegen::TypeMode::Generate] {
        let files = kube_codegen::generate(&model, &kube_codegen::Settings { types, ..settings() }).unwrap();
        assert!(files.0.keys().any(|p| p.ends_with("apps/v1.rs")), "{types:?}");
    }
}
