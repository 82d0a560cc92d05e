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
}

/// Objects by key, with indexes kept consistent with every change under one lock.
pub struct Indexer<K> {
    store: Arc<RwLock<Store<K>>>,
}

impl<K> Clone for Indexer<K> {
    fn clone(&self) -> Self {
        Indexer { store: Arc::clone(&self.store) }
    }
}

impl<K: kube::Resource + 'static> Default for Indexer<K> {
    fn default() -> Self {
        Indexer::new()
    }
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

/// What [`Indexer::replace`] did.
#[derive(Debug)]
pub struct Replaced<K> {
    /// Objects added or changed, in the order they were given (objects cached before at the
    /// same resourceVersion are cached anew but not listed).
    pub changes: Vec<Change<K>>,
    /// Objects cached before and not given, in key order.
    pub gone: Vec<Arc<K>>,
    /// Objects left out because an index function panicked on them.
    pub failed: Vec<IndexError>,
}

impl<K: kube::Resource + 'static> Indexer<K> {
    /// An empty indexer with the namespace index.
    pub fn new() -> Indexer<K> {
        let store = Store { items: Map::default(), by_namespace: Map::default(), indexes: Vec::new() };
        Indexer { store: Arc::new(RwLock::new(store)) }
    }

    /// Adds the label index ([`LABEL_INDEX`]): objects by `key=value`.
    pub fn add_label_index(&self) -> Result<(), IndexError> {
        let by_label: IndexFn<K> =
            Arc::new(|o: &K| o.meta().labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect());
        self.add_index(LABEL_INDEX, by_label)
    }

    /// Adds an index; objects already cached are filed at once.
    pub fn add_index(&self, name: &str, function: IndexFn<K>) -> Result<(), IndexError> {
        let mut store = self.write();
        if name == NAMESPACE_INDEX || store.indexes.iter().any(|(n, _)| n == name) {
            return Err(IndexError::Exists(name.to_owned()));
        }
        let mut index = Index { function, values: Map::default() };
        // Every object is filed before anything changes: a panic leaves no half-built index.
        let mut filed = Vec::with_capacity(store.items.len());
        for (key, entry) in store.items.iter() {
            let values = call_index(name, &index.function, key, &entry.object)?;
            for v in &values {
                file_under(&mut index.values, v, key);
            }
            filed.push((Arc::clone(key), values));
        }
        for (key, values) in filed {
            if let Some(entry) = store.items.get_mut(&key) {
                entry.filed.push(values);
            }
        }
        store.indexes.push((name.to_owned(), index));
        Ok(())
    }

    /// Caches `object` under its key; the object it replaces, if any. When an index function
    /// panics on it, nothing changes (the old object stays, filed as it was).
    pub fn upsert(&self, object: Arc<K>) -> Result<Option<Arc<K>>, IndexError> {
        let key = cache_key(&mut String::new(), object.as_ref());
        let mut store = self.write();
        let filed = store.file(&key, &object)?;
        let old = store.remove(&key);
        store.insert(key, object, filed);
        Ok(old)
    }

    /// Removes the object of `key`, and returns it.
    pub fn remove(&self, key: &str) -> Option<Arc<K>> {
        self.write().remove(key)
    }

    /// Replaces everything with `objects`, and says what changed: objects added or updated,
    /// objects gone, and objects left out because an index function panicked on them (an
    /// object cached before under such a key is gone).
    pub fn replace(&self, objects: Vec<Arc<K>>) -> Replaced<K> {
        let mut store = self.write();
        let mut old = std::mem::take(&mut store.items);
        store.by_namespace.clear();
        for (_, index) in &mut store.indexes {
            index.values.clear();
        }
        store.items.reserve(objects.len());
        let mut changes = Vec::with_capacity(objects.len());
        let mut failed = Vec::new();
        let mut buffer = String::new();
        for object in objects {
            let key = cache_key(&mut buffer, object.as_ref());
            let filed = match store.file(&key, &object) {
                Ok(filed) => filed,
                Err(e) => {
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
        Replaced { changes, gone: gone.into_iter().map(|(_, o)| o).collect(), failed }
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
        // A panic in an index function leaves the store as it was before the change.
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store<K>> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }
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

    /// The values each added index files `object` under; an index function that panics is an
    /// error, and nothing has changed.
    fn file(&self, key: &str, object: &K) -> Result<Vec<Vec<String>>, IndexError> {
        self.indexes.iter().map(|(name, index)| call_index(name, &index.function, key, object)).collect()
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
        let indexer = Indexer::new();
        for o in [cm(Some("a"), "keep", "1"), cm(Some("a"), "change", "1"), cm(Some("b"), "z-gone", "1")] {
            indexer.upsert(o).expect("no index function to panic");
        }
        indexer.upsert(cm(None, "cluster-gone", "1")).expect("no index function to panic");

        let replaced = indexer.replace(vec![
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
        let indexer = Indexer::new();
        assert_eq!(indexer.index_names(), [NAMESPACE_INDEX]);
        let taken = indexer.add_index(NAMESPACE_INDEX, Arc::new(|_: &ConfigMap| Vec::new()));
        assert_eq!(taken, Err(IndexError::Exists(NAMESPACE_INDEX.to_owned())));
        indexer.add_label_index().expect("new");
        assert_eq!(indexer.index_names(), [NAMESPACE_INDEX, LABEL_INDEX]);

        indexer.upsert(cm(Some("a"), "x", "1")).expect("no panic");
        indexer.upsert(cm(None, "y", "1")).expect("no panic");
        assert_eq!(names(&indexer.by_index(NAMESPACE_INDEX, "a").expect("there")), ["a/x"]);
        assert_eq!(names(&indexer.by_index(NAMESPACE_INDEX, "").expect("there")), ["y"]);
        assert!(indexer.remove("a/x").is_some());
        assert!(indexer.by_index(NAMESPACE_INDEX, "a").expect("there").is_empty());
        assert_eq!(indexer.list_index_values(NAMESPACE_INDEX).expect("there"), [""]);
    }
}
