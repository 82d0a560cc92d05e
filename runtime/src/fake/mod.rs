//! An in-memory Kubernetes API server for tests, at the HTTP layer: a `tower::Service` behind
//! a real `kube::Client`, so `kube::Api`, watchers and generated clients run unmodified.
//!
//! ```no_run
//! # async fn demo() {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! let server = kube_codegen_runtime::fake::ApiServer::new();
//! server.register::<ConfigMap>();
//! let api: kube::Api<ConfigMap> = kube::Api::namespaced(server.client(), "default");
//! # }
//! ```
//!
//! Served so far: discovery (`/api`, `/apis`, each group-version's resources), create (201, 409
//! AlreadyExists, `generateName`, 422 for a missing name or a namespace that differs from the
//! path's), get (404), list with label and field selectors, update with optimistic concurrency
//! (409 Conflict), merge and JSON patch, delete and deletecollection (finalizers set
//! `deletionTimestamp`; the object goes with its last finalizer), and watch: replay of the
//! history window after a `resourceVersion`, `410 Gone` before it, or with `sendInitialEvents`
//! the current state and a bookmark annotated `k8s.io/initial-events-end`; then live events,
//! ended by `timeoutSeconds`. `resourceVersion` is one global counter, as etcd's is. Every
//! request is logged as an [`Action`].
//!
//! Register k8s-openapi's types with [`ApiServer::register`], generated and derived ones with
//! [`ApiServer::register_generated`] (which serves them as their CRD says), resources that are
//! only created (`TokenReview`) with [`ApiServer::register_create_only`], or create CRDs
//! through the API.
//!
//! # Known differences from a real API server
//!
//! Where the fake differs, a test written against it can pass where a cluster would fail. These
//! are all the differences known; `runtime/tests/replay_fidelity.rs` checks the rest against
//! recorded Kubernetes v1.36 traffic.
//!
//! - **No controllers and no garbage collector**: a Deployment makes no ReplicaSet, a Job's
//!   status stays empty, a deleted owner leaves its dependents, a deleted namespace leaves its
//!   objects.
//! - **No admission beyond schemas**: no RBAC (every request is allowed unless a reactor says
//!   otherwise), no quota, limit ranges, pod security or webhooks; CEL
//!   `x-kubernetes-validations` are not evaluated (OpenAPI validation, pruning and defaults are).
//! - **List semantics of k8s-openapi's types** (registered with `register`): strategic merge and
//!   server-side apply key lists by a table of the Kubernetes API's merge keys by field name
//!   (`containers` by `name`, `ports` by `containerPort` or `port`, `conditions` by `type`, ...),
//!   not by each type's schema; a list the table does not name is atomic. CRDs and generated or
//!   derived types use their schema's `x-kubernetes-list-type`, `-list-map-keys`, `-map-type` and
//!   `patch-merge-key`.
//! - **Ownership through other subresources**: writes through `status` and `scale` are owned per
//!   subresource in `managedFields`; writes through the core API's other subresources
//!   (`ephemeralcontainers`, `resize`, `approval`, `finalize`, `binding`) are recorded as
//!   writes of the main resource.
//! - **Lists read the latest state**: `resourceVersion` and `resourceVersionMatch` on a list are
//!   ignored (a paginated list does read one snapshot).
//! - **CRD versions convert by `None` only**: objects change `apiVersion` and nothing else;
//!   conversion webhooks are not called.
//! - **Discovery lists only what is registered**, and the fake serves JSON only (no protobuf,
//!   no CBOR, no `Table` output).
//! - **Connect subresources are not served**: `exec`, `attach`, `portforward` and `proxy`
//!   answer 404.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{Value, json};

mod apply;
mod crd;
mod defaults;
mod filter;
mod lists;
mod page;
mod replay;
mod schema;
mod serve;
mod strategic;
mod subresource;

use filter::Filter;
pub use replay::{Exchange, Replay};
pub use serve::Serving;
pub use subresource::{ResourceOptions, ScaleSubresource};

/// How many events a watch can be resumed from, as the API server's watch cache.
const DEFAULT_WINDOW: usize = 1000;

/// How often a watch that allows bookmarks gets one, unless set otherwise.
const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

/// A resource the server serves.
#[derive(Clone, Debug)]
struct Served {
    kind: String,
    list_kind: String,
    namespaced: bool,
    options: ResourceOptions,
    /// A custom resource's schema, which prunes, defaults and validates its objects.
    schema: Option<Value>,
    /// A schema that says how lists merge, for a type registered with one but not served by
    /// a CRD here (its objects are not pruned by it).
    lists: Option<Value>,
    /// A custom resource (served by a CRD, or registered as a generated or derived type):
    /// strategic merge patches are refused, as the real server refuses them.
    custom: bool,
    /// The fields a field selector may name besides `metadata.name` and `metadata.namespace`
    /// (a CRD's `selectableFields`; the built-in resources' come from a table).
    selectable: Vec<String>,
    /// Only `create` is served (TokenReview, SubjectAccessReview): nothing is stored, and a
    /// reactor usually answers.
    create_only: bool,
}

