//! What `#[derive(CustomResource)]`'s `crd()` calls: the schema settings kube-derive uses, and
//! the assembly of the CRD, compiled once here rather than in every deriving crate.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

/// The structural OpenAPI 3 schema of `T`, inline, as kube-derive makes it.
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    let schema = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube_core::schema::StructuralSchemaRewriter)
        .with_transform(kube_core::schema::OptionalEnum)
        .with_transform(kube_core::schema::OptionalIntOrString)
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = serde_json::to_value(schema).unwrap_or_default();
    // A part's own title names the Rust type; the CRD's properties do not carry it.
    if let Some(map) = value.as_object_mut() {
        map.remove("title");
    }
    value
}

/// The resource's root schema: `spec` (required) and `status`, the kind as title, the rules.
pub fn root_schema(kind: &str, doc: &str, spec: Value, status: Option<Value>, rules: Vec<kube_core::Rule>) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert("spec".to_owned(), spec);
    if let Some(status) = status {
        properties.insert("status".to_owned(), status);
    }
    let mut root = json!({"type": "object", "title": kind, "description": doc, "required": ["spec"]});
    root["properties"] = Value::Object(properties);
    if !rules.is_empty() {
        let rules: Vec<Value> = rules.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect();
        root["x-kubernetes-validations"] = Value::Array(rules);
    }
    root
}

/// The CRD from the derive's JSON and, when it has one, its schema.
pub fn crd(json: &str, schema: Option<Value>) -> CustomResourceDefinition {
    let mut crd: Value = serde_json::from_str(json).expect("the derive writes valid JSON");
    if let Some(schema) = schema {
        crd["spec"]["versions"][0]["schema"] = json!({"openAPIV3Schema": schema});
    }
    serde_json::from_value(crd).expect("the derive writes a valid CustomResourceDefinition")
}

/// The list schema of a derived resource: its CRD's `openAPIV3Schema`, which holds the list
/// and map extensions schemars wrote.
pub fn list_schema<K: kube_core::CustomResourceExt>() -> Option<Value> {
    let crd = serde_json::to_value(K::crd()).ok()?;
    let schema = crd.pointer("/spec/versions/0/schema/openAPIV3Schema")?;
    (!schema.is_null()).then(|| schema.clone())
}
