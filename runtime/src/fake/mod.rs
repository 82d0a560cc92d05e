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
//! - **No watch cache**: a watch from a version before [`ApiServer::compact`] is always 410. The
//!   real server answers watches from its watch cache, which refuses an old version only once
//!   its event window (100 to 102,400 events, grown while events are fresh) has moved past it,
//!   and before that replays the objects it holds as `ADDED` (seen against kube-apiserver
//!   v1.36.3 in `runtime/tests/two_backends.rs`).
//! - **CRD versions convert by `None` only**: objects change `apiVersion` and nothing else;
//!   conversion webhooks are not called.
//! - **Discovery lists only what is registered**, and the fake serves JSON only (no protobuf,
//!   no CBOR, no `Table` output).
//! - **OpenAPI is what it is given**: `/openapi/v2` and `/openapi/v3` hold the installed CRDs
//!   and what [`ApiServer::load_openapi`] loaded; a type registered with `register` or
//!   `register_generated` adds nothing (k8s-openapi's types carry no schema). A document asked
//!   with a stale `?hash=` is answered with the current one (the real server redirects), and
//!   the CRDs' v2 definitions are their v3 schemas unchanged (the real server drops what v2
//!   cannot say, as `nullable`).
//! - **Connect subresources are not served**: `exec`, `attach`, `portforward` and `proxy`
//!   answer 404.
//! - **`PartialObjectMetadata` on reads only**: get, list and watch asked
//!   `as=PartialObjectMetadata(List)` answer with metadata only; a write asked so (kube's
//!   `patch_metadata`) is answered with the whole object, which decodes into the same
//!   `PartialObjectMeta`. The real server's recorded answers to such requests were not in the
//!   corpus, so the items of a `PartialObjectMetadataList` carrying their own `kind` and
//!   `apiVersion` is this fake's reading, not a checked fact.

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
mod discovery;
mod filter;
mod link;
mod lists;
mod openapi;
mod page;
mod replay;
mod responses;
mod schema;
mod serve;
mod store;
mod strategic;
mod subresource;
mod verbs;
mod watch;

