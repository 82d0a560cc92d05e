//! kube-codegen: typed Kubernetes clientsets, listers and informers for Rust.
//!
//! The `kube-codegen` binary of this crate reads OpenAPI documents and CRDs through
//! [`kube_codegen_openapi`]; `kube-codegen list` shows the resources it finds.

pub mod list;
