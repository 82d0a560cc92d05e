//! What a test does with the server: clients of it, the action log, reactors and injected
//! failures, seeded objects and logs, dropped watches, compaction, latency.

use super::*;

/// A request's verb, as the API server names it (in RBAC rules and audit logs): what the
/// method and path make of a request. A subresource's requests carry the verb of their method
/// (`get`, `update`, `patch`, `create`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `GET` of one object.
    Get,
    /// `GET` of a collection.
    List,
    /// `GET` of a collection with `watch=true`.
    Watch,
    /// `POST`.
    Create,
    /// `PUT`.
    Update,
    /// `PATCH`, server-side apply included.
    Patch,
    /// `DELETE` of one object.
    Delete,
    /// `DELETE` of a collection.
    DeleteCollection,
}

impl Verb {
    /// The API server's name of the verb: `get`, ..., `deletecollection`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verbs a reactor sees: one, or any. A verb is a [`Verb`], so a misspelt one does not
/// compile instead of matching nothing:
///
/// ```
/// # use kube_codegen_runtime::fake::{ApiServer, Reaction, Verb, Verbs};
/// let server = ApiServer::new();
/// server.react(Verb::Patch, "configmaps", |_| Reaction::Pass);
/// server.react(Verbs::Any, "*", |_| Reaction::Pass);
/// ```
///
/// ```compile_fail
/// # use kube_codegen_runtime::fake::{ApiServer, Reaction};
/// let server = ApiServer::new();
/// server.react("pacth", "configmaps", |_| Reaction::Pass);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbs {
    /// Every request.
    Any,
    /// Requests of this verb.
    Only(Verb),
}

impl From<Verb> for Verbs {
    fn from(verb: Verb) -> Verbs {
        Verbs::Only(verb)
    }
}

impl Verbs {
    pub(super) fn matches(self, verb: Verb) -> bool {
        self == Verbs::Any || self == Verbs::Only(verb)
    }
}

/// One request the server served, for tests to assert on (client-go's fake `Actions()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// What the request does.
    pub verb: Verb,
    /// The API group; `""` is the core group.
    pub group: String,
    /// The REST plural.
    pub resource: String,
    /// The namespace of a namespaced request.
    pub namespace: Option<String>,
    /// The object's name, for requests on one object.
    pub name: Option<String>,
    /// The subresource (`status`, `scale`, `eviction`, ...), for requests on one.
    pub subresource: Option<String>,
}

/// How a reactor answers a request.
#[derive(Clone, Debug)]
pub enum Reaction {
    /// Not this reactor's business: the next one, or the server, answers.
    Pass,
    /// Answer with this status code and JSON body.
    Respond(u16, Value),
    /// Fail with a `Status` of this code and reason; `retry_after` (seconds) becomes the
    /// `Retry-After` header, as the real server sends with 429 and some 5xx.
    Fail {
        /// The HTTP status code.
        code: u16,
        /// The `Status` reason (`TooManyRequests`, `InternalError`, `Timeout`, ...).
        reason: String,
        /// The `Retry-After` header, in seconds.
        retry_after: Option<u32>,
    },
}

/// A reactor: sees each request of its verb and resource, and may answer it.
pub(super) type Reactor = Arc<dyn Fn(&Action) -> Reaction + Send + Sync>;

impl ApiServer {
    /// Adds a reactor for requests of `verbs` (a [`Verb`], or [`Verbs::Any`]) on `resource`
    /// (the plural; `*` matches any). Reactors are asked in the order they were added; the
    /// first that does not [`Pass`](Reaction::Pass) answers. It runs with no lock held, so it
    /// may call the server.
    pub fn react(
        &self,
        verbs: impl Into<Verbs>,
        resource: &str,
        reactor: impl Fn(&Action) -> Reaction + Send + Sync + 'static,
    ) -> &Self {
        self.lock().reactors.push((verbs.into(), resource.to_owned(), Arc::new(reactor)));
        self
    }

    /// Fails the next `times` requests of `verbs` on `resource` with `code` (429 and 503 with
    /// `Retry-After: 1`), then serves normally.
    pub fn fail_next(&self, verbs: impl Into<Verbs>, resource: &str, times: usize, code: u16) -> &Self {
        let left = Arc::new(std::sync::atomic::AtomicUsize::new(times));
        let reason = match code {
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            403 => "Forbidden",
            _ => "Unknown",
        };
        let retry_after = matches!(code, 429 | 503).then_some(1);
        self.react(verbs, resource, move |_| {
            let claimed =
                left.fetch_update(std::sync::atomic::Ordering::AcqRel, std::sync::atomic::Ordering::Acquire, |n| {
                    n.checked_sub(1)
                });
            match claimed {
                Ok(_) => Reaction::Fail { code, reason: reason.to_owned(), retry_after },
                Err(_) => Reaction::Pass,
            }
        })
    }

