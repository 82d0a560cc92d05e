//! Server-side apply and field ownership: each manager's fields are kept in
//! `metadata.managedFields` (FieldsV1), an apply takes ownership of what it sets, drops what its
//! manager set before and no longer sets, and conflicts (409) with fields another manager owns
//! at another value unless forced; updates and creates make their manager own what they change.
//! Lists merge as in strategic merge: by the Kubernetes merge key of their field name, as sets
//! for `finalizers`, atomically otherwise.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::strategic::merge_key;

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    /// `f:name`
    Field(String),
    /// `k:{"name":"c"}`: the item of a keyed list with this key.
    Key(String),
    /// `v:"x"`: a value of a set list.
    Value(String),
}

type Path = Vec<Seg>;
type FieldSet = BTreeSet<Path>;

/// Lists of scalars that merge as sets.
const SET_LISTS: &[&str] = &["finalizers"];

/// Fields the server owns or that identify the object: never managed.
fn unmanaged(path: &[Seg]) -> bool {
    match path {
        [Seg::Field(f), ..] if f == "apiVersion" || f == "kind" || f == "status" => true,
        [Seg::Field(m), Seg::Field(f), ..] if m == "metadata" => matches!(
            f.as_str(),
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "managedFields"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "selfLink"
        ),
        _ => false,
    }
}

/// The fields `object` sets, as leaf paths.
fn fields_of(object: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    walk(object, None, &mut Vec::new(), &mut out);
    out.retain(|p| !unmanaged(p));
    out
}

/// A `LabelSelector` is atomic (`x-kubernetes-map-type: atomic`): owned whole.
fn atomic(field: Option<&str>, v: &Value) -> bool {
    field == Some("selector") && (v.get("matchLabels").is_some() || v.get("matchExpressions").is_some())
}

fn walk(v: &Value, field: Option<&str>, path: &mut Path, out: &mut FieldSet) {
    if atomic(field, v) {
        out.insert(path.clone());
        return;
    }
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(Seg::Field(k.clone()));
                walk(child, Some(k), path, out);
                path.pop();
            }
        }
        Value::Array(items) if field.is_some_and(|f| SET_LISTS.contains(&f)) => {
            for item in items {
                path.push(Seg::Value(item.to_string()));
                out.insert(path.clone());
                path.pop();
            }
        }
        Value::Array(items) => match field.and_then(|f| merge_key(f, items.iter())) {
            Some(key) if !items.is_empty() => {
                for item in items {
                    path.push(Seg::Key(json!({ key: item[key] }).to_string()));
                    out.insert(path.clone());
                    walk(item, None, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

/// The set a FieldsV1 trie describes.
fn decode(fields: &Value) -> FieldSet {
    fn go(node: &Value, path: &mut Path, out: &mut FieldSet) {
        let Value::Object(m) = node else { return };
        if (m.is_empty() || m.contains_key(".")) && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, child) in m {
            let seg = if let Some(f) = k.strip_prefix("f:") {
                Seg::Field(f.to_owned())
            } else if let Some(key) = k.strip_prefix("k:") {
                Seg::Key(key.to_owned())
            } else if let Some(v) = k.strip_prefix("v:") {
                Seg::Value(v.to_owned())
            } else {
                continue;
            };
            path.push(seg);
            go(child, path, out);
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    go(fields, &mut Vec::new(), &mut out);
    out
}

/// The FieldsV1 trie of a set.
fn encode(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for seg in path {
            let key = match seg {
                Seg::Field(f) => format!("f:{f}"),
                Seg::Key(k) => format!("k:{k}"),
                Seg::Value(v) => format!("v:{v}"),
            };
            node = node.entry(key).or_insert_with(|| json!({})).as_object_mut().expect("trie nodes are objects");
        }
        // An owned node that also has owned children marks itself with ".".
        if !node.is_empty() {
            node.insert(".".into(), json!({}));
        }
    }
    // Nodes that got children after being inserted as leaves need the mark too.
    fn mark(node: &mut Map<String, Value>, set: &FieldSet, path: &mut Path) {
        let keys: Vec<String> = node.keys().cloned().collect();
        for k in keys {
            let seg = match (k.strip_prefix("f:"), k.strip_prefix("k:"), k.strip_prefix("v:")) {
                (Some(f), _, _) => Seg::Field(f.into()),
                (_, Some(key), _) => Seg::Key(key.into()),
                (_, _, Some(v)) => Seg::Value(v.into()),
                _ => continue,
            };
            path.push(seg);
            if let Some(Value::Object(child)) = node.get_mut(&k) {
                if !child.is_empty() && set.contains(path) {
                    child.insert(".".into(), json!({}));
                }
                mark(child, set, path);
            }
            path.pop();
        }
    }
    mark(&mut root, set, &mut Vec::new());
    Value::Object(root)
}

/// The value at `path`, if set.
fn get<'a>(object: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut at = object;
    for seg in path {
        at = match seg {
            Seg::Field(f) => at.get(f)?,
            Seg::Key(k) => {
                let key: Map<String, Value> = serde_json::from_str(k).ok()?;
                at.as_array()?.iter().find(|i| key.iter().all(|(kk, kv)| i.get(kk) == Some(kv)))?
            }
            Seg::Value(v) => {
                let v: Value = serde_json::from_str(v).ok()?;
                at.as_array()?.iter().find(|i| **i == v)?
            }
        };
    }
    Some(at)
}

/// Removes what `path` names.
fn remove(object: &mut Value, path: &[Seg]) {
    let Some((last, parent)) = path.split_last() else { return };
    let mut at = object;
    for seg in parent {
        let next = match seg {
            Seg::Field(f) => at.get_mut(f),
            Seg::Key(k) => {
                let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else { return };
                at.as_array_mut().and_then(|a| a.iter_mut().find(|i| key.iter().all(|(kk, kv)| i.get(kk) == Some(kv))))
            }
            Seg::Value(_) => None,
        };
        let Some(next) = next else { return };
        at = next;
    }
    match last {
        Seg::Field(f) => {
            if let Some(m) = at.as_object_mut() {
                m.remove(f);
            }
        }
        Seg::Key(k) => {
            if let (Ok(key), Some(a)) = (serde_json::from_str::<Map<String, Value>>(k), at.as_array_mut()) {
                a.retain(|i| !key.iter().all(|(kk, kv)| i.get(kk) == Some(kv)));
            }
        }
        Seg::Value(v) => {
            if let (Ok(v), Some(a)) = (serde_json::from_str::<Value>(v), at.as_array_mut()) {
                a.retain(|i| *i != v);
            }
        }
    }
}

/// Merges an applied configuration into the live object: maps recursively, keyed lists by
/// key, set lists as sets, everything else replaced.
fn merge(live: &mut Value, applied: &Value, field: Option<&str>) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, v) in a {
                merge(l.entry(k.clone()).or_insert(Value::Null), v, Some(k));
            }
        }
        (Value::Array(l), Value::Array(a)) if field.is_some_and(|f| SET_LISTS.contains(&f)) => {
            for v in a {
                if !l.contains(v) {
                    l.push(v.clone());
                }
            }
        }
        (Value::Array(l), Value::Array(a)) => match field.and_then(|f| merge_key(f, a.iter().chain(l.iter()))) {
            Some(key) => {
                for item in a {
                    match l.iter().position(|i| i.get(key) == item.get(key)) {
                        Some(at) => merge(&mut l[at], item, None),
                        None => l.push(item.clone()),
                    }
                }
            }
            None => *l = a.clone(),
        },
        (live, applied) => *live = applied.clone(),
    }
}

