//! The verbs on a resource's own endpoint: create, get, list, update, patch (JSON, merge,
//! strategic, apply), delete and deletecollection, with admission by a CRD's schema.

use super::*;

impl ApiServer {
    pub(super) fn create(&self, t: &Target, body: &[u8]) -> Handled {
        self.create_object(t, object_body(t, body)?)
    }

    /// Creates `object`, a JSON object, as a POST of it would.
    pub(super) fn create_object(&self, t: &Target, mut object: Value) -> Handled {
        check_kind(t, &object)?;
        let mut state = self.lock();
        let meta = &object["metadata"];
        let body_ns = meta["namespace"].as_str().filter(|ns| !ns.is_empty()).map(str::to_owned);
        let namespace = match (t.served.namespaced, &t.namespace, body_ns) {
            (true, Some(path), Some(body)) if *path != body => {
                return Err(bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            (true, Some(path), _) => Some(path.clone()),
            (true, None, _) => {
                return Err(status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "create needs a namespace"));
            }
            (false, _, _) => None,
        };
        let name = match (meta["name"].as_str(), meta["generateName"].as_str()) {
            (Some(n), _) if !n.is_empty() => n.to_owned(),
            (_, Some(prefix)) => {
                state.uid += 1;
                format!("{prefix}{}", suffix(state.uid))
            }
            _ => {
                let cause = (
                    "metadata.name".to_owned(),
                    "FieldValueRequired",
                    "Required value: name or generateName is required".to_owned(),
                );
                return Err(invalid_fields(&t.served.kind, &t.resource.0, "", &[cause]));
            }
        };
        let causes = names::check(&t.resource.0, &t.resource.2, &name);
        if !causes.is_empty() {
            return Err(invalid_fields(&t.served.kind, &t.resource.0, &name, &causes));
        }
        let objects = state.objects.entry(t.store.clone()).or_default();
        let key = (namespace.clone().unwrap_or_default(), name.clone());
        if objects.contains_key(&key) {
            return Err(failure(
                StatusCode::CONFLICT,
                "AlreadyExists",
                &t.resource,
                &name,
                &format!("{} \"{name}\" already exists", t.resource.2),
            ));
        }
        let dry_run = t.query.get("dryRun").is_some_and(|d| d == "All");
        state.uid += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", state.uid);
        let rv = if dry_run { None } else { Some(Self::next_rv(&mut state)) };
        let meta = object["metadata"].as_object_mut().map(std::mem::take).unwrap_or_default();
        let mut meta = Value::Object(meta);
        meta["name"] = json!(name);
        if let Some(ns) = &namespace {
            meta["namespace"] = json!(ns);
        }
        meta["uid"] = json!(uid);
        // A dry run stores nothing, so its answer has no version.
        match rv {
            Some(rv) => meta["resourceVersion"] = json!(rv.to_string()),
            None => {
                if let Some(m) = meta.as_object_mut() {
                    m.remove("resourceVersion");
                }
            }
        }
        if t.is_custom() || defaults::has_generation(&t.resource.0, &t.resource.2) {
            meta["generation"] = json!(1);
        }
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
        admit(t, &name, &mut object, None)?;
        if !t.is_custom() {
            defaults::omit_empty(&mut object);
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
        ok(StatusCode::CREATED, object)
    }

    pub(super) fn get(&self, t: &Target, name: &str) -> Handled {
        let state = self.lock();
        match state
            .objects
            .get(&t.store)
            .and_then(|o| o.get(&(t.namespace.clone().unwrap_or_default(), name.to_owned())))
        {
            Some(object) => ok(StatusCode::OK, as_version(t, object)),
            None => Err(missing(t, name)),
        }
    }

    pub(super) fn list(&self, t: &Target) -> Handled {
        let filter = Filter::new(&t.query, &t.selectable()).map_err(|message| bad_request(&message))?;
        let mut state = self.lock();
        let page = page::Request::new(&t.query).map_err(|message| bad_request(&message))?;
        let (rv, items, next) = match page.continue_from {
            // A later page reads the snapshot of the first, as etcd serves it at that revision.
            Some(token) => {
                let compacted = state.compacted;
                match state.pages.read(&token, page.limit, compacted) {
                    Ok(read) => read,
                    Err((true, message)) => return Err(status(StatusCode::GONE, "Expired", &message)),
                    Err((false, message)) => return Err(bad_request(&message)),
                }
            }
            None => {
                let items: Vec<ListItem> = state
                    .objects
                    .get(&t.store)
                    .into_iter()
                    .flat_map(|o| o.values())
                    .filter(|o| t.namespace.as_ref().is_none_or(|ns| o["metadata"]["namespace"] == json!(ns)))
                    .filter(|o| filter.matches(o))
                    .map(|o| list_item_json(t, o))
                    .collect::<Result<_, _>>()
                    .map_err(|e| status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e.to_string()))?;
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
            // Counted only when nothing filters the list, as etcd can count it unfiltered.
            if !t.query.contains_key("labelSelector") && !t.query.contains_key("fieldSelector") {
                metadata["remainingItemCount"] = json!(remaining);
            }
        }
        let (api_version, kind) = list_type(t);
        let list = ListBody { api_version: &api_version, kind: &kind, metadata: &metadata, items: Items(&items) };
        let body = serde_json::to_vec(&list)
            .map_err(|e| status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e.to_string()))?;
        Ok(Reply::Raw(StatusCode::OK, body))
    }

    pub(super) fn update(&self, t: &Target, name: &str, body: &[u8]) -> Handled {
        let object = object_body(t, body)?;
        check_kind(t, &object)?;
        self.replace(t, name, object, true)
    }

    pub(super) fn patch(&self, t: &Target, name: &str, content_type: &str, body: &[u8]) -> Handled {
        if content_type.starts_with("application/apply-patch") {
            return self.apply(t, name, body);
        }
        if let Some(error) = refuse_strategic(t, content_type) {
            return Err(error);
        }
        if t.query.get("force").is_some_and(|f| f == "true") {
            let cause = (
                "force".to_owned(),
                "FieldValueForbidden",
                "Forbidden: may not be specified for non-apply patch".to_owned(),
            );
            return Err(invalid_fields("PatchOptions", "meta.k8s.io", "", &[cause]));
        }
        // A patch applies to what is stored now, whatever version the patch names, under the
        // same lock as the write: concurrent patches never lose one another's changes.
        self.update_with(t, name, false, |current| {
            apply_patch(current.clone(), content_type, body, &t.served.kind, name)
        })
    }

    /// Server-side apply: creates the object if it is missing.
    pub(super) fn apply(&self, t: &Target, name: &str, body: &[u8]) -> Handled {
        let Some(manager) = t.query.get("fieldManager").filter(|m| !m.is_empty()) else {
            let cause = (
                "fieldManager".to_owned(),
                "FieldValueRequired",
                "Required value: is required for apply patch".to_owned(),
            );
            return Err(invalid_fields("PatchOptions", "meta.k8s.io", "", &[cause]));
        };
        let applied = applied_configuration(body)?;
        self.apply_value(t, name, manager, applied)
    }

    /// [`apply`](Self::apply) of a parsed configuration.
    pub(super) fn apply_value(&self, t: &Target, name: &str, manager: &str, applied: Value) -> Handled {
        if let Some(other) = applied["metadata"]["name"].as_str().filter(|n| *n != name) {
            return Err(name_mismatch(other, name));
        }
        let t = Target { applied: true, manager: manager.to_owned(), ..t.clone() };
        let (api_version, now, scale) = (api_version(&t.resource), now(), t.scale_pointer());
        let request = t.request(&api_version, &now, &scale);
        let run = |live: &Value| apply::apply(live, &applied, &request).map_err(|conflicts| apply_conflict(&conflicts));
        // Two tries: an object created by another request between the two is applied to.
        for _ in 0..2 {
            // Through a subresource, the object must exist.
            if self.current(&t, name).is_some() || t.subresource.is_some() {
                return self.update_with(&t, name, false, run);
            }
            let mut object = run(&Value::Null)?;
            object["metadata"]["name"] = json!(name);
            match self.create_object(&t, object) {
                Err(error) if error.code == StatusCode::CONFLICT => continue,
                created => return created,
            }
        }
        self.update_with(&t, name, false, run)
    }

    pub(super) fn delete(&self, t: &Target, name: &str) -> Handled {
        let mut state = self.lock();
        let key = (t.namespace.clone().unwrap_or_default(), name.to_owned());
        let Some(mut object) = state.objects.get(&t.store).and_then(|o| o.get(&key)).cloned() else {
            return Err(missing(t, name));
        };
        for (field, what, tail) in
            [("uid", "UID", "deleted and then recreated"), ("resourceVersion", "ResourceVersion", "modified")]
        {
            let (wanted, stored) = (&t.preconditions[field], &object["metadata"][field]);
            if let Some(wanted) = wanted.as_str().filter(|w| json!(w) != *stored) {
                let message = format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the {what} in the precondition ({wanted}) does not match the {what} in record ({}). The object might have been {tail}",
                    t.served.kind,
                    stored.as_str().unwrap_or_default()
                );
                return Err(ApiError {
                    details: Some(details(name, &t.resource.0, &t.served.kind)),
                    ..status(StatusCode::CONFLICT, "Conflict", &message)
                });
            }
        }
        if t.query.get("dryRun").is_some_and(|d| d == "All") {
            return ok(StatusCode::OK, object);
        }
        let current = object.clone();
        let rv = Self::next_rv(&mut state);
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let has_finalizers = object["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        if has_finalizers {
            if object["metadata"]["deletionTimestamp"].is_null() {
                object["metadata"]["deletionTimestamp"] = json!(now());
                object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                bump_generation(&mut object);
            }
            state.objects.entry(t.store.clone()).or_default().insert(key, object.clone());
            self.record(&mut state, &t.store, "MODIFIED", &object, Some(&current));
            return ok(StatusCode::OK, object);
        }
        state.objects.entry(t.store.clone()).or_default().remove(&key);
        self.record(&mut state, &t.store, "DELETED", &object, None);
        // A CRD answers with itself terminating (its resources go with it); a Job, whose API
        // orphans its pods by default, with the orphan finalizer the garbage collector then
        // removes; anything else with a Status.
        let now = now();
        if crd::is_crd(&t.store) {
            crd::terminating(&mut object, &now);
            return ok(StatusCode::OK, object);
        }
        if (t.resource.0.as_str(), t.resource.2.as_str()) == ("batch", "jobs") && !t.background {
            object["metadata"]["deletionTimestamp"] = json!(now);
            object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            object["metadata"]["finalizers"] = json!(["orphan"]);
            bump_generation(&mut object);
            return ok(StatusCode::OK, object);
        }
        let mut details = details(name, &t.resource.0, &t.resource.2);
        details["uid"] = object["metadata"]["uid"].clone();
        ok(
            StatusCode::OK,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        )
    }

