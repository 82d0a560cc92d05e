//! The shared informer factory: one informer per resource type however often it is asked
//! for, started together, synced together, shut down together.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kube::core::{ApiResource, ClusterResourceScope, DynamicObject, NamespaceResourceScope};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;

use super::error::SyncError;
use super::lean::{Lean, LeanMeta, WholeMeta};
use super::shared::{InformerHealth, SharedInformer, SyncState, Transform, sync_outcome};

/// How a resource type's `kube::Api` is made for a factory: across the cluster, or in the
/// factory's namespace for a namespaced resource.
pub trait Scope {
    /// The `Api` of `K`, whose scope is `Self`.
    fn api<K>(client: kube::Client, namespace: Option<&str>) -> kube::Api<K>
    where
        K: kube::Resource<Scope = Self, DynamicType = ()>;
}

impl Scope for NamespaceResourceScope {
    fn api<K>(client: kube::Client, namespace: Option<&str>) -> kube::Api<K>
    where
        K: kube::Resource<Scope = Self, DynamicType = ()>,
    {
        match namespace {
            Some(ns) => kube::Api::namespaced(client, ns),
            None => kube::Api::all(client),
        }
    }
}

impl Scope for ClusterResourceScope {
    fn api<K>(client: kube::Client, _: Option<&str>) -> kube::Api<K>
    where
        K: kube::Resource<Scope = Self, DynamicType = ()>,
    {
        kube::Api::all(client)
    }
}

/// Changes the watcher's configuration (selectors, page size, timeouts) of every informer.
pub type TweakConfig = Arc<dyn Fn(&mut watcher::Config) + Send + Sync>;

/// Which informers did not sync, and why, by resource (`deployments.apps/v1`).
#[derive(Debug, Clone)]
pub struct SyncFailures(pub BTreeMap<String, SyncError>);

impl std::fmt::Display for SyncFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(r, why)| format!("{r}: {why}")).collect();
        write!(f, "informers failed to sync: {}", parts.join("; "))
    }
}

impl std::error::Error for SyncFailures {
    /// The first failure's error.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.values().next().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What the factory keeps of each informer, whatever its type.
trait Control: Send + Sync {
    fn start(&self, shutdown: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()>;
    fn state(&self) -> tokio::sync::watch::Receiver<SyncState>;
    fn informer(&self) -> &(dyn Any + Send + Sync);
    fn health(&self) -> InformerHealth;
}

struct Typed<K: kube::Resource>(SharedInformer<K>);

impl<K> Control for Typed<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Clone + Send + Sync,
{
    fn start(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let informer = self.0.clone();
        tokio::spawn(async move {
            informer
                .run(async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                })
                .await
        })
    }

    fn state(&self) -> tokio::sync::watch::Receiver<SyncState> {
        self.0.state_receiver()
    }

    fn informer(&self) -> &(dyn Any + Send + Sync) {
        &self.0
    }

    fn health(&self) -> InformerHealth {
        self.0.health()
    }
}

struct Entry {
    name: String,
    control: Box<dyn Control>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Started, and maybe shut down since: waits still report on it.
    started: bool,
}

/// Changes each object's metadata before it is cached, for every informer.
pub type MetadataTransform = Arc<dyn Fn(kube::core::ObjectMeta) -> kube::core::ObjectMeta + Send + Sync>;

#[derive(Clone, Default)]
struct Options {
    namespace: Option<String>,
    tweak: Option<TweakConfig>,
    transform: Option<MetadataTransform>,
    default_resync: Option<Duration>,
    resync: BTreeMap<String, Duration>,
    streaming_lists: bool,
    skip_managed_fields: bool,
    /// The transform is `drop_managed_fields`, done by skipping them instead.
    transform_skips: bool,
    /// Metadata informers keep managedFields.
    metadata_managed_fields: bool,
}

impl Options {
    fn skips_managed_fields(&self) -> bool {
        self.skip_managed_fields || self.transform_skips
    }

