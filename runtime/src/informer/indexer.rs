//! A thread-safe cache of objects with named indexes (client-go's `cache.Indexer`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The index every indexer has: objects by namespace (`""` for cluster-scoped ones).
pub const NAMESPACE_INDEX: &str = "namespace";
/// The label index, when asked for: objects by `key=value` of each of their labels.
pub const LABEL_INDEX: &str = "labels";

/// An index function: the values an object is filed under.
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// An index that does not exist, one added twice, or an index function that panicked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexError {
    /// No index has this name.
    Unknown(String),
    /// An index of this name exists already.
    Exists(String),
    /// The index function panicked on an object; nothing was changed.
    Panicked {
        /// The index.
        index: String,
        /// The object's key.
        key: String,
        /// The panic's message.
        message: String,
    },
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexError::Unknown(name) => write!(f, "no index named `{name}`"),
            IndexError::Exists(name) => write!(f, "an index named `{name}` exists already"),
            IndexError::Panicked { index, key, message } => {
                write!(f, "the index function `{index}` panicked on `{key}`: {message}")
            }
        }
    }
}

impl std::error::Error for IndexError {}

/// The cache key of an object: `namespace/name`, or `name` when cluster-scoped.
pub fn key(namespace: Option<&str>, name: &str) -> String {
    let mut key = String::new();
    push_key(&mut key, namespace, name);
    key
}

/// The cache key of an object, from its metadata.
pub fn object_key<K: kube::Resource>(object: &K) -> String {
    let meta = object.meta();
    key(meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default())
}

// Written out rather than `format!`: keys are built for every object of every list, and the
// formatting machinery was a visible share of an initial sync.
fn push_key(into: &mut String, namespace: Option<&str>, name: &str) {
    match namespace {
        Some(ns) if !ns.is_empty() => {
            into.reserve(ns.len() + 1 + name.len());
            into.push_str(ns);
            into.push('/');
            into.push_str(name);
        }
        _ => into.push_str(name),
    }
}

type Key = Arc<str>;
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type Set<K> = HashSet<K, foldhash::fast::RandomState>;

/// The cache key of `object` as the store keeps it; `buffer` is scratch space reused across
/// calls, so the key costs one allocation.
fn cache_key<K: kube::Resource>(buffer: &mut String, object: &K) -> Key {
    let meta = object.meta();
    buffer.clear();
    push_key(buffer, meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default());
    Arc::from(buffer.as_str())
}

/// The namespace index's value for an object (`""` for cluster-scoped ones).
fn namespace_of<K: kube::Resource>(object: &K) -> &str {
    object.meta().namespace.as_deref().unwrap_or_default()
}

struct Index<K> {
    function: IndexFn<K>,
    /// value -> keys of the objects filed under it
    values: Map<String, Set<Key>>,
}

struct Entry<K> {
    object: Arc<K>,
    /// The values each added index files the object under, in the order of `Store::indexes`
    /// (empty, and unallocated, when there are none).
    filed: Vec<Vec<String>>,
}

struct Store<K> {
    items: Map<Key, Entry<K>>,
    /// The namespace index, which every indexer has, kept without an index function: an
    /// object's namespace is read from the object itself, which is never changed once cached.
    by_namespace: Map<String, Set<Key>>,
    /// The indexes added by name, in the order they were added.
    indexes: Vec<(String, Index<K>)>,
    /// Bumped when an index is added: values filed before it are stale.
    version: u64,
}

/// A read-only view of a cache of objects with named indexes (client-go's `cache.Indexer`,
/// less its writes). An informer's cache has one writer, the informer, so what a handler was
/// told and what the cache holds never disagree; this view reads it, and may add indexes.
///
/// ```
/// # fn reads(informer: &kube_codegen_runtime::informer::SharedInformer<k8s_openapi::api::core::v1::ConfigMap>) {
/// let cache = informer.indexer();
/// let _ = (cache.len(), cache.get("default/web"), cache.by_index("namespace", "default"));
/// # }
/// ```
///
/// Writes are not there to call:
///
/// ```compile_fail
/// # fn writes(informer: &kube_codegen_runtime::informer::SharedInformer<k8s_openapi::api::core::v1::ConfigMap>) {
/// informer.indexer().upsert(std::sync::Arc::new(k8s_openapi::api::core::v1::ConfigMap::default()));
/// # }
/// ```
///
/// ```compile_fail
/// # fn writes(informer: &kube_codegen_runtime::informer::SharedInformer<k8s_openapi::api::core::v1::ConfigMap>) {
/// informer.indexer().remove("default/web");
/// # }
/// ```
pub struct Indexer<K> {
    store: Arc<RwLock<Store<K>>>,
}

