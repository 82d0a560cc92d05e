//! Every schema feature of the corpus lands in the IR: the features counted in the raw
//! documents equal the features counted in the model read from them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube_codegen_openapi::{Additional, Model, Schema, SchemaType};
use kube_codegen_tests::corpus;
use serde_json::Value;

/// Feature name -> occurrences.
type Counts = BTreeMap<&'static str, usize>;

const EXTENSIONS: [&str; 10] = [
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-unions",
];

const KEYWORDS: [&str; 21] = [
    "description",
    "format",
    "default",
    "enum",
    "nullable",
    "$ref",
    "properties",
    "additionalProperties",
    "items",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "oneOf",
    "not",
    "title",
];

/// Counts features in a raw schema, descending where schemas nest.
fn count_raw(s: &Value, counts: &mut Counts) {
    let Some(m) = s.as_object() else { return };
    for key in EXTENSIONS.iter().chain(&KEYWORDS) {
        let present = match m.get(*key) {
            None => false,
            // `true` flags count; the reader stores `false` flags as absent.
            Some(Value::Bool(b)) if key.starts_with("x-") || *key == "nullable" => *b,
            Some(_) => true,
        };
        // `additionalProperties: false` says nothing; `properties: {}` has none to hold.
        let present = present && !(*key == "properties" && m[*key].as_object().is_some_and(|p| p.is_empty()));
        if present {
            *counts.entry(key).or_default() += 1;
        }
    }
    // An `allOf` that only wraps a `$ref` (OpenAPI v3) is a reference, not a constraint.
    if let Some(all) = m.get("allOf").and_then(Value::as_array) {
        let wrapper = all.len() == 1 && all[0].get("$ref").is_some() && m.get("type").is_none();
        if !wrapper {
            *counts.entry("allOf").or_default() += 1;
        }
    }
    // The restating anyOf beside int-or-string is dropped on purpose.
    if let Some(any) = m.get("anyOf") {
        if m.get("x-kubernetes-int-or-string") != Some(&Value::Bool(true)) {
            *counts.entry("anyOf").or_default() += 1;
        }
        for s in any.as_array().unwrap() {
            if m.get("x-kubernetes-int-or-string") != Some(&Value::Bool(true)) {
                count_raw(s, counts);
            }
        }
    }
    for v in m.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.values()) {
        count_raw(v, counts);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v) = m.get(key).filter(|v| v.is_object()) {
            count_raw(v, counts);
        }
    }
    for key in ["allOf", "oneOf"] {
        for v in m.get(key).and_then(Value::as_array).into_iter().flatten() {
            count_raw(v, counts);
        }
    }
}

fn count_ir(s: &Schema, counts: &mut Counts) {
    let mut add = |key: &'static str, present: bool| {
        if present {
            *counts.entry(key).or_default() += 1;
        }
    };
    let e = &s.extensions;
    add("x-kubernetes-int-or-string", e.int_or_string);
    add("x-kubernetes-preserve-unknown-fields", e.preserve_unknown_fields);
    add("x-kubernetes-embedded-resource", e.embedded_resource);
    add("x-kubernetes-list-type", e.list_type.is_some());
    add("x-kubernetes-list-map-keys", !e.list_map_keys.is_empty());
    add("x-kubernetes-map-type", e.map_type.is_some());
    add("x-kubernetes-validations", !e.validations.is_empty());
    add("x-kubernetes-patch-strategy", e.patch_strategy.is_some());
    add("x-kubernetes-patch-merge-key", e.patch_merge_key.is_some());
    add("x-kubernetes-unions", !e.unions.is_empty());
    add("description", s.description.is_some());
    add("title", s.title.is_some());
    add("format", s.format.is_some());
    add("default", s.default.is_some());
    add("enum", s.enum_values.is_some());
    add("nullable", s.nullable);
    add("$ref", matches!(s.ty, SchemaType::Ref(_)));
    let v = &s.validation;
    add("pattern", v.pattern.is_some());
    add("minimum", v.minimum.is_some());
    add("maximum", v.maximum.is_some());
    add("minLength", v.min_length.is_some());
    add("maxLength", v.max_length.is_some());
    add("minItems", v.min_items.is_some());
    add("maxItems", v.max_items.is_some());
    add("minProperties", v.min_properties.is_some());
    add("maxProperties", v.max_properties.is_some());
    add("allOf", !v.all_of.is_empty());
    add("anyOf", !v.any_of.is_empty());
    add("oneOf", !v.one_of.is_empty());
    add("not", v.not.is_some());
    match &s.ty {
        SchemaType::Object(o) => {
            add("properties", !o.properties.is_empty());
            add("additionalProperties", !matches!(o.additional, Additional::None));
            for p in &o.properties {
                count_ir(&p.schema, counts);
            }
            if let Additional::Schema(a) = &o.additional {
                count_ir(a, counts);
            }
        }
        SchemaType::Array(items) => {
            // The raw count sees `items` only where it was written.
            add("items", true);
            count_ir(items, counts);
        }
        _ => {}
    }
    for sub in v.all_of.iter().chain(&v.any_of).chain(&v.one_of).chain(v.not.as_ref()) {
        count_ir(sub, counts);
    }
}

fn model_counts(model: &Model) -> Counts {
    let mut counts = Counts::new();
    for def in model.types.iter() {
        count_ir(&def.schema, &mut counts);
    }
    counts
}

fn read_json(path: &PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn swagger_features_all_land() {
    let path = corpus().join("openapi/v2/swagger-v1.36.0.json");
    let raw = read_json(&path);
    let mut expected = Counts::new();
    for def in raw["definitions"].as_object().unwrap().values() {
        count_raw(def, &mut expected);
    }
    let model = kube_codegen_openapi::read(&[&path]).unwrap();
    assert_eq!(model.types.len(), 771);
    assert_eq!(model_counts(&model), expected);
    let with_gvk =
        raw["definitions"].as_object().unwrap().values().filter(|d| d.get("x-kubernetes-group-version-kind").is_some());
    assert_eq!(model.types.iter().filter(|d| !d.gvks.is_empty()).count(), with_gvk.count());
    // Every resource whose kind has a definition points at it.
    let typed = model.resources.iter().filter(|r| r.ty.is_some()).count();
    assert_eq!(typed, model.resources.len());
}

#[test]
fn openapi_v3_features_all_land() {
    let dir = corpus().join("openapi/v3/v1.27-client-go-testdata");
    let mut expected = Counts::new();
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let raw = read_json(&entry.unwrap().path());
        for (name, def) in raw["components"]["schemas"].as_object().unwrap() {
            // Group documents repeat the shared meta types; the model holds each once.
            if names.insert(name.clone()) {
                count_raw(def, &mut expected);
            }
        }
    }
    let model = kube_codegen_openapi::read(&[&dir]).unwrap();
    assert_eq!(model.types.len(), names.len());
    assert_eq!(model_counts(&model), expected);
}

#[test]
fn crd_features_all_land() {
    let dir = corpus().join("crds");
    let mut expected = Counts::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs {
            for v in doc["spec"]["versions"].as_array().unwrap().iter().filter(|v| v["served"] == true) {
                count_raw(&v["schema"]["openAPIV3Schema"], &mut expected);
            }
        }
    }
    let model = kube_codegen_openapi::read(&[&dir]).unwrap();
    assert_eq!(model.types.len(), 111);
    let counts = model_counts(&model);
    assert_eq!(counts, expected);
    assert!(counts["x-kubernetes-int-or-string"] > 100 && counts["x-kubernetes-embedded-resource"] > 0);
}
