//! Apply configurations of hand-written structs: `<Name>Apply`, every field optional, with the
//! JSON names serde gives the struct's fields, written by the runtime's `apply!`.
//!
//! A derive sees only the struct it is on, so a field's value is sent whole (and owned whole)
//! unless the field says `#[apply(nested)]`: then its type (through `Option`, `Vec`, maps and
//! `Box`) must derive `Apply` too, and the field holds that type's configuration.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;

/// Field names that would hide a method of the configuration (its constructor, extractors and
/// trait methods), as in generated code: such a field (and its setter) gets a `2` after its name.
/// The same list as codegen's `typespace/apply.rs`, which this crate does not depend on without
/// its `client` feature.
const RESERVED: &[&str] = &[
    "new",
    "extract",
    "extract_status",
    "default",
    "clone",
    "clone_from",
    "eq",
    "ne",
    "fmt",
    "serialize",
    "deserialize",
];

/// What `#[apply(...)]` says on a struct.
#[derive(Default)]
pub struct ContainerAttrs {
    /// `#[apply(nested_status)]`: the status type derives `Apply` too.
    pub nested_status: bool,
    /// `#[apply(crate = "path")]`: the runtime's path, for `#[derive(Apply)]`.
    pub krate: Option<syn::Path>,
}

/// `#[apply(...)]` on the struct.
pub fn container_attrs(attrs: &[syn::Attribute]) -> syn::Result<ContainerAttrs> {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("apply")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("nested_status") {
                out.nested_status = true;
                Ok(())
            } else if meta.path.is_ident("crate") {
                let text: syn::LitStr = meta.value()?.parse()?;
                out.krate = Some(text.parse()?);
                Ok(())
            } else {
                Err(meta.error("expected `nested_status` or `crate = \"...\"` in `#[apply(...)]` on a struct"))
            }
        })?;
    }
    Ok(out)
}

