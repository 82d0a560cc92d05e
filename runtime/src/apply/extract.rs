//! `extract`: the apply configuration one field manager owns in a live object, read from the
//! object's `managedFields` as client-go's `Extract<Kind>` reads them.
//!
//! The FieldsV1 trie names each owned field (`f:name`), each owned item of a keyed list by its
//! key fields (`k:{"name":"web"}`, the schema's list-map keys or merge key), each owned value
//! of a set (`v:"x"`), and marks a node that is owned itself besides its children (`.`). The
//! filter walks the trie and the object together; it needs no schema because the trie carries
//! the keys. Unlike client-go's, it keeps an owned map-list such as `conditions` under a
//! subresource (code-generator issue 173) and writes no empty map or list for fields the
//! manager owns but the object no longer has (kubernetes issue 141153).

use serde_json::{Map, Value};

use super::ApplyConfiguration;

/// Why [`extract`] gave no configuration.
#[derive(Debug)]
pub enum ExtractError {
    /// The object carries no `managedFields` (an informer transform such as
    /// `drop_managed_fields` removed them, or it was never written to a server): what any
    /// manager owns is unknown, which is not the same as owning nothing.
    NoManagedFields {
        /// The object's name.
        name: String,
    },
    /// The object or the owned fields did not convert (a bug, or an object of another shape).
    Json(serde_json::Error),
}

impl std::fmt::Display for ExtractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractError::NoManagedFields { name } => write!(
                f,
                "object `{name}` has no managedFields, so what a manager owns in it is unknown \
                 (read it from the API server, not from a cache that drops managed fields)"
            ),
            ExtractError::Json(e) => write!(f, "cannot extract an apply configuration: {e}"),
        }
    }
}

impl std::error::Error for ExtractError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExtractError::Json(e) => Some(e),
            ExtractError::NoManagedFields { .. } => None,
        }
    }
}

/// The configuration `manager` applied to `object` through `subresource` (`None` for the
/// main resource): exactly the fields its `Apply` entry owns, with the object's `apiVersion`,
/// `kind`, name and namespace. A manager with no such entry owns nothing: the configuration
/// is the identity alone.
pub fn extract<A>(object: &A::Object, manager: &str, subresource: Option<&str>) -> Result<A, ExtractError>
where
    A: ApplyConfiguration,
    A::Object: serde::Serialize,
{
    let live = serde_json::to_value(object).map_err(ExtractError::Json)?;
    let meta = live.get("metadata");
    let text = |field: &str| meta.and_then(|m| m.get(field)).and_then(Value::as_str);
    let entries = meta.and_then(|m| m.get("managedFields")).and_then(Value::as_array).filter(|e| !e.is_empty());
    let Some(entries) = entries else {
        return Err(ExtractError::NoManagedFields { name: text("name").unwrap_or_default().to_owned() });
    };
    let mut out = Map::new();
    for entry in entries {
        let field = |name: &str| entry.get(name).and_then(Value::as_str);
        let entry_subresource = field("subresource").filter(|s| !s.is_empty());
        if field("manager") == Some(manager) && field("operation") == Some("Apply") && entry_subresource == subresource
        {
            let fields = entry.get("fieldsV1").and_then(Value::as_object);
            if let Some(Value::Object(picked)) = fields.filter(|f| !f.is_empty()).and_then(|f| filter(&live, f)) {
                merge(&mut out, picked);
            }
        }
    }
    // The identity: what makes the configuration apply to this object again.
    for key in ["apiVersion", "kind"] {
        if let Some(v) = live.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    let metadata = out.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(metadata) = metadata {
        for key in ["name", "namespace"] {
            if let Some(v) = text(key) {
                metadata.insert(key.to_owned(), Value::String(v.to_owned()));
            }
        }
    }
    serde_json::from_value(Value::Object(out)).map_err(ExtractError::Json)
}

/// The part of `live` that the trie node `owned` names, or `None` when none of it is there.
fn filter(live: &Value, owned: &Map<String, Value>) -> Option<Value> {
    if owned.is_empty() {
        // A leaf: the field is owned whole (a scalar, an atomic list or map, a set value).
        return Some(live.clone());
    }
    let itself = owned.contains_key(".");
    match live {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, child) in owned {
                let (Some(name), Some(child)) = (key.strip_prefix("f:"), child.as_object()) else { continue };
                if let Some(picked) = fields.get(name).and_then(|v| filter(v, child)) {
                    out.insert(name.to_owned(), picked);
                }
            }
            (itself || !out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let elements: Vec<(Element, &Map<String, Value>)> =
                owned.iter().filter_map(|(key, child)| Some((Element::parse(key)?, child.as_object()?))).collect();
            let mut out = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let Some((element, child)) = elements.iter().find(|(e, _)| e.matches(index, item)) else { continue };
                match element {
                    Element::Value(_) => out.push(item.clone()),
                    Element::Key(keys) => {
                        let Some(mut picked) = filter(item, child) else { continue };
                        // The key fields identify the item: always sent with it.
                        if let Value::Object(picked) = &mut picked {
                            for (k, v) in keys {
                                picked.entry(k.clone()).or_insert_with(|| v.clone());
                            }
                        }
                        out.push(picked);
                    }
                    Element::Index(_) => out.extend(filter(item, child)),
                }
            }
            (itself || !out.is_empty()).then_some(Value::Array(out))
        }
        scalar => itself.then(|| scalar.clone()),
    }
}

