//! `/openapi/v2` and `/openapi/v3`, as a cluster serves them: the v3 index (each
//! group-version's document with a content hash) and the documents, built from a loaded
//! specification (the built-in API: k8s-openapi's types carry no schema) and from the schemas
//! of the CRDs installed, which the real server publishes the same way.

use std::collections::BTreeSet;

use super::*;

/// Where the apimachinery types live, as every Kubernetes document names them.
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

/// A specification loaded with [`ApiServer::load_openapi`]: the swagger as given, the schemas
/// by name as v3 documents refer to them, and the v3 document of each group-version, made once
/// and kept serialised with its hash.
#[derive(Clone, Default)]
pub(super) struct Loaded {
    v2: Option<Value>,
    schemas: serde_json::Map<String, Value>,
    v3: BTreeMap<String, Arc<Document>>,
}

/// A v3 document ready to serve.
pub(super) struct Document {
    value: Value,
    bytes: Bytes,
    hash: String,
}

impl Document {
    fn new(value: Value) -> Document {
        let bytes = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        let hash = hash(&bytes);
        Document { value, bytes, hash }
    }
}

impl Loaded {
    /// Adds a Swagger 2.0 document (split per group-version, as the server does) or an OpenAPI
    /// v3 group-version document (kept as it is, under the group-version its paths name).
    fn add(&mut self, document: Value) -> Result<(), SetupError> {
        if document["swagger"].as_str().is_some_and(|v| v.starts_with('2')) {
            let definitions = refs_to(document["definitions"].clone(), "#/definitions/", "#/components/schemas/");
            self.schemas.extend(definitions.as_object().cloned().unwrap_or_default());
            for (gv, v3) in split_v2(&document) {
                self.v3.insert(gv, Arc::new(Document::new(v3)));
            }
            self.v2 = Some(document);
            Ok(())
        } else if document["openapi"].as_str().is_some_and(|v| v.starts_with('3')) {
            let paths =
                document["paths"].as_object().ok_or(SetupError::OpenApi("an OpenAPI v3 document without `paths`"))?;
            let mut groups: BTreeSet<String> = paths.keys().filter_map(|p| document_path(p)).collect();
            let (Some(gv), None) = (groups.pop_first(), groups.pop_first()) else {
                return Err(SetupError::OpenApi(
                    "an OpenAPI v3 document should hold the paths of one group-version (or one other document of /openapi/v3)",
                ));
            };
            self.schemas.extend(document["components"]["schemas"].as_object().cloned().unwrap_or_default());
            self.v3.insert(gv, Arc::new(Document::new(document)));
            Ok(())
        } else {
            Err(SetupError::OpenApi("expected a Swagger 2.0 document (`swagger: \"2.0\"`) or an OpenAPI v3 document"))
        }
    }
}

impl ApiServer {
    /// Serves `document` as the cluster's OpenAPI: a Swagger 2.0 specification (a cluster's
    /// `/openapi/v2`, or `api/openapi-spec/swagger.json` of a Kubernetes release) is served at
    /// `/openapi/v2` and, split per group-version, at `/openapi/v3`; an OpenAPI v3 document of
    /// one group-version is served at `/openapi/v3`. The schemas of CRDs installed are added to
    /// both, as the real server adds them. Loading does not register resources: discovery and
    /// the resource endpoints still serve only what is registered.
    pub fn load_openapi(&self, document: Value) -> Result<&Self, SetupError> {
        let mut loaded = self.lock().openapi.as_deref().cloned().unwrap_or_default();
        loaded.add(document)?;
        self.lock().openapi = Some(Arc::new(loaded));
        Ok(self)
    }

