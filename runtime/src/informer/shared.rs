//! The shared informer: one list+watch of a resource (kube-runtime's `watcher`, with its
//! paging, bookmarks, 410 relists and backoff) feeding an indexed cache and any number of
//! event handlers, each on its own thread so a slow one holds up no other and not the cache.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, mpsc};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;

use super::error::{InformerError, Stopped, SyncError, status_of};
use super::indexer::{Cache, Change, Indexer, Stale, object_key};
use super::lean::Lean;
use super::lister::Lister;
use crate::metrics::{InformerMetrics, InformerSeries, Seen};

/// What an informer's handlers are told of an object that went away.
#[derive(Debug)]
pub enum DeletedObject<K> {
    /// The delete was watched: the object as it was deleted.
    Known(Arc<K>),
    /// The delete happened while the watch was down and a relist found the object gone: the
    /// object as it was last seen (client-go's `DeletedFinalStateUnknown`).
    Unknown(Arc<K>),
}

impl<K> Clone for DeletedObject<K> {
    fn clone(&self) -> Self {
        match self {
            DeletedObject::Known(o) => DeletedObject::Known(Arc::clone(o)),
            DeletedObject::Unknown(o) => DeletedObject::Unknown(Arc::clone(o)),
        }
    }
}

impl<K> DeletedObject<K> {
    /// The object, however its delete was learned of.
    pub fn object(&self) -> &Arc<K> {
        match self {
            DeletedObject::Known(o) | DeletedObject::Unknown(o) => o,
        }
    }
}

/// Callbacks for an informer's events. Each handler runs on its own thread, in event order;
/// hand slow work to a queue or a runtime handle rather than blocking here for long.
pub trait EventHandler<K>: Send + 'static {
    /// An object appeared: from the initial list (`is_in_initial_list`), or later.
    fn on_add(&mut self, object: &Arc<K>, is_in_initial_list: bool) {
        let _ = (object, is_in_initial_list);
    }
    /// An object changed; on a resync, `old` and `new` are the same object.
    fn on_update(&mut self, old: &Arc<K>, new: &Arc<K>) {
        let _ = (old, new);
    }
    /// An object went away.
    fn on_delete(&mut self, object: &DeletedObject<K>) {
        let _ = object;
    }
    /// Every object of the informer's initial list has been given to this handler (once, after
    /// the last initial `on_add`).
    fn on_synced(&mut self) {}
}

type AddFn<K> = Box<dyn FnMut(&Arc<K>, bool) + Send>;
type UpdateFn<K> = Box<dyn FnMut(&Arc<K>, &Arc<K>) + Send>;
type DeleteFn<K> = Box<dyn FnMut(&DeletedObject<K>) + Send>;

/// An [`EventHandler`] made of closures; the ones not given do nothing.
pub struct Handler<K> {
    add: Option<AddFn<K>>,
    update: Option<UpdateFn<K>>,
    delete: Option<DeleteFn<K>>,
}

impl<K> Default for Handler<K> {
    fn default() -> Self {
        Handler { add: None, update: None, delete: None }
    }
}

impl<K> Handler<K> {
    /// A handler that does nothing yet.
    pub fn new() -> Handler<K> {
        Handler::default()
    }

    /// Called for each added object.
    pub fn on_add(mut self, f: impl FnMut(&Arc<K>, bool) + Send + 'static) -> Self {
        self.add = Some(Box::new(f));
        self
    }

    /// Called for each changed object (and each object on a resync).
    pub fn on_update(mut self, f: impl FnMut(&Arc<K>, &Arc<K>) + Send + 'static) -> Self {
        self.update = Some(Box::new(f));
        self
    }

    /// Called for each deleted object.
    pub fn on_delete(mut self, f: impl FnMut(&DeletedObject<K>) + Send + 'static) -> Self {
        self.delete = Some(Box::new(f));
        self
    }
}

