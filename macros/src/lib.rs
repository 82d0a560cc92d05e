//! `#[derive(CustomResource)]` for kube-codegen.
//!
//! The derive turns a hand-written spec struct into the same IR the OpenAPI reader produces and
//! runs the same emitters over it. It is not written yet (issue 7); this crate holds its place
//! in the workspace so the dependency direction of DESIGN.md is fixed from the start.
