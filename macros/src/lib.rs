//! `#[derive(CustomResource)]` for kube-codegen: a drop-in for kube-derive's that also gives
//! the struct the typed client, lister and informer the generator gives a CRD from YAML.
//!
//! Use it through `kube_codegen_runtime` (feature `derive`), which the expansion names.

mod apply;
mod attrs;
mod expand;

/// Derives a custom resource from its spec struct; see `kube_codegen_runtime::CustomResource`.
#[proc_macro_derive(CustomResource, attributes(kube, apply))]
pub fn derive_custom_resource(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::derive(input.into()).into()
}

/// Derives the apply configuration of a struct nested in a derived resource; see
/// `kube_codegen_runtime::Apply`.
#[proc_macro_derive(Apply, attributes(apply))]
pub fn derive_apply(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    apply::derive(input.into()).into()
}
