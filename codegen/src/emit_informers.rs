//! Emits listers, informers and the informer factory's accessor tree: type aliases of the
//! runtime's generic `Lister<K>` and `Informer<K>`, a `<Group><Version>Informers` per
//! group-version and the root `SharedInformerFactory`.

use std::collections::BTreeSet;

use kube_codegen_openapi::{Resource, Verbs};
use proc_macro2::TokenStream;
use quote::quote;

use crate::naming::{gv_accessor, gv_informers_name};
use crate::plan::{Item, Plan, ResourcePlan, module_path};
use crate::rust_names::ident;
use crate::settings::Artifact;
use crate::typespace::ModPath;

/// Informers need a list and a watch.
fn informable(r: &Resource) -> bool {
    r.verbs.contains(Verbs::LIST) && r.verbs.contains(Verbs::WATCH)
}

fn item(module: &ModPath, name: String, tokens: TokenStream) -> Item {
    Item { module: module.clone(), name, tokens, ws: None, uses_rt: false }
}

/// The listers, informers and factory items the settings ask for.
pub fn items(plan: &Plan, emit: &BTreeSet<Artifact>) -> Vec<Item> {
    let runtime = &plan.runtime;
    let (listers, informers) = (emit.contains(&Artifact::Listers), emit.contains(&Artifact::Informers));
    let mut out = Vec::new();
    let mut factory_modules = Vec::new();
    for (module, list) in &plan.modules {
        let mut accessors = Vec::new();
        for ResourcePlan { resource: r, object, names, deprecated, .. } in
            list.iter().filter(|t| informable(t.resource))
        {
            let plural = &r.plural;
            if listers {
                let name = names.lister.clone();
                let id = ident(&name);
                let doc = if r.scope == kube_codegen_openapi::Scope::Namespaced {
                    format!(
                        " Reads of the cached `{plural}`: `namespace(ns).get(name)`, `list(&selector)`, `by_index`."
                    )
                } else {
                    format!(" Reads of the cached `{plural}`: `get(name)`, `list(&selector)`, `by_index`.")
                };
                let tokens = quote! {
                    #[doc = #doc]
                    #deprecated
                    pub type #id = #runtime::informer::Lister<#object>;
                };
                out.push(item(module, name, tokens));
            }
            if informers {
                let name = names.informer.clone();
                let id = ident(&name);
                let doc = format!(" The shared informer of `{plural}`: its `informer()` and a `lister()`.");
                let tokens = quote! {
                    #[doc = #doc]
                    #deprecated
                    pub type #id = #runtime::informer::Informer<#object>;
                };
                out.push(item(module, name, tokens));
                let method = ident(&names.accessor);
                let doc = format!(" The informer of `{plural}`, the same one each time.");
                accessors.push(quote! {
                    #[doc = #doc]
                    #deprecated
                    #[inline]
                    pub fn #method(&self) -> #id {
                        #runtime::informer::Informer::new(self.0.informer_for::<#object>())
                    }
                });
                let method = ident(&names.metadata_accessor());
                let doc = format!(
                    " The metadata-only informer of `{plural}` (`PartialObjectMetadata`: no spec or status on the wire or in its cache), the same one each time."
                );
                accessors.push(quote! {
                    #[doc = #doc]
                    #deprecated
                    #[inline]
                    pub fn #method(&self) -> #runtime::informer::Informer<#runtime::client::PartialObjectMeta<#object>> {
                        #runtime::informer::Informer::new(self.0.metadata_for::<#object>())
                    }
                });
            }
        }
        if !accessors.is_empty() {
            let name = gv_informers_name(module);
            let id = ident(&name);
            let doc = format!(" The informers of `{}`, from a factory.", module.join("::"));
            let tokens = quote! {
                #[doc = #doc]
                #[derive(Clone, Copy)]
                pub struct #id<'a>(&'a #runtime::informer::SharedInformerFactory);

                impl<'a> #id<'a> {
                    /// The informers of this group-version made by `factory`.
                    #[inline]
                    pub fn new(factory: &'a #runtime::informer::SharedInformerFactory) -> Self {
                        Self(factory)
                    }
                    #(#accessors)*
                }
            };
            out.push(item(module, name, tokens));
            factory_modules.push(module.clone());
        }
    }
    if !factory_modules.is_empty() {
        out.push(factory(runtime, &factory_modules));
    }
    out
}

fn factory(runtime: &syn::Path, modules: &[ModPath]) -> Item {
    let accessors = modules.iter().map(|m| {
        let method = ident(&gv_accessor(m));
        let path = module_path(m);
        let ty = ident(&gv_informers_name(m));
        let doc = format!(" The `{}` informers.", m.join("::"));
        quote! {
            #[doc = #doc]
            #[inline]
            pub fn #method(&self) -> #path::#ty<'_> {
                #path::#ty::new(&self.0)
            }
        }
    });
    let tokens = quote! {
        /// Shared informers for every resource generated here that can be listed and watched,
        /// by group-version: `factory.apps_v1().deployments()`. It dereferences to the runtime's
        /// factory for `start()`, `wait_for_cache_sync()`, `shutdown()` and `informer_for::<K>()`.
        pub struct SharedInformerFactory(#runtime::informer::SharedInformerFactory);

        impl SharedInformerFactory {
            /// A factory on `client` watching every namespace, with default options.
            pub fn new(client: #runtime::client::Client) -> Self {
                Self(#runtime::informer::SharedInformerFactory::new(client))
            }

            /// A factory with options set on the runtime's factory (namespace, transform,
            /// resync, selectors, streaming lists).
            pub fn with(factory: #runtime::informer::SharedInformerFactory) -> Self {
                Self(factory)
            }
            #(#accessors)*
        }

        impl std::ops::Deref for SharedInformerFactory {
            type Target = #runtime::informer::SharedInformerFactory;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }
    };
    item(&Vec::new(), "SharedInformerFactory".into(), tokens)
}
