//! `kube-codegen list --json` over the shared corpus, compared with a listing computed here
//! from the raw documents by a deliberately simple, separate method.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    assert!(dir.is_dir(), "the shared corpus is not at {} (set KUBE_CODEGEN_CORPUS)", dir.display());
    dir
}

fn list_json(inputs: &[PathBuf]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-codegen")).arg("list").arg("--json").args(inputs).output().unwrap();
    assert!(out.status.success(), "list failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (group, version, plural) -> row, with verb and subresource lists as sets.
type Expected = BTreeMap<(String, String, String), Row>;

/// Subresource name -> (kind, verbs).
type Subresources = BTreeMap<String, (String, BTreeSet<String>)>;

#[derive(Debug, Default, PartialEq)]
struct Row {
    kind: String,
    namespaced: bool,
    verbs: BTreeSet<String>,
    subresources: Subresources,
}

fn rows_of(listing: &Value) -> Expected {
    let mut out = Expected::new();
    let mut last: Option<(String, String, String)> = None;
    for r in listing.as_array().unwrap() {
        let s = |k: &str| r[k].as_str().unwrap().to_owned();
        let key = (s("group"), s("version"), s("plural"));
        assert!(last.as_ref().is_none_or(|l| *l < key), "not sorted by (group, version, plural) at {key:?}");
        last = Some(key.clone());
        let set = |v: &Value| -> BTreeSet<String> {
            let names: Vec<String> = v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect();
            assert!(names.windows(2).all(|w| w[0] < w[1]), "verbs not sorted: {names:?}");
            names.into_iter().collect()
        };
        let subs = r["subresources"].as_array().unwrap();
        let names: Vec<&str> = subs.iter().map(|x| x["name"].as_str().unwrap()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "subresources not sorted: {names:?}");
        let row = Row {
            kind: s("kind"),
            namespaced: r["namespaced"].as_bool().unwrap(),
            verbs: set(&r["verbs"]),
            subresources: subs
                .iter()
                .map(|x| {
                    (x["name"].as_str().unwrap().to_owned(), (x["kind"].as_str().unwrap().to_owned(), set(&x["verbs"])))
                })
                .collect(),
        };
        out.insert(key, row);
    }
    out
}

/// The listing of an OpenAPI document by its paths, the way a person reads them.
fn expected_openapi(doc: &Value) -> Expected {
    let mut own: Expected = Expected::new();
    let mut subs: BTreeMap<(String, String, String), Subresources> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, version, mut rest) = if parts[0] == "api" && parts.len() > 2 {
            ("", parts[1], parts[2..].to_vec())
        } else if parts[0] == "apis" && parts.len() > 3 {
            (parts[1], parts[2], parts[3..].to_vec())
        } else {
            continue;
        };
        let watch_path = rest[0] == "watch";
        if watch_path {
            rest.remove(0);
        }
        let namespaced = rest.len() > 2 && rest[0] == "namespaces" && rest[1] == "{namespace}";
        if namespaced {
            rest.drain(..2);
        }
        let key = (group.to_owned(), version.to_owned(), rest[0].to_owned());
        for (method, op) in item.as_object().unwrap() {
            let Some(action) = op.get("x-kubernetes-action").and_then(Value::as_str) else { continue };
            let verb = match (action, method.as_str()) {
                _ if watch_path => "watch",
                ("watchlist", _) => "watch",
                ("post", _) | ("connect", "post") => "create",
                ("put", _) | ("connect", "put") => "update",
                ("connect", "get") => "get",
                ("connect", "patch") => "patch",
                ("connect", "delete") => "delete",
                ("connect", _) => continue,
                (a, _) => a,
            };
            let kind = op["x-kubernetes-group-version-kind"]["kind"].as_str().unwrap().to_owned();
            if rest.len() > 2 {
                let e = subs.entry(key.clone()).or_default().entry(rest[2].to_owned()).or_default();
                e.0 = kind;
                e.1.insert(verb.to_owned());
            } else {
                let r = own.entry(key.clone()).or_default();
                r.kind = kind;
                r.namespaced |= namespaced;
                r.verbs.insert(verb.to_owned());
            }
        }
    }
    for (key, s) in subs {
        if let Some(r) = own.get_mut(&key) {
            r.subresources = s;
        }
    }
    own
}