impl Served {
    /// Where its list semantics come from: its schema, else the built-in table.
    fn lists(&self) -> lists::Lists<'_> {
        match self.schema.as_ref().or(self.lists.as_ref()) {
            Some(s) => lists::Lists::Schema(s),
            None => lists::Lists::Builtin,
        }
    }
}

/// (group, version, plural)
type ResourceKey = (String, String, String);

#[derive(Clone, Debug)]
struct Event {
    rv: u64,
    resource: ResourceKey,
    kind: &'static str,
    object: Value,
    /// What a `MODIFIED` object was before: a watch with selectors turns a change into
    /// `ADDED` or `DELETED` when the object starts or stops matching, as the watch cache does.
    old: Option<Value>,
}

/// One request the server served, for tests to assert on (client-go's fake `Actions()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` or `deletecollection`.
    pub verb: &'static str,
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

#[derive(Default)]
struct State {
    actions: Vec<Action>,
    rv: u64,
    uid: u64,
    served: HashMap<ResourceKey, Served>,
    objects: HashMap<ResourceKey, BTreeMap<(String, String), Value>>,
    history: VecDeque<Event>,
    /// The oldest resourceVersion a watch may start after.
    compacted: u64,
    /// Paginated lists in progress: the snapshot each continue token reads.
    pages: page::Snapshots,
    /// The resources each CRD (by name) serves.
    crds: HashMap<String, Vec<ResourceKey>>,
    /// Container logs by (namespace, pod), for the `log` subresource.
    logs: HashMap<(String, String), String>,
    /// (verb, resource, reactor), asked in order; `*` matches any verb or resource.
    reactors: Vec<(String, String, Reactor)>,
    /// Added before each response.
    latency: Duration,
    /// Between the bookmarks of a watch that allows them.
    bookmark_interval: Option<Duration>,
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
type Reactor = Arc<dyn Fn(&Action) -> Reaction + Send + Sync>;

/// The in-memory API server. Cloning shares it.
#[derive(Clone)]
pub struct ApiServer {
    state: Arc<Mutex<State>>,
    events: tokio::sync::broadcast::Sender<Event>,
    /// Bumped to end every open watch.
    watch_epoch: Arc<tokio::sync::watch::Sender<u64>>,
    window: usize,
}

impl Default for ApiServer {
    fn default() -> Self {
        ApiServer::new()
    }
}

impl ApiServer {
    /// An empty server.
    pub fn new() -> ApiServer {
        let (events, _) = tokio::sync::broadcast::channel(4096);
        let (watch_epoch, _) = tokio::sync::watch::channel(0);
        ApiServer { state: Arc::default(), events, watch_epoch: Arc::new(watch_epoch), window: DEFAULT_WINDOW }
    }

    /// Serves a resource type: k8s-openapi's, generated, or derived. It gets a `status`
    /// subresource, and `scale` if it is one of the built-in resources that have it; say
    /// otherwise with [`register_with`](Self::register_with).
    pub fn register<K: k8s_openapi::Resource + k8s_openapi::ListableResource>(&self) -> &Self {
        self.register_with::<K>(ResourceOptions::builtin(K::GROUP, K::URL_PATH_SEGMENT))
    }

    /// Serves a resource type with the subresources `options` names, as a CRD's
    /// `subresources` would.
    pub fn register_with<K: k8s_openapi::Resource + k8s_openapi::ListableResource>(
        &self,
        options: ResourceOptions,
    ) -> &Self {
        let namespaced = is_namespaced::<K>();
        let key = (K::GROUP.to_owned(), K::VERSION.to_owned(), K::URL_PATH_SEGMENT.to_owned());
        let served = Served {
            kind: K::KIND.to_owned(),
            list_kind: K::LIST_KIND.to_owned(),
            namespaced,
            options,
            schema: None,
            lists: None,
            custom: false,
            selectable: Vec::new(),
            create_only: false,
        };
        self.lock().served.insert(key, served);
        self
    }

    /// Serves a generated or derived resource type as the CRD or API it came from describes it
    /// ([`ResourceSchema`](crate::ResourceSchema)): its scope, its `status` and `scale`
    /// subresources, its selectable fields, how its lists merge in server-side apply, and
    /// (for a custom resource) 415 for strategic merge patches. [`register`](Self::register)
    /// is for k8s-openapi's types, which carry none of this.
    pub fn register_generated<K>(&self) -> &Self
    where
        K: crate::ResourceSchema + k8s_openapi::ListableResource,
    {
        let scale = K::SCALE.map(|s| ScaleSubresource {
            spec_replicas_path: s.spec_replicas.to_owned(),
            status_replicas_path: s.status_replicas.to_owned(),
            label_selector_path: s.label_selector.map(str::to_owned),
        });
        // A built-in workload's scale selector comes from its `spec.selector`.
        let scale = match (scale, K::CUSTOM) {
            (Some(s), false) => Some(ScaleSubresource { label_selector_path: None, ..s }),
            (scale, _) => scale,
        };
        let served = Served {
            kind: K::KIND.to_owned(),
            list_kind: K::LIST_KIND.to_owned(),
            namespaced: is_namespaced::<K>(),
            options: ResourceOptions { status: K::STATUS, scale },
            // Only custom resources are pruned and validated by their schema; this one holds
            // their list semantics alone, which is what the fake reads of it.
            schema: None,
            lists: K::list_schema(),
            custom: K::CUSTOM,
            selectable: K::SELECTABLE.iter().map(|f| (*f).to_owned()).collect(),
            create_only: false,
        };
        let key = (K::GROUP.to_owned(), K::VERSION.to_owned(), K::URL_PATH_SEGMENT.to_owned());
        self.lock().served.insert(key, served);
        self
    }

