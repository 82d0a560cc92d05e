//! How a resource's lists and maps merge and are owned in server-side apply: from its schema
//! (`x-kubernetes-list-type` with `x-kubernetes-list-map-keys`, `x-kubernetes-patch-merge-key`,
//! `x-kubernetes-map-type`), as the real server reads them. Types served without a schema here
//! (k8s-openapi's, registered with `register`) use the Kubernetes API's merge keys by field
//! name, which is what their schemas say for the fields the table names.

use serde_json::Value;

use super::strategic::merge_key;

/// Lists of scalars that merge as sets in the built-in types.
const SET_LISTS: &[&str] = &["finalizers"];

/// Where a resource's list semantics come from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Lists<'a> {
    /// The built-in table, by field name.
    Builtin,
    /// A resource's `openAPIV3Schema` (its `metadata` is ObjectMeta's, from the table).
    Schema(&'a Value),
}

impl<'a> Lists<'a> {
    /// The node of the object's root.
    pub fn root(self) -> Node<'a> {
        match self {
            Lists::Builtin => Node::Builtin,
            Lists::Schema(s) => Node::Root(s),
        }
    }
}

/// A place in an object, as far as its schema is known.
#[derive(Clone, Copy, Debug)]
pub(super) enum Node<'a> {
    /// Described by the built-in table.
    Builtin,
    /// The root of a schema: `metadata` is ObjectMeta.
    Root(&'a Value),
    /// A schema node.
    Schema(&'a Value),
    /// Not described: lists are atomic, maps granular (what a schema without extensions says).
    Unknown,
}

/// How a list merges and is owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ListKind {
    /// By these keys of its items.
    Map(Vec<String>),
    /// As a set of scalars.
    Set,
    /// Whole.
    Atomic,
}

impl<'a> Node<'a> {
    /// The node of the field `name` of an object here.
    pub fn field(self, name: &str) -> Node<'a> {
        match self {
            Node::Builtin => Node::Builtin,
            Node::Root(_) if name == "metadata" => Node::Builtin,
            Node::Root(s) | Node::Schema(s) => match s.get("properties").and_then(|p| p.get(name)) {
                Some(child) => Node::Schema(child),
                None => match s.get("additionalProperties") {
                    Some(child @ Value::Object(_)) => Node::Schema(child),
                    _ => Node::Unknown,
                },
            },
            Node::Unknown => Node::Unknown,
        }
    }

    /// The node of the items of a list here.
    pub fn items(self) -> Node<'a> {
        match self {
            Node::Builtin => Node::Builtin,
            Node::Root(s) | Node::Schema(s) => s.get("items").map_or(Node::Unknown, Node::Schema),
            Node::Unknown => Node::Unknown,
        }
    }

    /// How the list `field` (this node) with these items merges.
    pub fn list<'v>(self, field: Option<&str>, items: impl IntoIterator<Item = &'v Value> + Clone) -> ListKind {
        let kind = match self {
            Node::Builtin => match field {
                Some(f) if SET_LISTS.contains(&f) => ListKind::Set,
                // Ports are keyed by their number and protocol in server-side apply (their
                // strategic merge key is the number alone).
                Some("ports") => match merge_key("ports", items.clone()) {
                    Some(k) => ListKind::Map(vec![k.to_owned(), "protocol".to_owned()]),
                    None => ListKind::Atomic,
                },
                Some(f) => merge_key(f, items.clone()).map_or(ListKind::Atomic, |k| ListKind::Map(vec![k.to_owned()])),
                None => ListKind::Atomic,
            },
            Node::Root(s) | Node::Schema(s) => schema_list(s),
            Node::Unknown => ListKind::Atomic,
        };
        // A keyed list whose items do not all have their keys is owned whole.
        match kind {
            ListKind::Map(keys) if items.into_iter().all(|i| keys.iter().all(|k| i.get(k).is_some())) => {
                ListKind::Map(keys)
            }
            ListKind::Map(_) => ListKind::Atomic,
            other => other,
        }
    }

    /// Whether the map `v` here (the field `field`) is owned whole.
    pub fn atomic_map(self, field: Option<&str>, v: &Value) -> bool {
        match self {
            // A `LabelSelector` is `x-kubernetes-map-type: atomic`.
            Node::Builtin => {
                field == Some("selector") && (v.get("matchLabels").is_some() || v.get("matchExpressions").is_some())
            }
            Node::Root(s) | Node::Schema(s) => s.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic"),
            Node::Unknown => false,
        }
    }
}

fn schema_list(s: &Value) -> ListKind {
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("map") => {
            let keys: Vec<String> = s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            if keys.is_empty() { ListKind::Atomic } else { ListKind::Map(keys) }
        }
        Some("set") => ListKind::Set,
        Some(_) => ListKind::Atomic,
        None => {
            let merges = s
                .get("x-kubernetes-patch-strategy")
                .and_then(Value::as_str)
                .is_some_and(|p| p.split(',').any(|p| p == "merge"));
            match s.get("x-kubernetes-patch-merge-key").and_then(Value::as_str) {
                Some(key) if merges => ListKind::Map(vec![key.to_owned()]),
                _ => ListKind::Atomic,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schemas_say_how_lists_merge() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["port", "protocol"], "items": {"type": "object"}},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "conditions": {"type": "array", "items": {"type": "object"}},
            "env": {"type": "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
            "selector": {"type": "object", "x-kubernetes-map-type": "atomic"},
        }}}});
        let spec = Lists::Schema(&schema).root().field("spec");
        let item = json!({"port": 80, "protocol": "TCP"});
        assert_eq!(
            spec.field("ports").list(Some("ports"), [&item]),
            ListKind::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(spec.field("ports").list(Some("ports"), [&json!({"port": 80})]), ListKind::Atomic);
        assert_eq!(spec.field("tags").list(Some("tags"), [&json!("a")]), ListKind::Set);
        // Named like a Kubernetes list, but this schema does not key it.
        assert_eq!(spec.field("conditions").list(Some("conditions"), [&json!({"type": "A"})]), ListKind::Atomic);
        assert_eq!(spec.field("env").list(Some("env"), [&json!({"name": "A"})]), ListKind::Map(vec!["name".into()]));
        assert!(spec.field("selector").atomic_map(Some("selector"), &json!({})));
        // Metadata is ObjectMeta's, from the table.
        let meta = Lists::Schema(&schema).root().field("metadata");
        assert_eq!(meta.field("finalizers").list(Some("finalizers"), [&json!("x")]), ListKind::Set);
    }
}