impl<K> Clone for Indexer<K> {
    fn clone(&self) -> Self {
        Indexer { store: Arc::clone(&self.store) }
    }
}

/// The writer of a cache: only the informer that owns it holds one.
pub(crate) struct Cache<K> {
    view: Indexer<K>,
}

/// How replacing the cache changed one of the objects it was given.
#[derive(Debug)]
pub enum Change<K> {
    /// The object was not cached before.
    Added(Arc<K>),
    /// The object was cached at another resourceVersion.
    Updated {
        /// What was cached.
        old: Arc<K>,
        /// What is cached now.
        new: Arc<K>,
    },
}

/// What replacing an informer's cache with a new list did.
#[derive(Debug)]
pub(crate) struct Replaced<K> {
    /// Objects added or changed, in the order they were given (objects cached before at the
    /// same resourceVersion are cached anew but not listed).
    pub changes: Vec<Change<K>>,
    /// Objects cached before and not given, in key order.
    pub gone: Vec<Arc<K>>,
    /// Objects left out because an index function panicked on them; the version cached before
    /// under such a key, if any, stays, filed as it was.
    pub failed: Vec<IndexError>,
}

/// Objects with the values each index files them under, worked out with no lock held (index
/// functions are user code, which may read the cache), to be committed under the lock if no
/// index was added meanwhile.
pub(crate) struct Filing<K> {
    version: u64,
    entries: Vec<(Key, Arc<K>, Filed)>,
}

/// The values each index files one object under, or the panic of one of them.
type Filed = Result<Vec<Vec<String>>, IndexError>;

/// What an upsert did: the object replaced, if any; or nothing, for an index's panic.
pub(crate) type Upserted<K> = Result<Option<Arc<K>>, IndexError>;

/// A commit that found an index added since its objects were filed: file them again.
pub(crate) struct Stale<K>(pub Vec<Arc<K>>);

