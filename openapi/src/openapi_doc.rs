//! Kubernetes OpenAPI v2 (`swagger.json`) and v3 group documents -> resources and types.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::error::Error;
use crate::model::*;
use crate::pointer::Pointer;
use crate::schema::{self, Ctx, type_name};

/// Which OpenAPI dialect a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Swagger 2.0: `definitions`, `responses.<code>.schema`.
    V2,
    /// OpenAPI 3.x: `components.schemas`, `responses.<code>.content.<type>.schema`.
    V3,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// What the reader needs to know of a definition before converting it: its kinds, and for a
/// list type the definition its `items` refer to.
#[derive(Default)]
struct RawDef {
    gvks: Vec<Gvk>,
    list_item: Option<String>,
    /// Has `metadata` among its properties: an object of some kind, even where the document
    /// does not say which (no `x-kubernetes-group-version-kind`).
    object_like: bool,
}

/// Kinds the reader inferred for definitions that do not declare theirs, by definition name.
type Inferred = HashMap<String, Gvk>;

/// Reads one OpenAPI document into the arena and `resources`.
pub(crate) fn read(
    mut root: Map<String, Value>,
    dialect: Dialect,
    cx: &mut Ctx,
    resources: &mut Vec<Resource>,
) -> Result<(), Error> {
    let (defs_ptr, defs) = match dialect {
        Dialect::V2 => ("/definitions", take_object(&mut root, "definitions", cx)?),
        Dialect::V3 => {
            let components = take_object(&mut root, "components", cx)?;
            let mut components = components.unwrap_or_default();
            cx.ptr = Pointer::new("/components");
            let schemas = take_object(&mut components, "schemas", cx)?;
            ("/components/schemas", schemas)
        }
    };
    let defs = defs.unwrap_or_default();
    let mut raw: HashMap<&str, RawDef> = HashMap::with_capacity(defs.len());
    for (name, def) in &defs {
        cx.ptr = Pointer::new(defs_ptr);
        cx.ptr.push(name);
        raw.insert(name, raw_def(def, cx)?);
    }

    cx.ptr = Pointer::new("");
    let mut inferred = Inferred::new();
    if let Some(paths) = take_object(&mut root, "paths", cx)? {
        read_paths(paths, dialect, &raw, &mut inferred, cx, resources)?;
    }
    drop(raw);

    for (name, mut def) in defs {
        cx.ptr = Pointer::new(defs_ptr);
        cx.ptr.push(&name);
        let mut gvks = match &mut def {
            Value::Object(m) => match m.remove("x-kubernetes-group-version-kind") {
                Some(v) => gvk_list(&v, cx)?,
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        if gvks.is_empty()
            && let Some(gvk) = inferred.remove(&name)
        {
            gvks.push(gvk);
        }
        let origin = cx.origin();
        let schema = schema::convert(def, cx, 0)?;
        cx.arena.define(&name, gvks, schema, origin)?;
    }
    Ok(())
}

fn take_object(root: &mut Map<String, Value>, key: &str, cx: &Ctx) -> Result<Option<Map<String, Value>>, Error> {
    match root.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(cx.err_at(key, format!("expected `{key}` to be an object, found {}", type_name(&other)))),
    }
}

fn raw_def(def: &Value, cx: &Ctx) -> Result<RawDef, Error> {
    let Value::Object(m) = def else {
        return Ok(RawDef::default());
    };
    let gvks = match m.get("x-kubernetes-group-version-kind") {
        Some(v) => gvk_list(v, cx)?,
        None => Vec::new(),
    };
    let list_item = m.get("properties").and_then(|p| p.get("items")).and_then(|i| i.get("items")).and_then(ref_of);
    let object_like = m.get("properties").and_then(|p| p.get("metadata")).is_some();
    Ok(RawDef { gvks, list_item, object_like })
}

/// The definition name a schema refers to, directly or through a one-element `allOf`.
fn ref_of(schema: &Value) -> Option<String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return schema::ref_name(r);
    }
    match schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => ref_of(only),
        _ => None,
    }
}

