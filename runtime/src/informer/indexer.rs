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
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_owned(),
    }
}

/// The cache key of an object, from its metadata.
pub fn object_key<K: kube::Resource>(object: &K) -> String {
    let meta = object.meta();
    key(meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default())
}

type Key = Arc<str>;

struct Index<K> {
    function: IndexFn<K>,
    /// value -> keys of the objects filed under it
    values: HashMap<String, HashSet<Key>>,
}

struct Store<K> {
    items: HashMap<Key, (Arc<K>, Vec<Vec<String>>)>,
    /// In the order they were added; an item's filed values are kept in the same order.
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

impl<K: kube::Resource + 'static> Indexer<K> {
    /// An empty indexer with the namespace index.
    pub fn new() -> Indexer<K> {
        let indexer = Indexer { store: Arc::new(RwLock::new(Store { items: HashMap::new(), indexes: Vec::new() })) };
        let by_namespace: IndexFn<K> = Arc::new(|o: &K| vec![o.meta().namespace.clone().unwrap_or_default()]);
        // A new indexer has no index to clash with and no object to file.
        let _ = indexer.add_index(NAMESPACE_INDEX, by_namespace);
        indexer
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
        if store.indexes.iter().any(|(n, _)| n == name) {
            return Err(IndexError::Exists(name.to_owned()));
        }
        let mut index = Index { function, values: HashMap::new() };
        // Every object is filed before anything changes: a panic leaves no half-built index.
        let mut filed = Vec::with_capacity(store.items.len());
        for (key, (object, _)) in store.items.iter() {
            let values = call_index(name, &index.function, key, object)?;
            for v in &values {
                index.values.entry(v.clone()).or_default().insert(Arc::clone(key));
            }
            filed.push((Arc::clone(key), values));
        }
        for (key, values) in filed {
            if let Some((_, f)) = store.items.get_mut(&key) {
                f.push(values);
            }
        }
        store.indexes.push((name.to_owned(), index));
        Ok(())
    }

    /// Caches `object` under its key; the object it replaces, if any. When an index function
    /// panics on it, nothing changes (the old object stays, filed as it was).
    pub fn upsert(&self, object: Arc<K>) -> Result<Option<Arc<K>>, IndexError> {
        let key: Key = object_key(object.as_ref()).into();
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

    /// Replaces everything with `objects`; what was cached before, by key, and the objects
    /// left out because an index function panicked on them.
    pub fn replace(&self, objects: Vec<Arc<K>>) -> (HashMap<String, Arc<K>>, Vec<IndexError>) {
        let mut store = self.write();
        // File every object before the old state goes.
        let mut filed = Vec::with_capacity(objects.len());
        let mut failed = Vec::new();
        for object in objects {
            let key: Key = object_key(object.as_ref()).into();
            match store.file(&key, &object) {
                Ok(values) => filed.push((key, object, values)),
                Err(e) => failed.push(e),
            }
        }
        let old: HashMap<String, Arc<K>> = store.items.drain().map(|(k, (o, _))| (k.to_string(), o)).collect();
        for (_, index) in &mut store.indexes {
            index.values.clear();
        }
        for (key, object, values) in filed {
            store.insert(key, object, values);
        }
        (old, failed)
    }

    /// The object of `key` (`namespace/name`, or `name`).
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().items.get(key).map(|(o, _)| Arc::clone(o))
    }

    /// Every cached object.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().items.values().map(|(o, _)| Arc::clone(o)).collect()
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
        Ok(keys.into_iter().flatten().filter_map(|k| store.items.get(k).map(|(o, _)| Arc::clone(o))).collect())
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
        self.read().indexes.iter().map(|(n, _)| n.clone()).collect()
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

impl<K> Store<K> {
    fn values(&self, index: &str) -> Result<&HashMap<String, HashSet<Key>>, IndexError> {
        self.indexes
            .iter()
            .find(|(n, _)| n == index)
            .map(|(_, i)| &i.values)
            .ok_or_else(|| IndexError::Unknown(index.to_owned()))
    }

    /// The values each index files `object` under; an index function that panics is an
    /// error, and nothing has changed.
    fn file(&self, key: &str, object: &K) -> Result<Vec<Vec<String>>, IndexError> {
        self.indexes.iter().map(|(name, index)| call_index(name, &index.function, key, object)).collect()
    }

    fn insert(&mut self, key: Key, object: Arc<K>, filed: Vec<Vec<String>>) {
        for ((_, index), values) in self.indexes.iter_mut().zip(&filed) {
            for v in values {
                index.values.entry(v.clone()).or_default().insert(Arc::clone(&key));
            }
        }
        self.items.insert(key, (object, filed));
    }

    fn remove(&mut self, key: &str) -> Option<Arc<K>> {
        let (key, (object, filed)) = self.items.remove_entry(key)?;
        for ((_, index), values) in self.indexes.iter_mut().zip(filed) {
            for v in values {
                if let Some(keys) = index.values.get_mut(&v) {
                    keys.remove(&key);
                    if keys.is_empty() {
                        index.values.remove(&v);
                    }
                }
            }
        }
        Some(object)
    }
}