impl<K: 'static> EventHandler<K> for Handler<K> {
    fn on_add(&mut self, object: &Arc<K>, initial: bool) {
        if let Some(f) = &mut self.add {
            f(object, initial);
        }
    }
    fn on_update(&mut self, old: &Arc<K>, new: &Arc<K>) {
        if let Some(f) = &mut self.update {
            f(old, new);
        }
    }
    fn on_delete(&mut self, object: &DeletedObject<K>) {
        if let Some(f) = &mut self.delete {
            f(object);
        }
    }
}

enum Notification<K> {
    Add(Arc<K>, bool),
    Update(Arc<K>, Arc<K>),
    Delete(DeletedObject<K>),
    /// Everything of the initial list has been delivered before this.
    Synced,
}

impl<K> Clone for Notification<K> {
    fn clone(&self) -> Self {
        match self {
            Notification::Add(o, i) => Notification::Add(Arc::clone(o), *i),
            Notification::Update(a, b) => Notification::Update(Arc::clone(a), Arc::clone(b)),
            Notification::Delete(d) => Notification::Delete(d.clone()),
            Notification::Synced => Notification::Synced,
        }
    }
}

/// A handler added to an informer: ask whether it has seen the initial list, or remove it.
#[derive(Clone, Debug)]
pub struct HandlerRegistration {
    id: u64,
    synced: Arc<AtomicBool>,
    backlog: Arc<AtomicUsize>,
    active: bool,
}

impl HandlerRegistration {
    /// Whether the handler was taken: a handler added to an informer that has stopped is
    /// dropped at once (no thread waits for events that will not come), and so is one whose
    /// thread could not be started (reported as [`InformerError::HandlerThread`]).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Events given to the handler that it has not finished yet: a handler slower than the
    /// events it is given falls behind by this much (it is also in the informer's health).
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }

    /// Whether the handler has been given every object of the informer's initial list.
    pub fn has_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }
}

/// Where an informer is in its first sync.
#[derive(Clone, Debug)]
pub enum SyncState {
    /// Listing.
    Pending,
    /// The cache holds the initial list (and still does after a shutdown).
    Synced,
    /// Listing failed in a way retrying will not fix by itself (401, 403, 404); it is still
    /// retried, with backoff.
    Failed(Arc<watcher::Error>),
    /// The informer's task ended other than by a shutdown: the cache no longer changes.
    Stopped(Stopped),
    /// The informer was shut down before its cache held the initial list.
    ShutDown,
}

impl SyncState {
    /// What waiting for a sync ends with in this state; `None` while listing.
    fn outcome(&self) -> Option<Result<(), SyncError>> {
        match self {
            SyncState::Pending => None,
            SyncState::Synced => Some(Ok(())),
            SyncState::Failed(e) => Some(Err(SyncError::Refused(Arc::clone(e)))),
            SyncState::Stopped(why) => Some(Err(SyncError::Stopped(*why))),
            SyncState::ShutDown => Some(Err(SyncError::ShutDown)),
        }
    }
}

/// Waits on an informer's state until it is no longer listing; what it ended with.
pub(crate) async fn sync_outcome(mut state: tokio::sync::watch::Receiver<SyncState>) -> Result<(), SyncError> {
    match state.wait_for(|s| s.outcome().is_some()).await {
        Ok(s) => s.outcome().unwrap_or(Err(SyncError::ShutDown)),
        // The informer itself is gone, so nothing will ever sync it.
        Err(_) => Err(SyncError::ShutDown),
    }
}

/// An informer's state as a readiness probe wants it.
#[derive(Clone, Debug)]
pub struct InformerHealth {
    /// `deployments.apps/v1`.
    pub resource: String,
    /// Its task is running (started, and neither shut down nor stopped).
    pub running: bool,
    /// The cache holds the initial list.
    pub synced: bool,
    /// The last thing that went wrong, if anything did.
    pub last_error: Option<InformerError>,
    /// How many things went wrong in all.
    pub errors: u64,
    /// Events given to handlers and not yet handled, for the handler furthest behind.
    pub handler_backlog: usize,
}

impl InformerHealth {
    /// Running and synced: its listers serve a live cache.
    pub fn is_healthy(&self) -> bool {
        self.running && self.synced
    }
}

type InformerErrorCallback = Arc<dyn Fn(&InformerError) + Send + Sync>;

