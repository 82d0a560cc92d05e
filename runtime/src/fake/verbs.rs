//! The verbs on a resource's own endpoint: create, get, list, update, patch (JSON, merge,
//! strategic, apply), delete and deletecollection, with admission by a CRD's schema.

use super::*;

impl ApiServer {
    pub(super) fn create(&self, t: &Target, body: &[u8]) -> Response<Body> {
        let mut object: Value = match serde_json::from_slice(body) {
            Ok(Value::Object(m)) => Value::Object(m),
            _ => return status(StatusCode::BAD_REQUEST, "BadRequest", "the body must be a JSON object"),
        };
        let mut state = self.lock();
        let meta = &object["metadata"];
        let body_ns = meta["namespace"].as_str().map(str::to_owned);
        let namespace = match (t.served.namespaced, &t.namespace, body_ns) {
            (true, Some(path), Some(body)) if *path != body => {
                return invalid(
                    &t.served.kind,
                    "",
                    &format!(
                        "the namespace of the object ({body}) does not match the namespace on the request ({path})"
                    ),
                );
            }
            (true, Some(path), _) => Some(path.clone()),
            (true, None, _) => {
                return status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "create needs a namespace");
            }
            (false, _, _) => None,
        };
        let name = match (meta["name"].as_str(), meta["generateName"].as_str()) {
            (Some(n), _) if !n.is_empty() => n.to_owned(),
            (_, Some(prefix)) => {
                state.uid += 1;
                format!("{prefix}{}", suffix(state.uid))
            }
            _ => return invalid(&t.served.kind, "", "metadata.name: Required value: name or generateName is required"),
        };
        let objects = state.objects.entry(t.store.clone()).or_default();
        let key = (namespace.clone().unwrap_or_default(), name.clone());
        if objects.contains_key(&key) {
            return failure(
                StatusCode::CONFLICT,
                "AlreadyExists",
                &t.resource,
                &name,
                &format!("{} \"{name}\" already exists", t.resource.2),
            );
        }
        let dry_run = t.query.get("dryRun").is_some_and(|d| d == "All");
        state.uid += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", state.uid);
        let rv = if dry_run { state.rv } else { Self::next_rv(&mut state) };
        let meta = object["metadata"].as_object_mut().map(std::mem::take).unwrap_or_default();
        let mut meta = Value::Object(meta);
        meta["name"] = json!(name);
        if let Some(ns) = &namespace {
            meta["namespace"] = json!(ns);
        }
        meta["uid"] = json!(uid);
        meta["resourceVersion"] = json!(rv.to_string());
        meta["generation"] = json!(1);
        meta["creationTimestamp"] = json!(now());
        object["metadata"] = meta;
        object["apiVersion"] = json!(api_version(&t.resource));
        object["kind"] = json!(t.served.kind);
        // With a status subresource, status is written through it alone.
        if t.served.options.status
            && let Some(o) = object.as_object_mut()
        {
            o.remove("status");
        }
        let is_crd = crd::is_crd(&t.resource);
        if is_crd {
            crd::prepare(&mut object);
        }
        defaults::apply(&t.resource.0, &t.resource.2, &mut object);
        if let Err(response) = admit(t, &name, &mut object) {
            return *response;
        }
        if !t.applied {
            let (api_version, now, scale) = (api_version(&t.resource), now(), t.scale_pointer());
            apply::record_update(&Value::Null, &mut object, &t.request(&api_version, &now, &scale));
        }
        defaults::prepare(&t.resource.0, &t.resource.2, &mut object);
        if !dry_run {
            state.objects.entry(t.store.clone()).or_default().insert(key.clone(), object.clone());
            self.record(&mut state, &t.store, "ADDED", &object, None);
            if is_crd {
                drop(state);
                self.establish_later(t.store.clone(), key);
            }
        }
        respond(StatusCode::CREATED, &object)
    }

    pub(super) fn get(&self, t: &Target, name: &str) -> Response<Body> {
        let state = self.lock();
        match state
            .objects
            .get(&t.store)
            .and_then(|o| o.get(&(t.namespace.clone().unwrap_or_default(), name.to_owned())))
        {
            Some(object) => respond(StatusCode::OK, &as_version(t, object)),
            None => missing(t, name),
        }
    }

    pub(super) fn list(&self, t: &Target) -> Response<Body> {
        let filter = match Filter::new(&t.query, &t.selectable()) {
            Ok(f) => f,
            Err(message) => return status(StatusCode::BAD_REQUEST, "BadRequest", &message),
        };
        let mut state = self.lock();
        let page = match page::Request::new(&t.query) {
            Ok(p) => p,
            Err(message) => return status(StatusCode::BAD_REQUEST, "BadRequest", &message),
        };
        let (rv, items, next) = match page.continue_from {
            // A later page reads the snapshot of the first, as etcd serves it at that revision.
            Some(token) => {
                let compacted = state.compacted;
                match state.pages.read(&token, page.limit, compacted) {
                    Ok(read) => read,
                    Err((true, message)) => return status(StatusCode::GONE, "Expired", &message),
                    Err((false, message)) => return status(StatusCode::BAD_REQUEST, "BadRequest", &message),
                }
            }
            None => {
                let items: Vec<Value> = state
                    .objects
                    .get(&t.store)
                    .into_iter()
                    .flat_map(|o| o.values())
                    .filter(|o| t.namespace.as_ref().is_none_or(|ns| o["metadata"]["namespace"] == json!(ns)))
                    .filter(|o| filter.matches(o))
                    // Lists of custom resources keep each item's apiVersion and kind, as
                    // unstructured lists do; built-in lists drop them.
                    .map(|o| if t.served.schema.is_some() { as_version(t, o) } else { list_item(o) })
                    .collect();
                let rv = state.rv;
                state.pages.first(rv, items, page.limit)
            }
        };
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if t.served.schema.is_some() {
            metadata["continue"] = json!("");
        }
        if let Some((token, remaining)) = next {
            metadata["continue"] = json!(token);
            metadata["remainingItemCount"] = json!(remaining);
        }
        let list = json!({
            "apiVersion": api_version(&t.resource),
            "kind": t.served.list_kind,
            "metadata": metadata,
            "items": items,
        });
        respond(StatusCode::OK, &list)
    }

    pub(super) fn update(&self, t: &Target, name: &str, body: &[u8]) -> Response<Body> {
        match serde_json::from_slice::<Value>(body) {
            Ok(object @ Value::Object(_)) => self.replace(t, name, object, true),
            _ => status(StatusCode::BAD_REQUEST, "BadRequest", "the body must be a JSON object"),
        }
    }

    pub(super) fn patch(&self, t: &Target, name: &str, content_type: &str, body: &[u8]) -> Response<Body> {
        if content_type.starts_with("application/apply-patch") {
            return self.apply(t, name, body);
        }
        if let Some(response) = refuse_strategic(t, content_type) {
            return response;
        }
        // A patch applies to what is stored now, whatever version the patch names, under the
        // same lock as the write: concurrent patches never lose one another's changes.
        self.update_with(t, name, false, |current| {
            apply_patch(current.clone(), content_type, body, &t.served.kind, name)
        })
    }

    /// Server-side apply: creates the object if it is missing.
    pub(super) fn apply(&self, t: &Target, name: &str, body: &[u8]) -> Response<Body> {
        let Some(manager) = t.query.get("fieldManager").filter(|m| !m.is_empty()) else {
            return status(StatusCode::BAD_REQUEST, "BadRequest", "PATCH, fieldManager is required for apply requests");
        };
        let applied = match applied_configuration(body) {
            Ok(v) => v,
            Err(response) => return *response,
        };
        self.apply_value(t, name, manager, applied)
    }

    /// [`apply`](Self::apply) of a parsed configuration.
    pub(super) fn apply_value(&self, t: &Target, name: &str, manager: &str, applied: Value) -> Response<Body> {
        if applied["metadata"]["name"].as_str().is_some_and(|n| n != name) {
            return invalid(
                &t.served.kind,
                name,
                "metadata.name: the name of the object does not match the name on the URL",
            );
        }
        let t = Target { applied: true, manager: manager.to_owned(), ..t.clone() };
        let (api_version, now, scale) = (api_version(&t.resource), now(), t.scale_pointer());
        let request = t.request(&api_version, &now, &scale);
        let run = |live: &Value| {
            apply::apply(live, &applied, &request).map_err(|conflicts| Box::new(apply_conflict(&t, name, &conflicts)))
        };
        // Two tries: an object created by another request between the two is applied to.
        for _ in 0..2 {
            // Through a subresource, the object must exist.
            if self.current(&t, name).is_some() || t.subresource.is_some() {
                return self.update_with(&t, name, false, run);
            }
            let mut object = match run(&Value::Null) {
                Ok(o) => o,
                Err(response) => return *response,
            };
            object["metadata"]["name"] = json!(name);
            let body = serde_json::to_vec(&object).unwrap_or_default();
            let response = self.create(&t, &body);
            if response.status() != StatusCode::CONFLICT {
                return response;
            }
        }
        self.update_with(&t, name, false, run)
    }

    pub(super) fn delete(&self, t: &Target, name: &str) -> Response<Body> {
        let mut state = self.lock();
        let key = (t.namespace.clone().unwrap_or_default(), name.to_owned());
        let Some(mut object) = state.objects.get(&t.store).and_then(|o| o.get(&key)).cloned() else {
            return missing(t, name);
        };
        if t.query.get("dryRun").is_some_and(|d| d == "All") {
            return respond(StatusCode::OK, &object);
        }
        let current = object.clone();
        let rv = Self::next_rv(&mut state);
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let has_finalizers = object["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        if has_finalizers {
            if object["metadata"]["deletionTimestamp"].is_null() {
                object["metadata"]["deletionTimestamp"] = json!(now());
                bump_generation(&mut object);
            }
            state.objects.entry(t.store.clone()).or_default().insert(key, object.clone());
            self.record(&mut state, &t.store, "MODIFIED", &object, Some(&current));
            return respond(StatusCode::OK, &object);
        }
        state.objects.entry(t.store.clone()).or_default().remove(&key);
        self.record(&mut state, &t.store, "DELETED", &object, None);
        // A CRD answers with itself terminating (its resources go with it); a Job, whose API
        // orphans its pods by default, with the orphan finalizer the garbage collector then
        // removes; anything else with a Status.
        let now = now();
        if crd::is_crd(&t.store) {
            crd::terminating(&mut object, &now);
            return respond(StatusCode::OK, &object);
        }
        if (t.resource.0.as_str(), t.resource.2.as_str()) == ("batch", "jobs") && !t.background {
            object["metadata"]["deletionTimestamp"] = json!(now);
            object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            object["metadata"]["finalizers"] = json!(["orphan"]);
            bump_generation(&mut object);
            return respond(StatusCode::OK, &object);
        }
        let details =
            json!({"name": name, "group": t.resource.0, "kind": t.resource.2, "uid": object["metadata"]["uid"]});
        respond(
            StatusCode::OK,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        )
    }

    pub(super) fn delete_collection(&self, t: &Target) -> Response<Body> {
        let filter = match Filter::new(&t.query, &t.selectable()) {
            Ok(f) => f,
            Err(message) => return status(StatusCode::BAD_REQUEST, "BadRequest", &message),
        };
        let chosen: Vec<((String, String), Value)> = {
            let state = self.lock();
            state
                .objects
                .get(&t.store)
                .into_iter()
                .flat_map(|o| o.iter())
                .filter(|((ns, _), o)| t.namespace.as_ref().is_none_or(|want| want == ns) && filter.matches(o))
                .map(|(k, o)| (k.clone(), o.clone()))
                .collect()
        };
        let mut items = Vec::new();
        for ((namespace, name), object) in chosen {
            let one = Target {
                applied: false,
                background: t.background,
                manager: t.manager.clone(),
                store: t.store.clone(),
                namespace: (!namespace.is_empty()).then_some(namespace),
                name: Some(name.clone()),
                subresource: None,
                resource: t.resource.clone(),
                served: t.served.clone(),
                query: t.query.clone(),
            };
            if self.delete(&one, &name).status().is_success() {
                items.push(if t.served.schema.is_some() { as_version(t, &object) } else { list_item(&object) });
            }
        }
        let list = json!({
            "apiVersion": api_version(&t.resource),
            "kind": t.served.list_kind,
            "metadata": {"resourceVersion": self.lock().rv.to_string()},
            "items": items,
        });
        respond(StatusCode::OK, &list)
    }
}