    fn metadata_skips_managed_fields(&self) -> bool {
        self.skips_managed_fields() || !self.metadata_managed_fields
    }
}

/// Shared informers for any resource type: `informer_for::<K>()` gives the same informer each
/// time; `start()` runs the ones not yet running; `wait_for_cache_sync()` waits for them.
pub struct SharedInformerFactory {
    client: kube::Client,
    /// The client informers list and watch with: `client`, or with metrics, `client` with
    /// its watch requests counted.
    informer_client: kube::Client,
    metrics: Option<crate::metrics::InformerMetrics>,
    options: Options,
    /// By resource and Rust type: two types of one resource (a derived `Widget` beside a
    /// generated one, k8s-openapi's `Pod` beside a generated `Pod`) get an informer each.
    entries: Mutex<BTreeMap<(String, TypeId), Entry>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl SharedInformerFactory {
    /// A factory on `client`, watching every namespace.
    pub fn new(client: kube::Client) -> SharedInformerFactory {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        SharedInformerFactory {
            informer_client: client.clone(),
            client,
            metrics: None,
            options: Options::default(),
            entries: Mutex::default(),
            shutdown,
        }
    }

    /// Watches only `namespace` (namespaced resources; cluster-scoped ones are unaffected).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.options.namespace = Some(namespace.to_owned());
        self
    }

    /// Changes each informer's watcher configuration: selectors, page size, timeout.
    pub fn tweak_list_params(mut self, tweak: impl Fn(&mut watcher::Config) + Send + Sync + 'static) -> Self {
        self.options.tweak = Some(Arc::new(tweak));
        self
    }

    /// Applies `transform` to the metadata of every object of every informer before it is
    /// cached; [`drop_managed_fields`](super::drop_managed_fields) is the usual one, and is
    /// taken as [`skip_managed_fields`](Self::skip_managed_fields): the same cache, without
    /// decoding what it would drop (two to four times the sync throughput).
    pub fn transform<F>(mut self, transform: F) -> Self
    where
        F: Fn(kube::core::ObjectMeta) -> kube::core::ObjectMeta + Send + Sync + 'static,
    {
        // Recognised by its function item's type: another function, a closure or a pointer
        // to it is a transform like any other.
        fn type_of<T: 'static>(_: &T) -> TypeId {
            TypeId::of::<T>()
        }
        self.options.transform_skips = TypeId::of::<F>() == type_of(&super::drop_managed_fields);
        self.options.transform = if self.options.transform_skips { None } else { Some(Arc::new(transform)) };
        self
    }

    /// Decodes every informer's objects without their managedFields: the entries are skipped
    /// in the JSON as it is read, never allocated. The cache ends up as with
    /// `transform(drop_managed_fields)`, at a fraction of the decoding work and of the peak
    /// memory, since those entries are often the larger part of an object.
    pub fn skip_managed_fields(mut self) -> Self {
        self.options.skip_managed_fields = true;
        self
    }

    /// Keeps managedFields in the objects of metadata informers ([`metadata_for`](Self::metadata_for)),
    /// which otherwise skip them while decoding.
    pub fn keep_metadata_managed_fields(mut self) -> Self {
        self.options.metadata_managed_fields = true;
        self
    }

    /// The resync period of handlers that do not name their own.
    pub fn default_resync(mut self, period: Duration) -> Self {
        self.options.default_resync = Some(period);
        self
    }

    /// The resync period of handlers of `K`'s informer that do not name their own.
    pub fn resync_for<K: kube::Resource<DynamicType = ()>>(mut self, period: Duration) -> Self {
        self.options.resync.insert(resource_name::<K>(), period);
        self
    }

    /// Lists through a watch (`sendInitialEvents`) instead of paged lists.
    pub fn streaming_lists(mut self, on: bool) -> Self {
        self.options.streaming_lists = on;
        self
    }

    /// Records every informer it makes in `metrics` (see
    /// [`SharedInformer::with_metrics`]), their watch requests included.
    pub fn metrics(mut self, metrics: &crate::metrics::InformerMetrics) -> Self {
        self.informer_client = metrics.observe_client(self.client.clone());
        self.metrics = Some(metrics.clone());
        self
    }

    /// The client informers are made on.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The resync period for `K`'s handlers, from the options.
    pub fn resync_period<K: kube::Resource<DynamicType = ()>>(&self) -> Option<Duration> {
        self.options.resync.get(&resource_name::<K>()).copied().or(self.options.default_resync)
    }

    fn config(&self) -> watcher::Config {
        let mut config = watcher::Config::default();
        if self.options.streaming_lists {
            config = config.streaming_lists();
        }
        if let Some(tweak) = &self.options.tweak {
            tweak(&mut config);
        }
        config
    }

