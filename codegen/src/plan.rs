//! The plan the client and informer emitters read: for each resource, the module it lands in,
//! how that module writes its type and its subresources' types, its names; and the path
//! generated code names the runtime by. Built once, from the type space and the names, so
//! the emitters depend on it and on nothing of each other.

use std::collections::{BTreeMap, HashMap};

use kube_codegen_openapi::{Gvk, Model, Resource};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit_types::render;
use crate::naming::{Names, ResourceNames};
use crate::rust_names::{Prelude, ident};
use crate::typespace::{ModPath, Ty, TypeSpace};

/// Every resource that has a type, by group-version module, and the runtime's path.
pub struct Plan<'m> {
    /// What generated code names the runtime by (`kube_codegen_runtime` unless re-exported).
    pub runtime: syn::Path,
    /// The resources of each group-version module, in the model's order.
    pub modules: BTreeMap<ModPath, Vec<ResourcePlan<'m>>>,
}

/// One resource as its module sees it.
pub struct ResourcePlan<'m> {
    pub resource: &'m Resource,
    pub module: ModPath,
    /// The resource's type as its module writes it.
    pub object: TokenStream,
    /// Generated here rather than used from k8s-openapi.
    pub local: bool,
    /// Its client, lister, informer, apply-configuration and accessor names.
    pub names: ResourceNames,
    /// How its module writes the prelude's names.
    pub prelude: Prelude,
    /// `#[deprecated(note = ...)]` for a deprecated version, on everything named after it.
    pub deprecated: Option<TokenStream>,
    /// The body type of each subresource, in the resource's order: the object itself when
    /// the subresource's kind is the resource's, else the kind's type.
    pub subresource_types: Vec<TokenStream>,
    /// Its apply configuration's type, when apply configurations are emitted.
    pub apply: Option<TokenStream>,
}

/// One emitted item: its module, its name (for ordering) and its tokens.
pub struct Item {
    pub module: ModPath,
    pub name: String,
    pub tokens: TokenStream,
    /// Items that only exist with the runtime's `ws` feature: wrapped in its `ws!` macro.
    pub ws: Option<TokenStream>,
    /// Names the runtime's client module `rt`.
    pub uses_rt: bool,
}

impl<'m> Plan<'m> {
    /// The plan of every resource of `model` whose type the type space has.
    pub fn build(
        model: &'m Model,
        ts: &TypeSpace,
        modules: &BTreeMap<String, String>,
        names: &Names,
        runtime: syn::Path,
    ) -> Plan<'m> {
        let by_gvk: HashMap<&Gvk, kube_codegen_openapi::TypeId> =
            model.types.iter().flat_map(|d| d.gvks.iter().map(move |g| (g, d.id))).collect();
        let mut planned: BTreeMap<ModPath, Vec<ResourcePlan>> = BTreeMap::new();
        for r in &model.resources {
            let Some(ty) = r.ty.and_then(|t| ts.def_ty(t)) else { continue };
            let module = crate::typespace::gv_module(modules, &r.group, &r.version);
            // A mapped resource is re-exported in its module: the short name reads better.
            let object = match &ty {
                Ty::Extern(path) => match ts.reexport_in(&module, path) {
                    Some(name) => {
                        let name = ident(name);
                        quote!(#name)
                    }
                    None => render(ts, &module, &ty),
                },
                _ => render(ts, &module, &ty),
            };
            let subresource_types =
                subresource_types(r, &object, |kind| match by_gvk.get(kind).and_then(|t| ts.def_ty(*t)) {
                    Some(t) => render(ts, &module, &t),
                    None => well_known(kind),
                });
            let apply = r.ty.and_then(|t| ts.apply_of(t)).map(|item| render(ts, &module, &Ty::Local(item)));
            let plan = ResourcePlan {
                resource: r,
                apply,
                deprecated: deprecated(r),
                local: matches!(ty, Ty::Local(_)),
                prelude: Prelude::new(|n| ts.defines(&module, n)),
                names: names.of(r),
                object,
                subresource_types,
                module: module.clone(),
            };
            planned.entry(module).or_default().push(plan);
        }
        Plan { runtime, modules: planned }
    }