    pub(super) fn delete_collection(&self, t: &Target) -> Handled {
        let filter = Filter::new(&t.query, &t.selectable()).map_err(|message| bad_request(&message))?;
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
                preconditions: t.preconditions.clone(),
                manager: t.manager.clone(),
                store: t.store.clone(),
                namespace: (!namespace.is_empty()).then_some(namespace),
                name: Some(name.clone()),
                subresource: None,
                resource: t.resource.clone(),
                served: t.served.clone(),
                query: t.query.clone(),
                metadata_only: t.metadata_only,
            };
            // As the real server: an object deleted by another request meanwhile is skipped;
            // any other failure ends the request with its error (what was deleted stays so).
            match self.delete(&one, &name) {
                Ok(_) => items.push(as_list_item(t, &object)),
                Err(e) if e.code == StatusCode::NOT_FOUND => {}
                Err(e) => return Err(e),
            }
        }
        let (api_version, kind) = list_type(t);
        let list = json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"resourceVersion": self.lock().rv.to_string()},
            "items": items,
        });
        ok(StatusCode::OK, list)
    }
}

/// A request's body as the object it must be: `null` reads as an empty object, as Go's
/// decoder reads it; anything else that is not an object is the real server's 400.
fn object_body(t: &Target, body: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(Value::Null) => Ok(json!({})),
        Ok(other) => {
            let found = match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Bool(_) => "bool",
                _ => "number",
            };
            Err(bad_request(&format!(
                "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: json: cannot unmarshal {found} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }} ({})",
                t.served.kind,
                body.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            )))
        }
        Err(e) => Err(bad_request(&format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e}",
            t.served.kind
        ))),
    }
}