    fn meta_transform<K: kube::Resource + 'static>(&self) -> Option<Transform<K>> {
        let t = Arc::clone(self.options.transform.as_ref()?);
        Some(Arc::new(move |mut o: K| {
            let meta = std::mem::take(o.meta_mut());
            *o.meta_mut() = t(meta);
            o
        }))
    }

    /// The informer of `K`, made on first use; the same one every time after.
    pub fn informer_for<K>(&self) -> SharedInformer<K>
    where
        K: kube::Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
        K::Scope: Scope,
    {
        let name = resource_name::<K>();
        let resync = self.resync_period::<K>();
        self.get_or_make(name, || {
            let ns = self.options.namespace.as_deref();
            let informer = if self.options.skips_managed_fields() {
                let api = <K::Scope as Scope>::api::<Lean<K>>(self.informer_client.clone(), ns);
                SharedInformer::decoded_by(api, self.config(), self.meta_transform::<K>(), ())
            } else {
                let api = <K::Scope as Scope>::api::<K>(self.informer_client.clone(), ns);
                SharedInformer::new(api, self.config(), self.meta_transform::<K>())
            };
            informer.with_default_resync(resync)
        })
    }

    /// The metadata-only informer of `K` (`PartialObjectMeta<K>`: names, labels, owners,
    /// versions, no spec or status), made on first use; the same one every time after. Its
    /// lister answers like any other; the factory's transform applies to it too.
    ///
    /// Its objects come without `metadata.managedFields` (skipped while decoding, as
    /// [`skip_managed_fields`](Self::skip_managed_fields) does for whole objects) unless the
    /// factory [keeps them](Self::keep_metadata_managed_fields): they are often most of an
    /// object's metadata, a metadata cache exists to be small, and what they are for, reading
    /// back a manager's apply configuration (`extract`), needs the whole object anyway.
    pub fn metadata_for<K>(&self) -> SharedInformer<kube::core::PartialObjectMeta<K>>
    where
        K: kube::Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
        K::Scope: Scope,
    {
        let name = format!("{} (metadata)", resource_name::<K>());
        let resync = self.resync_period::<K>();
        self.get_or_make(name, || {
            // kube asks for `PartialObjectMetadata` whenever its `Api` is of `PartialObjectMeta`,
            // and the wrappers delegate `Resource` to it; both read it field by field.
            let ns = self.options.namespace.as_deref();
            let informer = if self.options.metadata_skips_managed_fields() {
                let api = <K::Scope as Scope>::api::<LeanMeta<K>>(self.informer_client.clone(), ns);
                SharedInformer::decoded_by(api, self.config(), self.meta_transform(), ())
            } else {
                let api = <K::Scope as Scope>::api::<WholeMeta<K>>(self.informer_client.clone(), ns);
                SharedInformer::decoded_by(api, self.config(), self.meta_transform(), ())
            };
            informer.with_default_resync(resync)
        })
    }

    /// An informer of `DynamicObject`s for any resource, namespaced or not, as discovery
    /// describes it; the same one for the same resource.
    pub fn for_resource(&self, resource: &ApiResource, namespaced: bool) -> SharedInformer<DynamicObject> {
        // Named apart from typed informers of the same resource: a different cache.
        let name = format!("{} (dynamic)", super::resource_id(&resource.plural, &resource.group, &resource.version));
        self.get_or_make(name, || {
            let (client, ns) = (self.informer_client.clone(), self.options.namespace.as_deref().filter(|_| namespaced));
            let transform = self.meta_transform::<DynamicObject>();
            let informer = if self.options.skips_managed_fields() {
                let api: kube::Api<Lean<DynamicObject>> = match ns {
                    Some(ns) => kube::Api::namespaced_with(client, ns, resource),
                    None => kube::Api::all_with(client, resource),
                };
                SharedInformer::decoded_by(api, self.config(), transform, resource.clone())
            } else {
                let api: kube::Api<DynamicObject> = match ns {
                    Some(ns) => kube::Api::namespaced_with(client, ns, resource),
                    None => kube::Api::all_with(client, resource),
                };
                SharedInformer::with_dynamic_type(api, self.config(), transform, resource.clone())
            };
            informer.with_default_resync(self.options.default_resync)
        })
    }

    fn get_or_make<K>(&self, name: String, make: impl FnOnce() -> SharedInformer<K>) -> SharedInformer<K>
    where
        K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
        K::DynamicType: Clone + Send + Sync,
    {
        let mut entries = lock(&self.entries);
        let key = (name.clone(), TypeId::of::<SharedInformer<K>>());
        if let Some(informer) = entries.get(&key).and_then(|e| e.control.informer().downcast_ref::<SharedInformer<K>>())
        {
            return informer.clone();
        }
        // Another type of the same resource is told apart in reports by its type's name.
        let shared = entries.keys().any(|(n, _)| *n == name);
        let display = if shared { format!("{name} as {}", std::any::type_name::<K>()) } else { name };
        let informer = match &self.metrics {
            Some(metrics) => make().with_metrics(metrics),
            None => make(),
        };
        entries.insert(
            key,
            Entry { name: display, control: Box::new(Typed(informer.clone())), task: None, started: false },
        );
        informer
    }

    /// Starts every informer not yet running; calling it again starts only new ones.
    pub fn start(&self) {
        let mut entries = lock(&self.entries);
        for entry in entries.values_mut().filter(|e| !e.started) {
            entry.task = Some(entry.control.start(self.shutdown.subscribe()));
            entry.started = true;
        }
    }

    /// The health of every informer made so far: running, synced, last error. A readiness
    /// probe is ready when each [`is_healthy`](InformerHealth::is_healthy).
    pub fn health(&self) -> Vec<InformerHealth> {
        lock(&self.entries)
            .values()
            .map(|e| InformerHealth { resource: e.name.clone(), ..e.control.health() })
            .collect()
    }

    /// Whether every informer made is running and synced (false after a shutdown).
    pub fn is_healthy(&self) -> bool {
        lock(&self.entries).values().all(|e| e.control.health().is_healthy())
    }

    /// Waits until every started informer has synced, through failures that may pass (a
    /// resource whose CRD is not installed yet answers 404 until it is): for a controller
    /// started before its CRDs. After `timeout`, the error names each informer still not
    /// synced and the last error it saw; an informer stopped or shut down meanwhile is named
    /// at once.
    pub async fn wait_for_cache_sync_timeout(&self, timeout: Duration) -> Result<(), SyncFailures> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut failed = BTreeMap::new();
        for (name, mut rx) in self.started_states() {
            let waited = tokio::time::timeout_at(
                deadline,
                rx.wait_for(|s| matches!(s, SyncState::Synced | SyncState::Stopped(_) | SyncState::ShutDown)),
            )
            .await;
            let why = match waited {
                Ok(Ok(state)) => match &*state {
                    SyncState::Stopped(why) => Some(SyncError::Stopped(*why)),
                    SyncState::ShutDown => Some(SyncError::ShutDown),
                    _ => None,
                },
                Ok(Err(_)) => Some(SyncError::ShutDown),
                Err(_) => {
                    let last_error = self.health().into_iter().find(|h| h.resource == name).and_then(|h| h.last_error);
                    Some(SyncError::Timeout { after: timeout, last_error })
                }
            };
            if let Some(why) = why {
                failed.insert(name, why);
            }
        }
        if failed.is_empty() { Ok(()) } else { Err(SyncFailures(failed)) }
    }

    /// Waits until every started informer has synced or failed; the failures by resource. A
    /// shutdown ends the wait: informers not synced by then fail with [`SyncError::ShutDown`].
    pub async fn wait_for_cache_sync(&self) -> Result<(), SyncFailures> {
        let mut failed = BTreeMap::new();
        for (name, rx) in self.started_states() {
            if let Err(why) = sync_outcome(rx).await {
                failed.insert(name, why);
            }
        }
        if failed.is_empty() { Ok(()) } else { Err(SyncFailures(failed)) }
    }

    fn started_states(&self) -> Vec<(String, tokio::sync::watch::Receiver<SyncState>)> {
        lock(&self.entries).values().filter(|e| e.started).map(|e| (e.name.clone(), e.control.state())).collect()
    }

    /// Stops every informer and waits for their tasks and handler threads to end.
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let tasks: Vec<_> = lock(&self.entries).values_mut().filter_map(|e| e.task.take()).collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// `deployments.apps/v1`: how a factory names an informer.
fn resource_name<K: kube::Resource<DynamicType = ()>>() -> String {
    let group = K::group(&());
    super::resource_id(&K::plural(&()), &group, &K::version(&()))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