impl<K: kube::Resource + 'static> Cache<K> {
    /// An empty cache with the namespace index.
    pub(crate) fn new() -> Cache<K> {
        let store = Store { items: Map::default(), by_namespace: Map::default(), indexes: Vec::new(), version: 0 };
        Cache { view: Indexer { store: Arc::new(RwLock::new(store)) } }
    }

    /// The read-only view.
    pub(crate) fn view(&self) -> &Indexer<K> {
        &self.view
    }

    /// Runs the index functions on `objects`, with no lock held while they run.
    pub(crate) fn file(&self, objects: Vec<Arc<K>>) -> Filing<K> {
        let (version, functions) = {
            let store = self.view.read();
            let functions: Vec<(String, IndexFn<K>)> =
                store.indexes.iter().map(|(n, i)| (n.clone(), Arc::clone(&i.function))).collect();
            (store.version, functions)
        };
        let mut buffer = String::new();
        let entries = objects
            .into_iter()
            .map(|object| {
                let key = cache_key(&mut buffer, object.as_ref());
                let filed = functions.iter().map(|(name, f)| call_index(name, f, &key, &object)).collect();
                (key, object, filed)
            })
            .collect();
        Filing { version, entries }
    }

    /// Caches the one object of `filing` under its key; the object it replaces, if any. When an
    /// index function panicked on it, nothing changes (the old object stays, filed as it was).
    pub(crate) fn commit_upsert(&self, filing: Filing<K>) -> Result<Vec<Upserted<K>>, Stale<K>> {
        let mut store = self.view.write();
        if store.version != filing.version {
            return Err(Stale(filing.entries.into_iter().map(|(_, o, _)| o).collect()));
        }
        Ok(filing
            .entries
            .into_iter()
            .map(|(key, object, filed)| {
                let filed = filed?;
                let old = store.remove(&key);
                store.insert(key, object, filed);
                Ok(old)
            })
            .collect())
    }

    /// Replaces everything with the objects of `filing`, and says what changed.
    pub(crate) fn commit_replace(&self, filing: Filing<K>) -> Result<Replaced<K>, Stale<K>> {
        let mut store = self.view.write();
        if store.version != filing.version {
            return Err(Stale(filing.entries.into_iter().map(|(_, o, _)| o).collect()));
        }
        let mut old = std::mem::take(&mut store.items);
        store.by_namespace.clear();
        for (_, index) in &mut store.indexes {
            index.values.clear();
        }
        store.items.reserve(filing.entries.len());
        let mut changes = Vec::with_capacity(filing.entries.len());
        let mut failed = Vec::new();
        for (key, object, filed) in filing.entries {
            let filed = match filed {
                Ok(filed) => filed,
                Err(e) => {
                    // As an upsert does: the version cached before stays, filed as it was.
                    if let Some(kept) = old.remove(&key) {
                        store.insert(key, kept.object, kept.filed);
                    }
                    failed.push(e);
                    continue;
                }
            };
            // A key given twice is the later object, changed from the earlier one.
            let before = match old.remove(&key) {
                Some(entry) => Some(entry.object),
                None => store.remove(&key),
            };
            match before {
                Some(b) if b.meta().resource_version == object.meta().resource_version => {}
                Some(old) => changes.push(Change::Updated { old, new: Arc::clone(&object) }),
                None => changes.push(Change::Added(Arc::clone(&object))),
            }
            store.insert(key, object, filed);
        }
        let mut gone: Vec<(Key, Arc<K>)> = old.into_iter().map(|(k, e)| (k, e.object)).collect();
        gone.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(Replaced { changes, gone: gone.into_iter().map(|(_, o)| o).collect(), failed })
    }

    /// Caches `object`, filing it again if an index is added meanwhile.
    #[cfg(test)]
    pub(crate) fn upsert(&self, object: Arc<K>) -> Result<Option<Arc<K>>, IndexError> {
        let mut objects = vec![object];
        loop {
            match self.commit_upsert(self.file(objects)) {
                Ok(mut results) => return results.pop().unwrap_or(Ok(None)),
                Err(Stale(again)) => objects = again,
            }
        }
    }

    /// Replaces everything with `objects`, filing them again if an index is added meanwhile.
    #[cfg(test)]
    pub(crate) fn replace(&self, mut objects: Vec<Arc<K>>) -> Replaced<K> {
        loop {
            match self.commit_replace(self.file(objects)) {
                Ok(replaced) => return replaced,
                Err(Stale(again)) => objects = again,
            }
        }
    }

    /// Removes the object of `key`, and returns it.
    pub(crate) fn remove(&self, key: &str) -> Option<Arc<K>> {
        self.view.write().remove(key)
    }
}

