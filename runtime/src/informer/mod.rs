//! Informers: a cache of a resource kept current by one list+watch, indexed, read through
//! listers, with event handlers; and the factory that shares them (client-go's
//! `tools/cache`, lister-gen and informer-gen, on kube-runtime's watcher).

#[cfg(feature = "controller")]
mod controller;
mod error;
mod events;
mod factory;
mod indexer;
mod lean;
mod lister;
mod shared;

pub(crate) use error::status_of;
pub use error::{InformerError, Stopped, SyncError};
pub use events::{InformerEvent, InformerEvents};
pub use factory::{MetadataTransform, Scope, SharedInformerFactory, SyncFailures, TweakConfig};
pub use indexer::{Change, IndexError, IndexFn, Indexer, LABEL_INDEX, NAMESPACE_INDEX, key, object_key};
pub use lister::{Lister, NamespaceLister};
pub use shared::{
    DeletedObject, EventHandler, Handler, HandlerRegistration, Informer, InformerHealth, SharedInformer, SyncState,
    Transform, drop_managed_fields, strip_managed_fields,
};

/// How reports name a resource: `deployments.apps/v1`, `pods/v1` (no dot for the core group).
pub(crate) fn resource_id(plural: &str, group: &str, version: &str) -> String {
    if group.is_empty() { format!("{plural}/{version}") } else { format!("{plural}.{group}/{version}") }
}

/// The message of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