/// A body of another kind than the resource's is refused, as the real server's decoder
/// refuses it: it cannot convert one kind into another.
fn check_kind(t: &Target, object: &Value) -> Result<(), ApiError> {
    let Some(kind) = object["kind"].as_str().filter(|k| !k.is_empty() && *k != t.served.kind) else { return Ok(()) };
    if t.is_custom() {
        // apiextensions decodes any kind and then refuses it as a field of the object.
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let cause =
            ("kind".to_owned(), "FieldValueInvalid", format!("Invalid value: {kind:?}: must be {}", t.served.kind));
        return Err(invalid_fields(kind, &t.resource.0, name, &[cause]));
    }
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let version = api_version.rsplit('/').next().unwrap_or_default();
    let internal = match t.resource.0.split('.').next() {
        Some("") | None => "core",
        Some(group) => group,
    };
    Err(bad_request(&format!(
        "{kind} in version \"{version}\" cannot be handled as a {served}: converting ({version}.{kind}) to ({internal}.{served}): unknown conversion",
        served = t.served.kind
    )))
}

/// The 400 of a write whose object names another object than its URL.
pub(super) fn name_mismatch(object: &str, url: &str) -> ApiError {
    bad_request(&format!("the name of the object ({object}) does not match the name on the URL ({url})"))
}