/// `x-kubernetes-group-version-kind`: one object or an array of them.
fn gvk_list(v: &Value, cx: &Ctx) -> Result<Vec<Gvk>, Error> {
    const KEY: &str = "x-kubernetes-group-version-kind";
    let one = |v: &Value, at: String| -> Result<Gvk, Error> {
        let field = |name: &str| -> Result<String, Error> {
            match v.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(cx.err_at(&at, format!("expected a group-version-kind object with a string `{name}`"))),
            }
        };
        Ok(Gvk { group: field("group")?, version: field("version")?, kind: field("kind")? })
    };
    match v {
        Value::Array(items) => items.iter().enumerate().map(|(i, g)| one(g, format!("{KEY}/{i}"))).collect(),
        Value::Object(_) => Ok(vec![one(v, KEY.to_owned())?]),
        other => Err(cx.err_at(KEY, format!("expected an object or an array of objects, found {}", type_name(other)))),
    }
}

/// A resource path taken apart: `/apis/{group}/{version}[/watch][/namespaces/{namespace}]/{plural}[/{name}[/{sub}...]]`.
#[derive(Debug, PartialEq)]
struct PathShape<'a> {
    group: &'a str,
    version: &'a str,
    watch: bool,
    namespaced: bool,
    plural: &'a str,
    item: bool,
    subresource: Option<&'a str>,
}

fn parse_path(path: &str) -> Option<PathShape<'_>> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, mut rest) = match segs.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let watch = rest.first() == Some(&"watch");
    if watch {
        rest = &rest[1..];
    }
    let namespaced = rest.len() >= 3 && rest[0] == "namespaces" && rest[1] == "{namespace}";
    if namespaced {
        rest = &rest[2..];
    }
    let plural = *rest.first()?;
    if plural.starts_with('{') || rest.get(1).is_some_and(|n| !n.starts_with('{')) {
        return None;
    }
    Some(PathShape {
        group,
        version,
        watch,
        namespaced,
        plural,
        item: rest.len() >= 2,
        subresource: rest.get(2).copied(),
    })
}

/// The verb of an operation: its `x-kubernetes-action`, or what the method and path imply.
fn verb_of(action: Option<&str>, method: &str, shape: &PathShape, cx: &Ctx, at: &str) -> Result<Option<Verbs>, Error> {
    if shape.watch && method == "get" {
        return Ok(Some(Verbs::WATCH));
    }
    let by_method = || match method {
        "get" => Some(Verbs::GET),
        "post" => Some(Verbs::CREATE),
        "put" => Some(Verbs::UPDATE),
        "patch" => Some(Verbs::PATCH),
        "delete" => Some(Verbs::DELETE),
        _ => None,
    };
    Ok(match action {
        Some("get") => Some(Verbs::GET),
        Some("list") => Some(Verbs::LIST),
        Some("watch" | "watchlist") => Some(Verbs::WATCH),
        Some("post") => Some(Verbs::CREATE),
        Some("put") => Some(Verbs::UPDATE),
        Some("patch") => Some(Verbs::PATCH),
        Some("delete") => Some(Verbs::DELETE),
        Some("deletecollection") => Some(Verbs::DELETECOLLECTION),
        Some("connect") => by_method(),
        Some(other) => {
            return Err(cx.err_at(
                at,
                format!(
                    "unknown x-kubernetes-action `{other}`: expected get, list, watch, watchlist, post, put, patch, delete, deletecollection or connect"
                ),
            ));
        }
        None if shape.subresource.is_some() || shape.item => by_method(),
        None => match method {
            "get" => Some(Verbs::LIST),
            "delete" => Some(Verbs::DELETECOLLECTION),
            _ => by_method(),
        },
    })
}

/// What is known of one resource while its paths are read.
#[derive(Default)]
struct Acc {
    kind: Option<(Gvk, bool)>,
    verbs: Verbs,
    has_own_path: bool,
    namespaced: bool,
    cluster_wide_reads: bool,
    subresources: BTreeMap<String, SubAcc>,
    origin: Option<Origin>,
}

/// What is known of one subresource: its kind (and whether an extension named it), its verbs.
struct SubAcc {
    kind: Option<(Gvk, bool)>,
    verbs: Verbs,
    connect: bool,
}

