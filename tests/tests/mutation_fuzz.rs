//! Structure-aware fuzzing on stable, within a bounded budget: real CRDs and OpenAPI documents
//! from the corpus are parsed, mutated as documents (keys deleted, value types swapped, odd and
//! colliding names, `List` wrappers, odd kinds and plurals, enums and versions), then read and
//! generated in both type modes. Every case must end in a model and code, or a clear error:
//! never a panic. Random bytes rarely make a document the reader gets far into; these do.
//!
//! `KUBE_CODEGEN_FUZZ_CASES` sets the number of cases (default 2,000); a failure prints the
//! case's seed, and `KUBE_CODEGEN_FUZZ_SEED` replays one case.

use std::path::{Path, PathBuf};

use kube_codegen::{Settings, TypeMode};
use kube_codegen_tests::corpus;
use serde_json::{Map, Value, json};

/// A small deterministic generator (splitmix64): a failing case must replay from its seed on
/// any machine, and this test needs nothing more from a random source.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const ODD_NAMES: &[&str] = &[
    "", "-", "_", "type", "self", "Self", "super", "crate", "1st", "a b", "foo-bar", "foo_bar", "fooBar", "FooBar",
    "Ωmega", "$ref", "r#type", "Option", "String", "Vec", "Box", "Result", "Default", "mod", "fn", "x-y.z/w", "\u{0}",
    "'quote'", "\"", "\\", "}", "*/", "//", "Other", "None", "Some", "std", "core",
];

const ODD_KINDS: &[&str] = &[
    "fooBar",
    "Foo-Bar",
    "Option",
    "Result",
    "String",
    "Box",
    "Vec",
    "Self",
    "type",
    "Type",
    "Client",
    "Some",
    "WidgetSpec",
    "X",
    "A1",
    "list",
    "List",
    "Default",
    "Widget-List",
];

const ODD_PLURALS: &[&str] = &["my-widgets", "fn", "type", "self", "a", "x-y", "widgets2", "3d"];