use filter::Filter;
pub use link::Link;
pub use replay::{Exchange, Replay, ReplayMismatch};
pub use responses::SetupError;
use responses::*;
pub use serve::Serving;
pub use subresource::{ResourceOptions, ScaleSubresource};
use verbs::{admit, applied_configuration, apply_patch, refuse_strategic};

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
    fn matches(self, verb: Verb) -> bool {
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
    pages: page::Snapshots<ListItem>,
    /// The resources each CRD (by name) serves.
    crds: HashMap<String, Vec<ResourceKey>>,
    /// Container logs by (namespace, pod), for the `log` subresource.
    logs: HashMap<(String, String), String>,
    /// (verbs, resource, reactor), asked in order; resource `*` matches any.
    reactors: Vec<(Verbs, String, Reactor)>,
    /// Added before each response.
    latency: Duration,
    /// Between the bookmarks of a watch that allows them.
    bookmark_interval: Option<Duration>,
    /// The OpenAPI specification loaded to be served, besides the CRDs' schemas.
    openapi: Option<Arc<openapi::Loaded>>,
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
            Err(e) => return Ok(bad_request(&format!("reading the body: {e}")).response()),
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
    /// The client asked for `PartialObjectMetadata` (`Accept: ...;as=PartialObjectMetadata`
    /// or `...List`): objects are answered as their metadata only.
    metadata_only: bool,
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
        if parts.method == Method::GET {
            let accept = parts.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
            if let Some(response) = self.discovery(parts.uri.path(), accept) {
                return response;
            }
            if let Some(response) = self.openapi(parts.uri.path()) {
                return response;
            }
        }
        into_response(self.dispatch(&parts, &body))
    }

    /// One request on a resource's endpoints, answered without HTTP: routing, the recorded
    /// action, reactors, then the verb or subresource.
    fn dispatch(&self, parts: &http::request::Parts, body: &[u8]) -> Handled {
        let mut target = self.route(&parts.uri)?;
        let agent = parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("unknown");
        target.manager = match target.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.clone(),
            _ => agent.split('/').next().unwrap_or("unknown").to_owned(),
        };
        let content_type =
            parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        target.metadata_only = parts
            .headers
            .get_all(http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|accept| accept.split(';').any(|p| p.trim().starts_with("as=PartialObjectMetadata")));
        let watch = target.query.get("watch").is_some_and(|w| w == "true" || w == "1");
        let verb = match (&parts.method, &target.name) {
            (&Method::GET, None) if watch => Verb::Watch,
            (&Method::GET, None) => Verb::List,
            (&Method::GET, Some(_)) => Verb::Get,
            (&Method::POST, _) => Verb::Create,
            (&Method::PUT, _) => Verb::Update,
            (&Method::PATCH, _) => Verb::Patch,
            (&Method::DELETE, None) => Verb::DeleteCollection,
            (&Method::DELETE, Some(_)) => Verb::Delete,
            (method, _) => {
                return Err(status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    &format!("the server does not allow this method on the requested resource ({method})"),
                ));
            }
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
                .filter(|(v, r, _)| v.matches(verb) && (r == "*" || *r == action.resource))
                .map(|(_, _, f)| Arc::clone(f))
                .collect()
        };
        // Reactors run without the lock, so they may call the server.
        for reactor in reactors {
            match reactor(&action) {
                Reaction::Pass => continue,
                Reaction::Respond(code, body) => {
                    return ok(reactor_code(code, &action)?, body);
                }
                Reaction::Fail { code, reason, retry_after } => {
                    let code = reactor_code(code, &action)?;
                    let message = format!("injected failure: {reason}");
                    return Err(ApiError {
                        retry_after: retry_after.map(u64::from),
                        ..status(code, &reason, &message)
                    });
                }
            }
        }
        if parts.method == Method::DELETE {
            target.background = delete_options(&target, body)?;
        }
        if target.served.create_only {
            return match (&parts.method, &target.name) {
                (&Method::POST, None) => match serde_json::from_slice::<Value>(body) {
                    Ok(mut object @ Value::Object(_)) => {
                        if object["status"].is_null() {
                            object["status"] = json!({});
                        }
                        ok(StatusCode::CREATED, object)
                    }
                    _ => Err(bad_request("the body must be a JSON object")),
                },
                (method, _) => Err(status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    &format!("the server does not allow this method on the requested resource ({method})"),
                )),
            };
        }
        if let (Some(sub), Some(name)) = (&target.subresource, &target.name) {
            return self.subresource(&target, name, sub, &parts.method, &content_type, body);
        }
        match (&parts.method, &target.name) {
            (&Method::GET, None) if watch => self.watch(&target),
            (&Method::GET, None) => self.list(&target),
            (&Method::POST, None) => self.create(&target, body),
            (&Method::DELETE, None) => self.delete_collection(&target),
            (&Method::GET, Some(name)) => self.get(&target, name),
            (&Method::PUT, Some(name)) => self.update(&target, name, body),
            (&Method::PATCH, Some(name)) => self.patch(&target, name, &content_type, body),
            (&Method::DELETE, Some(name)) => self.delete(&target, name),
            (method, _) => Err(status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                &format!("{method} is not served here yet"),
            )),
        }
    }

    fn route(&self, uri: &http::Uri) -> Result<Target, ApiError> {
        let query = uri.query().map(parse_query).unwrap_or_default();
        let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
        let (group, version, rest) = match segments.as_slice() {
            ["api", version, rest @ ..] => ("", *version, rest),
            ["apis", group, version, rest @ ..] => (*group, *version, rest),
            _ => {
                return Err(not_found(&format!("the server could not find the requested resource ({})", uri.path())));
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
            return Err(not_found("the server could not find the requested resource"));
        };
        let Some(s) = served(plural).cloned() else {
            return Err(not_found(&format!("the server could not find the requested resource ({plural})")));
        };
        if rest.len() > 3 {
            return Err(not_found(&format!("the server could not find the requested resource ({})", uri.path())));
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
            metadata_only: false,
        })
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
/// An object as the request asked for it: at the request's version, or as its metadata only.
fn as_version(t: &Target, object: &Value) -> Value {
    if t.metadata_only {
        return partial(object);
    }
    let mut object = object.clone();
    object["apiVersion"] = json!(api_version(&t.resource));
    object
}

/// An item of a list as the request asked for it: metadata only, or as `as_version` for
/// custom resources (unstructured lists keep each item's `apiVersion` and `kind`), or without
/// them for built-in lists, as the real server drops them.
fn as_list_item(t: &Target, object: &Value) -> Value {
    if t.metadata_only || t.served.schema.is_some() { as_version(t, object) } else { list_item(object) }
}

/// A list's item as its JSON, serialised once when the list is read and shared by the pages
/// of a paginated list: copying the stored objects for every list and every page was most of
/// the fake's work (BENCHMARKS.md).
type ListItem = Arc<serde_json::value::RawValue>;

/// `object` as `as_list_item` would answer it, serialised straight from the stored object.
fn list_item_json(t: &Target, object: &Value) -> Result<ListItem, serde_json::Error> {
    let raw = if t.metadata_only {
        serde_json::value::to_raw_value(&Partial::of(&object["metadata"]))?
    } else {
        let api_version = api_version(&t.resource);
        let view = match t.served.schema {
            Some(_) => View { object, api_version: Some(&api_version), drop_type: false },
            None => View { object, api_version: None, drop_type: true },
        };
        serde_json::value::to_raw_value(&view)?
    };
    Ok(Arc::from(raw))
}

/// `PartialObjectMetadata` of borrowed metadata.
#[derive(serde::Serialize)]
struct Partial<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: &'a Value,
}