/// Where an informer's failures go: its last error, a count, and the user's callbacks. Shared
/// with the handler threads, which report their panics here.
#[derive(Default)]
struct Health {
    last_error: Mutex<Option<InformerError>>,
    errors: AtomicU64,
    callbacks: Mutex<Vec<InformerErrorCallback>>,
    running: AtomicBool,
    metrics: OnceLock<Arc<InformerSeries>>,
}

impl Health {
    /// Records `error` and tells the callbacks, with no lock held while they run (a callback
    /// may call back into the informer). A callback that panics is recorded after it, but not
    /// told to the callbacks again.
    fn report(&self, error: InformerError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = self.metrics.get() {
            m.error(&error);
        }
        *lock(&self.last_error) = Some(error.clone());
        let callbacks: Vec<InformerErrorCallback> = lock(&self.callbacks).clone();
        for callback in callbacks {
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&error))) {
                self.callback_panicked(panic.as_ref());
            }
        }
    }

    fn callback_panicked(&self, panic: &(dyn std::any::Any + Send)) {
        let message = super::panic_message(panic);
        tracing::warn!("an informer's error callback panicked: {message}");
        self.errors.fetch_add(1, Ordering::Relaxed);
        let error = InformerError::Callback { message };
        if let Some(m) = self.metrics.get() {
            m.error(&error);
        }
        *lock(&self.last_error) = Some(error);
    }
}

/// How the informer's loop ended, as far as it got to say.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Not said: the task was dropped mid-run, or it panicked.
    Dropped,
    Shutdown,
    StreamEnded,
}

/// Publishes a terminal state when the task ends however it ends, so no wait for a sync waits
/// for ever: a shutdown before the first sync, a panic in the informer's own code, the watch
/// stream ending, the task being dropped. Also closes the handlers' channels, so their threads
/// end once they have drained them.
struct RunGuard<'a, K: kube::Resource> {
    inner: &'a Inner<K>,
    ending: Ending,
}

impl<K: kube::Resource> Drop for RunGuard<'_, K> {
    fn drop(&mut self) {
        let inner = self.inner;
        inner.health.running.store(false, Ordering::Release);
        let slots = {
            let mut dispatch = lock(&inner.dispatch);
            dispatch.stopped = true;
            std::mem::take(&mut dispatch.handlers)
        };
        drop(slots);
        let stopped = match self.ending {
            _ if std::thread::panicking() => Some(Stopped::Panicked),
            Ending::Dropped => Some(Stopped::Dropped),
            Ending::StreamEnded => Some(Stopped::StreamEnded),
            Ending::Shutdown => None,
        };
        match stopped {
            Some(why) => {
                inner.state.send_replace(SyncState::Stopped(why));
                inner.health.report(InformerError::Stopped(why));
            }
            // A synced cache stays synced; a wait for one that never synced ends.
            None => {
                inner.state.send_if_modified(|s| {
                    let waiting = !matches!(s, SyncState::Synced);
                    if waiting {
                        *s = SyncState::ShutDown;
                    }
                    waiting
                });
            }
        }
    }
}

/// Transforms each object before it is cached (and before handlers see it).
pub type Transform<K> = Arc<dyn Fn(K) -> K + Send + Sync>;

/// The ready-made transform that drops `metadata.managedFields`, which informers rarely read
/// and which is often most of an object's size.
pub fn strip_managed_fields<K: kube::Resource>(mut object: K) -> K {
    object.meta_mut().managed_fields = None;
    object
}

/// [`strip_managed_fields`] for the factory's metadata transform, which recognises it and skips
/// the entries while decoding instead (`SharedInformerFactory::skip_managed_fields`).
pub fn drop_managed_fields(mut meta: kube::core::ObjectMeta) -> kube::core::ObjectMeta {
    meta.managed_fields = None;
    meta
}

type ErrorCallback = Arc<dyn Fn(&watcher::Error) + Send + Sync>;

/// Where an informer's events come from: kube-runtime's watcher on an `Api` of `K`, or of
/// a wrapper that decodes `K` without managedFields (`lean`).
type Source<K> = Arc<
    dyn Fn(watcher::Config) -> futures::stream::BoxStream<'static, watcher::Result<watcher::Event<K>>> + Send + Sync,