    /// Ends every open watch, as a dropped connection or an API-server restart does; clients
    /// resume from their last resourceVersion.
    pub fn drop_watches(&self) {
        self.watch_epoch.send_modify(|e| *e += 1);
    }

    /// Sends watches that allow bookmarks one each `interval` (a minute unless set).
    pub fn set_bookmark_interval(&self, interval: Duration) {
        self.lock().bookmark_interval = Some(interval);
    }

    /// Delays every response by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// How many requests of `verb` on `resource` were served so far.
    pub fn count(&self, verb: Verb, resource: &str) -> usize {
        self.lock().actions.iter().filter(|a| a.verb == verb && a.resource == resource).count()
    }

    /// Stores an object as if it had been there all along (the state of a recorded cluster, a
    /// controller's work): its resource is found by `apiVersion` and `kind` among those
    /// registered; `uid` and `creationTimestamp` are kept if it has them; it gets a new
    /// `resourceVersion`, and watches see it added.
    pub fn seed(&self, object: &Value) -> Result<(), SetupError> {
        let api_version = object["apiVersion"].as_str().ok_or(SetupError::Missing("apiVersion"))?;
        let kind = object["kind"].as_str().ok_or(SetupError::Missing("kind"))?;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let mut state = self.lock();
        let (key, served) = state
            .served
            .iter()
            .find(|((g, v, _), s)| g == group && v == version && s.kind == kind)
            .map(|(k, s)| (k.clone(), s.clone()))
            .ok_or_else(|| SetupError::NotRegistered { api_version: api_version.to_owned(), kind: kind.to_owned() })?;
        let name = object["metadata"]["name"].as_str().ok_or(SetupError::Missing("metadata.name"))?.to_owned();
        let namespace = if served.namespaced {
            Some(object["metadata"]["namespace"].as_str().ok_or(SetupError::Missing("metadata.namespace"))?.to_owned())
        } else {
            None
        };
        let mut object = object.clone();
        state.uid += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", state.uid);
        let rv = Self::next_rv(&mut state);
        let meta = &mut object["metadata"];
        if meta["uid"].is_null() {
            meta["uid"] = json!(uid);
        }
        if meta["creationTimestamp"].is_null() {
            meta["creationTimestamp"] = json!(now());
        }
        meta["resourceVersion"] = json!(rv.to_string());
        let store = storage(&key.0, &key.2);
        state.objects.entry(store.clone()).or_default().insert((namespace.unwrap_or_default(), name), object.clone());
        self.record(&mut state, &store, "ADDED", &object, None);
        Ok(())
    }

    /// Sets what the `log` subresource of a pod returns.
    pub fn set_log(&self, namespace: &str, pod: &str, text: impl Into<String>) {
        self.lock().logs.insert((namespace.to_owned(), pod.to_owned()), text.into());
    }

    /// A `kube::Client` talking to this server. Needs a Tokio runtime, as every client does.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.clone(), "default")
    }

    /// A client of this server whose connection the returned [`Link`] can cut and restore, for
    /// a replica that loses the API server while others keep it.
    pub fn linked_client(&self) -> (kube::Client, Link) {
        let link = Link::default();
        (kube::Client::new(link::Linked { server: self.clone(), link: link.clone() }, "default"), link)
    }

    /// The requests served so far, oldest first.
    pub fn actions(&self) -> Vec<Action> {
        self.lock().actions.clone()
    }

    /// Forgets the requests served so far.
    pub fn clear_actions(&self) {
        self.lock().actions.clear();
    }

    /// Forgets the history up to now: a watch from an older resourceVersion, or a list's
    /// continue token from before, gets 410 Gone.
    pub fn compact(&self) {
        let mut state = self.lock();
        state.history.clear();
        state.compacted = state.rv;
        state.pages.clear();
    }
}

/// A reactor's status code as HTTP's; a code HTTP has no place for is the test's mistake,
/// answered as an internal error that says so rather than passed off as a success.
pub(super) fn reactor_code(code: u16, action: &Action) -> Result<StatusCode, ApiError> {
    StatusCode::from_u16(code).map_err(|_| {
        let message = format!(
            "a reactor for {} {} answered with {code}, which is not an HTTP status code",
            action.verb, action.resource
        );
        status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &message)
    })
}