/// A custom resource's object pruned, defaulted and validated by its schema, or the 422.
pub(super) fn admit(t: &Target, name: &str, object: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let Some(schema) = &t.served.schema else { return Ok(()) };
    let mut causes = schema::admit(object, old, schema);
    // apiextensions checks the scale subresource's replicas field on every write.
    if let Some(scale) = &t.served.options.scale {
        let path = &scale.spec_replicas_path;
        let pointer = path.trim_start_matches('.').split('.').fold(String::new(), |p, s| format!("{p}/{s}"));
        if let Some(replicas) = object.pointer(&pointer).filter(|r| r.is_number() && r.as_u64().is_none()) {
            causes.push(schema::Cause {
                field: path.clone(),
                reason: "FieldValueInvalid",
                message: format!("Invalid value: {replicas}: should be a non-negative integer"),
            });
        }
    }
    if causes.is_empty() {
        return Ok(());
    }
    let causes: Vec<Cause> = causes.into_iter().map(|c| (c.field, c.reason, c.message)).collect();
    Err(invalid_fields(&t.served.kind, &t.resource.0, name, &causes))
}

/// `current` with a JSON, merge or strategic-merge patch applied.
pub(super) fn apply_patch(
    mut current: Value,
    content_type: &str,
    body: &[u8],
    kind: &str,
    name: &str,
) -> Result<Value, ApiError> {
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
        _ => {
            return Err(ApiError {
                details: Some(json!({})),
                ..status(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "415: Unsupported Media Type")
            });
        }
    };
    match result {
        Ok(()) => Ok(current),
        // The real server words a JSON patch that cannot apply so, naming nothing.
        Err(_) if media == "application/json-patch+json" => Err(ApiError {
            details: Some(json!({})),
            ..status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                "the server rejected our request due to an error in our request",
            )
        }),
        Err(e) => Err(invalid(kind, name, &e)),
    }
}

/// A strategic-merge patch on a custom resource: 415, as the real server answers (custom
/// resources have no Go struct tags to merge by).
pub(super) fn refuse_strategic(t: &Target, content_type: &str) -> Option<ApiError> {
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
pub(super) fn applied_configuration(body: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(bad_request("the applied configuration must be an object")),
        Err(_) => match std::str::from_utf8(body).ok().map(serde_saphyr::from_str::<Value>) {
            Some(Ok(v @ Value::Object(_))) => Ok(v),
            _ => Err(bad_request("the applied configuration is not YAML or JSON")),
        },
    }
}