    /// Serves a resource that is only ever created, whose answer is computed rather than stored
    /// (`TokenReview`, `SubjectAccessReview`, `SelfSubjectAccessReview`): a reactor on
    /// `create` answers as the authenticator or authorizer would; without one, the object comes
    /// back as sent with an empty `status`. Every other verb is 405, as on a real server.
    pub fn register_create_only<K: k8s_openapi::Resource>(&self) -> &Self {
        let namespaced = is_namespaced::<K>();
        let key = (K::GROUP.to_owned(), K::VERSION.to_owned(), K::URL_PATH_SEGMENT.to_owned());
        let served = Served {
            kind: K::KIND.to_owned(),
            list_kind: format!("{}List", K::KIND),
            namespaced,
            options: ResourceOptions::default(),
            schema: None,
            lists: None,
            custom: false,
            selectable: Vec::new(),
            create_only: true,
        };
        self.lock().served.insert(key, served);
        self
    }

    /// Adds a reactor for requests of `verb` (`get`, `list`, `watch`, `create`, `update`,
    /// `patch`, `delete`, `deletecollection`) on `resource` (the plural); `*` matches any.
    /// Reactors are asked in the order they were added; the first that does not
    /// [`Pass`](Reaction::Pass) answers.
    pub fn react(
        &self,
        verb: &str,
        resource: &str,
        reactor: impl Fn(&Action) -> Reaction + Send + Sync + 'static,
    ) -> &Self {
        self.lock().reactors.push((verb.to_owned(), resource.to_owned(), Arc::new(reactor)));
        self
    }