impl<K: kube::Resource + 'static> Indexer<K> {
    /// Adds the label index ([`LABEL_INDEX`]): objects by `key=value`.
    pub fn add_label_index(&self) -> Result<(), IndexError> {
        let by_label: IndexFn<K> =
            Arc::new(|o: &K| o.meta().labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect());
        self.add_index(LABEL_INDEX, by_label)
    }

    /// Adds an index; objects already cached are filed at once. The function runs with no
    /// lock held, so it may read the cache; if it panics on any cached object, the index is not
    /// added and nothing changes.
    pub fn add_index(&self, name: &str, function: IndexFn<K>) -> Result<(), IndexError> {
        // What the function made of each object, by key; objects cached or changed while it
        // ran are filed in another round, so the index covers exactly what is cached.
        let mut filed: Map<Key, (Arc<K>, Vec<String>)> = Map::default();
        let mut todo: Vec<(Key, Arc<K>)> = {
            let store = self.read();
            check_free(&store, name)?;
            store.items.iter().map(|(k, e)| (Arc::clone(k), Arc::clone(&e.object))).collect()
        };
        loop {
            for (key, object) in todo.drain(..) {
                let values = call_index(name, &function, &key, &object)?;
                filed.insert(key, (object, values));
            }
            let mut store = self.write();
            check_free(&store, name)?;
            todo = store
                .items
                .iter()
                .filter(|(k, e)| filed.get(*k).is_none_or(|(o, _)| !Arc::ptr_eq(o, &e.object)))
                .map(|(k, e)| (Arc::clone(k), Arc::clone(&e.object)))
                .collect();
            if !todo.is_empty() {
                continue;
            }
            let mut index = Index { function, values: Map::default() };
            let store = &mut *store;
            for (key, entry) in store.items.iter_mut() {
                let values = filed.remove(key).map(|(_, v)| v).unwrap_or_default();
                for v in &values {
                    file_under(&mut index.values, v, key);
                }
                entry.filed.push(values);
            }
            store.indexes.push((name.to_owned(), index));
            store.version += 1;
            return Ok(());
        }
    }

    /// The object of `key` (`namespace/name`, or `name`).
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().items.get(key).map(|e| Arc::clone(&e.object))
    }

    /// Every cached object.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().items.values().map(|e| Arc::clone(&e.object)).collect()
    }

    /// Every cached key.
    pub fn keys(&self) -> Vec<String> {
        self.read().items.keys().map(|k| k.to_string()).collect()
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.read().items.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The objects `index` files under `value`.
    pub fn by_index(&self, index: &str, value: &str) -> Result<Vec<Arc<K>>, IndexError> {
        let store = self.read();
        let keys = store.values(index)?.get(value);
        Ok(keys.into_iter().flatten().filter_map(|k| store.items.get(k).map(|e| Arc::clone(&e.object))).collect())
    }

    /// The keys of the objects `index` files under `value`.
    pub fn index_keys(&self, index: &str, value: &str) -> Result<Vec<String>, IndexError> {
        let store = self.read();
        Ok(store.values(index)?.get(value).into_iter().flatten().map(|k| k.to_string()).collect())
    }

    /// Every value `index` files objects under.
    pub fn list_index_values(&self, index: &str) -> Result<Vec<String>, IndexError> {
        Ok(self.read().values(index)?.keys().cloned().collect())
    }

    /// The names of the indexes.
    pub fn index_names(&self) -> Vec<String> {
        let store = self.read();
        std::iter::once(NAMESPACE_INDEX.to_owned()).chain(store.indexes.iter().map(|(n, _)| n.clone())).collect()
    }

    fn read(&self) -> RwLockReadGuard<'_, Store<K>> {
        // No user code runs under this lock, so a poisoned one was not left half-changed.
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store<K>> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// An index may be added under `name`: it is neither the namespace index nor taken.
fn check_free<K>(store: &Store<K>, name: &str) -> Result<(), IndexError> {
    if name == NAMESPACE_INDEX || store.indexes.iter().any(|(n, _)| n == name) {
        return Err(IndexError::Exists(name.to_owned()));
    }
    Ok(())
}

/// Runs a user's index function; a panic becomes an error.
fn call_index<K>(name: &str, function: &IndexFn<K>, key: &str, object: &K) -> Result<Vec<String>, IndexError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| function(object))).map_err(|panic| IndexError::Panicked {
        index: name.to_owned(),
        key: key.to_owned(),
        message: crate::informer::panic_message(panic.as_ref()),
    })
}

/// Files `key` under `value`; the value's string is allocated only the first time.
fn file_under(values: &mut Map<String, Set<Key>>, value: &str, key: &Key) {
    match values.get_mut(value) {
        Some(keys) => {
            keys.insert(Arc::clone(key));
        }
        None => {
            let mut keys = Set::default();
            keys.insert(Arc::clone(key));
            values.insert(value.to_owned(), keys);
        }
    }
}

/// Takes `key` out from under `value`, and the value with it when nothing is left there.
fn unfile(values: &mut Map<String, Set<Key>>, value: &str, key: &str) {
    if let Some(keys) = values.get_mut(value) {
        keys.remove(key);
        if keys.is_empty() {
            values.remove(value);
        }
    }
}

impl<K: kube::Resource> Store<K> {
    fn values(&self, index: &str) -> Result<&Map<String, Set<Key>>, IndexError> {
        if index == NAMESPACE_INDEX {
            return Ok(&self.by_namespace);
        }
        self.indexes
            .iter()
            .find(|(n, _)| n == index)
            .map(|(_, i)| &i.values)
            .ok_or_else(|| IndexError::Unknown(index.to_owned()))
    }

    /// Caches `object` under `key`, which is not cached.
    fn insert(&mut self, key: Key, object: Arc<K>, filed: Vec<Vec<String>>) {
        file_under(&mut self.by_namespace, namespace_of(object.as_ref()), &key);
        for ((_, index), values) in self.indexes.iter_mut().zip(&filed) {
            for v in values {
                file_under(&mut index.values, v, &key);
            }
        }
        self.items.insert(key, Entry { object, filed });
    }