/// The 409 of an apply whose fields other managers own: one cause per field, naming its owner.
pub(super) fn apply_conflict(conflicts: &[(String, String)]) -> ApiError {
    let list: Vec<String> = conflicts.iter().map(|(m, f)| format!("conflict with \"{m}\": {f}")).collect();
    let message = format!(
        "Apply failed with {} conflict{}: {}",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" },
        list.join("; ")
    );
    let causes: Vec<Value> = conflicts
        .iter()
        .map(
            |(m, f)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": f}),
        )
        .collect();
    ApiError { details: Some(json!({"causes": causes})), ..status(StatusCode::CONFLICT, "Conflict", &message) }
}

#[cfg(test)]
mod tests {
    //! The verbs answered without HTTP: each handler's `Result` is the API server's answer.

    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn request(method: &str, uri: &str) -> http::request::Parts {
        let mut parts = Request::builder().method(method).uri(uri).body(()).map(|r| r.into_parts().0).unwrap();
        parts.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        parts
    }

    fn server() -> ApiServer {
        let server = ApiServer::new();
        server.register::<ConfigMap>();
        server
    }

    fn object(handled: &Handled) -> Value {
        match handled {
            Ok(reply) => reply.object().map(|(_, body)| body).unwrap_or_default(),
            Err(e) => panic!("expected success, got {e:?}"),
        }
    }