/// A manager's entry in `managedFields`.
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: Value,
    set: FieldSet,
    /// Written through a subresource (`status`): its fields are outside what main-resource
    /// writes manage, so such entries pass through unchanged.
    subresource: Option<Value>,
}

fn entries(object: &Value) -> Vec<Entry> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().to_owned(),
            operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
            time: e["time"].clone(),
            set: decode(&e["fieldsV1"]),
            subresource: e.get("subresource").cloned(),
        })
        .collect()
}

fn store(object: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": encode(&e.set),
            });
            if let Some(sub) = e.subresource {
                entry["subresource"] = sub;
            }
            entry
        })
        .collect();
    if list.is_empty() {
        if let Some(m) = object["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
    } else {
        object["metadata"]["managedFields"] = Value::Array(list);
    }
}

/// `.spec.replicas` for a conflict message.
fn display(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Field(f) => format!(".{f}"),
            Seg::Key(k) => format!("[{k}]"),
            Seg::Value(v) => format!("[={v}]"),
        })
        .collect()
}

/// Applies `applied` for `manager` to `live` (`Value::Null` when the object does not exist):
/// the new object, or the conflicts (`manager`, field) when not `force`d.
pub(super) fn apply(
    live: &Value,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    now: &str,
) -> Result<Value, Vec<(String, String)>> {
    let wanted = fields_of(applied);
    let mut owners = entries(live);
    let mut conflicts = Vec::new();
    let mut taken: BTreeMap<usize, FieldSet> = BTreeMap::new();
    for (i, e) in owners.iter().enumerate() {
        if (e.manager == manager && e.operation == "Apply") || e.subresource.is_some() {
            continue;
        }
        for path in wanted.intersection(&e.set) {
            if get(live, path) != get(applied, path) {
                conflicts.push((e.manager.clone(), display(path)));
                taken.entry(i).or_default().insert(path.clone());
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for (i, paths) in taken {
        owners[i].set.retain(|p| !paths.contains(p));
    }
    let mut object = if live.is_null() { json!({}) } else { live.clone() };
    // What this manager applied before and no longer does goes, unless another manager owns it.
    let mine = owners.iter().position(|e| e.manager == manager && e.operation == "Apply");
    if let Some(at) = mine {
        let others: FieldSet =
            owners.iter().enumerate().filter(|(i, _)| *i != at).flat_map(|(_, e)| e.set.iter().cloned()).collect();
        let dropped: Vec<Path> =
            owners[at].set.iter().filter(|p| !wanted.contains(*p) && !others.contains(*p)).cloned().collect();
        // Deepest first, so a list item goes before the list that held it is looked at.
        for path in dropped.iter().rev() {
            remove(&mut object, path);
        }
    }
    let mut body = applied.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("status");
    }
    merge(&mut object, &body, None);
    let entry = Entry {
        manager: manager.to_owned(),
        operation: "Apply".into(),
        api_version: api_version.to_owned(),
        time: json!(now),
        set: wanted,
        subresource: None,
    };
    match mine {
        Some(at) => owners[at] = entry,
        None => owners.push(entry),
    }
    store(&mut object, owners);
    Ok(object)
}

/// The managedFields entry of a manager that wrote `object`'s status through the `status`
/// subresource (the API server establishing a CRD, a controller reporting).
pub(super) fn status_entry(object: &Value, manager: &str, api_version: &str, now: &str) -> Value {
    let mut set = FieldSet::new();
    walk(&object["status"], Some("status"), &mut vec![Seg::Field("status".into())], &mut set);
    json!({
        "manager": manager, "operation": "Update", "apiVersion": api_version, "time": now,
        "fieldsType": "FieldsV1", "fieldsV1": encode(&set), "subresource": "status",
    })
}

/// Records that `manager` wrote `new` over `old` with a create, update or patch: it owns what
/// changed, and no one else does any more.
pub(super) fn record_update(old: &Value, new: &mut Value, manager: &str, api_version: &str, now: &str) {
    let (before, after) = (fields_of(old), fields_of(new));
    let changed: FieldSet =
        after.iter().filter(|p| !before.contains(*p) || get(old, p) != get(new, p)).cloned().collect();
    let mut owners = entries(old);
    for e in owners.iter_mut().filter(|e| e.subresource.is_none()) {
        // Fields that are gone are owned by no one; changed ones move to the writer.
        e.set.retain(|p| after.contains(p) && !changed.contains(p));
    }
    if !changed.is_empty() {
        match owners.iter_mut().find(|e| e.manager == manager && e.operation == "Update" && e.subresource.is_none()) {
            Some(e) => {
                e.set.extend(changed);
                e.time = json!(now);
            }
            None => owners.push(Entry {
                manager: manager.to_owned(),
                operation: "Update".into(),
                api_version: api_version.to_owned(),
                time: json!(now),
                set: changed,
                subresource: None,
            }),
        }
    }
    store(new, owners);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_v1_round_trips() {
        let object = json!({"metadata": {"name": "x", "labels": {"a": "1"}, "finalizers": ["f"]}, "spec": {
            "replicas": 1, "containers": [{"name": "c", "image": "i"}], "args": ["x", "y"],
        }});
        let set = fields_of(&object);
        let encoded = encode(&set);
        assert_eq!(
            encoded,
            json!({
                "f:metadata": {"f:labels": {"f:a": {}}, "f:finalizers": {"v:\"f\"": {}}},
                "f:spec": {"f:replicas": {}, "f:args": {}, "f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:name": {}, "f:image": {}}}},
            })
        );
        assert_eq!(decode(&encoded), set);
    }

    #[test]
    fn apply_owns_conflicts_and_forgets() {
        let applied = json!({"metadata": {"name": "x"}, "spec": {"replicas": 1, "paused": false}});
        let live = apply(&Value::Null, &applied, "a", false, "v1", "t").unwrap();
        assert_eq!(live["spec"], json!({"replicas": 1, "paused": false}));
        // Another manager applying a different replicas conflicts; forced, it takes the field.
        let other = json!({"metadata": {"name": "x"}, "spec": {"replicas": 3}});
        let conflicts = apply(&live, &other, "b", false, "v1", "t").unwrap_err();
        assert_eq!(conflicts, [("a".to_owned(), ".spec.replicas".to_owned())]);
        let live = apply(&live, &other, "b", true, "v1", "t").unwrap();
        assert_eq!(live["spec"]["replicas"], 3);
        // `a` applies again without `paused`: the field goes, `replicas` is now b's.
        let again = json!({"metadata": {"name": "x"}, "spec": {"replicas": 3}});
        let live = apply(&live, &again, "a", false, "v1", "t").unwrap();
        assert_eq!(live["spec"], json!({"replicas": 3}));
        let managers: Vec<&str> = live["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["a", "b"]);
        // An update moves what it changes to its manager.
        let mut updated = live.clone();
        updated["spec"]["replicas"] = json!(5);
        record_update(&live, &mut updated, "kubectl", "v1", "t");
        let conflicts = apply(&updated, &json!({"spec": {"replicas": 7}}), "b", false, "v1", "t").unwrap_err();
        assert_eq!(conflicts, [("kubectl".to_owned(), ".spec.replicas".to_owned())]);
    }
}
