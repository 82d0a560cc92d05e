//! What `#[derive(CustomResource)]` asks of the generator: the typed client, lister and
//! informer of one resource, from the same emitters the CLI runs, so both write the same code.

use kube_codegen_openapi::Resource;
use proc_macro2::TokenStream;

use crate::plan::Plan;
use crate::rust_names::ident;
use crate::settings::{Artifact, Settings};

/// The client, lister and informer items of `resource`, whose type is `object` (a name in
/// scope), by name (an identifier made by the one sanitiser), as tokens that refer to the runtime's client module as `rt` (the derive
/// puts them in a module that imports it so, as generated modules do) and to the runtime
/// itself as `runtime`.
pub fn resource_items(resource: &Resource, object: &str, runtime: syn::Path) -> Vec<(proc_macro2::Ident, TokenStream)> {
    let plan = Plan::derived(resource, object, runtime);
    let mut out = Vec::new();
    let mut names = Vec::new();
    for resource in plan.modules.values().flatten() {
        let client = crate::emit_clients::resource_client(&plan.runtime, resource);
        out.push((ident(&client.name), client.tokens));
        names.push(resource.names.lister.clone());
        names.push(resource.names.informer.clone());
    }
    let emit = Settings::default().emit.into_iter().filter(|a| *a != Artifact::Clientset).collect();
    // Only the per-resource items: the group-version accessor and the factory are the
    // generated root's, which a derive does not have.
    for item in crate::emit_informers::items(&plan, &emit) {
        if names.contains(&item.name) {
            out.push((ident(&item.name), item.tokens));
        }
    }
    out
}

/// The same items, naming the runtime by its crate name, each formatted as
/// `kube-codegen generate` formats it.
pub fn resource_items_text(resource: &Resource, object: &str) -> Result<Vec<(String, String)>, crate::Error> {
    let runtime = crate::settings::Settings::default().runtime()?;
    resource_items(resource, object, runtime)
        .into_iter()
        .map(|(name, tokens)| {
            let name = name.to_string();
            let parsed: syn::File =
                syn::parse2(tokens).map_err(|e| crate::Error::Emit { module: name.clone(), message: e.to_string() })?;
            Ok((name, prettyplease::unparse(&parsed)))
        })
        .collect()
}

/// A Rust path in the syn the emitters use (the derive's own syn may be another major).
pub use syn::Path;

/// `text` as a path, if it is one.
pub fn parse_path(text: &str) -> Option<Path> {
    syn::parse_str(text).ok()
}
