//! Emits the items of a [`TypeSpace`] as tokens, one module at a time.

use proc_macro2::TokenStream;
use quote::quote;

use crate::rust_names::ident;
use crate::typespace::{EnumDef, Field, ItemKind, ModPath, ResourceInfo, StructDef, Ty, TypeSpace};

/// The tokens of one item, which is in `module`.
pub fn item(ts: &TypeSpace, id: usize) -> TokenStream {
    let item = &ts.items[id];
    let name = ident(&item.name);
    let docs = doc_attrs(item.docs.as_deref(), &format!("Generated from the schema of `{}`.", item.name));
    let note = item.rename_note.as_deref().map(|n| quote!(#[doc = ""] #[doc = #n]));
    match &item.kind {
        ItemKind::Struct(s) => structure(ts, &item.module, &name, quote!(#docs #note), s),
        ItemKind::Enum(e) => enumeration(&name, quote!(#docs #note), e),
        ItemKind::Alias(ty) => {
            let ty = render(ts, &item.module, ty);
            quote! { #docs #note pub type #name = #ty; }
        }
        ItemKind::ReExport(path) => {
            let path: syn::Path = syn::parse_str(path).expect("k8s-openapi paths are valid Rust paths");
            let last = path.segments.last().map(|s| s.ident.to_string());
            if last.as_deref() == Some(item.name.as_str()) {
                quote! { pub use #path; }
            } else {
                quote! { pub use #path as #name; }
            }
        }
    }
}

/// `#[doc = ...]` lines; text goes into string literals, so no description can end a comment
/// or inject code.
fn doc_attrs(docs: Option<&str>, fallback: &str) -> TokenStream {
    let text = docs.filter(|d| !d.trim().is_empty()).unwrap_or(fallback);
    let lines = text.lines().map(|l| format!(" {l}"));
    quote! { #(#[doc = #lines])* }
}

/// `a::b::C` as tokens, without a parser: extern paths are plain `::`-separated names.
fn path_tokens(path: &str) -> TokenStream {
    let segments = path.split("::").map(ident);
    quote!(#(#segments)::*)
}

/// A type expression as written in `from`.
pub fn render(ts: &TypeSpace, from: &ModPath, ty: &Ty) -> TokenStream {
    match ty {
        Ty::Local(id) => {
            let to = &ts.items[*id];
            let common = from.iter().zip(&to.module).take_while(|(a, b)| a == b).count();
            let supers = (common..from.len()).map(|_| quote!(super));
            let down = to.module[common..].iter().map(|m| ident(m));
            let name = ident(&to.name);
            quote! { #(#supers::)* #(#down::)* #name }
        }
        Ty::Extern(path) => path_tokens(path),
        Ty::Vec(inner) => {
            let inner = render(ts, from, inner);
            quote!(Vec<#inner>)
        }
        Ty::Map(inner) => {
            let inner = render(ts, from, inner);
            quote!(std::collections::BTreeMap<String, #inner>)
        }
        Ty::Option(inner) => {
            let inner = render(ts, from, inner);
            quote!(Option<#inner>)
        }
        Ty::Boxed(inner) => {
            let inner = render(ts, from, inner);
            quote!(Box<#inner>)
        }
    }
}

fn field_tokens(ts: &TypeSpace, module: &ModPath, f: &Field) -> TokenStream {
    let name = ident(&f.ident);
    let json = &f.json;
    let docs = doc_attrs(f.docs.as_deref(), &format!("The `{json}` field."));
    let ty = render(ts, module, &f.ty);
    if f.optional {
        quote! {
            #docs
            #[serde(rename = #json, default, skip_serializing_if = "Option::is_none")]
            pub #name: Option<#ty>,
        }
    } else if matches!(f.ty, Ty::Vec(_) | Ty::Map(_)) {
        // Go writes a nil slice or map as `null` even where the field is required.
        let helper = null_as_default_path(module);
        quote! {
            #docs
            #[serde(rename = #json, default, deserialize_with = #helper)]
            pub #name: #ty,
        }
    } else {
        quote! {
            #docs
            #[serde(rename = #json)]
            pub #name: #ty,
        }
    }
}

/// The module at the generated root that holds serde helpers.
pub const HELPERS: &str = "__serde";

/// The path of the `null_as_default` helper as seen from `module`.
fn null_as_default_path(module: &ModPath) -> String {
    let mut path: Vec<&str> = module.iter().map(|_| "super").collect();
    path.extend([HELPERS, "null_as_default"]);
    path.join("::")
}

/// Whether an item needs the root's serde helpers.
pub fn needs_helpers(ts: &TypeSpace, id: usize) -> bool {
    match &ts.items[id].kind {
        ItemKind::Struct(s) => s.fields.iter().any(|f| !f.optional && matches!(f.ty, Ty::Vec(_) | Ty::Map(_))),
        _ => false,
    }
}

/// The helper module at the generated root.
pub fn helpers() -> TokenStream {
    let name = ident(HELPERS);
    quote! {
        #[doc(hidden)]
        mod #name {
            /// Reads `null` as the type's default: Go writes nil slices and maps as `null`.
            pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
            where
                D: serde::Deserializer<'de>,
                T: Default + serde::Deserialize<'de>,
            {
                Ok(<Option<T> as serde::Deserialize>::deserialize(deserializer)?.unwrap_or_default())
            }
        }
    }
}

fn structure(ts: &TypeSpace, module: &ModPath, name: &syn::Ident, docs: TokenStream, s: &StructDef) -> TokenStream {
    let fields = s.fields.iter().map(|f| field_tokens(ts, module, f));
    let unknown = s.unknown_fields.as_ref().map(|u| {
        let u = ident(u);
        quote! {
            /// Fields the schema does not name, kept as they are (`x-kubernetes-preserve-unknown-fields`).
            #[serde(flatten)]
            pub #u: std::collections::BTreeMap<String, serde_json::Value>,
        }
    });
    let default = s.default.then(|| quote!(Default,));
    match &s.resource {
        None => quote! {
            #docs
            #[derive(Clone, Debug, #default PartialEq, serde::Serialize, serde::Deserialize)]
            pub struct #name {
                #(#fields)*
                #unknown
            }
        },
        Some(r) => {
            let impls = resource_impls(name, r);
            let serialize = root_serialize(name, s);
            quote! {
                #docs
                #[derive(Clone, Debug, #default PartialEq, serde::Deserialize)]
                pub struct #name {
                    #(#fields)*
                    #unknown
                }
                #impls
                #serialize
            }
        }
    }
}

/// `k8s_openapi::{Resource, ListableResource, Metadata}`, so `kube::Api<T>` takes the type.
fn resource_impls(name: &syn::Ident, r: &ResourceInfo) -> TokenStream {
    let ResourceInfo { group, version, kind, plural, namespaced, list_kind } = r;
    let api_version = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
    let scope = if *namespaced { quote!(NamespaceResourceScope) } else { quote!(ClusterResourceScope) };
    let list = list_kind.as_ref().map(|l| {
        quote! {
            impl k8s_openapi::ListableResource for #name {
                const LIST_KIND: &'static str = #l;
            }
        }
    });
    quote! {
        impl k8s_openapi::Resource for #name {
            const API_VERSION: &'static str = #api_version;
            const GROUP: &'static str = #group;
            const KIND: &'static str = #kind;
            const VERSION: &'static str = #version;
            const URL_PATH_SEGMENT: &'static str = #plural;
            type Scope = k8s_openapi::#scope;
        }
        #list
        impl k8s_openapi::Metadata for #name {
            type Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }
    }
}

/// A resource serialises its `apiVersion` and `kind` from its constants, then its fields.
fn root_serialize(name: &syn::Ident, s: &StructDef) -> TokenStream {
    let entries = s.fields.iter().map(|f| {
        let field = ident(&f.ident);
        let json = &f.json;
        if f.optional {
            quote! {
                if let Some(value) = &self.#field {
                    map.serialize_entry(#json, value)?;
                }
            }
        } else {
            quote! { map.serialize_entry(#json, &self.#field)?; }
        }
    });
    let unknown = s.unknown_fields.as_ref().map(|u| {
        let u = ident(u);
        quote! {
            for (key, value) in &self.#u {
                if key != "apiVersion" && key != "kind" {
                    map.serialize_entry(key, value)?;
                }
            }
        }
    });
    quote! {
        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("apiVersion", <Self as k8s_openapi::Resource>::API_VERSION)?;
                map.serialize_entry("kind", <Self as k8s_openapi::Resource>::KIND)?;
                #(#entries)*
                #unknown
                map.end()
            }
        }
    }
}

/// An enum with one variant per schema value and a catch-all for values a newer server sends.
fn enumeration(name: &syn::Ident, docs: TokenStream, e: &EnumDef) -> TokenStream {
    let idents: Vec<proc_macro2::Ident> = e.variants.iter().map(|v| ident(&v.ident)).collect();
    let variant_docs = e.variants.iter().map(|v| format!(" `{}`", v.value));
    let (other_ty, as_fn, as_ty, values, serialize, deserialize) = if e.integer {
        let values: Vec<i64> = e.variants.iter().map(|v| v.value.as_i64().expect("integer enum")).collect();
        (
            quote!(i64),
            quote!(as_i64),
            quote!(i64),
            values
                .iter()
                .map(|v| {
                    let lit = proc_macro2::Literal::i64_unsuffixed(*v);
                    quote!(#lit)
                })
                .collect::<Vec<_>>(),
            quote!(serializer.serialize_i64(self.as_i64())),
            quote! {
                let value = <i64 as serde::Deserialize>::deserialize(deserializer)?;
                Ok(match value {
                    #(#values => Self::#idents,)*
                    other => Self::Other(other),
                })
            },
        )
    } else {
        let values: Vec<&str> = e.variants.iter().map(|v| v.value.as_str().expect("string enum")).collect();
        (
            quote!(String),
            quote!(as_str),
            quote!(&str),
            values.iter().map(|v| quote!(#v)).collect::<Vec<_>>(),
            quote!(serializer.serialize_str(self.as_str())),
            quote! {
                let value = <String as serde::Deserialize>::deserialize(deserializer)?;
                Ok(match value.as_str() {
                    #(#values => Self::#idents,)*
                    _ => Self::Other(value),
                })
            },
        )
    };
    let other_value = if e.integer { quote!(*other) } else { quote!(other) };
    let derives = if e.integer {
        quote!(Clone, Copy, Debug, PartialEq, Eq, Hash)
    } else {
        quote!(Clone, Debug, PartialEq, Eq, Hash)
    };
    let default = e.default.map(|i| {
        let v = &idents[i];
        quote! {
            impl Default for #name {
                fn default() -> Self {
                    Self::#v
                }
            }
        }
    });
    quote! {
        #docs
        #[derive(#derives)]
        pub enum #name {
            #( #[doc = #variant_docs] #idents, )*
            /// A value this schema does not list, kept as it is.
            Other(#other_ty),
        }

        impl #name {
            /// The value as the API writes it.
            pub fn #as_fn(&self) -> #as_ty {
                match self {
                    #(Self::#idents => #values,)*
                    Self::Other(other) => #other_value,
                }
            }
        }

        #default

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                #serialize
            }
        }

        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #deserialize
            }
        }
    }
}