    /// `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<group-version path>`.
    pub(super) fn openapi(&self, path: &str) -> Option<Response<Body>> {
        let rest = path.strip_prefix("/openapi/")?.trim_end_matches('/');
        let (loaded, mut crds) = {
            let state = self.lock();
            let loaded = state.openapi.clone().unwrap_or_default();
            let crds = crd_documents(&state, &loaded.schemas);
            (loaded, crds)
        };
        match rest {
            "v2" => Some(respond(StatusCode::OK, &v2_document(&loaded, crds))),
            "v3" => {
                let mut paths: BTreeSet<&String> = loaded.v3.keys().collect();
                paths.extend(crds.keys());
                let index: serde_json::Map<String, Value> = paths
                    .into_iter()
                    .filter_map(|path| {
                        let hash = match crds.get(path) {
                            None => loaded.v3.get(path)?.hash.clone(),
                            Some(_) => merged(&loaded, &crds, path)?.hash,
                        };
                        let url = format!("/openapi/v3/{path}?hash={hash}");
                        Some((path.clone(), json!({"serverRelativeURL": url})))
                    })
                    .collect();
                // The real server labels its index plain text, though it is JSON.
                let mut response = respond(StatusCode::OK, &json!({"paths": index}));
                let plain = http::HeaderValue::from_static("text/plain; charset=utf-8");
                response.headers_mut().insert(http::header::CONTENT_TYPE, plain);
                Some(response)
            }
            v3 => {
                let path = v3.strip_prefix("v3/")?;
                let bytes = match crds.contains_key(path) {
                    false => loaded.v3.get(path)?.bytes.clone(),
                    true => merged(&loaded, &crds, path)?.bytes,
                };
                crds.clear();
                let mut response = Response::new(Full::new(bytes).boxed_unsync());
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
                Some(response)
            }
        }
    }
}

/// The v2 document: the loaded specification with the installed CRDs' definitions and paths.
fn v2_document(loaded: &Loaded, crds: BTreeMap<String, Value>) -> Value {
    let mut swagger = loaded
        .v2
        .clone()
        .unwrap_or_else(|| json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "unversioned"}}));
    for document in crds.into_values() {
        let document = refs_to(document, "#/components/schemas/", "#/definitions/");
        for (name, schema) in document["components"]["schemas"].as_object().into_iter().flatten() {
            swagger["definitions"][name] = schema.clone();
        }
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            swagger["paths"][path] = v2_path_item(item);
        }
    }
    swagger
}

/// The v3 document of `path` with the installed CRDs' paths and schemas merged into the
/// loaded one, when both name that group-version.
fn merged(loaded: &Loaded, crds: &BTreeMap<String, Value>, path: &str) -> Option<Document> {
    let crd = crds.get(path)?;
    let Some(existing) = loaded.v3.get(path) else { return Some(Document::new(crd.clone())) };
    let mut document = existing.value.clone();
    for (k, v) in crd["paths"].as_object().into_iter().flatten() {
        document["paths"][k] = v.clone();
    }
    for (k, v) in crd["components"]["schemas"].as_object().into_iter().flatten() {
        document["components"]["schemas"][k] = v.clone();
    }
    Some(Document::new(document))
}

/// A content hash for the index's `?hash=`, so a client may cache a document by it. The real
/// server uses SHA-512; any hash that changes with the content serves the same purpose here.
fn hash(bytes: &[u8]) -> String {
    // FNV-1a: deterministic across runs and platforms, which `DefaultHasher` is not promised to be.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016X}")
}

/// The v3 document an API path is published in, as the real server splits them: its
/// group-version (`api/v1`, `apis/apps/v1`), its group (`apis/apps`), `api`, `apis`, or the
/// path up to its first parameter (`version`, `logs`, `.well-known/openid-configuration`).
fn document_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let document = match segments.as_slice() {
        ["api", version, ..] => format!("api/{version}"),
        ["apis", group, version, ..] => format!("apis/{group}/{version}"),
        other => other.iter().take_while(|s| !s.starts_with('{')).copied().collect::<Vec<_>>().join("/"),
    };
    (!document.is_empty()).then_some(document)
}

/// Rewrites every `$ref` that starts with `from` to start with `to`.
fn refs_to(mut value: Value, from: &str, to: &str) -> Value {
    fn walk(value: &mut Value, from: &str, to: &str) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match v {
                        Value::String(s) if k == "$ref" => {
                            if let Some(rest) = s.strip_prefix(from) {
                                *s = format!("{to}{rest}");
                            }
                        }
                        other => walk(other, from, to),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, from, to)),
            _ => {}
        }
    }
    walk(&mut value, from, to);
    value
}

