//! Strategic-merge patches without the API's schemas: lists merge by the merge key the
//! Kubernetes types declare for their field name (`containers` by `name`, `ports` by
//! `containerPort` or `port`, `conditions` by `type`, ...), other lists are replaced, and the
//! `$patch`, `$deleteFromPrimitiveList` and `$setElementOrder` directives are understood.

use serde_json::{Map, Value};

/// The merge keys of list fields in the Kubernetes API, by field name; the first key every item
/// of the list has wins (`ports` of a container by `containerPort`, of a service by `port`).
const MERGE_KEYS: &[(&str, &[&str])] = &[
    ("containers", &["name"]),
    ("initContainers", &["name"]),
    ("ephemeralContainers", &["name"]),
    ("volumes", &["name"]),
    ("env", &["name"]),
    ("imagePullSecrets", &["name"]),
    ("resourceClaims", &["name"]),
    ("volumeMounts", &["mountPath"]),
    ("volumeDevices", &["devicePath"]),
    ("ports", &["containerPort", "port"]),
    ("hostAliases", &["ip"]),
    ("conditions", &["type"]),
    ("ownerReferences", &["uid"]),
    ("topologySpreadConstraints", &["topologyKey"]),
];

/// Lists of scalars that merge as sets rather than being replaced.
const SET_LISTS: &[&str] = &["finalizers"];

/// The key a list field merges by, if it merges by one.
pub(super) fn merge_key<'a>(field: &str, items: impl IntoIterator<Item = &'a Value> + Clone) -> Option<&'static str> {
    let (_, keys) = MERGE_KEYS.iter().find(|(f, _)| *f == field)?;
    keys.iter().copied().find(|k| items.clone().into_iter().all(|i| i.get(*k).is_some()))
}

/// Applies a strategic-merge `patch` to `target`.
pub(super) fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = Value::Object(without_directives(patch));
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(fields) = target else { return };
    for (key, value) in patch {
        if key == "$patch" || key.starts_with("$setElementOrder/") || key == "$retainKeys" {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(gone)) = (fields.get_mut(field), value) {
                list.retain(|v| !gone.contains(v));
            }
            continue;
        }
        match value {
            Value::Null => {
                fields.remove(key);
            }
            Value::Array(items) => match fields.get_mut(key) {
                Some(Value::Array(current)) => merge_list(key, current, items),
                _ => {
                    let kept = items.iter().filter(|i| !is_delete(i)).map(strip).collect();
                    fields.insert(key.clone(), Value::Array(kept));
                }
            },
            Value::Object(_) => merge(fields.entry(key.clone()).or_insert(Value::Null), value),
            _ => {
                fields.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_list(field: &str, current: &mut Vec<Value>, patch: &[Value]) {
    if SET_LISTS.contains(&field) {
        for v in patch {
            if !current.contains(v) {
                current.push(v.clone());
            }
        }
        return;
    }
    let Some(key) = merge_key(field, patch.iter().chain(current.iter())) else {
        *current = patch.iter().filter(|i| !is_delete(i)).map(strip).collect();
        return;
    };
    for item in patch {
        let at = current.iter().position(|c| c.get(key) == item.get(key));
        match (at, is_delete(item)) {
            (Some(at), true) => {
                current.remove(at);
            }
            (None, true) => {}
            (Some(at), false) => merge(&mut current[at], item),
            (None, false) => current.push(strip(item)),
        }
    }
}

fn is_delete(item: &Value) -> bool {
    item.get("$patch").and_then(Value::as_str) == Some("delete")
}

fn without_directives(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), strip(v))).collect()
}

/// A value with the patch directives taken out, to be stored.
fn strip(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(without_directives(m)),
        Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_merge_and_directives_apply() {
        let mut pod = json!({"spec": {
            "containers": [{"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]}, {"name": "b", "image": "b:1"}],
            "tolerations": [{"key": "x"}],
        }, "metadata": {"finalizers": ["f1"], "labels": {"keep": "1", "drop": "1"}}});
        merge(
            &mut pod,
            &json!({
                "spec": {
                    "containers": [{"name": "a", "image": "a:2", "ports": [{"containerPort": 443}]}, {"name": "b", "$patch": "delete"}, {"name": "c", "image": "c:1"}],
                    "tolerations": [{"key": "y"}],
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
                },
                "metadata": {"finalizers": ["f2"], "labels": {"drop": null}},
            }),
        );
        assert_eq!(
            pod,
            json!({"spec": {
            "containers": [{"name": "a", "image": "a:2", "ports": [{"containerPort": 80}, {"containerPort": 443}]}, {"name": "c", "image": "c:1"}],
            "tolerations": [{"key": "y"}],
        }, "metadata": {"finalizers": ["f1", "f2"], "labels": {"keep": "1"}}})
        );
        merge(
            &mut pod,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}, "spec": {"$patch": "replace", "containers": []}}),
        );
        assert_eq!(
            pod,
            json!({"spec": {"containers": []}, "metadata": {"finalizers": ["f2"], "labels": {"keep": "1"}}})
        );
    }
}
