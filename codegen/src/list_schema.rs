//! A resource's schema reduced to what says how its lists and maps merge (`properties`,
//! `items`, `additionalProperties` and the list, map and patch extensions), as JSON: what a
//! generated resource type tells the in-memory API server through `ResourceSchema`.

use std::collections::{HashMap, HashSet};

use kube_codegen_openapi::{Additional, ListType, MapType, Model, Schema, SchemaType, TypeId};
use serde_json::{Map, Value, json};

/// Reduces the schemas of a model's types, each named type once however many resources use it.
pub struct Reducer<'m> {
    model: &'m Model,
    done: HashMap<TypeId, Option<Value>>,
    visiting: HashSet<TypeId>,
}

impl<'m> Reducer<'m> {
    /// A reducer over `model`'s types.
    pub fn new(model: &'m Model) -> Reducer<'m> {
        Reducer { model, done: HashMap::new(), visiting: HashSet::new() }
    }

    /// The reduced schema of the type `ty`, or `None` when nothing in it says how anything
    /// merges.
    pub fn of(&mut self, ty: TypeId) -> Option<String> {
        self.named(ty).map(|v| v.to_string())
    }

    fn named(&mut self, id: TypeId) -> Option<Value> {
        if let Some(done) = self.done.get(&id) {
            return done.clone();
        }
        // A cycle (JSONSchemaProps) says nothing new the second time round.
        if !self.visiting.insert(id) {
            return None;
        }
        let model = self.model;
        let reduced = self.reduce(&model.types.get(id).schema);
        self.visiting.remove(&id);
        self.done.insert(id, reduced.clone());
        reduced
    }

    fn reduce(&mut self, schema: &Schema) -> Option<Value> {
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
                let inner = self.named(*id);
                match (inner, out.is_empty()) {
                    (Some(Value::Object(inner)), _) => out.extend(inner),
                    (_, true) => return None,
                    _ => {}
                }
            }
            SchemaType::Object(object) => {
                let mut properties = Map::new();
                for p in &object.properties {
                    if let Some(child) = self.reduce(&p.schema) {
                        properties.insert(p.name.clone(), child);
                    }
                }
                if !properties.is_empty() {
                    out.insert("properties".into(), Value::Object(properties));
                }
                if let Additional::Schema(values) = &object.additional
                    && let Some(child) = self.reduce(values)
                {
                    out.insert("additionalProperties".into(), child);
                }
            }
            SchemaType::Array(items) => {
                if let Some(child) = self.reduce(items) {
                    out.insert("items".into(), child);
                }
            }
            _ => {}
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }
}