/// The definition names `value` refers to through `prefix`.
fn referenced(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if k == "$ref" => {
                        if let Some(name) = s.strip_prefix(prefix) {
                            out.push(name.to_owned());
                        }
                    }
                    other => referenced(other, prefix, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| referenced(v, prefix, out)),
        _ => {}
    }
}

/// The definitions `roots` need, found in `definitions` (by name), and everything they need.
fn closure(roots: Vec<String>, definitions: &serde_json::Map<String, Value>, prefix: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut stack = roots;
    while let Some(name) = stack.pop() {
        if out.contains_key(&name) {
            continue;
        }
        if let Some(def) = definitions.get(&name) {
            referenced(def, prefix, &mut stack);
            out.insert(name, def.clone());
        }
    }
    out
}

/// A Swagger 2.0 specification as one OpenAPI v3 document per group-version: its paths, their
/// operations in v3 form, and the definitions they reach, as the API server publishes
/// `/openapi/v3/apis/<group>/<version>` from the same specification.
fn split_v2(swagger: &Value) -> BTreeMap<String, Value> {
    let empty = serde_json::Map::new();
    let definitions = swagger["definitions"].as_object().unwrap_or(&empty);
    let parameters = swagger["parameters"].as_object().unwrap_or(&empty);
    let produces = swagger["produces"].clone();
    let mut by_gv: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    for (path, item) in swagger["paths"].as_object().into_iter().flatten() {
        if let Some(gv) = document_path(path) {
            by_gv.entry(gv).or_default().insert(path.clone(), v3_path_item(item, parameters, &produces));
        }
    }
    by_gv
        .into_iter()
        .map(|(gv, paths)| {
            let paths = Value::Object(paths);
            let mut roots = Vec::new();
            referenced(&paths, "#/definitions/", &mut roots);
            let mut schemas = closure(roots, definitions, "#/definitions/");
            own_kinds(&mut schemas, &gv);
            let document = json!({
                "openapi": "3.0.0",
                "info": swagger["info"],
                "paths": paths,
                "components": {"schemas": schemas},
            });
            (gv, refs_to(document, "#/definitions/", "#/components/schemas/"))
        })
        .collect()
}

/// Narrows the kinds of the definitions a group-version document shares with others, as the
/// real server does (seen against kube-apiserver v1.36.3): a definition that is a kind of this
/// group-version (`DeleteOptions`, `WatchEvent`, registered in every group) lists only the core
/// group's `v1` kind and this group-version's, not every group's; the others keep theirs.
fn own_kinds(schemas: &mut BTreeMap<String, Value>, document: &str) {
    let (group, version) = match document.split('/').collect::<Vec<_>>().as_slice() {
        ["api", version] => (String::new(), (*version).to_owned()),
        ["apis", group, version] => ((*group).to_owned(), (*version).to_owned()),
        _ => return,
    };
    let gv_of = |g: &Value| {
        (g["group"].as_str().unwrap_or_default().to_owned(), g["version"].as_str().unwrap_or_default().to_owned())
    };
    for schema in schemas.values_mut() {
        let Some(kinds) = schema.get_mut("x-kubernetes-group-version-kind").and_then(Value::as_array_mut) else {
            continue;
        };
        if !kinds.iter().any(|k| gv_of(k) == (group.clone(), version.clone())) {
            continue;
        }
        kinds.retain(|k| {
            let gv = gv_of(k);
            gv == (group.clone(), version.clone()) || gv == (String::new(), "v1".to_owned())
        });
    }
}