/// The listing of CRD files: each served version, all eight verbs, status and scale.
fn expected_crds(files: &[PathBuf]) -> Expected {
    let all: BTreeSet<String> =
        ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"].map(String::from).into();
    let gpu: BTreeSet<String> = ["get", "patch", "update"].map(String::from).into();
    let mut out = Expected::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs.into_iter().filter(|d| d["kind"] == "CustomResourceDefinition") {
            let spec = &doc["spec"];
            for v in spec["versions"].as_array().unwrap().iter().filter(|v| v["served"] == json!(true)) {
                let mut subresources = BTreeMap::new();
                if v["subresources"].get("status").is_some() {
                    subresources
                        .insert("status".to_owned(), (spec["names"]["kind"].as_str().unwrap().to_owned(), gpu.clone()));
                }
                if v["subresources"].get("scale").is_some() {
                    subresources.insert("scale".to_owned(), ("Scale".to_owned(), gpu.clone()));
                }
                let key = (
                    spec["group"].as_str().unwrap().to_owned(),
                    v["name"].as_str().unwrap().to_owned(),
                    spec["names"]["plural"].as_str().unwrap().to_owned(),
                );
                out.insert(
                    key,
                    Row {
                        kind: spec["names"]["kind"].as_str().unwrap().to_owned(),
                        namespaced: spec["scope"] == "Namespaced",
                        verbs: all.clone(),
                        subresources,
                    },
                );
            }
        }
    }
    out
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn counts(rows: &Expected) -> (usize, usize, usize) {
    let gvs: BTreeSet<_> = rows.keys().map(|(g, v, _)| (g, v)).collect();
    (rows.len(), gvs.len(), rows.values().map(|r| r.subresources.len()).sum())
}

fn assert_same(actual: &Expected, expected: &Expected) {
    for (key, want) in expected {
        assert_eq!(actual.get(key), Some(want), "resource {key:?}");
    }
    let extra: Vec<_> = actual.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(extra.is_empty(), "listed but not expected: {extra:?}");
}

#[test]
fn swagger_v1_36_lists_95_resources() {
    let path = corpus().join("openapi/v2/swagger-v1.36.0.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let actual = rows_of(&list_json(std::slice::from_ref(&path)));
    let expected = expected_openapi(&doc);
    assert_eq!(counts(&expected), (95, 36, 55));
    assert_same(&actual, &expected);

    // A few facts checked by hand, not by either method.
    let pods = &actual[&("".into(), "v1".into(), "pods".into())];
    let subs: Vec<&str> = pods.subresources.keys().map(String::as_str).collect();
    assert_eq!(
        subs,
        [
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status"
        ]
    );
    assert_eq!(pods.subresources["eviction"].0, "Eviction");
    let proxy: Vec<&str> = pods.subresources["proxy"].1.iter().map(String::as_str).collect();
    assert_eq!(proxy, ["create", "delete", "get", "patch", "update"]);
    let cs = &actual[&("".into(), "v1".into(), "componentstatuses".into())];
    assert!(!cs.namespaced && cs.verbs.iter().eq(["get", "list"]));
    let tr = &actual[&("authentication.k8s.io".into(), "v1".into(), "tokenreviews".into())];
    assert!(tr.verbs.iter().eq(["create"]));
    let deploy = &actual[&("apps".into(), "v1".into(), "deployments".into())];
    assert_eq!(deploy.subresources["scale"].0, "Scale");
}

#[test]
fn openapi_v3_group_documents_list_their_resources() {
    let dir = corpus().join("openapi/v3/v1.27-client-go-testdata");
    let mut expected = Expected::new();
    for file in yaml_files(&dir) {
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        expected.extend(expected_openapi(&doc));
        // Each document also lists on its own.
        assert_same(&rows_of(&list_json(std::slice::from_ref(&file))), &expected_openapi(&doc));
    }
    let actual = rows_of(&list_json(&[dir]));
    assert_same(&actual, &expected);
    assert!(actual.contains_key(&("batch".into(), "v1".into(), "cronjobs".into())));
}

#[test]
fn crd_folder_lists_111_resources() {
    let dir = corpus().join("crds");
    let actual = rows_of(&list_json(std::slice::from_ref(&dir)));
    let expected = expected_crds(&yaml_files(&dir));
    assert_eq!((expected.len(), counts(&expected).1), (111, 43));
    assert_same(&actual, &expected);
}

#[test]
fn each_crd_variant_lists_on_its_own() {
    let files = yaml_files(&corpus().join("crds-variants"));
    assert!(!files.is_empty());
    for file in files {
        let actual = rows_of(&list_json(std::slice::from_ref(&file)));
        let expected = expected_crds(std::slice::from_ref(&file));
        assert!(!expected.is_empty(), "{}", file.display());
        assert_same(&actual, &expected);
    }
}

#[test]
fn table_output_ends_with_totals() {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-codegen"))
        .arg("list")
        .arg(corpus().join("openapi/v2/swagger-v1.36.0.json"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("GROUP/VERSION"));
    assert!(text.lines().any(|l| l.split_whitespace().eq([
        "apps/v1",
        "Deployment",
        "deployments",
        "Namespaced",
        "all",
        "scale,status"
    ])));
    assert!(text.ends_with("95 resources in 36 group-versions, 55 subresources\n"), "{text}");
}
