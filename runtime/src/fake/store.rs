//! The store: the one read-modify-write every write goes through (`update_with`, the real
//! server's `GuaranteedUpdate`), the resourceVersion counter, and the event history watches
//! replay.

use super::*;

impl ApiServer {
    /// The stored object `name` of the target's resource and namespace.
    pub(super) fn current(&self, t: &Target, name: &str) -> Option<Value> {
        let state = self.lock();
        state
            .objects
            .get(&t.store)
            .and_then(|o| o.get(&(t.namespace.clone().unwrap_or_default(), name.to_owned())))
            .cloned()
    }

    /// Stores `object` in place of `name`; `check_version` enforces optimistic concurrency.
    pub(super) fn replace(&self, t: &Target, name: &str, object: Value, check_version: bool) -> Handled {
        self.update_with(t, name, check_version, |_| Ok(object))
    }

    /// The one read-modify-write of the store (the real server's `GuaranteedUpdate`): `change`
    /// makes the new object from the stored one under the same lock as the write, so no other
    /// request's change is lost between the read and the write.
    pub(super) fn update_with(
        &self,
        t: &Target,
        name: &str,
        check_version: bool,
        change: impl FnOnce(&Value) -> Result<Value, ApiError>,
    ) -> Handled {
        let mut state = self.lock();
        let key = (t.namespace.clone().unwrap_or_default(), name.to_owned());
        let Some(current) = state.objects.get(&t.store).and_then(|o| o.get(&key)).cloned() else {
            return Err(missing(t, name));
        };
        let mut object = change(&current)?;
        let stored_rv = current["metadata"]["resourceVersion"].clone();
        let sent_rv = object["metadata"]["resourceVersion"].as_str();
        if check_version && sent_rv.is_some_and(|rv| json!(rv) != stored_rv) {
            let message = format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                t.resource.2
            );
            return Err(failure(StatusCode::CONFLICT, "Conflict", &t.resource, name, &message));
        }
        if let Some(other) = object["metadata"]["name"].as_str().filter(|n| *n != name) {
            return Err(name_mismatch(other, name));
        }
        let dry_run = t.query.get("dryRun").is_some_and(|d| d == "All");
        // The server owns these.
        for field in ["uid", "creationTimestamp", "namespace", "deletionTimestamp"] {
            object["metadata"][field] = current["metadata"][field].clone();
        }
        object["metadata"]["name"] = json!(name);
        object["apiVersion"] = json!(api_version(&t.resource));
        object["kind"] = json!(t.served.kind);
        // With a status subresource, the main endpoint leaves status as it is.
        if t.served.options.status && t.subresource.is_none() {
            match current.get("status") {
                Some(s) => object["status"] = s.clone(),
                None => {
                    if let Some(o) = object.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
        }
        // Only resources that count generations have one, and only the server sets it.
        match current["metadata"]["generation"].as_i64() {
            Some(generation) => {
                let spec_changed = object["spec"] != current["spec"];
                object["metadata"]["generation"] = json!(if spec_changed { generation + 1 } else { generation });
            }
            None => {
                if let Some(meta) = object["metadata"].as_object_mut() {
                    meta.remove("generation");
                }
            }
        }
        defaults::apply(&t.resource.0, &t.resource.2, &mut object);
        admit(t, name, &mut object, Some(&current))?;
        if !t.is_custom() {
            defaults::omit_empty(&mut object);
        }
        // Clients may clear managedFields with an empty list; otherwise the server keeps them.
        if !t.applied && !object["metadata"]["managedFields"].as_array().is_some_and(Vec::is_empty) {
            object["metadata"]["managedFields"] = current["metadata"]["managedFields"].clone();
        }
        strip_nulls(&mut object["metadata"]);
        if !t.applied {
            let (api_version, now, scale) = (api_version(&t.resource), now(), t.scale_pointer());
            apply::record_update(&current, &mut object, &t.request(&api_version, &now, &scale));
        }
        // Removing the last finalizer of a deleted object deletes it.
        let finalized = !current["metadata"]["deletionTimestamp"].is_null()
            && object["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty);
        if object == current {
            return ok(StatusCode::OK, current);
        }
        if dry_run {
            return ok(StatusCode::OK, object);
        }
        let rv = Self::next_rv(&mut state);
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        if finalized {
            state.objects.entry(t.store.clone()).or_default().remove(&key);
            self.record(&mut state, &t.store, "DELETED", &object, None);
        } else {
            state.objects.entry(t.store.clone()).or_default().insert(key, object.clone());
            self.record(&mut state, &t.store, "MODIFIED", &object, Some(&current));
        }
        ok(StatusCode::OK, object)
    }

    pub(super) fn next_rv(state: &mut State) -> u64 {
        state.rv += 1;
        state.rv
    }

    pub(super) fn record(
        &self,
        state: &mut State,
        resource: &ResourceKey,
        kind: &'static str,
        object: &Value,
        old: Option<&Value>,
    ) {
        if crd::is_crd(resource) {
            // Serve what the CRD now says, or stop serving what it said.
            if let Some(before) = state.crds.remove(object["metadata"]["name"].as_str().unwrap_or_default()) {
                for key in before {
                    state.served.remove(&key);
                    if kind == "DELETED" {
                        state.objects.remove(&storage(&key.0, &key.2));
                    }
                }
            }
            if kind != "DELETED" {
                let served = crd::served(object);
                let keys = served.iter().map(|(k, _)| k.clone()).collect();
                state.served.extend(served);
                state.crds.insert(object["metadata"]["name"].as_str().unwrap_or_default().to_owned(), keys);
            }
        }
        let event = Event { rv: state.rv, resource: resource.clone(), kind, object: object.clone(), old: old.cloned() };
        state.history.push_back(event.clone());
        while state.history.len() > self.window {
            if let Some(old) = state.history.pop_front() {
                state.compacted = old.rv;
            }
        }
        // No watcher is not an error.
        let _ = self.events.send(event);
    }
}
