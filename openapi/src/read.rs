//! The reader's passes: collect documents -> fix-ups -> resolve -> [`Model`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::arena::Arena;
use crate::error::Error;
use crate::model::*;
use crate::openapi_doc::Dialect;
use crate::pointer::Pointer;
use crate::schema::Ctx;
use crate::source::{self, Document};
use crate::{crd, fixups, openapi_doc};

/// Reads files and directories (walked recursively, sorted; `.yaml`, `.yml` and `.json` files)
/// into one [`Model`]. Inputs are recognised by content: Kubernetes OpenAPI v2, OpenAPI v3,
/// CustomResourceDefinitions (also inside `kind: List`).
pub fn read<P: AsRef<Path>>(inputs: &[P]) -> Result<Model, Error> {
    let inputs: Vec<PathBuf> = inputs.iter().map(|p| p.as_ref().to_owned()).collect();
    let files = source::files(&inputs)?;
    // Parsing dominates reading a folder of CRDs: spread the files over the cores, then take
    // the results in input order (and the first error in that order).
    let parse = |(path, input): &(PathBuf, usize)| source::parse_file(path, inputs.get(*input) == Some(path));
    #[cfg(feature = "parallel")]
    let parsed: Vec<Result<Vec<Document>, Error>> = {
        use rayon::prelude::*;
        files.par_iter().map(parse).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let parsed: Vec<Result<Vec<Document>, Error>> = files.iter().map(parse).collect();
    let mut docs = Vec::new();
    let mut owner = Vec::new();
    for ((_, input), result) in files.iter().zip(parsed) {
        for doc in result? {
            docs.push(doc);
            owner.push(*input);
        }
    }
    let mut found = vec![0usize; inputs.len()];
    let model = build(docs, |i| found[owner[i]] += 1)?;
    if let Some(i) = found.iter().position(|&n| n == 0) {
        return Err(Error::file(&inputs[i], "no OpenAPI document or CustomResourceDefinition found"));
    }
    Ok(model)
}

/// The files `read` would read for these inputs, in the order it reads them.
pub fn input_files<P: AsRef<Path>>(inputs: &[P]) -> Result<Vec<PathBuf>, Error> {
    let inputs: Vec<PathBuf> = inputs.iter().map(|p| p.as_ref().to_owned()).collect();
    Ok(source::files(&inputs)?.into_iter().map(|(path, _)| path).collect())
}

/// Reads one in-memory input (JSON or YAML text); `name` is used in error messages.
pub fn read_bytes(name: &Path, bytes: &[u8]) -> Result<Model, Error> {
    let file: Arc<Path> = Arc::from(name);
    let values = source::parse_bytes(name, bytes)?;
    let single = values.len() == 1;
    let docs = values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Document { file: file.clone(), index: (!single).then_some(i), value, explicit: true })
        .collect();
    let mut any = false;
    let model = build(docs, |_| any = true)?;
    if !any {
        return Err(Error::file(name, "no OpenAPI document or CustomResourceDefinition found"));
    }
    Ok(model)
}

/// Reads documents already parsed (fetched from a cluster, say), each named for error
/// messages and source notes; every one must be an OpenAPI document or a CRD.
pub fn read_values(documents: Vec<(PathBuf, Value)>) -> Result<Model, Error> {
    let docs = documents
        .into_iter()
        .map(|(name, value)| Document { file: Arc::from(name.as_path()), index: None, value, explicit: true })
        .collect();
    build(docs, |_| {})
}

/// Runs the passes over parsed documents; `recognised(i)` is called for each document that
/// is an input.
fn build(docs: Vec<Document>, mut recognised: impl FnMut(usize)) -> Result<Model, Error> {
    let mut arena = Arena::default();
    let mut resources = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        if collect(doc, &mut arena, &mut resources)? {
            recognised(i);
        }
    }
    let mut types = arena.finish()?;
    fixups::inline_single_ref_all_of(&mut types);
    fixups::int_or_string(&mut types);
    fixups::reject_ref_cycles(&types)?;
    let mut resources = dedupe_resources(resources)?;
    attach_types(&mut resources, &types);
    Ok(Model { resources, types })
}

/// What a document is, by its content.
enum Kind {
    OpenApi(Dialect),
    Crd,
    List,
    /// `kind: List` whose `items` is missing or not an array: always an error.
    BadList(String),
    Other(String),
}

fn kind_of(value: &Value) -> Kind {
    let Value::Object(m) = value else {
        return Kind::Other(crate::schema::type_name(value).to_owned());
    };
    if m.get("swagger").and_then(Value::as_str).is_some_and(|v| v.starts_with('2')) {
        return Kind::OpenApi(Dialect::V2);
    }
    if m.get("openapi").and_then(Value::as_str).is_some_and(|v| v.starts_with('3')) {
        return Kind::OpenApi(Dialect::V3);
    }
    let api_version = m.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match m.get("kind").and_then(Value::as_str) {
        Some("CustomResourceDefinition") if api_version.starts_with("apiextensions.k8s.io/") => Kind::Crd,
        Some(k) if m.get("items").is_some_and(Value::is_array) && k.ends_with("List") => Kind::List,
        Some("List") => Kind::BadList(match m.get("items") {
            None => "a `List` without `items`".to_owned(),
            Some(v) => format!("a `List` whose `items` is {}, not an array", crate::schema::type_name(v)),
        }),
        Some(k) => Kind::Other(format!("{api_version} {k}").trim().to_owned()),
        None => Kind::Other("an object without `kind`, `swagger` or `openapi`".to_owned()),
    }
}