    /// The plan of one derived resource whose type is `object`, a name in scope, in a module
    /// of its own, beside its apply configuration `<object>Apply` (the derive names it after
    /// the root type, as the generator names it after the kind).
    pub fn derived(resource: &'m Resource, object: &str, runtime: syn::Path) -> Plan<'m> {
        let object_ident = ident(object);
        let names = ResourceNames::of(resource);
        let apply_ident = ident(&format!("{object}Apply"));
        let apply = Some(quote!(#apply_ident));
        let object = quote!(#object_ident);
        let subresource_types = subresource_types(resource, &object, well_known);
        let module = vec!["derived".to_owned()];
        let plan = ResourcePlan {
            resource,
            // The same as the generator writes from the derived CRD: a deprecated version's
            // client, lister and informer warn where they are named.
            deprecated: deprecated(resource),
            module: module.clone(),
            object,
            local: true,
            names,
            apply,
            prelude: Prelude::default(),
            subresource_types,
        };
        Plan { runtime, modules: [(module, vec![plan])].into_iter().collect() }
    }

    /// The runtime's path as text, for the items written as text (macro invocations).
    pub fn runtime_text(&self) -> String {
        path_text(&self.runtime)
    }
}

impl ResourcePlan<'_> {
    /// The body type of the resource's subresource number `index`.
    pub fn subresource_type(&self, index: usize) -> TokenStream {
        self.subresource_types.get(index).cloned().unwrap_or_else(|| quote!(serde_json::Value))
    }
}

/// The body type of each of `r`'s subresources: `object` where the subresource's kind is the
/// resource's own, else what `other` makes of the kind.
fn subresource_types(r: &Resource, object: &TokenStream, other: impl Fn(&Gvk) -> TokenStream) -> Vec<TokenStream> {
    r.subresources
        .iter()
        .map(|s| if s.kind.kind == r.kind && s.kind.group == r.group { object.clone() } else { other(&s.kind) })
        .collect()
}

fn deprecated(r: &Resource) -> Option<TokenStream> {
    crate::typespace::deprecation_note(r).map(|note| quote!(#[deprecated(note = #note)]))
}

/// A path as Rust writes it, without the spaces token printing puts around `::`.
pub fn path_text(path: &syn::Path) -> String {
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    out.push_str(&segments.join("::"));
    out
}

/// `apps::v1` as a path from the generated root.
pub fn module_path(module: &ModPath) -> TokenStream {
    let segments = module.iter().map(|s| ident(s));
    quote!(#(#segments)::*)
}

/// The type of a subresource kind that is not in the model (a CRD's `Scale`).
pub fn well_known(kind: &Gvk) -> TokenStream {
    let module = if kind.group.is_empty() { "core" } else { kind.group.split('.').next().unwrap_or_default() };
    match (module, kind.version.as_str(), kind.kind.as_str()) {
        ("autoscaling" | "core" | "policy" | "authentication", _, _) => {
            // The version is the input's: through the sanitiser, like every name from input.
            let (m, v, k) = (format_ident!("{module}"), ident(&kind.version), ident(&kind.kind));
            quote!(k8s_openapi::api::#m::#v::#k)
        }
        _ => quote!(serde_json::Value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subresource_kind_from_input_is_sanitised_not_a_panic() {
        let kind =
            |group: &str, version: &str| Gvk { group: group.into(), version: version.into(), kind: "Scale".into() };
        assert_eq!(
            well_known(&kind("autoscaling", "v1")).to_string(),
            "k8s_openapi :: api :: autoscaling :: v1 :: Scale"
        );
        // A version that is no identifier (format_ident! would panic on it).
        assert_eq!(
            well_known(&kind("autoscaling", "v1.beta-2")).to_string(),
            "k8s_openapi :: api :: autoscaling :: v1_beta_2 :: Scale"
        );
        assert_eq!(well_known(&kind("example.com", "v1")).to_string(), "serde_json :: Value");
    }
}
