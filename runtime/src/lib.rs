//! What kube-codegen's generated code calls.
//!
//! Generated code is thin, typed facades; the behaviour they share lives here once,
//! generically: how generated types read and write themselves ([`object!`]), the typed
//! clients' requests ([`client`]), informers, listers and the informer factory
//! ([`informer`]), and an in-memory API server for tests (`fake`).

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
mod object;

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
