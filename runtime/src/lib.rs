//! What kube-codegen's generated code calls.
//!
//! Generated code is thin, typed facades; the behaviour they share lives here once,
//! generically: how generated types read and write themselves ([`object!`]), the typed
//! clients' requests ([`client`]), informers, listers and the informer factory
//! ([`informer`]), a controller's work queue (`workqueue`), the metrics of all of them
//! (`metrics`), a scale client for any resource (`scale`), and an in-memory API server for
//! tests (`fake`).

pub mod apply;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
mod crd;
#[cfg(feature = "derive")]
#[doc(hidden)]
pub mod derive_support;
#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "client")]
pub mod informer;
#[cfg(feature = "client")]
pub mod leader_election;
#[cfg(feature = "client")]
pub mod metrics;
mod object;
#[cfg(feature = "client")]
pub mod scale;
#[cfg(feature = "client")]
pub mod throttle;
#[cfg(feature = "client")]
pub mod workqueue;

#[cfg(feature = "client")]
pub use client::{AllNamespaces, ErrorExt, ResourceClient};
#[cfg(feature = "client")]
pub use crd::{EnsureCrdError, ensure_crd};
#[cfg(feature = "client")]
pub use informer::{Lister, SharedInformer, SharedInformerFactory};
/// The kube-rs crate generated clients are built on, so generated code needs no other import.
#[cfg(feature = "client")]
pub use kube;
#[doc(hidden)]
pub use object::__private;
pub use object::{ResourceSchema, ScalePaths};

/// `#[derive(Apply)]`: the apply configuration (`<Name>Apply`) of a struct nested in a derived
/// resource's spec or status, which a field marked `#[apply(nested)]` then holds instead of
/// the whole value (see [`apply::ApplyType`]).
#[cfg(feature = "derive")]
pub use kube_codegen_macros::Apply;
/// `#[derive(CustomResource)]`: a drop-in for kube-derive's, whose `#[kube(...)]` attributes it
/// takes, that also gives the resource a typed `<Kind>Client`, `<Kind>Lister` and
/// `<Kind>Informer` beside it, from the generator's own emitters.
///
/// ```ignore
/// use kube_codegen_runtime::CustomResource;
/// #[derive(CustomResource, Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// #[kube(group = "example.com", version = "v1", kind = "Widget", namespaced, status = "WidgetStatus")]
/// pub struct WidgetSpec { pub size: i32 }
/// ```
#[cfg(feature = "derive")]
pub use kube_codegen_macros::CustomResource;
/// `crd()`, `crd_name()` and `api_resource()` of a derived resource: kube-core's trait, named
/// here so a crate that derives without the runtime's client needs no kube dependency.
#[cfg(feature = "derive")]
pub use kube_core::CustomResourceExt;

/// Its items when the runtime's `client` feature is on, nothing otherwise: a derived resource's
/// client, lister and informer, which exist exactly when the runtime can serve them.
#[cfg(feature = "client")]
#[macro_export]
#[doc(hidden)]
macro_rules! __client_items {
    ($($item:item)*) => { $($item)* };
}

/// Its items when the runtime's `client` feature is on, nothing otherwise: a derived resource's
/// client, lister and informer, which exist exactly when the runtime can serve them.
#[cfg(not(feature = "client"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __client_items {
    ($($item:item)*) => {};
}

/// Its items when the runtime's `ws` feature (kube's websockets) is on, nothing otherwise, so
/// generated `exec`, `attach` and `portforward` exist exactly when kube can serve them.
#[cfg(feature = "ws")]
#[macro_export]
macro_rules! ws {
    ($($item:item)*) => { $($item)* };
}

/// Its items when the runtime's `ws` feature (kube's websockets) is on, nothing otherwise, so
/// generated `exec`, `attach` and `portforward` exist exactly when kube can serve them.
#[cfg(not(feature = "ws"))]
#[macro_export]
macro_rules! ws {
    ($($item:item)*) => {};
}