/// How a FieldsV1 key names a list item.
enum Element {
    /// `k:{...}`: the item whose key fields have these values.
    Key(Map<String, Value>),
    /// `v:...`: the item equal to this value.
    Value(Value),
    /// `i:N`: the item at this index.
    Index(usize),
}

impl Element {
    fn parse(key: &str) -> Option<Element> {
        if let Some(json) = key.strip_prefix("k:") {
            serde_json::from_str(json).ok().map(Element::Key)
        } else if let Some(json) = key.strip_prefix("v:") {
            serde_json::from_str(json).ok().map(Element::Value)
        } else {
            key.strip_prefix("i:").and_then(|i| i.parse().ok()).map(Element::Index)
        }
    }

    fn matches(&self, index: usize, item: &Value) -> bool {
        match self {
            Element::Key(keys) => keys.iter().all(|(k, v)| item.get(k) == Some(v)),
            Element::Value(v) => item == v,
            Element::Index(i) => *i == index,
        }
    }
}

/// Merges `from` into `into`, objects key by key (one manager has one `Apply` entry per
/// subresource, so this only joins entries a server split).
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(existing)), Value::Object(v)) => merge(existing, v),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owned_fields_are_picked_by_the_trie() {
        let live = json!({
            "spec": {
                "replicas": 3,
                "paused": false,
                "containers": [
                    {"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                    {"name": "sidecar", "image": "envoy"}
                ],
                "finalizers": ["a", "b"],
                "labels": {"app": "web", "tier": "front"}
            }
        });
        let trie = json!({
            "f:spec": {
                "f:replicas": {},
                "f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:ports": {
                        "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}}
                    }}
                },
                "f:finalizers": {"v:\"b\"": {}},
                "f:labels": {"f:app": {}, "f:gone": {}},
                "f:missing": {"f:inner": {}}
            }
        });
        let picked = filter(&live, trie.as_object().unwrap()).unwrap();
        assert_eq!(
            picked,
            json!({"spec": {
                "replicas": 3,
                "containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                "finalizers": ["b"],
                "labels": {"app": "web"}
            }})
        );
    }

    #[test]
    fn fields_owned_but_gone_leave_no_empty_maps() {
        let live = json!({"metadata": {"labels": {"other": "x"}}, "spec": {}});
        let trie = json!({"f:metadata": {"f:labels": {"f:mine": {}}}, "f:spec": {"f:list": {"k:{\"name\":\"a\"}": {".": {}}}}});
        assert_eq!(filter(&live, trie.as_object().unwrap()), None);
    }
}
