//! What `#[derive(CustomResource)]` asks of the generator: the typed client, lister and
//! informer of one resource, from the same emitters the CLI runs, so both write the same code.

use std::collections::BTreeMap;

use kube_codegen_openapi::Resource;
use proc_macro2::TokenStream;
use quote::quote;

use crate::emit_clients::{self, Target};
use crate::naming::ResourceNames;
use crate::rust_names::{Prelude, ident};
use crate::settings::{Artifact, Settings};

/// The client, lister and informer items of `resource`, whose type is `object` (a name in
/// scope), by name, as tokens that refer to the runtime's client module as `rt`: the derive
/// puts them in a module that imports it so, as generated modules do.
pub fn resource_items(resource: &Resource, object: &str) -> Vec<(String, TokenStream)> {
    let object_ident = ident(object);
    let names = ResourceNames::of(resource);
    let prelude = Prelude::default();
    let target = Target { resource, object: quote!(#object_ident), local: true, names, prelude };
    let sub_ty = |s: &kube_codegen_openapi::Subresource| {
        if s.kind.kind == resource.kind && s.kind.group == resource.group {
            quote!(#object_ident)
        } else {
            emit_clients::well_known(&s.kind)
        }
    };
    let client = emit_clients::resource_client(
        &Vec::new(),
        resource,
        &target.names,
        &target.prelude,
        &target.object,
        true,
        &sub_ty,
    );
    let mut out = vec![(client.name, client.tokens)];
    let target_names = target.names.clone();
    // The module only names the group-version accessor, which is dropped below.
    let module = vec!["derived".to_owned()];
    let by_module: BTreeMap<Vec<String>, Vec<Target>> = [(module, vec![target])].into_iter().collect();
    let emit = Settings::default().emit.into_iter().filter(|a| *a != Artifact::Clientset).collect();
    // Only the per-resource items: the group-version accessor and the factory are the
    // generated root's, which a derive does not have.
    for item in crate::emit_informers::items(&by_module, &emit) {
        if item.name == target_names.lister || item.name == target_names.informer {
            out.push((item.name, item.tokens));
        }
    }
    out
}

/// The same items, each formatted as `kube-codegen generate` formats it.
pub fn resource_items_text(resource: &Resource, object: &str) -> Result<Vec<(String, String)>, crate::Error> {
    resource_items(resource, object)
        .into_iter()
        .map(|(name, tokens)| {
            let parsed: syn::File =
                syn::parse2(tokens).map_err(|e| crate::Error::Emit { module: name.clone(), message: e.to_string() })?;
            Ok((name, prettyplease::unparse(&parsed)))
        })
        .collect()
}