/// One path of a Swagger 2.0 document in v3 form: body parameters become a `requestBody`,
/// the others carry their type in a `schema`, responses carry theirs in `content`.
fn v3_path_item(item: &Value, shared: &serde_json::Map<String, Value>, produces: &Value) -> Value {
    let resolve = |p: &Value| -> Value {
        match p["$ref"].as_str().and_then(|r| r.strip_prefix("#/parameters/")) {
            Some(name) => shared.get(name).cloned().unwrap_or(Value::Null),
            None => p.clone(),
        }
    };
    let convert_parameters = |params: &Value, op: &mut serde_json::Map<String, Value>| {
        let mut out = Vec::new();
        for p in params.as_array().into_iter().flatten().map(resolve) {
            if p["in"] == "body" {
                let mut body = json!({"content": {"*/*": {"schema": p["schema"]}}});
                if p["required"] == true {
                    body["required"] = json!(true);
                }
                op.insert("requestBody".into(), body);
                continue;
            }
            let Value::Object(mut p) = p else { continue };
            let mut schema = serde_json::Map::new();
            for key in ["type", "format", "items", "enum", "default", "uniqueItems"] {
                if let Some(v) = p.remove(key) {
                    schema.insert(key.into(), v);
                }
            }
            p.insert("schema".into(), Value::Object(schema));
            out.push(Value::Object(p));
        }
        if !out.is_empty() {
            op.insert("parameters".into(), Value::Array(out));
        }
    };
    let mut out = serde_json::Map::new();
    for (key, value) in item.as_object().into_iter().flatten() {
        if key == "parameters" {
            convert_parameters(value, &mut out);
            continue;
        }
        let Value::Object(op) = value else {
            out.insert(key.clone(), value.clone());
            continue;
        };
        let mut converted = serde_json::Map::new();
        let types = op.get("produces").unwrap_or(produces).clone();
        for (k, v) in op {
            match k.as_str() {
                "parameters" => convert_parameters(v, &mut converted),
                "consumes" | "produces" | "schemes" => {}
                "responses" => {
                    let mut responses = serde_json::Map::new();
                    for (code, response) in v.as_object().into_iter().flatten() {
                        let mut r = json!({"description": response["description"]});
                        if !response["schema"].is_null() {
                            let content: serde_json::Map<String, Value> = types
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(|t| (t.to_owned(), json!({"schema": response["schema"]})))
                                .collect();
                            r["content"] = Value::Object(content);
                        }
                        responses.insert(code.clone(), r);
                    }
                    converted.insert(k.clone(), Value::Object(responses));
                }
                _ => {
                    converted.insert(k.clone(), v.clone());
                }
            }
        }
        out.insert(key.clone(), Value::Object(converted));
    }
    Value::Object(out)
}

/// One path of a v3 document in Swagger 2.0 form, the reverse of [`v3_path_item`] for the
/// documents made here.
fn v2_path_item(item: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (method, op) in item.as_object().into_iter().flatten() {
        let Value::Object(op) = op else { continue };
        let mut converted = serde_json::Map::new();
        let mut parameters: Vec<Value> = Vec::new();
        for (k, v) in op {
            match k.as_str() {
                "parameters" => {
                    for p in v.as_array().into_iter().flatten() {
                        let mut p = p.clone();
                        if let Some(Value::Object(schema)) = p.as_object_mut().and_then(|m| m.remove("schema")) {
                            for (sk, sv) in schema {
                                p[sk] = sv;
                            }
                        }
                        parameters.push(p);
                    }
                }
                "requestBody" => {
                    let schema = v["content"].as_object().and_then(|c| c.values().next()).map(|m| m["schema"].clone());
                    parameters.push(json!({"name": "body", "in": "body", "required": true, "schema": schema}));
                }
                "responses" => {
                    let mut responses = serde_json::Map::new();
                    for (code, r) in v.as_object().into_iter().flatten() {
                        let mut response = json!({"description": r["description"]});
                        if let Some(schema) = r["content"].as_object().and_then(|c| c.values().next()) {
                            response["schema"] = schema["schema"].clone();
                        }
                        responses.insert(code.clone(), response);
                    }
                    converted.insert(k.clone(), Value::Object(responses));
                }
                _ => {
                    converted.insert(k.clone(), v.clone());
                }
            }
        }
        if !parameters.is_empty() {
            converted.insert("parameters".into(), Value::Array(parameters));
        }
        out.insert(method.clone(), Value::Object(converted));
    }
    Value::Object(out)
}