/// Keeps an explicit kind over an inferred one, and the first of each.
fn offer(slot: &mut Option<(Gvk, bool)>, gvk: Gvk, explicit: bool) {
    match slot {
        None => *slot = Some((gvk, explicit)),
        Some((_, false)) if explicit => *slot = Some((gvk, explicit)),
        _ => {}
    }
}

fn read_paths(
    paths: Map<String, Value>,
    dialect: Dialect,
    raw: &HashMap<&str, RawDef>,
    inferred: &mut Inferred,
    cx: &mut Ctx,
    resources: &mut Vec<Resource>,
) -> Result<(), Error> {
    let mut accs: BTreeMap<(String, String, String), Acc> = BTreeMap::new();
    for (path, item) in &paths {
        let Some(shape) = parse_path(path) else {
            continue;
        };
        cx.ptr = Pointer::new("/paths");
        cx.ptr.push(path);
        let Value::Object(item) = item else {
            return Err(cx.err(format!("expected a path item object, found {}", type_name(item))));
        };
        let key = (shape.group.to_owned(), shape.version.to_owned(), shape.plural.to_owned());
        let acc = accs.entry(key).or_default();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let Value::Object(op) = op else {
                return Err(cx.err_at(method, format!("expected an operation object, found {}", type_name(op))));
            };
            let action = match op.get("x-kubernetes-action") {
                None => None,
                Some(Value::String(a)) => Some(a.as_str()),
                Some(other) => {
                    return Err(cx.err_at(
                        &format!("{method}/x-kubernetes-action"),
                        format!("expected a string, found {}", type_name(other)),
                    ));
                }
            };
            let Some(verb) = verb_of(action, method, &shape, cx, &format!("{method}/x-kubernetes-action"))? else {
                continue;
            };
            let explicit = match op.get("x-kubernetes-group-version-kind") {
                Some(v) => {
                    let mark = cx.ptr.push(method);
                    let gvks = gvk_list(v, cx)?;
                    cx.ptr.truncate(mark);
                    gvks.into_iter().next()
                }
                None => None,
            };
            let gvk = match explicit {
                Some(g) => Some((g, true)),
                // Watch and delete responses (WatchEvent, Status) say nothing of the kind.
                None if !matches!(verb, Verbs::WATCH | Verbs::DELETE | Verbs::DELETECOLLECTION) => {
                    response_kind(op, dialect, raw, &shape, inferred).map(|g| (g, false))
                }
                None => None,
            };
            match shape.subresource {
                None => {
                    acc.has_own_path = true;
                    acc.verbs.insert(verb);
                    if shape.namespaced {
                        acc.namespaced = true;
                    } else if matches!(verb, Verbs::LIST | Verbs::WATCH) {
                        acc.cluster_wide_reads = true;
                    }
                    if let Some((g, e)) = gvk {
                        offer(&mut acc.kind, g, e);
                    }
                    if acc.origin.is_none() {
                        acc.origin = Some(cx.origin());
                    }
                }
                Some(sub) => {
                    let entry = acc.subresources.entry(sub.to_owned()).or_insert_with(|| SubAcc {
                        kind: None,
                        verbs: Verbs::empty(),
                        connect: false,
                    });
                    entry.verbs.insert(verb);
                    // Without `x-kubernetes-action`, the subresources Kubernetes serves by
                    // `connect` are known by name.
                    entry.connect |=
                        action == Some("connect") || (action.is_none() && CONNECT_SUBRESOURCES.contains(&sub));
                    if let Some((g, e)) = gvk {
                        offer(&mut entry.kind, g, e);
                    }
                }
            }
        }
    }

    for ((group, version, plural), acc) in accs {
        // A resource reached only through its subresources is not a resource of its own.
        if !acc.has_own_path {
            continue;
        }
        let Some(origin) = acc.origin else { continue };
        let Some((kind, _)) = acc.kind else {
            return Err(Error::at(
                &origin,
                format!(
                    "cannot tell the kind of `{plural}`: no operation has x-kubernetes-group-version-kind or a response schema that names one"
                ),
            ));
        };
        let mut subresources = Vec::with_capacity(acc.subresources.len());
        for (name, SubAcc { kind: gvk, verbs, connect }) in acc.subresources {
            // A subresource whose operations name no kind (a connect subresource such as
            // `nodes/{name}/proxy`, whose responses are strings) is the parent's.
            let gvk = gvk.map(|(g, _)| g).unwrap_or_else(|| kind.clone());
            if !verbs.is_empty() {
                subresources.push(Subresource { name, kind: gvk, verbs, scale: None, connect });
            }
        }
        resources.push(Resource {
            group,
            version,
            kind: kind.kind,
            plural,
            singular: None,
            short_names: Vec::new(),
            categories: Vec::new(),
            list_kind: None,
            scope: if acc.namespaced { Scope::Namespaced } else { Scope::Cluster },
            all_namespaces: acc.namespaced && acc.cluster_wide_reads,
            verbs: acc.verbs,
            subresources,
            ty: None,
            deprecated: false,
            deprecation_warning: None,
            custom: false,
            selectable_fields: Vec::new(),
            storage: false,
            origin,
        });
    }
    Ok(())
}