impl<'a> Partial<'a> {
    fn of(metadata: &'a Value) -> Partial<'a> {
        Partial { kind: "PartialObjectMetadata", api_version: "meta.k8s.io/v1", metadata }
    }
}

/// A stored object written with its `apiVersion` replaced, or without `apiVersion` and `kind`.
struct View<'a> {
    object: &'a Value,
    api_version: Option<&'a str>,
    drop_type: bool,
}

impl serde::Serialize for View<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(fields) = self.object.as_object() else { return self.object.serialize(serializer) };
        let mut map = serializer.serialize_map(None)?;
        if let Some(v) = self.api_version {
            map.serialize_entry("apiVersion", v)?;
        }
        for (key, value) in fields {
            let typed = key == "apiVersion" || key == "kind";
            if (key == "apiVersion" && self.api_version.is_some()) || (typed && self.drop_type) {
                continue;
            }
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `meta.k8s.io/v1` `PartialObjectMetadata`: what the server answers for an object when
/// asked `as=PartialObjectMetadata`.
fn partial(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
}

/// The `apiVersion` and `kind` of a list answered to `t`.
fn list_type(t: &Target) -> (String, String) {
    if t.metadata_only {
        ("meta.k8s.io/v1".to_owned(), "PartialObjectMetadataList".to_owned())
    } else {
        (api_version(&t.resource), t.served.list_kind.clone())
    }
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

/// A reactor's status code as HTTP's; a code HTTP has no place for is the test's mistake,
/// answered as an internal error that says so rather than passed off as a success.
fn reactor_code(code: u16, action: &Action) -> Result<StatusCode, ApiError> {
    StatusCode::from_u16(code).map_err(|_| {
        let message = format!(
            "a reactor for {} {} answered with {code}, which is not an HTTP status code",
            action.verb, action.resource
        );
        status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &message)
    })
}

/// Whether a DELETE cascades in the background (or foreground) rather than orphaning, from its
/// DeleteOptions: a body, or query parameters. A body that is not DeleteOptions is a 400, as
/// the real server's.
fn delete_options(target: &Target, body: &[u8]) -> Result<bool, ApiError> {
    let options: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(options @ Value::Object(_)) => options,
            Ok(_) | Err(_) => return Err(bad_request("the body of a DELETE must be a DeleteOptions object")),
        }
    };
    let propagation =
        options["propagationPolicy"].as_str().or(target.query.get("propagationPolicy").map(String::as_str));
    Ok(matches!(propagation, Some("Background" | "Foreground")))
}
