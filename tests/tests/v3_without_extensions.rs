//! OpenAPI v3 group documents without Kubernetes' extensions read as with them: documents as
//! Kubernetes served them before `x-kubernetes-action`, or with the extensions stripped. What
//! cannot be inferred has one documented answer: a subresource whose operations name no kind
//! (a connect subresource such as `nodes/{name}/proxy`) is of its parent's kind.

use std::path::Path;

use kube_codegen_openapi::Model;
use kube_codegen_tests::corpus;
use serde_json::Value;

/// Copies the v3 documents into `dir`, without the keys `strip` rejects (at any depth).
fn stripped(dir: &Path, strip: &dyn Fn(&[String], &str) -> bool) -> usize {
    fn walk(v: Value, path: &mut Vec<String>, strip: &dyn Fn(&[String], &str) -> bool) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    if strip(path, &k) {
                        continue;
                    }
                    path.push(k.clone());
                    let v = walk(v, path, strip);
                    path.pop();
                    out.insert(k, v);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.into_iter().map(|v| walk(v, path, strip)).collect()),
            other => other,
        }
    }
    let mut n = 0;
    for entry in walkdir(&corpus().join("openapi/v3")) {
        let doc: Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
        if !doc.get("openapi").and_then(Value::as_str).is_some_and(|v| v.starts_with('3')) {
            continue;
        }
        let out = walk(doc, &mut Vec::new(), strip);
        std::fs::write(dir.join(entry.file_name().unwrap()), serde_json::to_vec(&out).unwrap()).unwrap();
        n += 1;
    }
    n
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// (group, version, plural) -> (kind, scope, verbs, all namespaces, type name, subresources as
/// (name, kind, verbs, connect)).
fn summary(m: &Model) -> Vec<String> {
    m.resources
        .iter()
        .map(|r| {
            let ty = r.ty.map(|t| m.types.get(t).name.clone());
            let subs: Vec<String> = r
                .subresources
                .iter()
                .map(|s| format!("{}:{}/{}:{:?}:{}", s.name, s.kind.group, s.kind.kind, s.verbs, s.connect))
                .collect();
            format!(
                "{}/{} {} {} {:?} {:?} all={} ty={ty:?} [{}]",
                r.group,
                r.version,
                r.plural,
                r.kind,
                r.scope,
                r.verbs,
                r.all_namespaces,
                subs.join(" ")
            )
        })
        .collect()
}

#[test]
fn without_operation_extensions_the_reading_is_the_same() {
    let full = kube_codegen_openapi::read(&[corpus().join("openapi/v3")]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Operations lose x-kubernetes-action and their group-version-kind; schemas keep theirs.
    let n = stripped(dir.path(), &|path, key| {
        path.first().is_some_and(|p| p == "paths")
            && (key == "x-kubernetes-action" || key == "x-kubernetes-group-version-kind")
    });
    assert!(n >= 5, "{n} v3 documents");
    let bare = kube_codegen_openapi::read(&[dir.path()]).unwrap();
    assert_eq!(full.resources.len(), bare.resources.len());
    assert_eq!(full.types.iter().count(), bare.types.iter().count());
    let mut parent_kinds = 0;
    for (a, b) in full.resources.iter().zip(&bare.resources) {
        // Connect subresources' option kinds are named only by the operations' extension.
        let mut a = a.clone();
        for (sa, sb) in a.subresources.iter_mut().zip(&b.subresources) {
            if sa.kind != sb.kind && sa.connect && sb.kind.kind == b.kind {
                sa.kind = sb.kind.clone();
                parent_kinds += 1;
            }
        }
        let one = Model { resources: vec![a], types: full.types.clone() };
        let other = Model { resources: vec![b.clone()], types: bare.types.clone() };
        assert_eq!(summary(&one), summary(&other));
    }
    assert!(parent_kinds > 0, "no connect subresource was read without its kind");
}

#[test]
fn without_any_group_version_kind_every_resource_is_still_read() {
    let full = kube_codegen_openapi::read(&[corpus().join("openapi/v3")]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    stripped(dir.path(), &|_, key| key == "x-kubernetes-action" || key == "x-kubernetes-group-version-kind");
    let bare = kube_codegen_openapi::read(&[dir.path()]).unwrap();
    let identity = |m: &Model| -> Vec<String> {
        m.resources
            .iter()
            .map(|r| {
                let ty = r.ty.map(|t| m.types.get(t).name.clone());
                format!("{}/{} {} {} {:?} {:?} {ty:?}", r.group, r.version, r.plural, r.kind, r.scope, r.verbs)
            })
            .collect()
    };
    assert_eq!(identity(&full), identity(&bare));
}
