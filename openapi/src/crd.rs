//! `apiextensions.k8s.io/v1` CustomResourceDefinitions -> one resource and one root type per
//! served version.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::model::*;
use crate::schema::{self, Ctx, type_name};

/// Reads one CRD object found at `cx.ptr`.
pub(crate) fn read(crd: Map<String, Value>, cx: &mut Ctx, resources: &mut Vec<Resource>) -> Result<(), Error> {
    let base = cx.ptr.clone();
    let mut crd = crd;
    let name = crd.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).map(str::to_owned);
    let Some(Value::Object(mut spec)) = crd.remove("spec") else {
        return Err(cx.err_at("spec", "a CustomResourceDefinition needs a `spec` object"));
    };
    cx.ptr.push("spec");
    let group = req_str(&spec, "group", cx)?;
    let scope = match req_str(&spec, "scope", cx)?.as_str() {
        "Namespaced" => Scope::Namespaced,
        "Cluster" => Scope::Cluster,
        other => {
            return Err(cx.err_at("scope", format!("unknown scope `{other}`: expected Namespaced or Cluster")));
        }
    };
    let Some(Value::Object(names)) = spec.remove("names") else {
        return Err(cx.err_at("names", "a CustomResourceDefinition needs a `spec.names` object"));
    };
    let mark = cx.ptr.push("names");
    let kind = req_str(&names, "kind", cx)?;
    let plural = req_str(&names, "plural", cx)?;
    let singular = opt_str(&names, "singular", cx)?;
    let list_kind = opt_str(&names, "listKind", cx)?.unwrap_or_else(|| format!("{kind}List"));
    let short_names = opt_strs(&names, "shortNames", cx)?;
    let categories = opt_strs(&names, "categories", cx)?;
    cx.ptr.truncate(mark);
    if let Some(name) = name {
        let expected = format!("{plural}.{group}");
        if name != expected {
            let mut at = base.clone();
            at.push("metadata");
            cx.ptr = at;
            return Err(
                cx.err_at("name", format!("the CRD is named `{name}`, but its names and group make it `{expected}`"))
            );
        }
    }

    let Some(Value::Array(versions)) = spec.remove("versions") else {
        return Err(cx.err_at("versions", "a CustomResourceDefinition needs a `spec.versions` array"));
    };
    if versions.is_empty() {
        return Err(cx.err_at("versions", "a CustomResourceDefinition needs at least one version"));
    }
    let mark = cx.ptr.push("versions");
    let mut seen: Vec<String> = Vec::new();
    for (i, version) in versions.into_iter().enumerate() {
        let m = cx.ptr.push_index(i);
        let Value::Object(mut version) = version else {
            return Err(cx.err(format!("expected a version object, found {}", type_name(&version))));
        };
        let vname = req_str(&version, "name", cx)?;
        if seen.contains(&vname) {
            return Err(cx.err_at("name", format!("version `{vname}` is listed twice")));
        }
        seen.push(vname.clone());
        if !opt_bool(&version, "served", cx)? {
            cx.ptr.truncate(m);
            continue;
        }
        let storage = opt_bool(&version, "storage", cx)?;
        let deprecated = opt_bool(&version, "deprecated", cx)?;
        let deprecation_warning = opt_str(&version, "deprecationWarning", cx)?;
        let subresources = subresources(&version, &group, &vname, &kind, cx)?;
        let selectable_fields = selectable_fields(&version, cx)?;

        let root = match version.remove("schema") {
            None => None,
            Some(Value::Object(mut s)) => s.remove("openAPIV3Schema"),
            Some(other) => {
                return Err(
                    cx.err_at("schema", format!("expected `schema` to be an object, found {}", type_name(&other)))
                );
            }
        };
        let mark_schema = cx.ptr.push("schema");
        cx.ptr.push("openAPIV3Schema");
        let origin = cx.origin();
        let schema = match root {
            Some(root) => schema::convert(root, cx, 0)?,
            // Kubernetes requires a schema for v1 CRDs; without one every object is accepted.
            None => Schema {
                extensions: Box::new(Extensions { preserve_unknown_fields: true, ..Default::default() }),
                ..Schema::default()
            },
        };
        cx.ptr.truncate(mark_schema);
        let gvk = Gvk { group: group.clone(), version: vname.clone(), kind: kind.clone() };
        let ty = cx.arena.define(&definition_name(&gvk), vec![gvk], schema, origin.clone())?;
        resources.push(Resource {
            group: group.clone(),
            version: vname,
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            short_names: short_names.clone(),
            categories: categories.clone(),
            list_kind: Some(list_kind.clone()),
            scope,
            all_namespaces: scope == Scope::Namespaced,
            verbs: Verbs::ALL,
            subresources,
            ty: Some(ty),
            deprecated,
            deprecation_warning,
            custom: true,
            selectable_fields,
            storage,
            origin: Origin { pointer: cx.ptr.as_str().to_owned(), ..origin },
        });
        cx.ptr.truncate(m);
    }
    cx.ptr.truncate(mark);
    Ok(())
}