/// Reads one document; `false` when it is not an input (skipped in a directory walk).
fn collect(doc: Document, arena: &mut Arena, resources: &mut Vec<Resource>) -> Result<bool, Error> {
    let mut cx = Ctx { file: &doc.file, document: doc.index, ptr: Pointer::new(""), arena, allow_refs: true };
    collect_value(doc.value, doc.explicit, &mut cx, resources)
}

fn collect_value(value: Value, explicit: bool, cx: &mut Ctx, resources: &mut Vec<Resource>) -> Result<bool, Error> {
    match kind_of(&value) {
        Kind::OpenApi(dialect) => {
            let Value::Object(root) = value else { return Err(cx.err("expected an object")) };
            openapi_doc::read(root, dialect, cx, resources)?;
            Ok(true)
        }
        Kind::Crd => {
            let Value::Object(crd) = value else { return Err(cx.err("expected an object")) };
            if crd.get("apiVersion").and_then(Value::as_str) != Some("apiextensions.k8s.io/v1") {
                return Err(cx.err_at(
                    "apiVersion",
                    "only apiextensions.k8s.io/v1 CustomResourceDefinitions are read (v1beta1 was removed in Kubernetes 1.22)",
                ));
            }
            cx.allow_refs = false;
            let result = crd::read(crd, cx, resources);
            cx.allow_refs = true;
            result.map(|()| true)
        }
        Kind::List => {
            let items = match value {
                Value::Object(mut list) => match list.remove("items") {
                    Some(Value::Array(items)) => items,
                    _ => return Err(cx.err_at("items", "expected an array")),
                },
                _ => return Err(cx.err("expected an object")),
            };
            let base = cx.ptr.clone();
            let mut any = false;
            for (i, item) in items.into_iter().enumerate() {
                cx.ptr = base.clone();
                cx.ptr.push("items");
                cx.ptr.push_index(i);
                any |= collect_value(item, explicit, cx, resources)?;
            }
            cx.ptr = base;
            Ok(any)
        }
        Kind::BadList(what) => Err(cx.err_at("items", format!("expected an array of manifests, found {what}"))),
        Kind::Other(what) if explicit => Err(cx.err(format!(
            "expected a Kubernetes OpenAPI document (`swagger: \"2.0\"` or `openapi: 3.x`) or an apiextensions.k8s.io/v1 CustomResourceDefinition, found {what}"
        ))),
        // Other manifests often sit beside CRDs (kustomization.yaml, namespaces): not inputs.
        Kind::Other(_) => Ok(false),
    }
}

/// One resource per (group, version, plural): identical repeats merge, different ones are an error.
fn dedupe_resources(mut resources: Vec<Resource>) -> Result<Vec<Resource>, Error> {
    // Stable: the first definition of a key stays first.
    resources.sort_by(|a, b| (&a.group, &a.version, &a.plural).cmp(&(&b.group, &b.version, &b.plural)));
    let mut out: Vec<Resource> = Vec::with_capacity(resources.len());
    for r in resources {
        match out.last() {
            Some(prev) if (&prev.group, &prev.version, &prev.plural) == (&r.group, &r.version, &r.plural) => {
                if !prev.same_definition(&r) {
                    let group = if r.group.is_empty() { "core" } else { &r.group };
                    return Err(Error::at(
                        &r.origin,
                        format!(
                            "resource {group}/{} {} is defined again, differently; it was first defined in {}",
                            r.version, r.plural, prev.origin
                        ),
                    ));
                }
            }
            _ => out.push(r),
        }
    }
    Ok(out)
}

/// Points each resource at the type of its kind, and finds its list kind.
fn attach_types(resources: &mut [Resource], types: &Types) {
    let mut by_gvk: HashMap<(&str, &str, &str), TypeId> = HashMap::new();
    for def in types.iter() {
        for g in &def.gvks {
            by_gvk.entry((g.group.as_str(), g.version.as_str(), g.kind.as_str())).or_insert(def.id);
        }
    }
    for r in resources {
        if r.ty.is_none() {
            r.ty = by_gvk.get(&(r.group.as_str(), r.version.as_str(), r.kind.as_str())).copied();
        }
        if r.list_kind.is_none() {
            let list = format!("{}List", r.kind);
            if by_gvk.contains_key(&(r.group.as_str(), r.version.as_str(), list.as_str())) {
                r.list_kind = Some(list);
            }
        }
    }
}