/// The apply configuration of `input`, a struct with named fields: its name and its items.
/// `None` when serde does not write the struct as its fields (`flatten`, `transparent`, a
/// tuple struct): a configuration that holds it then holds it whole.
pub fn struct_apply(
    input: &syn::DeriveInput,
    rt: &TokenStream,
    derives: &[&syn::Path],
) -> syn::Result<Option<(syn::Ident, TokenStream)>> {
    let syn::Data::Struct(data) = &input.data else { return Ok(None) };
    let syn::Fields::Named(named) = &data.fields else { return Ok(None) };
    let serde = serde_attrs(&input.attrs)?;
    if serde.opaque {
        return Ok(None);
    }
    let name = format_ident!("{}Apply", input.ident);
    let vis = &input.vis;
    let mut fields = Vec::new();
    let mut entries = Vec::new();
    for field in &named.named {
        let Some(ident) = &field.ident else { continue };
        let own = serde_attrs(&field.attrs)?;
        if own.opaque {
            return Ok(None);
        }
        if own.skip {
            continue;
        }
        let nested = field_nested(&field.attrs)?;
        let json = own.rename.unwrap_or_else(|| rename(&ident.to_string(), serde.rename_all.as_deref()));
        let field_ident =
            if RESERVED.contains(&ident.to_string().as_str()) { format_ident!("{ident}2") } else { ident.clone() };
        let ty = strip_option(&field.ty);
        let (mode, element) = match wrapper(ty) {
            Some(("Vec", inner)) => ("list", configured(inner, nested, rt)),
            Some(("BTreeMap" | "HashMap", inner)) => ("map", configured(inner, nested, rt)),
            // A nested configuration or a number is taken exactly: no conversion to offer
            // (a `Box` has one, from what it holds), and a setter that is not generic costs
            // less to compile.
            None if nested || is_primitive(ty) => ("exact", configured(ty, nested, rt)),
            _ => ("value", configured(ty, nested, rt)),
        };
        let declared = match mode {
            "list" => quote!(::core::option::Option<::std::vec::Vec<#element>>),
            "map" => quote!(::core::option::Option<::std::collections::BTreeMap<::std::string::String, #element>>),
            _ => quote!(::core::option::Option<#element>),
        };
        let docs = field.attrs.iter().filter(|a| a.path().is_ident("doc"));
        fields.push(quote! { #(#docs)* pub #field_ident: #declared, });
        let mode = format_ident!("{mode}");
        entries.push(quote! { #json => #field_ident: #element [#mode], });
    }
    let doc = format!(" The apply configuration of [`{}`]: only the fields set are sent.", input.ident);
    let tokens = quote! {
        #[doc = #doc]
        // A field without docs is the user's to document, on their own struct.
        #[allow(missing_docs)]
        #[derive(Clone #(, #derives)*)]
        #vis struct #name {
            #(#fields)*
        }
        #rt::apply! {
            #name {
                #(#entries)*
            }
        }
    };
    Ok(Some((name, tokens)))
}

/// `#[derive(Apply)]`: the configuration and the `ApplyType` impl that lets a parent's
/// `#[apply(nested)]` field name it.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let attrs = match container_attrs(&input.attrs) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error(),
    };
    let rt = attrs.krate.map(|p| quote!(#p)).unwrap_or_else(|| quote!(::kube_codegen_runtime));
    let ty = &input.ident;
    match struct_apply(&input, &rt, &[]) {
        Ok(Some((name, tokens))) => quote! {
            #tokens
            impl #rt::apply::ApplyType for #ty {
                type Apply = #name;
            }
        },
        Ok(None) => syn::Error::new(
            input.ident.span(),
            "`Apply` derives for structs with named fields that serde writes as their fields (no `flatten`, no `transparent`)",
        )
        .to_compile_error(),
        Err(e) => e.to_compile_error(),
    }
}

/// `ty`, or with `nested` its configuration through `Option`, `Vec`, maps and `Box`.
fn configured(ty: &syn::Type, nested: bool, rt: &TokenStream) -> TokenStream {
    if !nested {
        return quote!(#ty);
    }
    match wrapper(ty) {
        Some(("Vec", inner)) => {
            let inner = configured(inner, true, rt);
            quote!(::std::vec::Vec<#inner>)
        }
        Some(("BTreeMap" | "HashMap", inner)) => {
            let inner = configured(inner, true, rt);
            quote!(::std::collections::BTreeMap<::std::string::String, #inner>)
        }
        Some(("Option", inner)) => {
            let inner = configured(inner, true, rt);
            quote!(::core::option::Option<#inner>)
        }
        Some(("Box", inner)) => {
            let inner = configured(inner, true, rt);
            quote!(::std::boxed::Box<#inner>)
        }
        _ => quote!(<#ty as #rt::apply::ApplyType>::Apply),
    }
}

/// A boolean or an integer type, written as one identifier.
fn is_primitive(ty: &syn::Type) -> bool {
    const PRIMITIVES: &[&str] =
        &["bool", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize"];
    matches!(ty, syn::Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some_and(|i| PRIMITIVES.iter().any(|n| i == n)))
}

/// `T` of `Option<T>`, else the type.
fn strip_option(ty: &syn::Type) -> &syn::Type {
    match wrapper(ty) {
        Some(("Option", inner)) => inner,
        _ => ty,
    }
}

/// A container type by its last segment (`Vec`, `Option`, `Box`, `BTreeMap`, `HashMap`) and the
/// type of its elements (a map's values).
fn wrapper(ty: &syn::Type) -> Option<(&'static str, &syn::Type)> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let name = ["Vec", "Option", "Box", "BTreeMap", "HashMap"].into_iter().find(|n| last.ident == n)?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    let types: Vec<&syn::Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    let element = if name.ends_with("Map") { types.get(1)? } else { types.first()? };
    Some((name, element))
}

/// Whether a field says `#[apply(nested)]`.
fn field_nested(attrs: &[syn::Attribute]) -> syn::Result<bool> {
    let mut nested = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("apply")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("nested") {
                nested = true;
                Ok(())
            } else {
                Err(meta.error("expected `nested` in `#[apply(...)]` on a field"))
            }
        })?;
    }
    Ok(nested)
}

/// What serde's attributes say of a struct or field's JSON.
#[derive(Default)]
struct Serde {
    rename: Option<String>,
    rename_all: Option<String>,
    skip: bool,
    /// `flatten` or `transparent`: not written as named fields.
    opaque: bool,
}

fn serde_attrs(attrs: &[syn::Attribute]) -> syn::Result<Serde> {
    let mut out = Serde::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            let name = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            match name.as_str() {
                "rename" | "rename_all" if meta.input.peek(syn::Token![=]) => {
                    let value: syn::LitStr = meta.value()?.parse()?;
                    *(if name == "rename" { &mut out.rename } else { &mut out.rename_all }) = Some(value.value());
                }
                "skip" | "skip_serializing" => out.skip = true,
                "flatten" | "transparent" => out.opaque = true,
                _ => {}
            }
            skip_rest(&meta)
        })
        .map_err(|e| syn::Error::new(attr.span(), format!("cannot read this serde attribute: {e}")))?;
    }
    Ok(out)
}

/// Consumes what follows a serde attribute name this derive does not need (`= value` or
/// `(...)`).
fn skip_rest(meta: &syn::meta::ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_rest(&inner))?;
    }
    Ok(())
}

/// A Rust field name as serde's `rename_all` writes it.
fn rename(field: &str, rule: Option<&str>) -> String {
    let field = field.strip_prefix("r#").unwrap_or(field);
    let words: Vec<&str> = field.split('_').filter(|w| !w.is_empty()).collect();
    let capital = |w: &str| {
        let mut c = w.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
    };
    match rule {
        Some("camelCase") => {
            words.iter().enumerate().map(|(i, w)| if i == 0 { (*w).to_owned() } else { capital(w) }).collect()
        }
        Some("PascalCase") => words.iter().map(|w| capital(w)).collect(),
        Some("lowercase") => field.to_lowercase(),
        Some("UPPERCASE") => field.to_uppercase(),
        Some("SCREAMING_SNAKE_CASE") => field.to_uppercase(),
        Some("kebab-case") => field.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => field.replace('_', "-").to_uppercase(),
        _ => field.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names() {
        assert_eq!(rename("spec_replicas", Some("camelCase")), "specReplicas");
        assert_eq!(rename("r#type", Some("camelCase")), "type");
        assert_eq!(rename("a_b", Some("PascalCase")), "AB");
        assert_eq!(rename("a_b", Some("kebab-case")), "a-b");
        assert_eq!(rename("a_b", None), "a_b");
    }
}