/// A custom resource's object pruned, defaulted and validated by its schema, or the 422.
pub(super) fn admit(t: &Target, name: &str, object: &mut Value) -> Result<(), Box<Response<Body>>> {
    let Some(schema) = &t.served.schema else { return Ok(()) };
    let causes = schema::admit(object, schema);
    if causes.is_empty() {
        return Ok(());
    }
    let kind = format!("{}.{}", t.served.kind, t.resource.0);
    let said: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
    let said = if said.len() == 1 { said[0].clone() } else { format!("[{}]", said.join(", ")) };
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{kind} \"{name}\" is invalid: {said}"), "reason": "Invalid",
        "details": {"name": name, "group": t.resource.0, "kind": t.served.kind,
            "causes": causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect::<Vec<_>>()},
        "code": 422,
    });
    Err(Box::new(respond(StatusCode::UNPROCESSABLE_ENTITY, &body)))
}

/// `current` with a JSON, merge or strategic-merge patch applied.
pub(super) fn apply_patch(
    mut current: Value,
    content_type: &str,
    body: &[u8],
    kind: &str,
    name: &str,
) -> Result<Value, Box<Response<Body>>> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let result = match media {
        "application/merge-patch+json" => match serde_json::from_slice::<Value>(body) {
            Ok(p) => {
                json_patch::merge(&mut current, &p);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
        "application/strategic-merge-patch+json" => match serde_json::from_slice::<Value>(body) {
            Ok(p) => {
                strategic::merge(&mut current, &p);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
        "application/json-patch+json" => match serde_json::from_slice::<json_patch::Patch>(body) {
            Ok(p) => json_patch::patch(&mut current, &p).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        other => {
            return Err(Box::new(status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                &format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other})"
                ),
            )));
        }
    };
    match result {
        Ok(()) => Ok(current),
        Err(e) => Err(Box::new(invalid(kind, name, &e))),
    }
}

