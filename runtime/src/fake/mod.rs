//! An in-memory Kubernetes API server for tests, at the HTTP layer: a `tower::Service` behind
//! a real `kube::Client`, so `kube::Api`, watchers and generated clients run unmodified.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::api::{Api, PostParams};
//! use kube_codegen_runtime::SharedInformerFactory;
//!
//! let server = kube_codegen_runtime::fake::ApiServer::new();
//! server.register::<ConfigMap>();
//! let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
//! let mut cm = ConfigMap::default();
//! cm.metadata.name = Some("settings".into());
//! api.create(&PostParams::default(), &cm).await?;
//!
//! // An informer on the same server, as a controller under test would have.
//! let factory = SharedInformerFactory::new(server.client());
//! let configmaps = factory.informer_for::<ConfigMap>();
//! factory.start();
//! factory.wait_for_cache_sync().await?; // names each informer that did not sync, and why
//! let cached = configmaps.lister().namespace("default").get("settings")?; // NotFound on a miss
//! assert_eq!(cached.metadata.name.as_deref(), Some("settings"));
//! factory.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Served so far: discovery (`/api`, `/apis`, each group-version's resources, with short names
//! and categories), `/version`, create (201, 409 AlreadyExists, `generateName`, 422 for a
//! missing or malformed name, 400 for a namespace that differs from the path's), CRD schemas
//! and CEL rules, get (404), list with label and field selectors, update with optimistic concurrency
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
//! Where the fake differs, a test written against it can pass where a cluster would fail.
//! [`KNOWN_DIFFERENCES`] lists every difference known, by area; the differential harness
//! (`runtime/tests/differential.rs`) sends the same requests to the fake and to kube-apiserver
//! v1.36 and fails on any other, and `runtime/tests/replay_fidelity.rs` checks the fake against
//! recorded Kubernetes v1.36 traffic.

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
mod cel;
mod controls;
mod crd;
mod defaults;
mod differences;
mod discovery;
mod filter;
mod link;
mod lists;
mod names;
mod openapi;
mod page;
mod replay;
mod responses;
mod routing;
mod schema;
mod serve;
mod store;
mod strategic;
mod subresource;
mod verbs;
mod watch;

pub use controls::{Action, Reaction, Verb, Verbs};
use controls::{Reactor, reactor_code};
pub use differences::{Area, KNOWN_DIFFERENCES, KnownDifference};
use filter::Filter;
pub use link::Link;
pub use replay::{Exchange, Replay, ReplayMismatch};
pub use responses::SetupError;
use responses::*;
use routing::{Target, call_with};
pub use serve::Serving;
pub use subresource::{ResourceOptions, ScaleSubresource};
use verbs::{admit, applied_configuration, apply_patch, name_mismatch, refuse_strategic};

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

impl ApiServer {
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