/// The definition name the API server gives a custom resource's kind: the group reversed,
/// then version and kind (`io.cert-manager.v1.Certificate`).
fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let mut name: Vec<&str> = group.split('.').rev().collect();
    name.push(version);
    name.push(kind);
    name.join(".")
}

/// The v3 document of each group-version the installed CRDs serve.
fn crd_documents(state: &State, loaded: &serde_json::Map<String, Value>) -> BTreeMap<String, Value> {
    let mut by_gv: BTreeMap<(&str, &str), Vec<(&str, &Served)>> = BTreeMap::new();
    for ((group, version, plural), served) in &state.served {
        if served.custom && served.schema.is_some() && !group.is_empty() {
            by_gv.entry((group, version)).or_default().push((plural, served));
        }
    }
    let written = (loaded.is_empty()).then(meta_definitions);
    let known = written.as_ref().and_then(Value::as_object).unwrap_or(loaded);
    by_gv
        .into_iter()
        .map(|((group, version), mut resources)| {
            resources.sort_by_key(|(plural, _)| *plural);
            let mut paths = serde_json::Map::new();
            let mut schemas = serde_json::Map::new();
            for (plural, served) in resources {
                crd_resource(group, version, plural, served, &mut paths, &mut schemas);
            }
            // The apimachinery types the CRD schemas refer to, as the loaded specification
            // defines them, else as written here.
            let mut roots = Vec::new();
            referenced(&Value::Object(paths.clone()), "#/components/schemas/", &mut roots);
            referenced(&Value::Object(schemas.clone()), "#/components/schemas/", &mut roots);
            for (name, def) in closure(roots, known, "#/components/schemas/") {
                schemas.entry(name).or_insert(def);
            }
            let document = json!({
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
                "paths": paths,
                "components": {"schemas": schemas},
            });
            (format!("apis/{group}/{version}"), document)
        })
        .collect()
}