    #[test]
    fn a_reactor_that_answers_with_no_http_status_is_an_error_that_says_so() {
        let server = server();
        server.react(Verb::Get, "configmaps", |_| Reaction::Respond(1000, json!({})));
        let err = server.dispatch(&request("GET", "/api/v1/namespaces/ns/configmaps/a"), b"").err().unwrap();
        assert_eq!((err.code, err.reason.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"));
        assert!(err.message.contains("answered with 1000"), "{}", err.message);
        server.react(Verb::List, "*", |_| Reaction::Fail { code: 0, reason: "Odd".into(), retry_after: None });
        let err = server.dispatch(&request("GET", "/api/v1/namespaces/ns/configmaps"), b"").err().unwrap();
        assert!(err.message.contains("answered with 0"), "{}", err.message);
    }

    #[test]
    fn delete_options_are_read_from_deletes_only() {
        let server = server();
        let created =
            server.dispatch(&request("POST", "/api/v1/namespaces/ns/configmaps"), br#"{"metadata": {"name": "a"}}"#);
        assert!(created.is_ok());
        let bad = server.dispatch(&request("DELETE", "/api/v1/namespaces/ns/configmaps/a"), b"[1]").err().unwrap();
        assert_eq!((bad.code, bad.reason.as_str()), (StatusCode::BAD_REQUEST, "BadRequest"));
        let options = br#"{"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}"#;
        assert!(server.dispatch(&request("DELETE", "/api/v1/namespaces/ns/configmaps/a"), options).is_ok());
        let gone = server.dispatch(&request("GET", "/api/v1/namespaces/ns/configmaps/a"), b"").err().unwrap();
        assert_eq!(gone.code, StatusCode::NOT_FOUND);
        // A method no verb has is refused before anything is recorded.
        let head = server.dispatch(&request("OPTIONS", "/api/v1/namespaces/ns/configmaps"), b"").err().unwrap();
        assert_eq!(head.code, StatusCode::METHOD_NOT_ALLOWED);
        let verbs: Vec<Verb> = server.actions().iter().map(|a| a.verb).collect();
        assert_eq!(verbs, [Verb::Create, Verb::Delete, Verb::Delete, Verb::Get]);
    }

    #[test]
    fn create_then_create_again_is_already_exists() {
        let server = server();
        let body = br#"{"metadata": {"name": "a"}, "data": {"k": "v"}}"#;
        let created = server.dispatch(&request("POST", "/api/v1/namespaces/ns/configmaps"), body);
        assert_eq!(created.as_ref().ok().and_then(Reply::object).map(|(code, _)| code), Some(StatusCode::CREATED));
        let created = object(&created);
        assert_eq!(created["metadata"]["namespace"], "ns");
        assert!(created["metadata"]["uid"].is_string());

        let again = server.dispatch(&request("POST", "/api/v1/namespaces/ns/configmaps"), body).err().unwrap();
        assert_eq!((again.code, again.reason.as_str()), (StatusCode::CONFLICT, "AlreadyExists"));
        assert_eq!(again.details.as_ref().unwrap()["name"], "a");
        assert_eq!(again.body()["message"], "configmaps \"a\" already exists");
    }

    #[test]
    fn failures_carry_the_servers_code_and_reason() {
        let server = server();
        let missing = server.dispatch(&request("GET", "/api/v1/namespaces/ns/configmaps/nope"), b"").err().unwrap();
        assert_eq!((missing.code, missing.reason.as_str()), (StatusCode::NOT_FOUND, "NotFound"));

        let unserved = server.dispatch(&request("GET", "/api/v1/namespaces/ns/widgets"), b"").err().unwrap();
        assert_eq!(unserved.code, StatusCode::NOT_FOUND);

        let selector =
            server.dispatch(&request("GET", "/api/v1/configmaps?labelSelector=a%20in%20b"), b"").err().unwrap();
        assert_eq!((selector.code, selector.reason.as_str()), (StatusCode::BAD_REQUEST, "BadRequest"));

        let mut apply = request("PATCH", "/api/v1/namespaces/ns/configmaps/a");
        apply
            .headers
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/apply-patch+yaml"));
        let no_manager = server.dispatch(&apply, b"{}").err().unwrap();
        assert_eq!(no_manager.code, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            no_manager.message,
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
        );

        let no_name = server.dispatch(&request("POST", "/api/v1/namespaces/ns/configmaps"), b"{}").err().unwrap();
        assert_eq!((no_name.code, no_name.reason.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "Invalid"));
    }

    #[test]
    fn an_update_from_a_stale_read_is_a_conflict_and_changes_nothing() {
        let server = server();
        let created = object(&server.dispatch(
            &request("POST", "/api/v1/namespaces/ns/configmaps"),
            br#"{"metadata": {"name": "a"}, "data": {"k": "1"}}"#,
        ));
        let mut first = created.clone();
        first["data"]["k"] = json!("2");
        let body = serde_json::to_vec(&first).unwrap();
        let updated = object(&server.dispatch(&request("PUT", "/api/v1/namespaces/ns/configmaps/a"), &body));
        assert_ne!(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);

        let mut stale = created.clone();
        stale["data"]["k"] = json!("3");
        let body = serde_json::to_vec(&stale).unwrap();
        let conflict = server.dispatch(&request("PUT", "/api/v1/namespaces/ns/configmaps/a"), &body).err().unwrap();
        assert_eq!((conflict.code, conflict.reason.as_str()), (StatusCode::CONFLICT, "Conflict"));
        let stored = object(&server.dispatch(&request("GET", "/api/v1/namespaces/ns/configmaps/a"), b""));
        assert_eq!(stored["data"]["k"], "2");
    }

    #[test]
    fn a_bad_patch_is_invalid_and_an_unknown_patch_type_unsupported() {
        let server = server();
        server
            .dispatch(&request("POST", "/api/v1/namespaces/ns/configmaps"), br#"{"metadata": {"name": "a"}}"#)
            .unwrap();
        let mut patch = request("PATCH", "/api/v1/namespaces/ns/configmaps/a");
        patch.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json-patch+json"));
        let bad =
            server.dispatch(&patch, br#"[{"op": "replace", "path": "/data/missing", "value": 1}]"#).err().unwrap();
        assert_eq!((bad.code, bad.reason.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "Invalid"));
        patch.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
        let unknown = server.dispatch(&patch, b"x").err().unwrap();
        assert_eq!(unknown.code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}

/// A list answered from items serialised once.
#[derive(serde::Serialize)]
struct ListBody<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    metadata: &'a Value,
    items: Items<'a>,
}

struct Items<'a>(&'a [ListItem]);

impl serde::Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|item| &**item))
    }
}