/// `selectableFields[].jsonPath` (`.spec.color`) as the field a selector names (`spec.color`).
fn selectable_fields(version: &Map<String, Value>, cx: &Ctx) -> Result<Vec<String>, Error> {
    let Some(fields) = version.get("selectableFields") else { return Ok(Vec::new()) };
    let Value::Array(fields) = fields else {
        return Err(cx.err_at("selectableFields", format!("expected an array, found {}", type_name(fields))));
    };
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| match f.get("jsonPath").and_then(Value::as_str) {
            Some(path) => Ok(path.trim_start_matches('.').to_owned()),
            None => Err(cx.err_at(&format!("selectableFields/{i}"), "expected an object with a string `jsonPath`")),
        })
        .collect()
}

/// The definition name the API server publishes for a CRD version: the group reversed,
/// then version and kind (`io.cert-manager.v1.Certificate`).
pub fn definition_name(gvk: &Gvk) -> String {
    let mut name: Vec<&str> = gvk.group.split('.').rev().collect();
    name.push(&gvk.version);
    name.push(&gvk.kind);
    name.join(".")
}

fn subresources(
    version: &Map<String, Value>,
    group: &str,
    vname: &str,
    kind: &str,
    cx: &mut Ctx,
) -> Result<Vec<Subresource>, Error> {
    let mut out = Vec::new();
    let Some(subs) = version.get("subresources") else {
        return Ok(out);
    };
    let Value::Object(subs) = subs else {
        return Err(
            cx.err_at("subresources", format!("expected `subresources` to be an object, found {}", type_name(subs)))
        );
    };
    let verbs = Verbs::GET | Verbs::PATCH | Verbs::UPDATE;
    let mark = cx.ptr.push("subresources");
    if let Some(scale) = subs.get("scale").filter(|v| !v.is_null()) {
        let Value::Object(scale) = scale else {
            return Err(cx.err_at("scale", format!("expected `scale` to be an object, found {}", type_name(scale))));
        };
        let m = cx.ptr.push("scale");
        let paths = ScalePaths {
            spec_replicas: req_str(scale, "specReplicasPath", cx)?,
            status_replicas: req_str(scale, "statusReplicasPath", cx)?,
            label_selector: opt_str(scale, "labelSelectorPath", cx)?,
        };
        cx.ptr.truncate(m);
        let kind = Gvk { group: "autoscaling".into(), version: "v1".into(), kind: "Scale".into() };
        out.push(Subresource { name: "scale".into(), kind, verbs, scale: Some(paths), connect: false });
    }
    if subs.get("status").is_some_and(|v| !v.is_null()) {
        let kind = Gvk { group: group.into(), version: vname.into(), kind: kind.into() };
        out.push(Subresource { name: "status".into(), kind, verbs, scale: None, connect: false });
    }
    cx.ptr.truncate(mark);
    Ok(out)
}

fn req_str(m: &Map<String, Value>, key: &str, cx: &Ctx) -> Result<String, Error> {
    match m.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(cx.err_at(key, format!("`{key}` must not be empty"))),
        None | Some(Value::Null) => Err(cx.err_at(key, format!("missing required string `{key}`"))),
        Some(other) => Err(cx.err_at(key, format!("expected `{key}` to be a string, found {}", type_name(other)))),
    }
}

fn opt_str(m: &Map<String, Value>, key: &str, cx: &Ctx) -> Result<Option<String>, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => req_str(m, key, cx).map(Some),
    }
}

fn opt_bool(m: &Map<String, Value>, key: &str, cx: &Ctx) -> Result<bool, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(cx.err_at(key, format!("expected `{key}` to be a boolean, found {}", type_name(other)))),
    }
}

fn opt_strs(m: &Map<String, Value>, key: &str, cx: &Ctx) -> Result<Vec<String>, Error> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => {
                    Err(cx.err_at(&format!("{key}/{i}"), format!("expected a string, found {}", type_name(other))))
                }
            })
            .collect(),
        Some(other) => {
            Err(cx.err_at(key, format!("expected `{key}` to be an array of strings, found {}", type_name(other))))
        }
    }
}