>;

struct Slot<K> {
    id: u64,
    tx: mpsc::Sender<Notification<K>>,
    /// Events sent and not yet handled (the channel is unbounded: a slow handler must not
    /// hold up the cache or the others, so its lag is measured instead).
    backlog: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Dispatch<K> {
    handlers: Vec<Slot<K>>,
    /// The informer ran and ended: new handlers are not taken.
    stopped: bool,
    /// The initial list has been cached.
    synced: bool,
    /// Objects of a (re)list in progress.
    listing: Option<Vec<Arc<K>>>,
}

struct Inner<K: kube::Resource> {
    /// The cache's one writer: handlers are told of exactly what it does.
    cache: Cache<K>,
    source: Source<K>,
    dyntype: K::DynamicType,
    default_resync: Mutex<Option<Duration>>,
    config: watcher::Config,
    transform: Option<Transform<K>>,
    /// Held while an event changes the cache and is handed to the handlers, and while a handler
    /// is added, so a new handler sees each change exactly once. No user code runs under it.
    dispatch: Mutex<Dispatch<K>>,
    state: tokio::sync::watch::Sender<SyncState>,
    on_error: Mutex<Vec<ErrorCallback>>,
    health: Arc<Health>,
    next_id: AtomicU64,
    started: AtomicBool,
}

/// One list+watch of a resource, its cache, and its handlers. Cloning shares it.
pub struct SharedInformer<K: kube::Resource> {
    inner: Arc<Inner<K>>,
}

impl<K: kube::Resource> Clone for SharedInformer<K> {
    fn clone(&self) -> Self {
        SharedInformer { inner: Arc::clone(&self.inner) }
    }
}

impl<K> SharedInformer<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Clone + Send + Sync,
{
    /// An informer over `api` with the watcher's `config`, caching what `transform` makes of
    /// each object. It does nothing until [`run`](Self::run).
    pub fn new(api: kube::Api<K>, config: watcher::Config, transform: Option<Transform<K>>) -> SharedInformer<K> {
        SharedInformer::with_dynamic_type(api, config, transform, Default::default())
    }
}

impl<K> SharedInformer<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Clone + Send + Sync,
{
    /// [`new`](Self::new) for a resource whose type is known at run time (`DynamicObject`).
    pub fn with_dynamic_type(
        api: kube::Api<K>,
        config: watcher::Config,
        transform: Option<Transform<K>>,
        dyntype: K::DynamicType,
    ) -> SharedInformer<K> {
        let source: Source<K> = Arc::new(move |config| watcher::watcher(api.clone(), config).boxed());
        SharedInformer::from_source(source, config, transform, dyntype)
    }

    /// An informer whose objects are decoded by a wrapper of `K` (`lean`: without their
    /// managedFields, skipped in the JSON and never allocated, or field by field), otherwise as
    /// [`with_dynamic_type`](Self::with_dynamic_type).
    pub(crate) fn decoded_by<How>(
        api: kube::Api<Lean<K, How>>,
        config: watcher::Config,
        transform: Option<Transform<K>>,
        dyntype: K::DynamicType,
    ) -> SharedInformer<K>
    where
        How: Clone + Debug + Send + Sync + 'static,
        Lean<K, How>: DeserializeOwned,
    {
        let source: Source<K> = Arc::new(move |config| {
            watcher::watcher(api.clone(), config)
                .map(|event| {
                    event.map(|e| match e {
                        watcher::Event::Init => watcher::Event::Init,
                        watcher::Event::InitApply(Lean(o, _)) => watcher::Event::InitApply(o),
                        watcher::Event::InitDone => watcher::Event::InitDone,
                        watcher::Event::Apply(Lean(o, _)) => watcher::Event::Apply(o),
                        watcher::Event::Delete(Lean(o, _)) => watcher::Event::Delete(o),
                    })
                })
                .boxed()
        });
        SharedInformer::from_source(source, config, transform, dyntype)
    }

