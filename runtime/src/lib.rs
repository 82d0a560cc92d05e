//! What kube-codegen's generated code calls.
//!
//! Generated code is thin, typed facades; the behaviour they share lives here once,
//! generically. Today that is how generated types read and write themselves ([`object!`]);
//! the typed clients, the listers and informers, and the in-memory API server come next.

#[cfg(feature = "fake")]
pub mod fake;
mod object;

#[doc(hidden)]
pub use object::__private;