    fn remove(&mut self, key: &str) -> Option<Arc<K>> {
        let (key, entry) = self.items.remove_entry(key)?;
        unfile(&mut self.by_namespace, namespace_of(entry.object.as_ref()), &key);
        for ((_, index), values) in self.indexes.iter_mut().zip(&entry.filed) {
            for v in values {
                unfile(&mut index.values, v, &key);
            }
        }
        Some(entry.object)
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn cm(namespace: Option<&str>, name: &str, version: &str) -> Arc<ConfigMap> {
        let mut c = ConfigMap::default();
        c.metadata.namespace = namespace.map(str::to_owned);
        c.metadata.name = Some(name.to_owned());
        c.metadata.resource_version = Some(version.to_owned());
        Arc::new(c)
    }

    fn names(objects: &[Arc<ConfigMap>]) -> Vec<String> {
        objects.iter().map(|o| object_key(o.as_ref())).collect()
    }

    #[test]
    fn replace_reports_adds_updates_and_what_is_gone() {
        let cache = Cache::new();
        let indexer = cache.view();
        for o in [cm(Some("a"), "keep", "1"), cm(Some("a"), "change", "1"), cm(Some("b"), "z-gone", "1")] {
            cache.upsert(o).expect("no index function to panic");
        }
        cache.upsert(cm(None, "cluster-gone", "1")).expect("no index function to panic");

        let replaced = cache.replace(vec![
            cm(Some("c"), "new", "2"),
            cm(Some("a"), "change", "2"),
            cm(Some("a"), "keep", "1"),
            // The same key twice: the later object wins, as an update of the earlier one.
            cm(Some("c"), "new", "3"),
        ]);
        let changes: Vec<String> = replaced
            .changes
            .iter()
            .map(|c| match c {
                Change::Added(o) => format!("add {}", object_key(o.as_ref())),
                Change::Updated { old, new } => format!(
                    "update {} {}->{}",
                    object_key(new.as_ref()),
                    old.metadata.resource_version.as_deref().unwrap_or_default(),
                    new.metadata.resource_version.as_deref().unwrap_or_default()
                ),
            })
            .collect();
        assert_eq!(changes, ["add c/new", "update a/change 1->2", "update c/new 2->3"]);
        assert_eq!(names(&replaced.gone), ["b/z-gone", "cluster-gone"]);
        assert!(replaced.failed.is_empty());

        let mut keys = indexer.keys();
        keys.sort();
        assert_eq!(keys, ["a/change", "a/keep", "c/new"]);
        assert_eq!(indexer.get("c/new").and_then(|o| o.metadata.resource_version.clone()).as_deref(), Some("3"));
        // The namespace index follows: no value left behind for what went.
        let mut namespaces = indexer.list_index_values(NAMESPACE_INDEX).expect("always there");
        namespaces.sort();
        assert_eq!(namespaces, ["a", "c"]);
        assert_eq!(indexer.index_keys(NAMESPACE_INDEX, "c").expect("always there"), ["c/new"]);
    }

    #[test]
    fn the_namespace_index_is_always_there_and_kept_on_every_change() {
        let cache = Cache::new();
        let indexer = cache.view();
        assert_eq!(indexer.index_names(), [NAMESPACE_INDEX]);
        let taken = indexer.add_index(NAMESPACE_INDEX, Arc::new(|_: &ConfigMap| Vec::new()));
        assert_eq!(taken, Err(IndexError::Exists(NAMESPACE_INDEX.to_owned())));
        indexer.add_label_index().expect("new");
        assert_eq!(indexer.index_names(), [NAMESPACE_INDEX, LABEL_INDEX]);

        cache.upsert(cm(Some("a"), "x", "1")).expect("no panic");
        cache.upsert(cm(None, "y", "1")).expect("no panic");
        assert_eq!(names(&indexer.by_index(NAMESPACE_INDEX, "a").expect("there")), ["a/x"]);
        assert_eq!(names(&indexer.by_index(NAMESPACE_INDEX, "").expect("there")), ["y"]);
        assert!(cache.remove("a/x").is_some());
        assert!(indexer.by_index(NAMESPACE_INDEX, "a").expect("there").is_empty());
        assert_eq!(indexer.list_index_values(NAMESPACE_INDEX).expect("there"), [""]);
    }

    fn labelled(name: &str, label: &str) -> Arc<ConfigMap> {
        let mut c = ConfigMap::default();
        c.metadata.namespace = Some("ns".into());
        c.metadata.name = Some(name.to_owned());
        c.metadata.resource_version = Some(label.to_owned());
        c.metadata.labels = Some([(label.to_owned(), "x".to_owned())].into());
        Arc::new(c)
    }

    /// Panics on objects labelled `bad`.
    fn picky() -> IndexFn<ConfigMap> {
        Arc::new(|c: &ConfigMap| {
            assert!(c.metadata.labels.as_ref().is_none_or(|l| !l.contains_key("bad")), "picky");
            vec![]
        })
    }

    #[test]
    fn an_index_function_that_panics_changes_nothing_on_upsert_or_replace() {
        let cache = Cache::new();
        let indexer = cache.view();
        indexer.add_label_index().expect("new");
        cache.upsert(labelled("a", "good")).expect("no panic");
        cache.upsert(labelled("b", "good")).expect("no panic");
        indexer.add_index("picky", picky()).expect("no cached object is bad");

        let err = cache.upsert(labelled("a", "bad")).expect_err("picky panics");
        assert!(matches!(err, IndexError::Panicked { ref index, .. } if index == "picky"), "{err}");
        // Nothing moved: the old object, under its old label.
        assert_eq!(indexer.get("ns/a").and_then(|o| o.metadata.resource_version.clone()).as_deref(), Some("good"));
        assert!(indexer.index_keys(LABEL_INDEX, "bad=x").expect("there").is_empty());

        // A relist whose version of `a` is refused keeps the cached `a`, as the upsert did, and
        // reports it neither changed nor gone; `b`, not listed, is gone.
        let replaced = cache.replace(vec![labelled("a", "bad"), labelled("c", "good")]);
        assert_eq!(replaced.failed.len(), 1);
        assert_eq!(names(&replaced.gone), ["ns/b"]);
        assert!(matches!(&replaced.changes[..], [Change::Added(c)] if object_key(c.as_ref()) == "ns/c"));
        let mut keys = indexer.keys();
        keys.sort();
        assert_eq!(keys, ["ns/a", "ns/c"]);
        let mut good = indexer.index_keys(LABEL_INDEX, "good=x").expect("there");
        good.sort();
        assert_eq!(good, ["ns/a", "ns/c"], "the kept object is filed as it was");

        // A new index whose function panics on a cached object is not added.
        let failing = indexer.add_index("fails", Arc::new(|_: &ConfigMap| panic!("never")));
        assert!(matches!(failing, Err(IndexError::Panicked { .. })));
        assert_eq!(indexer.index_names(), [NAMESPACE_INDEX, LABEL_INDEX, "picky"]);
    }

    #[test]
    fn index_functions_run_without_the_lock_and_may_read_the_cache() {
        let cache = Cache::new();
        let view = cache.view().clone();
        cache.upsert(cm(Some("a"), "x", "1")).expect("no index yet");
        // The function reads the cache it indexes: under the lock it would deadlock.
        let reader = view.clone();
        let by_count: IndexFn<ConfigMap> = Arc::new(move |_| vec![reader.len().to_string()]);
        view.add_index("count", by_count).expect("added");
        cache.upsert(cm(Some("a"), "y", "1")).expect("filed");
        let replaced = cache.replace(vec![cm(Some("a"), "x", "1"), cm(Some("a"), "y", "1"), cm(Some("a"), "z", "1")]);
        assert!(replaced.failed.is_empty());
        assert_eq!(view.len(), 3);
        assert_eq!(view.index_names(), [NAMESPACE_INDEX, "count"]);
    }

    #[test]
    fn a_filing_made_before_an_index_was_added_is_stale() {
        let cache = Cache::new();
        let filing = cache.file(vec![cm(Some("a"), "x", "1")]);
        cache.view().add_label_index().expect("new");
        assert!(cache.commit_upsert(filing).is_err(), "filed without the label index");
        cache.upsert(cm(Some("a"), "x", "1")).expect("filed again");
        assert_eq!(cache.view().list_index_values(LABEL_INDEX).expect("there"), Vec::<String>::new());
    }
}