    fn from_source(
        source: Source<K>,
        config: watcher::Config,
        transform: Option<Transform<K>>,
        dyntype: K::DynamicType,
    ) -> SharedInformer<K> {
        let (state, _) = tokio::sync::watch::channel(SyncState::Pending);
        SharedInformer {
            inner: Arc::new(Inner {
                cache: Cache::new(),
                source,
                dyntype,
                default_resync: Mutex::new(None),
                config,
                transform,
                dispatch: Mutex::new(Dispatch { handlers: Vec::new(), stopped: false, synced: false, listing: None }),
                state,
                on_error: Mutex::new(Vec::new()),
                health: Arc::new(Health::default()),
                next_id: AtomicU64::new(1),
                started: AtomicBool::new(false),
            }),
        }
    }

    /// Sets the resync period of handlers added without one.
    pub fn with_default_resync(self, period: Option<Duration>) -> Self {
        *lock(&self.inner.default_resync) = period;
        self
    }

    pub(crate) fn state_receiver(&self) -> tokio::sync::watch::Receiver<SyncState> {
        self.inner.state.subscribe()
    }

    /// The cache, read-only: only the informer writes it, so it always holds what the
    /// handlers were told.
    pub fn indexer(&self) -> &Indexer<K> {
        self.inner.cache.view()
    }

    /// A lister over the cache.
    pub fn lister(&self) -> Lister<K>
    where
        K: kube::Resource<DynamicType = ()>,
    {
        Lister::new(self.inner.cache.view().clone())
    }

    /// Whether the cache holds the initial list.
    pub fn has_synced(&self) -> bool {
        matches!(*self.inner.state.borrow(), SyncState::Synced)
    }

    /// Where the first sync is.
    pub fn sync_state(&self) -> SyncState {
        self.inner.state.borrow().clone()
    }

    /// Waits until the cache holds the initial list. It ends with an error when listing is
    /// refused (401, 403, 404), when the informer stops, and when it is shut down first.
    pub async fn wait_for_sync(&self) -> Result<(), SyncError> {
        sync_outcome(self.inner.state.subscribe()).await
    }