/// Every JSON pointer of `doc` (objects and arrays), as paths of keys.
fn paths(doc: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    at.push(k.clone());
                    walk(v, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    at.push(i.to_string());
                    walk(v, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    out
}

fn at_mut<'a>(doc: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |v, k| match v {
        Value::Object(m) => m.get_mut(k),
        Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

/// The `properties` objects of a document: where names become Rust fields.
fn property_maps(doc: &Value) -> Vec<Vec<String>> {
    paths(doc).into_iter().filter(|p| p.last().is_some_and(|k| k == "properties")).collect()
}

fn other_value(rng: &mut Rng, v: &Value) -> Value {
    let choices = [
        Value::Null,
        json!(true),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!([]),
        json!({}),
        json!([1, "a", null]),
        json!({"type": "object"}),
        json!({"$ref": "#/definitions/Nope"}),
    ];
    loop {
        let c = rng.pick(&choices).clone();
        if std::mem::discriminant(&c) != std::mem::discriminant(v) || rng.below(4) == 0 {
            return c;
        }
    }
}

/// One mutation of `doc`; a line saying what it did.
fn mutate(rng: &mut Rng, doc: &mut Value) -> String {
    let all = paths(doc);
    match rng.below(10) {
        0 => {
            // Delete a key.
            let objects: Vec<&Vec<String>> = all.iter().filter(|p| !p.is_empty()).collect();
            if objects.is_empty() {
                return "nothing to delete".into();
            }
            let path = (*rng.pick(&objects)).clone();
            let (last, parent) = path.split_last().map(|(l, p)| (l.clone(), p.to_vec())).unwrap_or_default();
            match at_mut(doc, &parent) {
                Some(Value::Object(m)) => {
                    m.remove(&last);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>()
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
                _ => {}
            }
            format!("delete /{}", path.join("/"))
        }
        1 | 2 => {
            // Swap a value's type.
            let path = rng.pick(&all).clone();
            if let Some(v) = at_mut(doc, &path) {
                *v = other_value(rng, v);
            }
            format!("swap type at /{}", path.join("/"))
        }
        3 | 4 => {
            // Rename a property, or add colliding ones.
            let maps = property_maps(doc);
            if maps.is_empty() {
                return "no properties".into();
            }
            let path = rng.pick(&maps).clone();
            let name = rng.pick(ODD_NAMES).to_string();
            let colliding = rng.below(2) == 0;
            if let Some(Value::Object(m)) = at_mut(doc, &path) {
                if colliding {
                    for n in ["fooBar", "foo-bar", "foo_bar", "FooBar", name.as_str()] {
                        m.insert(n.to_owned(), json!({"type": "object", "properties": {"a": {"type": "string"}}}));
                    }
                } else if let Some(key) = m.keys().nth(rng.below(m.len())).cloned()
                    && let Some(v) = m.remove(&key)
                {
                    m.insert(name.clone(), v);
                }
            }
            format!("names at /{} ({name}, colliding: {colliding})", path.join("/"))
        }
        5 => {
            // A List wrapper, sometimes a broken one.
            let inner = std::mem::take(doc);
            *doc = match rng.below(4) {
                0 => json!({"kind": "List"}),
                1 => json!({"kind": "List", "items": inner}),
                2 => json!({"apiVersion": "v1", "kind": "List", "items": [inner, {"kind": "List", "items": [3]}]}),
                _ => json!({"apiVersion": "v1", "kind": "List", "items": [inner]}),
            };
            "List wrapper".into()
        }
        6 => {
            // Odd kinds and plurals.
            let kind = rng.pick(ODD_KINDS).to_string();
            let plural = rng.pick(ODD_PLURALS).to_string();
            if let Some(Value::Object(names)) = at_mut(doc, &["spec".into(), "names".into()]) {
                names.insert("kind".into(), json!(kind));
                names.insert("plural".into(), json!(plural));
                names.insert("listKind".into(), json!(format!("{kind}List")));
            }
            if let Some(Value::Object(meta)) = at_mut(doc, &["metadata".into()]) {
                let group = meta.get("name").and_then(Value::as_str).and_then(|n| n.split_once('.')).map(|(_, g)| g);
                let group = group.unwrap_or("example.com").to_owned();
                meta.insert("name".into(), json!(format!("{plural}.{group}")));
            }
            format!("kind {kind}, plural {plural}")
        }
        7 => {
            // Odd enum values on some property.
            let maps = property_maps(doc);
            if maps.is_empty() {
                return "no properties".into();
            }
            let path = rng.pick(&maps).clone();
            if let Some(Value::Object(m)) = at_mut(doc, &path) {
                m.insert(
                    "mode".into(),
                    json!({"type": "string", "enum": ["", "-", "a b", "Other", "1", "self", "foo-bar", "foo_bar", null]}),
                );
                m.insert("level".into(), json!({"type": "integer", "enum": [0, -1, 1, 9223372036854775807i64]}));
            }
            format!("enums at /{}", path.join("/"))
        }
        8 => {
            // Versions: a duplicate, an odd name, or served/storage flipped.
            if let Some(Value::Array(versions)) = at_mut(doc, &["spec".into(), "versions".into()])
                && let Some(first) = versions.first().cloned()
            {
                let mut copy = first;
                let choice = rng.below(3);
                let name = rng.pick(&["v2", "v1beta1", "type", "V1", "v1.0", ""]).to_string();
                // A version mutated into a non-object earlier is copied as it is.
                if let Value::Object(m) = &mut copy {
                    match choice {
                        0 => {}
                        1 => {
                            m.insert("name".into(), json!(name));
                        }
                        _ => {
                            m.insert("served".into(), json!(false));
                        }
                    }
                }
                versions.push(copy);
            }
            "versions".into()
        }
        _ => {
            // A `$ref` or `allOf` somewhere it may not belong.
            let maps = property_maps(doc);
            if maps.is_empty() {
                return "no properties".into();
            }
            let path = rng.pick(&maps).clone();
            if let Some(Value::Object(m)) = at_mut(doc, &path) {
                let target = rng.pick(&["#/definitions/A", "#/components/schemas/B", "other.json#/x", ""]);
                m.insert("r".into(), json!({"allOf": [{"$ref": target}]}));
            }
            format!("$ref at /{}", path.join("/"))
        }
    }
}

/// The seed documents: every corpus CRD file (as JSON), the v3 group documents, and a small
/// swagger made of a few of the v2 spec's paths and definitions.
fn seeds() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(corpus().join("crds")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for d in docs.into_iter().filter(|d| !d.is_null()) {
            out.push((f.file_name().unwrap().to_string_lossy().into_owned(), d));
        }
    }
    for name in ["api__v1_openapi.json", "apis__apps__v1_openapi.json"] {
        let found = find(&corpus().join("openapi/v3"), name);
        if let Some(f) = found {
            out.push((name.to_owned(), serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()));
        }
    }
    let swagger: Value =
        serde_json::from_slice(&std::fs::read(corpus().join("openapi/v2/swagger-v1.36.0.json")).unwrap()).unwrap();
    let keep = |p: &str| p.contains("/configmaps") || p.contains("/namespaces/{name}") || p.contains("/leases");
    let paths: Map<String, Value> = swagger["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| keep(p))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut small = swagger.clone();
    small["paths"] = Value::Object(paths);
    out.push(("swagger (configmaps, namespaces, leases)".to_owned(), small));
    out
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()? {
        let p = e.ok()?.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Reads and generates `doc`: `Ok` when it ended in code or an error, `Err` on a panic.
fn run_case(doc: &Value, types: TypeMode) -> Result<bool, String> {
    std::panic::catch_unwind(|| {
        let bytes = serde_json::to_vec(doc).unwrap_or_default();
        let Ok(model) = kube_codegen_openapi::read_bytes(Path::new("case.json"), &bytes) else {
            return false;
        };
        let settings = Settings { types, ..Settings::default() };
        kube_codegen::generate(&model, &settings).is_ok()
    })
    .map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn mutated_documents_never_panic_the_reader_or_the_generator() {
    let cases: usize = std::env::var("KUBE_CODEGEN_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000);
    let only: Option<u64> = std::env::var("KUBE_CODEGEN_FUZZ_SEED").ok().and_then(|n| n.parse().ok());
    let seeds = seeds();
    assert!(seeds.len() > 80, "{} seed documents", seeds.len());
    // The panic hook would print every caught panic; the report below says what matters.
    std::panic::set_hook(Box::new(|_| {}));
    let (mut generated, mut errors, mut failures) = (0usize, 0usize, Vec::new());
    let seeds_to_run: Vec<u64> = match only {
        Some(seed) => vec![seed],
        None => (0..cases as u64).collect(),
    };
    for seed in seeds_to_run {
        let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x6A09_E667);
        let (name, base) = rng.pick(&seeds);
        let mut doc = base.clone();
        let mutated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (0..1 + rng.below(4)).map(|_| mutate(&mut rng, &mut doc)).collect::<Vec<String>>()
        }));
        let steps = match mutated {
            Ok(steps) => steps,
            Err(panic) => {
                let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                failures.push(format!("seed {seed} ({name}): the test's own mutation panicked: {message}"));
                continue;
            }
        };
        let types = if rng.below(3) == 0 { TypeMode::Generate } else { TypeMode::MapK8sOpenapi };
        match run_case(&doc, types) {
            Ok(true) => generated += 1,
            Ok(false) => errors += 1,
            Err(panic) => failures.push(format!("seed {seed} ({name}; {}): {panic}", steps.join("; "))),
        }
        if only.is_some() {
            eprintln!("seed {seed}: {name}; {}", steps.join("; "));
        }
    }
    let _ = std::panic::take_hook();
    eprintln!("{generated} cases generated code, {errors} ended in an error, {} panicked", failures.len());
    assert!(failures.is_empty(), "{} cases panicked:\n{}", failures.len(), failures.join("\n"));
    // Mutations must leave most documents readable, or the generator is never reached.
    if only.is_none() {
        assert!(generated * 4 > cases, "only {generated} of {cases} cases reached code");
    }
}
