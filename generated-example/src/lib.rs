//! The committed output of `kube-codegen generate` on inputs this project wrote itself.
//!
//! It is empty until the type emitter exists (issues 3 and 8); CI will then regenerate it and
//! fail on drift.