    /// Whether [`run`](Self::run) has been called.
    pub fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::Acquire)
    }

    /// Calls `f` with every error of the watch (each is retried with backoff). It runs with no
    /// lock held, and a panic in it is reported, not passed on.
    pub fn on_watch_error(&self, f: impl Fn(&watcher::Error) + Send + Sync + 'static) {
        lock(&self.inner.on_error).push(Arc::new(f));
    }

    /// Calls `f` with everything that goes wrong: watch errors, and the panics of transforms,
    /// index functions and handlers, which the informer survives (the object or event is
    /// skipped), and the informer stopping.
    pub fn on_error(&self, f: impl Fn(&InformerError) + Send + Sync + 'static) {
        lock(&self.inner.health.callbacks).push(Arc::new(f));
    }

    /// Whether the informer's task is running: started, and neither shut down nor stopped.
    pub fn is_running(&self) -> bool {
        self.inner.health.running.load(Ordering::Acquire)
    }

    /// The last thing that went wrong, if anything did.
    pub fn last_error(&self) -> Option<InformerError> {
        lock(&self.inner.health.last_error).clone()
    }

    /// Records this informer in `metrics` (`kube_codegen_informer_*`, labelled with its
    /// resource): lists, relists, 410s, events by type, errors by kind, and, read at each
    /// scrape, its cache's size and the time since its last event and last list. Watch
    /// requests are counted by the client (see [`InformerMetrics::observe_client`]). Once: a
    /// second call keeps the first metrics.
    pub fn with_metrics(self, metrics: &InformerMetrics) -> Self {
        let weak = Arc::downgrade(&self.inner);
        let series = metrics.series(
            metric_resource::<K>(&self.inner.dyntype),
            Box::new(move || weak.upgrade().map(|inner| inner.cache.view().len())),
        );
        let _ = self.inner.health.metrics.set(series);
        self
    }

    fn seen(&self, what: Seen) {
        if let Some(m) = self.inner.health.metrics.get() {
            m.seen(what);
        }
    }

    /// Running, synced, and the last error: what a readiness probe asks.
    pub fn health(&self) -> InformerHealth {
        let group = K::group(&self.inner.dyntype);
        InformerHealth {
            resource: super::resource_id(&K::plural(&self.inner.dyntype), &group, &K::version(&self.inner.dyntype)),
            running: self.is_running(),
            synced: self.has_synced(),
            last_error: self.last_error(),
            errors: self.inner.health.errors.load(Ordering::Relaxed),
            handler_backlog: lock(&self.inner.dispatch)
                .handlers
                .iter()
                .map(|s| s.backlog.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0),
        }
    }

    /// Adds a handler. It is first given the objects cached now (as adds, in the initial list
    /// if the informer has synced), then every later event; and every object each default
    /// resync period, if the informer has one.
    pub fn add_handler(&self, handler: impl EventHandler<K>) -> HandlerRegistration {
        let resync = *lock(&self.inner.default_resync);
        self.add_handler_with_resync(handler, resync)
    }

    /// Adds a handler that is also given every cached object as an update each `resync`.
    pub fn add_handler_with_resync(
        &self,
        mut handler: impl EventHandler<K>,
        resync: Option<Duration>,
    ) -> HandlerRegistration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let synced = Arc::new(AtomicBool::new(false));
        let backlog = Arc::new(AtomicUsize::new(0));
        let inactive = |synced, backlog| HandlerRegistration { id, synced, backlog, active: false };
        let mut dispatch = lock(&self.inner.dispatch);
        if dispatch.stopped {
            return inactive(synced, backlog);
        }
        let (tx, rx) = mpsc::channel::<Notification<K>>();
        let cached = self.inner.cache.view().list();
        backlog.store(cached.len() + usize::from(dispatch.synced), Ordering::Relaxed);
        for object in cached {
            let _ = tx.send(Notification::Add(object, true));
        }
        if dispatch.synced {
            let _ = tx.send(Notification::Synced);
        }
        let flag = Arc::clone(&synced);
        let lag = Arc::clone(&backlog);
        let indexer = self.inner.cache.view().clone();
        let health = Arc::clone(&self.inner.health);
        let name = format!("informer-{}", K::plural(&self.inner.dyntype));
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            // A panicking handler is told of, and goes on with the next event.
            let mut guarded = |event: &dyn Fn() -> String, call: &mut dyn FnMut(&mut dyn EventHandler<K>)| {
                if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&mut handler))) {
                    let message = super::panic_message(panic.as_ref());
                    health.report(InformerError::Handler { event: event(), message });
                }
            };
            let mut next_resync = resync.map(|p| Instant::now() + p);
            loop {
                let received = match next_resync {
                    Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                    None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                };
                if received.is_ok() {
                    // Counted down as it is taken: the backlog is what is still waiting.
                    lag.fetch_sub(1, Ordering::Relaxed);
                }
                match received {
                    Ok(Notification::Add(o, initial)) => {
                        guarded(&|| format!("add {}", object_key(o.as_ref())), &mut |h| h.on_add(&o, initial))
                    }
                    Ok(Notification::Update(old, new)) => {
                        guarded(&|| format!("update {}", object_key(new.as_ref())), &mut |h| h.on_update(&old, &new))
                    }
                    Ok(Notification::Delete(d)) => {
                        guarded(&|| format!("delete {}", object_key(d.object().as_ref())), &mut |h| h.on_delete(&d))
                    }
                    Ok(Notification::Synced) => {
                        guarded(&|| "synced".to_owned(), &mut |h| h.on_synced());
                        flag.store(true, Ordering::Release);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        for object in indexer.list() {
                            guarded(&|| format!("resync {}", object_key(object.as_ref())), &mut |h| {
                                h.on_update(&object, &object)
                            });
                        }
                        next_resync = resync.map(|p| Instant::now() + p);
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        });
        match thread {
            Ok(thread) => {
                dispatch.handlers.push(Slot { id, tx, backlog: Arc::clone(&backlog), thread: Some(thread) });
                HandlerRegistration { id, synced, backlog, active: true }
            }
            Err(e) => {
                drop(dispatch);
                self.inner.health.report(InformerError::HandlerThread(Arc::new(e)));
                inactive(synced, backlog)
            }
        }
    }

    /// Removes a handler; it is given nothing more, and its thread ends.
    pub fn remove_handler(&self, registration: &HandlerRegistration) {
        let slot = {
            let mut dispatch = lock(&self.inner.dispatch);
            let at = dispatch.handlers.iter().position(|s| s.id == registration.id);
            at.map(|at| dispatch.handlers.remove(at))
        };
        if let Some(slot) = slot {
            drop(slot.tx);
            if let Some(t) = slot.thread
                && t.thread().id() != std::thread::current().id()
            {
                let _ = t.join();
            }
        }
    }

    /// Lists and watches until `shutdown` completes, then stops the handlers' threads. However
    /// it ends (shut down, dropped, or stopped by a panic), waits for a sync end.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.health.running.store(true, Ordering::Release);
        let mut guard = RunGuard { inner: &self.inner, ending: Ending::Dropped };
        let stream = (self.inner.source)(self.inner.config.clone()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => {
                    guard.ending = Ending::Shutdown;
                    break;
                }
                item = stream.next() => match item {
                    Some(Ok(event)) => self.apply(event),
                    Some(Err(error)) => self.error(error),
                    None => {
                        guard.ending = Ending::StreamEnded;
                        break;
                    }
                },
            }
        }
        let slots: Vec<Slot<K>> = std::mem::take(&mut lock(&self.inner.dispatch).handlers);
        drop(guard);
        let threads: Vec<_> = slots.into_iter().filter_map(|s| s.thread).collect();
        // Dropping the senders ends each thread once its queue is drained.
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }

    /// The transformed object, or `None` (an error in `errors`) when the transform panicked on
    /// it. Called with no lock held: a transform may call back into the informer.
    fn transform(&self, o: K, errors: &mut Vec<InformerError>) -> Option<Arc<K>> {
        let Some(t) = &self.inner.transform else { return Some(Arc::new(o)) };
        let key = object_key(&o);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t(o))) {
            Ok(o) => Some(Arc::new(o)),
            Err(panic) => {
                let message = super::panic_message(panic.as_ref());
                errors.push(InformerError::Transform { key, message });
                None
            }
        }
    }

    /// Applies one event to the cache and hands it to the handlers. User code (transforms,
    /// index functions, error callbacks) runs outside the dispatch lock, which is held only
    /// to change the cache and queue the notifications.
    fn apply(&self, event: watcher::Event<K>) {
        let mut errors = Vec::new();
        match event {
            watcher::Event::Init => {
                self.seen(Seen::ListStarted);
                lock(&self.inner.dispatch).listing = Some(Vec::new());
            }
            watcher::Event::InitApply(o) => {
                self.seen(Seen::Listed);
                if let Some(o) = self.transform(o, &mut errors) {
                    lock(&self.inner.dispatch).listing.get_or_insert_with(Vec::new).push(o);
                }
            }
            watcher::Event::InitDone => {
                self.seen(Seen::ListDone);
                let mut listed = lock(&self.inner.dispatch).listing.take().unwrap_or_default();
                loop {
                    let filing = self.inner.cache.file(listed);
                    let mut dispatch = lock(&self.inner.dispatch);
                    let replaced = match self.inner.cache.commit_replace(filing) {
                        Ok(replaced) => replaced,
                        // An index was added while the list was filed: file it again.
                        Err(Stale(again)) => {
                            listed = again;
                            continue;
                        }
                    };
                    let initial = !dispatch.synced;
                    errors.extend(replaced.failed.into_iter().map(InformerError::Index));
                    // Objects an index function refused have no event; what a relist no longer
                    // finds was deleted while the watch was down.
                    let mut notes = Vec::with_capacity(replaced.changes.len() + replaced.gone.len() + 1);
                    notes.extend(replaced.changes.into_iter().map(|change| match change {
                        Change::Added(object) => Notification::Add(object, initial),
                        Change::Updated { old, new } => Notification::Update(old, new),
                    }));
                    notes.extend(replaced.gone.into_iter().map(|o| Notification::Delete(DeletedObject::Unknown(o))));
                    if initial {
                        notes.push(Notification::Synced);
                        dispatch.synced = true;
                    }
                    for n in notes {
                        send(&dispatch, n);
                    }
                    self.inner.state.send_replace(SyncState::Synced);
                    break;
                }
            }
            watcher::Event::Apply(o) => {
                let Some(object) = self.transform(o, &mut errors) else {
                    return self.report_all(errors);
                };
                let mut objects = vec![Arc::clone(&object)];
                loop {
                    let filing = self.inner.cache.file(objects);
                    let dispatch = lock(&self.inner.dispatch);
                    let result = match self.inner.cache.commit_upsert(filing) {
                        Ok(mut results) => results.pop(),
                        Err(Stale(again)) => {
                            objects = again;
                            continue;
                        }
                    };
                    match result {
                        Some(Ok(Some(old))) => {
                            self.seen(Seen::Modified);
                            send(&dispatch, Notification::Update(old, Arc::clone(&object)))
                        }
                        Some(Ok(None)) => {
                            self.seen(Seen::Added);
                            send(&dispatch, Notification::Add(Arc::clone(&object), false))
                        }
                        Some(Err(e)) => errors.push(InformerError::Index(e)),
                        None => {}
                    }
                    break;
                }
            }
            watcher::Event::Delete(o) => {
                // The event carries the object's final state, which is what handlers get; the
                // cached object goes even when the transform fails on that final state.
                self.seen(Seen::Deleted);
                let key = object_key(&o);
                let last = self.transform(o, &mut errors);
                let dispatch = lock(&self.inner.dispatch);
                let removed = self.inner.cache.remove(&key);
                if let Some(object) = last.or(removed) {
                    send(&dispatch, Notification::Delete(DeletedObject::Known(object)));
                }
            }
        }
        self.report_all(errors);
    }

    fn report_all(&self, errors: Vec<InformerError>) {
        for e in errors {
            self.inner.health.report(e);
        }
    }

    fn error(&self, error: watcher::Error) {
        let error = Arc::new(error);
        let callbacks: Vec<ErrorCallback> = lock(&self.inner.on_error).clone();
        for callback in callbacks {
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&error))) {
                self.inner.health.callback_panicked(panic.as_ref());
            }
        }
        self.inner.health.report(InformerError::Watch(Arc::clone(&error)));
        let refused = status_of(&error).is_some_and(|s| matches!(s.code, 401 | 403 | 404));
        if refused {
            self.inner.state.send_if_modified(|s| {
                let listing = matches!(s, SyncState::Pending | SyncState::Failed(_));
                if listing {
                    *s = SyncState::Failed(Arc::clone(&error));
                }
                listing
            });
        }
    }
}