/// A custom resource's paths and schemas (its kind and list kind), as apiextensions builds
/// them: the CRD's schema with `apiVersion`, `kind` and `metadata` added, one operation per
/// verb with `x-kubernetes-action` and the group-version-kind.
fn crd_resource(
    group: &str,
    version: &str,
    plural: &str,
    served: &Served,
    paths: &mut serde_json::Map<String, Value>,
    schemas: &mut serde_json::Map<String, Value>,
) {
    let name = definition_name(group, version, &served.kind);
    let list_name = definition_name(group, version, &served.list_kind);
    let reference = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let gvk = |kind: &str| json!([{"group": group, "version": version, "kind": kind}]);
    let mut schema = served.schema.clone().unwrap_or_else(|| json!({"type": "object"}));
    schema["properties"]["apiVersion"] =
        json!({"type": "string", "description": "The versioned schema of this representation of an object."});
    schema["properties"]["kind"] =
        json!({"type": "string", "description": "The REST resource this object represents."});
    schema["properties"]["metadata"] =
        json!({"allOf": [reference(&format!("{META}.ObjectMeta"))], "description": "Standard object's metadata."});
    schema["x-kubernetes-group-version-kind"] = gvk(&served.kind);
    schemas.insert(name.clone(), schema);
    schemas.insert(
        list_name.clone(),
        json!({
            "type": "object",
            "description": format!("A list of {}.", served.kind),
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string"},
                "items": {"type": "array", "items": reference(&name)},
                "kind": {"type": "string"},
                "metadata": {"allOf": [reference(&format!("{META}.ListMeta"))]},
            },
            "x-kubernetes-group-version-kind": gvk(&served.list_kind),
        }),
    );
    let operation = |action: &str, target: &str, kind: Value, schema: &str| {
        let content = json!({"application/json": {"schema": reference(schema)}, "application/yaml": {"schema": reference(schema)}});
        let mut op = json!({
            "operationId": format!("{action}{}", served.kind),
            "tags": [format!("{group}_{version}")],
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": kind,
            "responses": {"200": {"description": "OK", "content": content}},
        });
        if matches!(action, "put" | "post" | "patch") {
            op["requestBody"] = json!({"content": {"*/*": {"schema": reference(target)}}, "required": true});
            // The query parameters of writes: kubectl looks for `fieldValidation` to know the
            // server validates fields itself (else it validates on its side, from `/openapi/v2`).
            let query = |name: &str, about: &str| json!({"name": name, "in": "query", "description": about, "schema": {"type": "string", "uniqueItems": true}});
            let mut parameters = vec![
                query("dryRun", "When present, modifications are not persisted: `All` runs every stage."),
                query("fieldManager", "The name of the actor making these changes."),
                query("fieldValidation", "What to do with unknown or duplicate fields: Ignore, Warn or Strict."),
            ];
            if action == "patch" {
                parameters.push(json!({"name": "force", "in": "query", "description": "Force an apply request: take the conflicting fields from their other managers.", "schema": {"type": "boolean", "uniqueItems": true}}));
            }
            op["parameters"] = Value::Array(parameters);
        }
        op
    };
    let one = gvk(&served.kind)[0].clone();
    let list = operation("list", &list_name, one.clone(), &list_name);
    let base = format!("/apis/{group}/{version}");
    let (collection, named) = if served.namespaced {
        (
            format!("{base}/namespaces/{{namespace}}/{plural}"),
            format!("{base}/namespaces/{{namespace}}/{plural}/{{name}}"),
        )
    } else {
        (format!("{base}/{plural}"), format!("{base}/{plural}/{{name}}"))
    };
    let path_params = |named: bool| {
        let mut params = Vec::new();
        if named {
            params.push(json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}}));
        }
        if served.namespaced {
            params.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}}));
        }
        Value::Array(params)
    };
    paths.insert(
        collection,
        json!({
            "get": list,
            "post": operation("post", &name, one.clone(), &name),
            "delete": operation("deletecollection", &name, one.clone(), &format!("{META}.Status")),
            "parameters": path_params(false),
        }),
    );
    paths.insert(
        named.clone(),
        json!({
            "get": operation("get", &name, one.clone(), &name),
            "put": operation("put", &name, one.clone(), &name),
            "patch": operation("patch", &format!("{META}.Patch"), one.clone(), &name),
            "delete": operation("delete", &name, one.clone(), &format!("{META}.Status")),
            "parameters": path_params(true),
        }),
    );
    if served.namespaced {
        paths
            .insert(format!("{base}/{plural}"), json!({"get": operation("list", &list_name, one.clone(), &list_name)}));
    }
    // The watch paths every resource still publishes (deprecated for `?watch=true`).
    let event = format!("{META}.WatchEvent");
    let watch = |path: String, action: &str, named: bool| {
        (path, json!({"get": operation(action, &event, one.clone(), &event), "parameters": path_params(named)}))
    };
    let (watch_collection, watch_named) = if served.namespaced {
        (
            format!("{base}/watch/namespaces/{{namespace}}/{plural}"),
            format!("{base}/watch/namespaces/{{namespace}}/{plural}/{{name}}"),
        )
    } else {
        (format!("{base}/watch/{plural}"), format!("{base}/watch/{plural}/{{name}}"))
    };
    let mut watches = vec![watch(watch_collection, "watchlist", false), watch(watch_named, "watch", true)];
    if served.namespaced {
        watches.push((
            format!("{base}/watch/{plural}"),
            json!({"get": operation("watchlist", &event, one.clone(), &event)}),
        ));
    }
    paths.extend(watches);
    if served.options.status {
        paths.insert(
            format!("{named}/status"),
            json!({
                "get": operation("get", &name, one.clone(), &name),
                "put": operation("put", &name, one.clone(), &name),
                "patch": operation("patch", &format!("{META}.Patch"), one.clone(), &name),
                "parameters": path_params(true),
            }),
        );
    }
    if served.options.scale.is_some() {
        let scale = "io.k8s.api.autoscaling.v1.Scale";
        let kind = json!({"group": "autoscaling", "version": "v1", "kind": "Scale"});
        paths.insert(
            format!("{named}/scale"),
            json!({
                "get": operation("get", scale, kind.clone(), scale),
                "put": operation("put", scale, kind.clone(), scale),
                "patch": operation("patch", &format!("{META}.Patch"), kind, scale),
                "parameters": path_params(true),
            }),
        );
    }
}

