//! Server-side apply and field ownership: each manager's fields are kept in
//! `metadata.managedFields` (FieldsV1), an apply takes ownership of what it sets, drops what its
//! manager set before and no longer sets, and conflicts (409) with fields another manager owns
//! at another value unless forced; updates and creates make their manager own what they change.
//! Lists merge as the resource's schema says ([`Lists`]): by their keys, as sets, or whole.
//! Writes through a subresource (`status`, `scale`) are owned per subresource, as the real
//! server's `managedFields` entries say with `subresource`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::lists::{ListKind, Lists, Node};

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

/// Which part of an object a write manages: the main resource (everything but `status`), or
/// a subresource's part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope<'a> {
    /// The main endpoint: everything but `status` (when `status` is a subresource).
    Main {
        /// The resource has a `status` subresource, which owns `status`.
        status_subresource: bool,
    },
    /// `status`: only `status`.
    Status,
    /// `scale`: only the replicas field at this JSON pointer (`/spec/replicas`).
    Scale(&'a str),
}

impl Scope<'_> {
    fn name(self) -> Option<&'static str> {
        match self {
            Scope::Main { .. } => None,
            Scope::Status => Some("status"),
            Scope::Scale(_) => Some("scale"),
        }
    }

    fn contains(self, path: &[Seg]) -> bool {
        match self {
            Scope::Main { status_subresource } => {
                !(status_subresource && matches!(path.first(), Some(Seg::Field(f)) if f == "status"))
            }
            Scope::Status => matches!(path.first(), Some(Seg::Field(f)) if f == "status"),
            Scope::Scale(pointer) => {
                let fields: Vec<&str> = pointer.split('/').skip(1).collect();
                path.len() == fields.len() && path.iter().zip(&fields).all(|(s, f)| *s == Seg::Field((*f).to_owned()))
            }
        }
    }
}