fn send<K>(dispatch: &Dispatch<K>, note: Notification<K>) {
    for slot in &dispatch.handlers {
        // A handler whose thread ended is skipped (its registration was removed).
        // Counted before it is sent, so the handler never counts it down first.
        slot.backlog.fetch_add(1, Ordering::Relaxed);
        if slot.tx.send(note.clone()).is_err() {
            slot.backlog.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// `pods`, `deployments.apps`: the resource label of metrics, as the client metrics name it.
fn metric_resource<K: kube::Resource>(dyntype: &K::DynamicType) -> String {
    let (plural, group) = (K::plural(dyntype), K::group(dyntype));
    if group.is_empty() { plural.into_owned() } else { format!("{plural}.{group}") }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A resource's shared informer as the generated factory hands it out: the informer, and a
/// lister over its cache (`DeploymentInformer` is `Informer<Deployment>`).
pub struct Informer<K: kube::Resource>(SharedInformer<K>);

impl<K: kube::Resource> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Informer(self.0.clone())
    }
}

impl<K> Informer<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    /// Wraps a shared informer.
    pub fn new(informer: SharedInformer<K>) -> Informer<K> {
        Informer(informer)
    }

    /// The shared informer: handlers, sync state, the cache.
    pub fn informer(&self) -> &SharedInformer<K> {
        &self.0
    }

    /// A lister over the informer's cache.
    pub fn lister(&self) -> Lister<K> {
        self.0.lister()
    }
}