/// Subresources Kubernetes serves through the `connect` action.
const CONNECT_SUBRESOURCES: &[&str] = &["attach", "exec", "portforward", "proxy"];

/// The kind an operation returns, from its success response's schema: the definition's own
/// group-version-kind, or for a list the kind of its items. A definition that declares no kind
/// but is an object with `metadata` is taken to be the kind its name ends with, in the
/// group-version of the path (`io.k8s.api.core.v1.Binding` at `/api/v1/...` is `v1 Binding`),
/// and that is remembered for the definition. Subresources get no such guess.
fn response_kind(
    op: &Map<String, Value>,
    dialect: Dialect,
    raw: &HashMap<&str, RawDef>,
    shape: &PathShape,
    inferred: &mut Inferred,
) -> Option<Gvk> {
    let responses = op.get("responses")?.as_object()?;
    for code in ["200", "201", "202"] {
        let Some(response) = responses.get(code) else {
            continue;
        };
        let schemas: Vec<&Value> = match dialect {
            Dialect::V2 => response.get("schema").into_iter().collect(),
            Dialect::V3 => response
                .get("content")
                .and_then(Value::as_object)
                .map(|c| c.values().filter_map(|m| m.get("schema")).collect())
                .unwrap_or_default(),
        };
        for schema in schemas {
            let Some(name) = ref_of(schema) else { continue };
            let Some(def) = raw.get(name.as_str()) else {
                continue;
            };
            let (item, item_def) = match &def.list_item {
                Some(item) => match raw.get(item.as_str()) {
                    Some(d) => (item.as_str(), d),
                    None => continue,
                },
                None => (name.as_str(), def),
            };
            if let Some(gvk) = item_def.gvks.first().filter(|g| g.kind != "Status") {
                return Some(gvk.clone());
            }
            // A subresource's kind is often another group's (`apps/v1` scales are
            // `autoscaling/v1 Scale`): the path says nothing of it.
            if item_def.gvks.is_empty() && item_def.object_like && shape.subresource.is_none() {
                let kind = item.rsplit('.').next().unwrap_or(item);
                if kind == "Status" || kind.is_empty() {
                    continue;
                }
                let gvk =
                    Gvk { group: shape.group.to_owned(), version: shape.version.to_owned(), kind: kind.to_owned() };
                inferred.entry(item.to_owned()).or_insert_with(|| gvk.clone());
                return Some(gvk);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::escape;

    #[test]
    fn path_shapes() {
        let p = parse_path("/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}").unwrap();
        assert_eq!(
            p,
            PathShape {
                group: "",
                version: "v1",
                watch: false,
                namespaced: true,
                plural: "pods",
                item: true,
                subresource: Some("proxy")
            }
        );
        let p = parse_path("/apis/apps/v1/watch/deployments").unwrap();
        assert!(p.watch && !p.namespaced && !p.item && p.plural == "deployments");
        let p = parse_path("/api/v1/namespaces/{name}/finalize").unwrap();
        assert_eq!((p.plural, p.namespaced, p.subresource), ("namespaces", false, Some("finalize")));
        assert!(parse_path("/apis/apps/v1/").is_none());
        assert!(parse_path("/version/").is_none());
        assert!(parse_path("/logs/{logpath}").is_none());
    }

    #[test]
    fn escape_is_used_for_pointer_tokens() {
        assert_eq!(escape("/api/v1/pods"), "~1api~1v1~1pods");
    }
}
