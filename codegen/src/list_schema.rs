//! A resource's schema reduced to what says how its lists and maps merge (`properties`,
//! `items`, `additionalProperties` and the list, map and patch extensions), as JSON: what a
//! generated resource type tells the in-memory API server through `ResourceSchema`.

use std::collections::HashSet;

use kube_codegen_openapi::{Additional, ListType, MapType, Model, Schema, SchemaType, TypeId};
use serde_json::{Map, Value, json};

/// The reduced schema of the type `ty`, or `None` when nothing in it says how anything merges.
pub fn of(model: &Model, ty: TypeId) -> Option<String> {
    let def = model.types.get(ty);
    let mut visiting = HashSet::from([ty]);
    reduce(model, &def.schema, &mut visiting).map(|v| v.to_string())
}

fn reduce(model: &Model, schema: &Schema, visiting: &mut HashSet<TypeId>) -> Option<Value> {
    let mut out = Map::new();
    let ext = &schema.extensions;
    match ext.list_type {
        Some(ListType::Map) => {
            out.insert("x-kubernetes-list-type".into(), json!("map"));
            out.insert("x-kubernetes-list-map-keys".into(), json!(ext.list_map_keys));
        }
        Some(ListType::Set) => {
            out.insert("x-kubernetes-list-type".into(), json!("set"));
        }
        Some(ListType::Atomic) => {
            out.insert("x-kubernetes-list-type".into(), json!("atomic"));
        }
        None => {}
    }
    if ext.map_type == Some(MapType::Atomic) {
        out.insert("x-kubernetes-map-type".into(), json!("atomic"));
    }
    if let (Some(key), Some(strategy)) = (&ext.patch_merge_key, &ext.patch_strategy) {
        out.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        out.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
    }
    match &schema.ty {
        SchemaType::Ref(id) => {
            // A cycle (JSONSchemaProps) says nothing new the second time round.
            if !visiting.insert(*id) {
                return None;
            }
            let inner = reduce(model, &model.types.get(*id).schema, visiting);
            visiting.remove(id);
            match (inner, out.is_empty()) {
                (Some(Value::Object(inner)), _) => out.extend(inner),
                (_, true) => return None,
                _ => {}
            }
        }
        SchemaType::Object(object) => {
            let mut properties = Map::new();
            for p in &object.properties {
                if let Some(child) = reduce(model, &p.schema, visiting) {
                    properties.insert(p.name.clone(), child);
                }
            }
            if !properties.is_empty() {
                out.insert("properties".into(), Value::Object(properties));
            }
            if let Additional::Schema(values) = &object.additional
                && let Some(child) = reduce(model, values, visiting)
            {
                out.insert("additionalProperties".into(), child);
            }
        }
        SchemaType::Array(items) => {
            if let Some(child) = reduce(model, items, visiting) {
                out.insert("items".into(), child);
            }
        }
        _ => {}
    }
    (!out.is_empty()).then_some(Value::Object(out))
}