/// The apimachinery definitions a CRD's document refers to, for a server that was given no
/// specification: their shapes (fields and types), without the upstream descriptions.
fn meta_definitions() -> Value {
    let meta = |name: &str| json!({"$ref": format!("#/components/schemas/{META}.{name}")});
    let string = json!({"type": "string"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let int64 = json!({"type": "integer", "format": "int64"});
    let time = json!({"allOf": [meta("Time")]});
    json!({
        format!("{META}.Time"): {"type": "string", "format": "date-time"},
        format!("{META}.FieldsV1"): {"type": "object"},
        format!("{META}.Patch"): {"type": "object"},
        format!("{META}.WatchEvent"): {"type": "object", "required": ["type", "object"], "properties": {
            "object": {"type": "object"}, "type": string,
        }},
        format!("{META}.ManagedFieldsEntry"): {"type": "object", "properties": {
            "apiVersion": string, "fieldsType": string, "fieldsV1": {"allOf": [meta("FieldsV1")]},
            "manager": string, "operation": string, "subresource": string, "time": time,
        }},
        format!("{META}.OwnerReference"): {"type": "object", "required": ["apiVersion", "kind", "name", "uid"], "properties": {
            "apiVersion": string, "blockOwnerDeletion": {"type": "boolean"}, "controller": {"type": "boolean"},
            "kind": string, "name": string, "uid": string,
        }, "x-kubernetes-map-type": "atomic"},
        format!("{META}.ObjectMeta"): {"type": "object", "properties": {
            "annotations": string_map, "creationTimestamp": time, "deletionGracePeriodSeconds": int64,
            "deletionTimestamp": time, "finalizers": strings, "generateName": string, "generation": int64,
            "labels": string_map, "managedFields": {"type": "array", "items": {"allOf": [meta("ManagedFieldsEntry")]}},
            "name": string, "namespace": string, "ownerReferences": {"type": "array", "items": {"allOf": [meta("OwnerReference")]},
                "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map", "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge"},
            "resourceVersion": string, "selfLink": string, "uid": string,
        }},
        format!("{META}.ListMeta"): {"type": "object", "properties": {
            "continue": string, "remainingItemCount": int64, "resourceVersion": string, "selfLink": string,
        }},
        format!("{META}.StatusCause"): {"type": "object", "properties": {"field": string, "message": string, "reason": string}},
        format!("{META}.StatusDetails"): {"type": "object", "properties": {
            "causes": {"type": "array", "items": {"allOf": [meta("StatusCause")]}}, "group": string, "kind": string,
            "name": string, "retryAfterSeconds": {"type": "integer", "format": "int32"}, "uid": string,
        }},
        format!("{META}.Status"): {"type": "object", "properties": {
            "apiVersion": string, "code": {"type": "integer", "format": "int32"}, "details": {"allOf": [meta("StatusDetails")]},
            "kind": string, "message": string, "metadata": {"allOf": [meta("ListMeta")]}, "reason": string, "status": string,
        }, "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}]},
        "io.k8s.api.autoscaling.v1.ScaleSpec": {"type": "object", "properties": {"replicas": {"type": "integer", "format": "int32"}}},
        "io.k8s.api.autoscaling.v1.ScaleStatus": {"type": "object", "required": ["replicas"], "properties": {
            "replicas": {"type": "integer", "format": "int32"}, "selector": string,
        }},
        "io.k8s.api.autoscaling.v1.Scale": {"type": "object", "properties": {
            "apiVersion": string, "kind": string, "metadata": {"allOf": [meta("ObjectMeta")]},
            "spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.autoscaling.v1.ScaleSpec"}]},
            "status": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.autoscaling.v1.ScaleStatus"}]},
        }, "x-kubernetes-group-version-kind": [{"group": "autoscaling", "kind": "Scale", "version": "v1"}]},
    })
}