/// A strategic-merge patch on a custom resource: 415, as the real server answers (custom
/// resources have no Go struct tags to merge by).
pub(super) fn refuse_strategic(t: &Target, content_type: &str) -> Option<Response<Body>> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    (media == "application/strategic-merge-patch+json" && t.served.custom).then(|| {
        status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        )
    })
}

/// An apply request's body: a JSON or YAML object.
pub(super) fn applied_configuration(body: &[u8]) -> Result<Value, Box<Response<Body>>> {
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => {
            Err(Box::new(status(StatusCode::BAD_REQUEST, "BadRequest", "the applied configuration must be an object")))
        }
        Err(_) => match std::str::from_utf8(body).ok().map(serde_saphyr::from_str::<Value>) {
            Some(Ok(v @ Value::Object(_))) => Ok(v),
            _ => Err(Box::new(status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "the applied configuration is not YAML or JSON",
            ))),
        },
    }
}

/// The 409 of an apply whose fields other managers own.
pub(super) fn apply_conflict(t: &Target, name: &str, conflicts: &[(String, String)]) -> Response<Body> {
    let list: Vec<String> = conflicts.iter().map(|(m, f)| format!("conflict with \"{m}\": {f}")).collect();
    let message = format!(
        "Apply failed with {} conflict{}: {}",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" },
        list.join("; ")
    );
    failure(StatusCode::CONFLICT, "Conflict", &t.resource, name, &message)
}
