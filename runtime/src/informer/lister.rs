//! Listers: reads of an informer's cache by name, selector or index (client-go's listers).

use std::marker::PhantomData;
use std::sync::Arc;

use kube::core::{ClusterResourceScope, Expression, NamespaceResourceScope, Selector, SelectorExt};

use super::indexer::{IndexError, Indexer, LABEL_INDEX, NAMESPACE_INDEX, key};

/// Reads of the cache of one resource type. Namespaced resources are read through
/// [`namespace`](Lister::namespace); cluster-scoped ones have [`get`](Lister::get).
pub struct Lister<K> {
    indexer: Indexer<K>,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Lister<K> {
    fn clone(&self) -> Self {
        Lister { indexer: self.indexer.clone(), _kind: PhantomData }
    }
}

/// The objects `selector` matches (all for an empty selector).
fn select<K: kube::Resource>(objects: Vec<Arc<K>>, selector: &Selector) -> Vec<Arc<K>> {
    if selector.selects_all() {
        return objects;
    }
    objects.into_iter().filter(|o| selector.matches(o.meta().labels.as_ref().unwrap_or(&Default::default()))).collect()
}

/// The error of a cache miss: a 404 `Status` as the API server's, so `is_not_found` answers
/// the same for a lister and a client.
fn not_found<K: kube::Resource<DynamicType = ()>>(name: &str) -> kube::Error {
    crate::client::status_error(404, "NotFound", format!("{} \"{name}\" not found", K::plural(&())))
}

/// With a label index, the objects filed under the selector's first `key=value` term: a
/// superset of the matches, usually far smaller than the cache.
fn by_label<K: kube::Resource + 'static>(indexer: &Indexer<K>, selector: &Selector) -> Option<Vec<Arc<K>>> {
    let (k, v) = selector.clone().into_iter().find_map(|e| match e {
        Expression::Equal(k, v) => Some((k, v)),
        _ => None,
    })?;
    indexer.by_index(LABEL_INDEX, &format!("{k}={v}")).ok()
}

impl<K: kube::Resource<DynamicType = ()> + 'static> Lister<K> {
    /// A lister over `indexer`.
    pub fn new(indexer: Indexer<K>) -> Lister<K> {
        Lister { indexer, _kind: PhantomData }
    }

    /// Every cached object `selector` matches, in every namespace; through the label index
    /// when there is one and the selector has a `key=value` term.
    pub fn list(&self, selector: &Selector) -> Vec<Arc<K>> {
        let candidates = by_label(&self.indexer, selector).unwrap_or_else(|| self.indexer.list());
        select(candidates, selector)
    }

    /// The objects `index` files under `value`.
    pub fn by_index(&self, index: &str, value: &str) -> Result<Vec<Arc<K>>, IndexError> {
        self.indexer.by_index(index, value)
    }

    /// The cache itself.
    pub fn indexer(&self) -> &Indexer<K> {
        &self.indexer
    }
}

impl<K: kube::Resource<DynamicType = (), Scope = ClusterResourceScope> + 'static> Lister<K> {
    /// The cached object called `name`, or a NotFound error.
    pub fn get(&self, name: &str) -> Result<Arc<K>, kube::Error> {
        self.indexer.get(name).ok_or_else(|| not_found::<K>(name))
    }
}

impl<K: kube::Resource<DynamicType = (), Scope = NamespaceResourceScope> + 'static> Lister<K> {
    /// The objects of one namespace.
    pub fn namespace(&self, namespace: &str) -> NamespaceLister<K> {
        NamespaceLister { indexer: self.indexer.clone(), namespace: namespace.to_owned() }
    }
}

/// Reads of one namespace of a namespaced resource's cache.
pub struct NamespaceLister<K> {
    indexer: Indexer<K>,
    namespace: String,
}

impl<K: kube::Resource<DynamicType = ()> + 'static> NamespaceLister<K> {
    /// The cached objects of the namespace that `selector` matches, through the namespace
    /// index (no scan of other namespaces).
    pub fn list(&self, selector: &Selector) -> Vec<Arc<K>> {
        let objects = self.indexer.by_index(NAMESPACE_INDEX, &self.namespace).unwrap_or_default();
        select(objects, selector)
    }

    /// The cached object called `name` in the namespace, or a NotFound error.
    pub fn get(&self, name: &str) -> Result<Arc<K>, kube::Error> {
        self.indexer.get(&key(Some(&self.namespace), name)).ok_or_else(|| not_found::<K>(name))
    }

    /// The objects of the namespace that `index` files under `value`.
    pub fn by_index(&self, index: &str, value: &str) -> Result<Vec<Arc<K>>, IndexError> {
        let objects = self.indexer.by_index(index, value)?;
        Ok(objects.into_iter().filter(|o| o.meta().namespace.as_deref() == Some(self.namespace.as_str())).collect())
    }
}
