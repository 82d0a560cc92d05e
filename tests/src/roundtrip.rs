//! The round-trip binary the generated-code tests compile into a harness.

/// Source of a binary that reads a JSON array of objects and prints `ok`, `skip` or `FAIL`
/// for each; `arms` are `("apiVersion", "Kind") => check::<Type>(v),` lines.
pub fn source(arms: &str) -> String {
    TEMPLATE.replace("ARMS", arms)
}

/// `("apiVersion", "Kind") => check::<Type>(v),` for each group-version-kind of a generated
/// definition, and for a resource's definition also `check_apply::<TypeApply>(v)` with its apply
/// configuration from `apply_paths`; `module` is where the harness holds the generated tree.
pub fn arms(
    model: &kube_codegen_openapi::Model,
    paths: &std::collections::BTreeMap<String, String>,
    apply_paths: &std::collections::BTreeMap<String, String>,
    module: &str,
) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut arms = String::new();
    let local = |path: &String| {
        if path.starts_with("k8s_openapi::") { path.clone() } else { format!("harness::{module}::{path}") }
    };
    for def in model.types.iter() {
        let Some(path) = paths.get(&def.name) else { continue };
        let path = local(path);
        let apply = match apply_paths.get(&def.name) {
            Some(apply) => format!(".and_then(|()| check_apply::<{}>(v))", local(apply)),
            None => String::new(),
        };
        for g in &def.gvks {
            let api_version = if g.group.is_empty() { g.version.clone() } else { format!("{}/{}", g.group, g.version) };
            if seen.insert((api_version.clone(), g.kind.clone())) {
                arms.push_str(&format!("        ({api_version:?}, {:?}) => check::<{path}>(v){apply},\n", g.kind));
            }
        }
    }
    arms
}

const TEMPLATE: &str = r#"//! Reads a JSON array of objects; prints `ok`, `skip` or `FAIL` for each.
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// Whether `out` says what `input` says. The accepted differences, each a rule of the API:
/// - a `null` field is an absent one (Kubernetes treats them alike);
/// - a required list or map the server sent as `null` (Go's nil) may come back empty;
/// - objects in a list's `items` gain `apiVersion` and `kind` (the server leaves them out;
///   typed clients write them, as k8s-openapi does).
fn equivalent(input: &Value, out: &Value, in_items: bool) -> Result<(), String> {
    match (input, out) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys()) {
                let (x, y) = (a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null));
                let empty = matches!(y, Value::Array(v) if v.is_empty()) || matches!(y, Value::Object(m) if m.is_empty());
                let added_type = in_items && x.is_null() && (key == "apiVersion" || key == "kind");
                if (x.is_null() && (y.is_null() || empty)) || added_type {
                    continue;
                }
                equivalent(x, y, key == "items").map_err(|e| format!("/{key}{e}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().try_for_each(|(i, (x, y))| equivalent(x, y, in_items).map_err(|e| format!("/{i}{e}")))
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!(": in {a}, out {b}")),
    }
}

fn check<K: Serialize + DeserializeOwned>(v: &Value) -> Result<(), String> {
    let typed: K = serde_json::from_value(v.clone()).map_err(|e| format!("deserialize: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("serialize: {e}"))?;
    equivalent(v, &back, false).map_err(|e| format!("round trip differs at {e}"))
}

/// Metadata fields only the server writes, which apply configurations leave out.
const SERVER_SET: &[&str] =
    &["creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink"];

/// The object as an apply configuration `A` reads and writes it: the same, minus the fields
/// only the server sets (at the top and in embedded objects' metadata alike).
fn check_apply<A: Serialize + DeserializeOwned>(v: &Value) -> Result<(), String> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(meta)) = m.get_mut("metadata") {
                    for key in SERVER_SET {
                        meta.remove(*key);
                    }
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let config: A = serde_json::from_value(v.clone()).map_err(|e| format!("apply configuration: deserialize: {e}"))?;
    let back = serde_json::to_value(&config).map_err(|e| format!("apply configuration: serialize: {e}"))?;
    let mut expected = v.clone();
    strip(&mut expected);
    equivalent(&expected, &back, false).map_err(|e| format!("apply configuration differs at {e}"))
}

fn main() {
    let path = std::env::args().nth(1).expect("a JSON file");
    let values: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for v in &values {
        let key = (v["apiVersion"].as_str().unwrap_or(""), v["kind"].as_str().unwrap_or(""));
        let name = v["metadata"]["name"].as_str().unwrap_or("");
        #[allow(unreachable_patterns)]
        let result = match key {
ARMS            _ => {
                println!("skip {} {} {name}", key.0, key.1);
                continue;
            }
        };
        match result {
            Ok(()) => println!("ok {} {} {name}", key.0, key.1),
            Err(e) => println!("FAIL {} {} {name}: {e}", key.0, key.1),
        }
    }
}
"#;
