//! What kube-codegen's generated code calls.
//!
//! Generated code is thin, typed facades; the behaviour they share lives here once,
//! generically: how generated types read and write themselves ([`object!`]), the typed
//! clients' requests ([`client`]), informers, listers and the informer factory
//! ([`informer`]), and an in-memory API server for tests (`fake`).

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "client")]
pub mod informer;
mod object;

#[cfg(feature = "client")]
pub use client::{AllNamespaces, ErrorExt, ResourceClient};
#[cfg(feature = "client")]
pub use informer::{Lister, SharedInformer, SharedInformerFactory};
/// The kube-rs crate generated clients are built on, so generated code needs no other import.
#[cfg(feature = "client")]
pub use kube;
#[doc(hidden)]
pub use object::__private;

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