/// Fields the server owns or that identify the object: never managed.
fn unmanaged(path: &[Seg]) -> bool {
    match path {
        [Seg::Field(f), ..] if f == "apiVersion" || f == "kind" => true,
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

/// The fields `object` sets in `scope`, as leaf paths.
fn fields_of(object: &Value, lists: Lists, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    walk(object, lists.root(), None, &mut Vec::new(), &mut out);
    out.retain(|p| !unmanaged(p) && scope.contains(p));
    out
}

/// The `k:` key of a keyed list's item.
/// The maps and associative lists `object` holds below its root (not `metadata` itself, which
/// the server strips as it strips `apiVersion` and `kind`), as paths: an update that adds one owns it as well as its
/// fields (the `"."` of a `FieldsV1` entry).
fn nodes_of(object: &Value, lists: Lists, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    let builtin = matches!(lists, Lists::Builtin);
    walk_nodes(object, lists.root(), None, &mut Vec::new(), &mut out, builtin);
    out.retain(|p| !matches!(p.as_slice(), [Seg::Field(m)] if m == "metadata") && !unmanaged(p) && scope.contains(p));
    out
}

/// A built-in type's struct fields, and its lists without `omitempty`, are never absent in Go
/// (an empty object has them, zero or null), so an update never adds one: no `"."`. Without
/// Go's types, these are the common ones by name; maps, pointers and other lists get their
/// mark.
fn always_present(field: Option<&str>) -> bool {
    matches!(
        field,
        Some(
            "spec"
                | "status"
                | "template"
                | "metadata"
                | "resources"
                | "strategy"
                | "updateStrategy"
                | "names"
                | "containers"
                | "rules"
        )
    )
}

fn walk_nodes(v: &Value, node: Node, field: Option<&str>, path: &mut Path, out: &mut FieldSet, builtin: bool) {
    let marked = !(builtin && always_present(field));
    match v {
        Value::Object(m) if !m.is_empty() && !node.atomic_map(field, v) => {
            if marked && !path.is_empty() {
                out.insert(path.clone());
            }
            for (k, child) in m {
                path.push(Seg::Field(k.clone()));
                walk_nodes(child, node.field(k), Some(k), path, out, builtin);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match node.list(field, items.iter()) {
            ListKind::Map(keys) => {
                if marked {
                    out.insert(path.clone());
                }
                for item in items {
                    path.push(Seg::Key(item_key(item, &keys)));
                    walk_nodes(item, node.items(), None, path, out, builtin);
                    path.pop();
                }
            }
            ListKind::Set if marked => {
                out.insert(path.clone());
            }
            ListKind::Set | ListKind::Atomic => {}
        },
        _ => {}
    }
}

fn item_key(item: &Value, keys: &[String]) -> String {
    let key: Map<String, Value> = keys.iter().map(|k| (k.clone(), item[k.as_str()].clone())).collect();
    Value::Object(key).to_string()
}

fn walk(v: &Value, node: Node, field: Option<&str>, path: &mut Path, out: &mut FieldSet) {
    if v.is_object() && node.atomic_map(field, v) {
        out.insert(path.clone());
        return;
    }
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(Seg::Field(k.clone()));
                walk(child, node.field(k), Some(k), path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match node.list(field, items.iter()) {
            ListKind::Set => {
                for item in items {
                    path.push(Seg::Value(item.to_string()));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            ListKind::Map(keys) => {
                for item in items {
                    path.push(Seg::Key(item_key(item, &keys)));
                    out.insert(path.clone());
                    walk(item, node.items(), None, path, out);
                    path.pop();
                }
            }
            ListKind::Atomic => {
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

/// Merges an applied configuration into the live object: maps recursively (unless atomic),
/// keyed lists by key, set lists as sets, everything else replaced.
fn merge(live: &mut Value, applied: &Value, node: Node, field: Option<&str>) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) if !node.atomic_map(field, applied) => {
            for (k, v) in a {
                merge(l.entry(k.clone()).or_insert(Value::Null), v, node.field(k), Some(k));
            }
        }
        (Value::Array(l), Value::Array(a)) => match node.list(field, a.iter().chain(l.iter())) {
            ListKind::Set => {
                for v in a {
                    if !l.contains(v) {
                        l.push(v.clone());
                    }
                }
            }
            ListKind::Map(keys) => {
                for item in a {
                    let same = |i: &Value| keys.iter().all(|k| i.get(k) == item.get(k));
                    match l.iter().position(same) {
                        Some(at) => merge(&mut l[at], item, node.items(), None),
                        None => l.push(item.clone()),
                    }
                }
            }
            ListKind::Atomic => *l = a.clone(),
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

/// What one apply request is: by whom, forced or not, through which part of the object, with
/// which list semantics, stamped with which version and time.
pub(super) struct Request<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub scope: Scope<'a>,
    pub lists: Lists<'a>,
    pub api_version: &'a str,
    pub now: &'a str,
}

/// Applies `applied` for the request's manager to `live` (`Value::Null` when the object does
/// not exist): the new object, or the conflicts (`manager`, field) when not `force`d. Only the
/// request's scope of `applied` is taken (`status` for the status subresource).
pub(super) fn apply(live: &Value, applied: &Value, r: &Request) -> Result<Value, Vec<(String, String)>> {
    let subresource = r.scope.name();
    let wanted = fields_of(applied, r.lists, r.scope);
    let mut owners = entries(live);
    let is_mine = |e: &Entry| {
        e.manager == r.manager
            && e.operation == "Apply"
            && e.subresource.as_ref().and_then(Value::as_str) == subresource
    };
    let mut conflicts = Vec::new();
    let mut taken: BTreeMap<usize, FieldSet> = BTreeMap::new();
    for (i, e) in owners.iter().enumerate() {
        if is_mine(e) {
            continue;
        }
        for path in wanted.intersection(&e.set) {
            if get(live, path) != get(applied, path) {
                conflicts.push((e.manager.clone(), display(path)));
                taken.entry(i).or_default().insert(path.clone());
            }
        }
    }
    if !conflicts.is_empty() && !r.force {
        return Err(conflicts);
    }
    for (i, paths) in taken {
        owners[i].set.retain(|p| !paths.contains(p));
    }
    let mut object = if live.is_null() { json!({}) } else { live.clone() };
    // What this manager applied before and no longer does goes, unless another manager owns it.
    let mine = owners.iter().position(is_mine);
    if let Some(at) = mine {
        let others: FieldSet =
            owners.iter().enumerate().filter(|(i, _)| *i != at).flat_map(|(_, e)| e.set.iter().cloned()).collect();
        let dropped: BTreeSet<Path> =
            owners[at].set.iter().filter(|p| !wanted.contains(*p) && !others.contains(*p)).cloned().collect();
        // A dropped list item goes whole (its fields with it); a kept item keeps its key fields.
        let removable = |p: &Path| {
            let under_dropped = (1..p.len()).any(|n| dropped.contains(&p[..n]));
            let key_field = match p.as_slice() {
                [.., Seg::Key(k), Seg::Field(f)] => {
                    serde_json::from_str::<Map<String, Value>>(k).is_ok_and(|k| k.contains_key(f))
                }
                _ => false,
            };
            !under_dropped && !key_field
        };
        // Deepest first, so a list item goes before the list that held it is looked at.
        for path in dropped.iter().rev().filter(|p| removable(p)) {
            remove(&mut object, path);
        }
    }
    let body = match r.scope {
        Scope::Main { status_subresource } => {
            let mut body = applied.clone();
            if let (true, Some(m)) = (status_subresource, body.as_object_mut()) {
                m.remove("status");
            }
            body
        }
        Scope::Status => json!({"status": applied["status"]}),
        Scope::Scale(_) => applied.clone(),
    };
    merge(&mut object, &body, r.lists.root(), None);
    let entry = Entry {
        manager: r.manager.to_owned(),
        operation: "Apply".into(),
        api_version: r.api_version.to_owned(),
        time: json!(r.now),
        set: wanted,
        subresource: subresource.map(|s| json!(s)),
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
    let set = fields_of(object, Lists::Builtin, Scope::Status);
    json!({
        "manager": manager, "operation": "Update", "apiVersion": api_version, "time": now,
        "fieldsType": "FieldsV1", "fieldsV1": encode(&set), "subresource": "status",
    })
}

/// Records that the request's manager wrote `new` over `old` with a create, update or patch
/// (through the request's scope): it owns what changed, and no one else does any more.
pub(super) fn record_update(old: &Value, new: &mut Value, r: &Request) {
    let everything = Scope::Main { status_subresource: false };
    let (before, mut after) = (fields_of(old, r.lists, everything), fields_of(new, r.lists, everything));
    let mut changed: FieldSet = after
        .iter()
        .filter(|p| r.scope.contains(p) && (!before.contains(*p) || get(old, p) != get(new, p)))
        .cloned()
        .collect();
    // A map the update created is the writer's too, as structured-merge-diff records it.
    let (nodes_before, nodes_after) = (nodes_of(old, r.lists, everything), nodes_of(new, r.lists, everything));
    changed.extend(nodes_after.iter().filter(|p| r.scope.contains(p) && !nodes_before.contains(*p)).cloned());
    after.extend(nodes_after);
    let subresource = r.scope.name();
    let mut owners = entries(old);
    for e in owners.iter_mut() {
        // Fields that are gone are owned by no one; changed ones move to the writer.
        e.set.retain(|p| after.contains(p) && !changed.contains(p));
    }
    if !changed.is_empty() {
        let mine = |e: &&mut Entry| {
            e.manager == r.manager
                && e.operation == "Update"
                && e.subresource.as_ref().and_then(Value::as_str) == subresource
        };
        match owners.iter_mut().find(mine) {
            Some(e) => {
                e.set.extend(changed);
                e.time = json!(r.now);
            }
            None => owners.push(Entry {
                manager: r.manager.to_owned(),
                operation: "Update".into(),
                api_version: r.api_version.to_owned(),
                time: json!(r.now),
                set: changed,
                subresource: subresource.map(|s| json!(s)),
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
        let set = fields_of(&object, Lists::Builtin, Scope::Main { status_subresource: true });
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

    fn req(manager: &str, force: bool) -> Request<'_> {
        Request {
            manager,
            force,
            scope: Scope::Main { status_subresource: true },
            lists: Lists::Builtin,
            api_version: "v1",
            now: "t",
        }
    }

    #[test]
    fn apply_owns_conflicts_and_forgets() {
        let applied = json!({"metadata": {"name": "x"}, "spec": {"replicas": 1, "paused": false}});
        let live = apply(&Value::Null, &applied, &req("a", false)).unwrap();
        assert_eq!(live["spec"], json!({"replicas": 1, "paused": false}));
        // Another manager applying a different replicas conflicts; forced, it takes the field.
        let other = json!({"metadata": {"name": "x"}, "spec": {"replicas": 3}});
        let conflicts = apply(&live, &other, &req("b", false)).unwrap_err();
        assert_eq!(conflicts, [("a".to_owned(), ".spec.replicas".to_owned())]);
        let live = apply(&live, &other, &req("b", true)).unwrap();
        assert_eq!(live["spec"]["replicas"], 3);
        // `a` applies again without `paused`: the field goes, `replicas` is now b's.
        let again = json!({"metadata": {"name": "x"}, "spec": {"replicas": 3}});
        let live = apply(&live, &again, &req("a", false)).unwrap();
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
        record_update(&live, &mut updated, &req("kubectl", false));
        let conflicts = apply(&updated, &json!({"spec": {"replicas": 7}}), &req("b", false)).unwrap_err();
        assert_eq!(conflicts, [("kubectl".to_owned(), ".spec.replicas".to_owned())]);
    }
}