    /// Fails the next `times` requests of `verb` on `resource` with `code` (429 and 503 with
    /// `Retry-After: 1`), then serves normally.
    pub fn fail_next(&self, verb: &str, resource: &str, times: usize, code: u16) -> &Self {
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
        self.react(verb, resource, move |_| {
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
    pub fn count(&self, verb: &str, resource: &str) -> usize {
        self.lock().actions.iter().filter(|a| a.verb == verb && a.resource == resource).count()
    }

    /// Stores an object as if it had been there all along (the state of a recorded cluster, a
    /// controller's work): its resource is found by `apiVersion` and `kind` among those
    /// registered; `uid` and `creationTimestamp` are kept if it has them; it gets a new
    /// `resourceVersion`, and watches see it added.
    pub fn seed(&self, object: &Value) -> Result<(), String> {
        let api_version = object["apiVersion"].as_str().ok_or("the object has no apiVersion")?;
        let kind = object["kind"].as_str().ok_or("the object has no kind")?;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let mut state = self.lock();
        let (key, served) = state
            .served
            .iter()
            .find(|((g, v, _), s)| g == group && v == version && s.kind == kind)
            .map(|(k, s)| (k.clone(), s.clone()))
            .ok_or_else(|| format!("{api_version} {kind} is not registered"))?;
        let name = object["metadata"]["name"].as_str().ok_or("the object has no name")?.to_owned();
        let namespace = if served.namespaced {
            Some(object["metadata"]["namespace"].as_str().ok_or("a namespaced object needs a namespace")?.to_owned())
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

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every change is one insert).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether `K`'s scope is k8s-openapi's namespaced one (the whole type name, not a guess
/// from its end).
fn is_namespaced<K: k8s_openapi::Resource>() -> bool {
    std::any::type_name::<K::Scope>() == std::any::type_name::<k8s_openapi::NamespaceResourceScope>()
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// What a fake's `tower::Service::call` returns.
type ServiceFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// Collects a request's body and hands the request to `respond`: the part of `call` the
/// API server and the replay share.
fn call_with<F, Fut>(request: Request<kube::client::Body>, respond: F) -> ServiceFuture
where
    F: FnOnce(http::request::Parts, Bytes) -> Fut + Send + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    Box::pin(async move {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Ok(status(StatusCode::BAD_REQUEST, "BadRequest", &format!("reading the body: {e}"))),
        };
        Ok(respond(parts, body).await)
    })
}

impl tower::Service<Request<kube::client::Body>> for ApiServer {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let server = self.clone();
        call_with(request, move |parts, body| async move { server.serve_one(parts, body).await })
    }
}

/// A request taken apart.
#[derive(Clone)]
struct Target {
    resource: ResourceKey,
    /// Where its objects are kept: every version of a resource shares one storage, as the
    /// real server's (conversion between versions is the `None` strategy: `apiVersion` only).
    store: ResourceKey,
    served: Served,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    query: HashMap<String, String>,
    /// Set for a server-side apply, whose ownership `apply` has worked out already.
    applied: bool,
    /// A delete that asked for background or foreground propagation.
    background: bool,
    /// Who writes: `fieldManager`, else the client's user agent up to its first `/`, as the
    /// real server names managers of writes that do not say.
    manager: String,
}

impl Target {
    /// The fields a field selector may name, besides `metadata.name` and `metadata.namespace`.
    fn selectable(&self) -> Vec<String> {
        let builtin = filter::builtin_fields(&self.resource.0, &self.resource.2).iter().map(|f| (*f).to_owned());
        builtin.chain(self.served.selectable.iter().cloned()).collect()
    }

    /// The JSON pointer of a scale subresource's replicas (`/spec/replicas`).
    fn scale_pointer(&self) -> String {
        let path = self.served.options.scale.as_ref().map_or(".spec.replicas", |s| s.spec_replicas_path.as_str());
        path.trim_start_matches('.').split('.').fold(String::new(), |p, s| format!("{p}/{s}"))
    }

    /// Who writes what, for field ownership: the manager, the part of the object this
    /// endpoint writes, and the resource's list semantics.
    fn request<'a>(&'a self, api_version: &'a str, now: &'a str, scale: &'a str) -> apply::Request<'a> {
        let scope = match self.subresource.as_deref() {
            None => apply::Scope::Main { status_subresource: self.served.options.status },
            Some("status") => apply::Scope::Status,
            Some("scale") => apply::Scope::Scale(scale),
            Some(_) => apply::Scope::Main { status_subresource: true },
        };
        apply::Request {
            manager: &self.manager,
            force: self.query.get("force").is_some_and(|f| f == "true"),
            scope,
            lists: self.served.lists(),
            api_version,
            now,
        }
    }
}

impl ApiServer {
    /// One request, after the configured latency.
    async fn serve_one(&self, parts: http::request::Parts, body: Bytes) -> Response<Body> {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.handle(parts, body)
    }

    fn handle(&self, parts: http::request::Parts, body: Bytes) -> Response<Body> {
        if parts.method == Method::GET
            && let Some(response) = self.discovery(parts.uri.path())
        {
            return response;
        }
        let mut target = match self.route(&parts.uri) {
            Ok(t) => t,
            Err(response) => return *response,
        };
        let agent = parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("unknown");
        target.manager = match target.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.clone(),
            _ => agent.split('/').next().unwrap_or("unknown").to_owned(),
        };
        let content_type =
            parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let watch = target.query.get("watch").is_some_and(|w| w == "true" || w == "1");
        let verb = match (&parts.method, &target.name) {
            (&Method::GET, None) if watch => "watch",
            (&Method::GET, None) => "list",
            (&Method::GET, Some(_)) => "get",
            (&Method::POST, _) => "create",
            (&Method::PUT, _) => "update",
            (&Method::PATCH, _) => "patch",
            (&Method::DELETE, None) => "deletecollection",
            (&Method::DELETE, Some(_)) => "delete",
            _ => "unknown",
        };
        let action = Action {
            verb,
            group: target.resource.0.clone(),
            resource: target.resource.2.clone(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            subresource: target.subresource.clone(),
        };
        let reactors: Vec<Reactor> = {
            let mut state = self.lock();
            state.actions.push(action.clone());
            state
                .reactors
                .iter()
                .filter(|(v, r, _)| (v == "*" || v == verb) && (r == "*" || *r == action.resource))
                .map(|(_, _, f)| Arc::clone(f))
                .collect()
        };
        // Reactors run without the lock, so they may call the server.
        for reactor in reactors {
            match reactor(&action) {
                Reaction::Pass => continue,
                Reaction::Respond(code, body) => {
                    return respond(StatusCode::from_u16(code).unwrap_or(StatusCode::OK), &body);
                }
                Reaction::Fail { code, reason, retry_after } => {
                    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let mut response = status(code, &reason, &format!("injected failure: {reason}"));
                    if let Some(seconds) = retry_after {
                        response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
                    }
                    return response;
                }
            }
        }
        // DeleteOptions come as a body or as query parameters.
        let options: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let propagation =
            options["propagationPolicy"].as_str().or(target.query.get("propagationPolicy").map(String::as_str));
        target.background = matches!(propagation, Some("Background" | "Foreground"));
        if target.served.create_only {
            return match (&parts.method, &target.name) {
                (&Method::POST, None) => match serde_json::from_slice::<Value>(&body) {
                    Ok(mut object @ Value::Object(_)) => {
                        if object["status"].is_null() {
                            object["status"] = json!({});
                        }
                        respond(StatusCode::CREATED, &object)
                    }
                    _ => status(StatusCode::BAD_REQUEST, "BadRequest", "the body must be a JSON object"),
                },
                (method, _) => status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    &format!("the server does not allow this method on the requested resource ({method})"),
                ),
            };
        }
        if let (Some(sub), Some(name)) = (&target.subresource, &target.name) {
            return self.subresource(&target, name, sub, &parts.method, &content_type, &body);
        }
        match (&parts.method, &target.name) {
            (&Method::GET, None) if watch => self.watch(&target),
            (&Method::GET, None) => self.list(&target),
            (&Method::POST, None) => self.create(&target, &body),
            (&Method::DELETE, None) => self.delete_collection(&target),
            (&Method::GET, Some(name)) => self.get(&target, name),
            (&Method::PUT, Some(name)) => self.update(&target, name, &body),
            (&Method::PATCH, Some(name)) => self.patch(&target, name, &content_type, &body),
            (&Method::DELETE, Some(name)) => self.delete(&target, name),
            (method, _) => {
                status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &format!("{method} is not served here yet"))
            }
        }
    }

    fn route(&self, uri: &http::Uri) -> Result<Target, Box<Response<Body>>> {
        let query = uri.query().map(parse_query).unwrap_or_default();
        let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
        let (group, version, rest) = match segments.as_slice() {
            ["api", version, rest @ ..] => ("", *version, rest),
            ["apis", group, version, rest @ ..] => (*group, *version, rest),
            _ => {
                return Err(Box::new(not_found(&format!(
                    "the server could not find the requested resource ({})",
                    uri.path()
                ))));
            }
        };
        let state = self.lock();
        let served = |plural: &str| state.served.get(&(group.to_owned(), version.to_owned(), plural.to_owned()));
        let (namespace, rest) = match rest {
            ["namespaces", ns, plural, rest @ ..] if served(plural).is_some() => {
                (Some((*ns).to_owned()), rest_with(plural, rest))
            }
            _ => (None, rest.to_vec()),
        };
        let Some(plural) = rest.first() else {
            return Err(Box::new(not_found("the server could not find the requested resource")));
        };
        let Some(s) = served(plural).cloned() else {
            return Err(Box::new(not_found(&format!("the server could not find the requested resource ({plural})"))));
        };
        if rest.len() > 3 {
            return Err(Box::new(not_found(&format!(
                "the server could not find the requested resource ({})",
                uri.path()
            ))));
        }
        Ok(Target {
            resource: (group.to_owned(), version.to_owned(), (*plural).to_owned()),
            store: storage(group, plural),
            served: s,
            namespace,
            name: rest.get(1).map(|n| (*n).to_owned()),
            subresource: rest.get(2).map(|n| (*n).to_owned()),
            query,
            applied: false,
            background: false,
            manager: String::new(),
        })
    }

    fn next_rv(state: &mut State) -> u64 {
        state.rv += 1;
        state.rv
    }

    fn record(
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

    fn create(&self, t: &Target, body: &[u8]) -> Response<Body> {
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

    fn get(&self, t: &Target, name: &str) -> Response<Body> {
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

    fn list(&self, t: &Target) -> Response<Body> {
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

    fn update(&self, t: &Target, name: &str, body: &[u8]) -> Response<Body> {
        match serde_json::from_slice::<Value>(body) {
            Ok(object @ Value::Object(_)) => self.replace(t, name, object, true),
            _ => status(StatusCode::BAD_REQUEST, "BadRequest", "the body must be a JSON object"),
        }
    }

    fn patch(&self, t: &Target, name: &str, content_type: &str, body: &[u8]) -> Response<Body> {
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
    fn apply(&self, t: &Target, name: &str, body: &[u8]) -> Response<Body> {
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
    fn apply_value(&self, t: &Target, name: &str, manager: &str, applied: Value) -> Response<Body> {
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

    /// The stored object `name` of the target's resource and namespace.
    fn current(&self, t: &Target, name: &str) -> Option<Value> {
        let state = self.lock();
        state
            .objects
            .get(&t.store)
            .and_then(|o| o.get(&(t.namespace.clone().unwrap_or_default(), name.to_owned())))
            .cloned()
    }

    /// Stores `object` in place of `name`; `check_version` enforces optimistic concurrency.
    fn replace(&self, t: &Target, name: &str, object: Value, check_version: bool) -> Response<Body> {
        self.update_with(t, name, check_version, |_| Ok(object))
    }

    /// The one read-modify-write of the store (the real server's `GuaranteedUpdate`): `change`
    /// makes the new object from the stored one under the same lock as the write, so no other
    /// request's change is lost between the read and the write.
    fn update_with(
        &self,
        t: &Target,
        name: &str,
        check_version: bool,
        change: impl FnOnce(&Value) -> Result<Value, Box<Response<Body>>>,
    ) -> Response<Body> {
        let mut state = self.lock();
        let key = (t.namespace.clone().unwrap_or_default(), name.to_owned());
        let Some(current) = state.objects.get(&t.store).and_then(|o| o.get(&key)).cloned() else {
            return missing(t, name);
        };
        let mut object = match change(&current) {
            Ok(o) => o,
            Err(response) => return *response,
        };
        let stored_rv = current["metadata"]["resourceVersion"].clone();
        let sent_rv = object["metadata"]["resourceVersion"].as_str();
        if check_version && sent_rv.is_some_and(|rv| json!(rv) != stored_rv) {
            let message = format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                t.resource.2
            );
            return failure(StatusCode::CONFLICT, "Conflict", &t.resource, name, &message);
        }
        if object["metadata"]["name"].as_str().is_some_and(|n| n != name) {
            return invalid(
                &t.served.kind,
                name,
                "metadata.name: the name of the object does not match the name on the URL",
            );
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
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
        let spec_changed = object["spec"] != current["spec"];
        object["metadata"]["generation"] = json!(if spec_changed { generation + 1 } else { generation });
        defaults::apply(&t.resource.0, &t.resource.2, &mut object);
        if let Err(response) = admit(t, name, &mut object) {
            return *response;
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
            return respond(StatusCode::OK, &current);
        }
        if dry_run {
            return respond(StatusCode::OK, &object);
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
        respond(StatusCode::OK, &object)
    }

    /// Establishes a new CRD moments after its create, as the API server's controllers do;
    /// at once when there is no Tokio runtime to wait on.
    fn establish_later(&self, store: ResourceKey, key: (String, String)) {
        let server = self.clone();
        let establish = move || {
            let mut state = server.lock();
            let Some(mut crd) = state.objects.get(&store).and_then(|o| o.get(&key)).cloned() else { return };
            let now = now();
            crd::establish(&mut crd, &now);
            let api_version = crd["apiVersion"].as_str().unwrap_or_default().to_owned();
            // The create wrote storedVersions; establishing writes the rest of the status.
            let mut written = crd.clone();
            if let Some(status) = written["status"].as_object_mut() {
                status.remove("storedVersions");
            }
            let entry = apply::status_entry(&written, "kube-apiserver", &api_version, &now);
            match crd["metadata"]["managedFields"].as_array_mut() {
                Some(entries) => entries.insert(0, entry),
                None => crd["metadata"]["managedFields"] = json!([entry]),
            }
            let rv = Self::next_rv(&mut state);
            crd["metadata"]["resourceVersion"] = json!(rv.to_string());
            let before = state.objects.entry(store.clone()).or_default().insert(key, crd.clone());
            server.record(&mut state, &store, "MODIFIED", &crd, before.as_ref());
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    tokio::time::sleep(crd::ESTABLISH_AFTER).await;
                    establish();
                });
            }
            Err(_) => establish(),
        }
    }

    fn delete(&self, t: &Target, name: &str) -> Response<Body> {
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

    fn delete_collection(&self, t: &Target) -> Response<Body> {
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

    /// `/api`, `/apis`, `/apis/<group>` and the resource lists of each group-version, so
    /// `kube::Discovery` works.
    fn discovery(&self, path: &str) -> Option<Response<Body>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let state = self.lock();
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (group, version, _) in state.served.keys() {
            let versions = groups.entry(group.as_str()).or_default();
            if !versions.contains(&version.as_str()) {
                versions.push(version.as_str());
            }
        }
        for versions in groups.values_mut() {
            versions.sort_unstable();
        }
        let group_json = |name: &str, versions: &[&str]| {
            let versions: Vec<Value> =
                versions.iter().map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v})).collect();
            json!({"name": name, "versions": versions, "preferredVersion": versions.last()})
        };
        let body = match segments.as_slice() {
            ["api"] => json!({
                "kind": "APIVersions",
                "versions": groups.get("").cloned().unwrap_or_default(),
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
            }),
            ["apis"] => json!({
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": groups.iter().filter(|(g, _)| !g.is_empty()).map(|(g, v)| group_json(g, v)).collect::<Vec<_>>(),
            }),
            ["apis", group] => {
                let mut body = group_json(group, groups.get(group)?);
                body["kind"] = json!("APIGroup");
                body["apiVersion"] = json!("v1");
                body
            }
            ["api", version] => resource_list(&state, "", version)?,
            ["apis", group, version] => resource_list(&state, group, version)?,
            _ => return None,
        };
        Some(respond(StatusCode::OK, &body))
    }

    fn watch(&self, t: &Target) -> Response<Body> {
        let filter = match Filter::new(&t.query, &t.selectable()) {
            Ok(f) => f,
            Err(message) => return status(StatusCode::BAD_REQUEST, "BadRequest", &message),
        };
        let timeout = t.query.get("timeoutSeconds").and_then(|s| s.parse::<u64>().ok());
        let streaming = t.query.get("sendInitialEvents").is_some_and(|v| v == "true");
        let from = t.query.get("resourceVersion").filter(|v| !v.is_empty() && *v != "0" && !streaming);
        let in_scope = {
            let namespace = t.namespace.clone();
            move |o: &Value| {
                namespace.as_ref().is_none_or(|ns| o["metadata"]["namespace"] == json!(ns)) && filter.matches(o)
            }
        };
        // The event a watch with these selectors sends for a change, if any.
        let wanted = {
            let resource = t.store.clone();
            let in_scope = in_scope.clone();
            move |e: &Event| -> Option<&'static str> {
                if e.resource != resource {
                    return None;
                }
                let now = in_scope(&e.object);
                match (e.kind, e.old.as_ref().map(&in_scope)) {
                    ("MODIFIED", Some(true)) if !now => Some("DELETED"),
                    ("MODIFIED", Some(false)) if now => Some("ADDED"),
                    ("MODIFIED", Some(false)) => None,
                    (kind, _) => now.then_some(kind),
                }
            }
        };
        // Under the lock: what happened so far, and a subscription to what happens next.
        let (initial, live) = {
            let state = self.lock();
            let live = self.events.subscribe();
            let initial: Vec<Value> = match from.map(|v| v.parse::<u64>()) {
                Some(Ok(rv)) if rv < state.compacted => vec![gone(rv, state.compacted)],
                Some(Ok(rv)) => state
                    .history
                    .iter()
                    .filter(|e| e.rv > rv)
                    .filter_map(|e| wanted(e).map(|kind| json!({"type": kind, "object": as_version(t, &e.object)})))
                    .collect(),
                Some(Err(_)) => {
                    return status(StatusCode::BAD_REQUEST, "BadRequest", "resourceVersion must be a number");
                }
                // No version (or a streaming list): the current state as ADDED events, as the
                // real server does; a streaming list then marks its end with a bookmark.
                None => {
                    let mut events: Vec<Value> = state
                        .objects
                        .get(&t.store)
                        .into_iter()
                        .flat_map(|o| o.values())
                        .filter(|o| in_scope(o))
                        .map(|o| json!({"type": "ADDED", "object": as_version(t, o)}))
                        .collect();
                    if streaming {
                        let mut bookmark = json!({
                            "apiVersion": api_version(&t.resource),
                            "kind": t.served.kind,
                            "metadata": {
                                "resourceVersion": state.rv.to_string(),
                                "annotations": {"k8s.io/initial-events-end": "true"},
                            },
                        });
                        // A bookmark is an empty object of the kind, as Go serializes one.
                        if (t.resource.0.as_str(), t.resource.2.as_str()) == ("", "pods") {
                            bookmark["spec"] = json!({"containers": null});
                            bookmark["status"] = json!({});
                        }
                        events.push(json!({"type": "BOOKMARK", "object": bookmark}));
                    }
                    events
                }
            };
            (initial, live)
        };
        let ended = initial.first().is_some_and(|e| e["type"] == "ERROR");
        let initial = futures::stream::iter(initial.into_iter().map(line));
        // With allowWatchBookmarks, a BOOKMARK at the current resourceVersion each interval, as
        // the real server sends about once a minute.
        let bookmarks = t.query.get("allowWatchBookmarks").is_some_and(|v| v == "true");
        let every = self.lock().bookmark_interval.unwrap_or(DEFAULT_BOOKMARK_INTERVAL);
        let ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let (state, bookmark_kind, bookmark_version) =
            (Arc::clone(&self.state), t.served.kind.clone(), api_version(&t.resource));
        let live = futures::stream::unfold((live, ended, ticker), move |(mut rx, ended, mut ticker)| {
            let wanted = wanted.clone();
            let state = Arc::clone(&state);
            let (kind, version) = (bookmark_kind.clone(), bookmark_version.clone());
            async move {
                if ended {
                    return None;
                }
                loop {
                    tokio::select! {
                        received = rx.recv() => match received {
                            Ok(e) => {
                                let Some(kind) = wanted(&e) else { continue };
                                let mut object = e.object.clone();
                                object["apiVersion"] = json!(version);
                                let event = line(json!({"type": kind, "object": object}));
                                return Some((event, (rx, false, ticker)));
                            }
                            // A watcher that falls behind is closed; the client resumes or relists.
                            Err(_) => return None,
                        },
                        _ = ticker.tick(), if bookmarks => {
                            let rv = state.lock().unwrap_or_else(|e| e.into_inner()).rv;
                            let event = line(json!({"type": "BOOKMARK", "object": {
                                "kind": kind, "apiVersion": version, "metadata": {"resourceVersion": rv.to_string()},
                            }}));
                            return Some((event, (rx, false, ticker)));
                        }
                    }
                }
            }
        });
        let mut epoch = self.watch_epoch.subscribe();
        epoch.mark_unchanged();
        let dropped = async move {
            let _ = epoch.changed().await;
        };
        let stream = futures::StreamExt::take_until(futures::StreamExt::chain(initial, live), dropped);
        let stream: Pin<Box<dyn futures::Stream<Item = Result<http_body::Frame<Bytes>, Infallible>> + Send>> =
            match timeout {
                Some(secs) => {
                    Box::pin(futures::StreamExt::take_until(stream, tokio::time::sleep(Duration::from_secs(secs))))
                }
                None => Box::pin(stream),
            };
        let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response
    }
}

/// A custom resource's object pruned, defaulted and validated by its schema, or the 422.
fn admit(t: &Target, name: &str, object: &mut Value) -> Result<(), Box<Response<Body>>> {
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
fn apply_patch(
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
fn refuse_strategic(t: &Target, content_type: &str) -> Option<Response<Body>> {
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
fn applied_configuration(body: &[u8]) -> Result<Value, Box<Response<Body>>> {
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
fn apply_conflict(t: &Target, name: &str, conflicts: &[(String, String)]) -> Response<Body> {
    let list: Vec<String> = conflicts.iter().map(|(m, f)| format!("conflict with \"{m}\": {f}")).collect();
    let message = format!(
        "Apply failed with {} conflict{}: {}",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" },
        list.join("; ")
    );
    failure(StatusCode::CONFLICT, "Conflict", &t.resource, name, &message)
}

/// The `APIResourceList` of a group-version, if it is served.
fn resource_list(state: &State, group: &str, version: &str) -> Option<Value> {
    let verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    let mut resources = Vec::new();
    for ((_, _, plural), s) in state.served.iter().filter(|((g, v, _), _)| g == group && v == version) {
        let verbs: &[&str] = if s.create_only { &["create"] } else { &verbs };
        resources.push(json!({"name": plural, "singularName": s.kind.to_lowercase(), "namespaced": s.namespaced, "kind": s.kind, "verbs": verbs}));
        if s.options.status {
            resources.push(json!({"name": format!("{plural}/status"), "singularName": "", "namespaced": s.namespaced, "kind": s.kind, "verbs": ["get", "patch", "update"]}));
        }
        if s.options.scale.is_some() {
            resources.push(json!({"name": format!("{plural}/scale"), "singularName": "", "namespaced": s.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
}

fn line(event: Value) -> Result<http_body::Frame<Bytes>, Infallible> {
    let mut bytes = serde_json::to_vec(&event).unwrap_or_default();
    bytes.push(b'\n');
    Ok(http_body::Frame::data(Bytes::from(bytes)))
}

/// The ERROR event a watch from a compacted resourceVersion gets.
fn gone(rv: u64, compacted: u64) -> Value {
    json!({"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {rv} ({compacted})"), "reason": "Expired", "code": 410,
    }})
}

/// `ns/name` rest of a namespaced path, with the plural first.
fn rest_with<'a>(plural: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    std::iter::once(plural).chain(rest.iter().copied()).collect()
}

/// The storage of a resource: its group and plural, whatever the version.
fn storage(group: &str, plural: &str) -> ResourceKey {
    (group.to_owned(), String::new(), plural.to_owned())
}

/// Marking an object deleted is a change of its desired state: the generation goes up.
fn bump_generation(object: &mut Value) {
    if let Some(g) = object["metadata"]["generation"].as_i64() {
        object["metadata"]["generation"] = json!(g + 1);
    }
}

/// An object as a list holds it: without `apiVersion` and `kind`, which the list carries.
fn list_item(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(m) = object.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    object
}

/// `object` as the version of `t` presents it.
fn as_version(t: &Target, object: &Value) -> Value {
    let mut object = object.clone();
    object["apiVersion"] = json!(api_version(&t.resource));
    object
}

fn api_version((group, version, _): &ResourceKey) -> String {
    if group.is_empty() { version.clone() } else { format!("{group}/{version}") }
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().round(k8s_openapi::jiff::Unit::Second).unwrap_or_default().to_string()
}

/// A `generateName` suffix: five characters, as the real server's, but deterministic.
fn suffix(n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = n.wrapping_mul(2_654_435_761);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn strip_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, v| !v.is_null());
    }
}

fn respond(code: StatusCode, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)).boxed_unsync());
    *response.status_mut() = code;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    respond(code, &body)
}

fn failure(code: StatusCode, reason: &str, resource: &ResourceKey, name: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
        "details": {"name": name, "group": resource.0, "kind": resource.2},
    });
    respond(code, &body)
}

fn missing(t: &Target, name: &str) -> Response<Body> {
    failure(StatusCode::NOT_FOUND, "NotFound", &t.resource, name, &format!("{} \"{name}\" not found", t.resource.2))
}

fn not_found(message: &str) -> Response<Body> {
    status(StatusCode::NOT_FOUND, "NotFound", message)
}

fn invalid(kind: &str, name: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{kind} \"{name}\" is invalid: {message}"), "reason": "Invalid", "code": 422,
        "details": {"name": name, "kind": kind},
    });
    respond(StatusCode::UNPROCESSABLE_ENTITY, &body)
}

fn parse_query(query: &str) -> HashMap<String, String> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        let q = parse_query("labelSelector=app%3Dweb%2Cenv+in+%28a%29&watch=true");
        assert_eq!(q["labelSelector"], "app=web,env in (a)");
        assert_eq!(q["watch"], "true");
    }
}
