//! Emits the items of a [`TypeSpace`] as tokens, one module at a time.

use proc_macro2::TokenStream;
use quote::quote;

use crate::rust_names::{Prelude, ident};
use crate::typespace::{
    Apply, EnumDef, Field, ItemKind, MAP, ModPath, ResourceInfo, StructDef, Ty, TypeSpace, extern_path,
};

/// The tokens of one item, and for a struct or an enum the text of its runtime macro
/// invocation, which is laid out here because a formatter cannot lay out a macro's body
/// (`runtime` is the runtime's path as text).
pub fn item(ts: &TypeSpace, runtime: &str, id: usize) -> (TokenStream, Option<String>) {
    let tokens = item_tokens(ts, id);
    let trailer = match &ts.items[id].kind {
        ItemKind::Struct(s) if s.apply.is_some() => {
            Some(apply_struct(ts, id, s) + &apply(ts, runtime, &ts.items[id].module, &ts.items[id].name, s))
        }
        ItemKind::Struct(s) => {
            let resource = s.resource.as_ref().map(|r| resource(runtime, &ts.items[id].name, r)).unwrap_or_default();
            Some(resource + &object(ts, runtime, &ts.items[id].module, &ts.items[id].name, s))
        }
        ItemKind::Enum(e) => Some(enum_invocation(runtime, &ts.items[id].name, e)),
        _ => None,
    };
    (tokens, trailer)
}

fn item_tokens(ts: &TypeSpace, id: usize) -> TokenStream {
    let item = &ts.items[id];
    if matches!(&item.kind, ItemKind::Struct(s) if s.apply.is_some()) {
        // Written as text by `apply_struct`.
        return TokenStream::new();
    }
    let name = ident(&item.name);
    // A resource without a description is still introduced: where it is served and how.
    let resource_doc = match &item.kind {
        ItemKind::Struct(StructDef { resource: Some(r), .. }) => {
            let gv = if r.group.is_empty() { r.version.clone() } else { format!("{}/{}", r.group, r.version) };
            let scope = if r.namespaced { "namespaced" } else { "cluster-scoped" };
            Some(format!("A `{}` of `{gv}`: `{}`, {scope}.", r.kind, r.plural))
        }
        _ => None,
    };
    let docs = doc_attrs(item.docs.as_deref().or(resource_doc.as_deref()));
    let note = item.rename_note.as_deref().map(|n| {
        let n = format!(" {n}");
        // A paragraph of its own after a description; the whole doc without one.
        if docs.is_empty() { quote!(#[doc = #n]) } else { quote!(#[doc = ""] #[doc = #n]) }
    });
    match &item.kind {
        ItemKind::Struct(s) => structure(ts, &item.module, &name, quote!(#docs #note), s),
        ItemKind::Enum(e) => enumeration(&name, quote!(#docs #note), e, &ts.prelude(&item.module)),
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

/// `#[doc = ...]` lines of a schema's description, none without one (generated modules allow
/// `missing_docs`: a line that only repeats the name helps no reader); text goes into string
/// literals, so no description can end a comment or inject code.
fn doc_attrs(docs: Option<&str>) -> TokenStream {
    let lines = doc_lines(docs);
    quote! { #(#[doc = #lines])* }
}

/// The doc lines of a description, each as a `#[doc]` string holds it.
fn doc_lines(docs: Option<&str>) -> Vec<String> {
    let Some(text) = docs.filter(|d| !d.trim().is_empty()) else { return Vec::new() };
    // Rustdoc compiles fenced and indented code blocks as doctests: a description must not
    // open one, so fences are escaped and indentation stops short of four spaces (which
    // still indents list continuations).
    text.lines()
        .map(|l| {
            let body = l.trim_start();
            let indent = (l.len() - body.len()).min(3);
            format!(" {}{}", " ".repeat(indent), body.replace("```", "\\`\\`\\`"))
        })
        .collect()
}

/// Doc lines written as text, as the formatter prints them: `///` comments, or a `#[doc]`
/// attribute for a line a comment cannot hold (a carriage return).
fn push_docs(out: &mut String, indent: &str, lines: &[String]) {
    for line in lines {
        if line.contains('\r') {
            out.push_str(&format!("{indent}#[doc = {line:?}]\n"));
        } else {
            out.push_str(&format!("{indent}///{}\n", line.trim_end()));
        }
    }
}

/// prettyplease's line width.
const MARGIN: usize = 89;

/// A type as the formatter lays it out from column `column` on a line indented by `indent`,
/// followed by `after` characters (a field's comma): on the line when it fits, else each
/// generic argument on a line of its own (whose trailing comma the width does not count),
/// broken again where it does not fit.
fn wrap_type(ty: &str, indent: usize, column: usize, after: usize) -> String {
    let (Some(open), Some(close)) = (ty.find('<'), ty.rfind('>')) else { return ty.to_owned() };
    if column + ty.len() + after <= MARGIN || close < open {
        return ty.to_owned();
    }
    let (outer, inner) = (&ty[..open], &ty[open + 1..close]);
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(inner[start..].trim());
    let pad = " ".repeat(indent + 4);
    let mut out = format!("{outer}<\n");
    for arg in args {
        out.push_str(&format!("{pad}{},\n", wrap_type(arg, indent + 4, indent + 4, 0)));
    }
    out.push_str(&" ".repeat(indent));
    out.push('>');
    out
}

/// An apply configuration's struct as text. Its shape never varies (its docs, one derive
/// line, one optional field a line), so it is written as the formatter would print it rather
/// than built as tokens, parsed and printed: that cost as much as all the other items.
fn apply_struct(ts: &TypeSpace, id: usize, s: &StructDef) -> String {
    let item = &ts.items[id];
    let module = &item.module;
    let mut out = String::new();
    let intro = match &s.apply {
        Some(Apply::Resource(r)) => {
            let object = object_text(ts, module, &r.object);
            Some(format!("The apply configuration of a [`{object}`]: only the fields set are sent."))
        }
        _ => None,
    };
    let docs = doc_lines(item.docs.as_deref().or(intro.as_deref()));
    push_docs(&mut out, "", &docs);
    if let Some(note) = &item.rename_note {
        if !docs.is_empty() {
            out.push_str("///\n");
        }
        push_docs(&mut out, "", &[format!(" {note}")]);
    }
    if let Some(Apply::Resource(r)) = &s.apply
        && let Some(note) = &r.deprecated
    {
        let attr = format!("#[deprecated(note = {note:?})]");
        if attr.len() <= MARGIN {
            out.push_str(&format!("{attr}\n"));
        } else {
            out.push_str(&format!("#[deprecated(\n    note = {note:?}\n)]\n"));
        }
    }
    // `Default`, `Debug`, `PartialEq` and `Eq` come from `apply!` (nothing set; by the JSON
    // the configuration sends).
    out.push_str(&format!("#[derive(Clone)]\npub struct {}", ident(&item.name)));
    if s.fields.is_empty() && s.unknown_fields.is_none() {
        out.push_str(" {}\n");
        return out;
    }
    out.push_str(" {\n");
    let option = ts.prelude(module).text("Option");
    for f in &s.fields {
        push_docs(&mut out, "    ", &doc_lines(f.docs.as_deref()));
        let head = format!("    pub {}: ", ident(&f.ident));
        let ty = format!("{option}<{}>", render_text(ts, module, &f.ty));
        out.push_str(&head);
        out.push_str(&wrap_type(&ty, 4, head.len(), 1));
        out.push_str(",\n");
    }
    if let Some(u) = &s.unknown_fields {
        let map = render_text(ts, module, &Ty::Map(Box::new(Ty::Extern("serde_json::Value".into()))));
        out.push_str(&format!(
            "    /// Fields the schema does not name, kept as they are (`x-kubernetes-preserve-unknown-fields`).\n    pub {}: {map},\n",
            ident(u)
        ));
    }
    out.push_str("}\n");
    out
}

/// A type expression as written in `from`, as tokens.
pub fn render(ts: &TypeSpace, from: &ModPath, ty: &Ty) -> TokenStream {
    render_text(ts, from, ty).parse().expect("rendered types are valid Rust")
}

fn field_tokens(ts: &TypeSpace, module: &ModPath, f: &Field) -> TokenStream {
    let name = ident(&f.ident);
    let docs = doc_attrs(f.docs.as_deref());
    let ty = field_type(ts, module, f);
    quote! {
        #docs
        pub #name: #ty,
    }
}

/// A field's declared type: `Option<T>` when it may be absent.
fn field_type(ts: &TypeSpace, module: &ModPath, f: &Field) -> TokenStream {
    let ty = render(ts, module, &f.ty);
    let option = ts.prelude(module).path("Option");
    if f.optional { quote!(#option<#ty>) } else { ty }
}

/// Whether a required field reads `null` or absence as empty: Go writes nil slices and maps
/// as `null` even where the field is required.
fn empty_when_null(f: &Field) -> bool {
    !f.optional && matches!(f.ty, Ty::Vec(_) | Ty::Map(_))
}

fn structure(ts: &TypeSpace, module: &ModPath, name: &syn::Ident, docs: TokenStream, s: &StructDef) -> TokenStream {
    let fields = s.fields.iter().map(|f| field_tokens(ts, module, f));
    let prelude = ts.prelude(module);
    let unknown = s.unknown_fields.as_ref().map(|u| {
        let u = ident(u);
        let map = render(ts, module, &Ty::Map(Box::new(Ty::Extern("serde_json::Value".into()))));
        quote! {
            /// Fields the schema does not name, kept as they are (`x-kubernetes-preserve-unknown-fields`).
            pub #u: #map,
        }
    });
    // Schema defaults of required scalars make `Default` a hand-written impl.
    let schema_defaults = s.fields.iter().any(|f| f.default.is_some());
    let default = (s.default && !schema_defaults).then(|| quote!(Default,));
    let default_impl = (s.default && schema_defaults).then(|| default_impl(name, s, &prelude));
    let deprecated =
        s.resource.as_ref().and_then(|r| r.deprecated.as_deref()).map(|note| quote!(#[deprecated(note = #note)]));
    let eq = s.eq.then(|| quote!(, Eq));
    let hash = s.hash.then(|| quote!(, Hash));

    quote! {
        #docs
        #deprecated
        #[derive(Clone, Debug, #default PartialEq #eq #hash)]
        pub struct #name {
            #(#fields)*
            #unknown
        }
        #default_impl
    }
}

/// `Default` with the schema's defaults for required scalar fields.
fn default_impl(name: &syn::Ident, s: &StructDef, prelude: &Prelude) -> TokenStream {
    let default = prelude.path("Default");
    let inits = s.fields.iter().map(|f| {
        let field = ident(&f.ident);
        let value = match &f.default {
            Some(serde_json::Value::String(v)) => quote!(#v.to_owned()),
            Some(serde_json::Value::Bool(v)) => quote!(#v),
            Some(serde_json::Value::Number(n)) => match (&f.ty, n.as_i64()) {
                (Ty::Extern(t), _) if t == "f64" => {
                    let v = proc_macro2::Literal::f64_unsuffixed(n.as_f64().unwrap_or_default());
                    quote!(#v)
                }
                (_, Some(v)) => {
                    let v = proc_macro2::Literal::i64_unsuffixed(v);
                    quote!(#v)
                }
                _ => quote!(#default::default()),
            },
            _ => quote!(#default::default()),
        };
        quote!(#field: #value,)
    });
    let unknown = s.unknown_fields.as_ref().map(|u| {
        let u = ident(u);
        quote!(#u: #default::default(),)
    });
    quote! {
        impl #default for #name {
            fn default() -> Self {
                Self {
                    #(#inits)*
                    #unknown
                }
            }
        }
    }
}

/// The `resource!` invocation that gives a resource k8s-openapi's traits, so `kube::Api<T>`
/// takes it.
fn resource(runtime: &str, name: &str, r: &ResourceInfo) -> String {
    let ResourceInfo {
        group,
        version,
        kind,
        plural,
        namespaced,
        list_kind,
        custom,
        status,
        scale,
        selectable,
        lists,
        ..
    } = r;
    let api_version = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
    let scope = if *namespaced { "Namespaced" } else { "Cluster" };
    let mut out = format!(
        "{runtime}::resource! {{\n    {} {{\n        api_version: {api_version:?},\n        group: {group:?},\n        version: {version:?},\n        kind: {kind:?},\n        plural: {plural:?},\n        scope: {scope},\n",
        ident(name)
    );
    if let Some(list) = list_kind {
        out.push_str(&format!("        list_kind: {list:?},\n"));
    }
    if *custom {
        out.push_str("        custom: true,\n");
    }
    if *status {
        out.push_str("        status: true,\n");
    }
    if let Some((spec, status, selector)) = scale {
        let selector = selector.as_ref().map(|s| format!(", {s:?}")).unwrap_or_default();
        out.push_str(&format!("        scale: ({spec:?}, {status:?}{selector}),\n"));
    }
    if !selectable.is_empty() {
        let fields: Vec<String> = selectable.iter().map(|f| format!("{f:?}")).collect();
        out.push_str(&format!("        selectable: [{}],\n", fields.join(", ")));
    }
    if let Some(lists) = lists {
        // A raw string long enough that no `"#` sequence in the JSON can end it.
        let hashes = "#".repeat((1..).find(|n| !lists.contains(&format!("\"{}", "#".repeat(*n)))).unwrap_or(1));
        out.push_str(&format!("        lists: r{hashes}\"{lists}\"{hashes},\n"));
    }
    out.push_str("    }\n}\n");
    out
}

/// The `object!` invocation that gives a struct its serde impls, one field a line.
fn object(ts: &TypeSpace, runtime: &str, module: &ModPath, name: &str, s: &StructDef) -> String {
    let mut out = format!("{runtime}::object! {{\n    {}", ident(name));
    if s.resource.is_some() {
        out.push_str(" [resource]");
    }
    out.push_str(" {\n");
    for f in &s.fields {
        let mode = if f.optional {
            "optional"
        } else if empty_when_null(f) {
            "list"
        } else {
            "required"
        };
        let mut ty = render_text(ts, module, &f.ty);
        if f.optional {
            ty = format!("{}<{ty}>", ts.prelude(module).text("Option"));
        }
        field_line(&mut out, f, &ty, mode);
    }
    close_invocation(out, s)
}

/// One field of an `object!` or `apply!` invocation.
fn field_line(out: &mut String, f: &Field, ty: &str, mode: &str) {
    // `{:?}` of a str is a valid Rust string literal.
    out.push_str(&format!("        {:?} => {}: {ty} [{mode}],\n", f.json, ident(&f.ident)));
}

/// The end of an `object!` or `apply!` invocation: the field that keeps unknown fields.
fn close_invocation(mut out: String, s: &StructDef) -> String {
    out.push_str("    }\n");
    if let Some(u) = &s.unknown_fields {
        out.push_str(&format!("    keep {}\n", ident(u)));
    }
    out.push_str("}\n");
    out
}

/// The `apply!` invocation that gives an apply configuration its serde impls and setters,
/// one field a line with its mode: `value`, `exact` (the setter takes the type itself),
/// `list` (setters append) or `map` (setters insert).
fn apply(ts: &TypeSpace, runtime: &str, module: &ModPath, name: &str, s: &StructDef) -> String {
    let mut out = format!("{runtime}::apply! {{\n    {}", ident(name));
    if let Some(Apply::Resource(r)) = &s.apply {
        let scope = if r.namespaced { "Namespaced" } else { "Cluster" };
        let status = if r.status { ", extract_status = \"status\"" } else { "" };
        out.push_str(&format!(" [{}, {scope}{status}]", object_text(ts, module, &r.object)));
    }
    out.push_str(" {\n");
    for f in &s.fields {
        let (mode, ty) = match &f.ty {
            Ty::Vec(inner) => ("list", render_text(ts, module, inner)),
            Ty::Map(inner) => ("map", render_text(ts, module, inner)),
            other if takes_exactly(ts, other) => ("exact", render_text(ts, module, other)),
            other => ("value", render_text(ts, module, other)),
        };
        field_line(&mut out, f, &ty, mode);
    }
    close_invocation(out, s)
}

/// Whether a configuration's setter takes the field's type itself: a nested configuration, a
/// boolean or an integer, which nothing converts into (an `f64` is taken by `Into`, so that
/// `.weight(1)` compiles). A setter that is not generic costs less to compile.
fn takes_exactly(ts: &TypeSpace, ty: &Ty) -> bool {
    match ty {
        Ty::Extern(path) => matches!(path.as_str(), "bool" | "i32" | "i64") || path == ts.meta_apply(),
        Ty::Local(id) => {
            ts.items.get(*id).is_some_and(|item| matches!(&item.kind, ItemKind::Struct(s) if s.apply.is_some()))
        }
        _ => false,
    }
}

/// A resource's object type as `from` writes it: by the name its module re-exports it as,
/// when it is mapped to another crate's type.
pub fn object_text(ts: &TypeSpace, from: &ModPath, ty: &Ty) -> String {
    match ty {
        Ty::Extern(path) => match ts.reexport_in(from, path) {
            Some(name) => ident(name).to_string(),
            None => render_text(ts, from, ty),
        },
        _ => render_text(ts, from, ty),
    }
}

/// [`render`] as text, spaced as rustfmt would: by the name a `use` of the module imports,
/// else by path.
fn render_text(ts: &TypeSpace, from: &ModPath, ty: &Ty) -> String {
    let short = |written: String| match ts.imported(from, &written) {
        Some(name) => name.to_owned(),
        None => written,
    };
    match ty {
        Ty::Local(id) => short(ts.local_path(from, *id)),
        Ty::Extern(path) => match ts.prelude(from).shadowed(path) {
            Some(full) => full.to_owned(),
            None => short(extern_path(path)),
        },
        Ty::Vec(inner) => format!("{}<{}>", ts.prelude(from).text("Vec"), render_text(ts, from, inner)),
        Ty::Map(inner) => {
            format!("{}<{}, {}>", short(MAP.to_owned()), ts.prelude(from).text("String"), render_text(ts, from, inner))
        }
        Ty::Option(inner) => format!("{}<{}>", ts.prelude(from).text("Option"), render_text(ts, from, inner)),
        Ty::Boxed(inner) => format!("{}<{}>", ts.prelude(from).text("Box"), render_text(ts, from, inner)),
    }
}

/// An enum with one variant per schema value and a catch-all for values a newer server sends;
/// its methods and serde impls come from the runtime's `string_enum!` / `int_enum!`.
fn enumeration(name: &syn::Ident, docs: TokenStream, e: &EnumDef, prelude: &Prelude) -> TokenStream {
    let idents: Vec<proc_macro2::Ident> = e.variants.iter().map(|v| ident(&v.ident)).collect();
    let variant_docs = e.variants.iter().map(|v| format!(" `{}`", v.value));
    let other_ty = if e.integer { quote!(i64) } else { prelude.path("String") };
    let mut derives = if e.integer {
        quote!(Clone, Copy, Debug, PartialEq, Eq, Hash)
    } else {
        quote!(Clone, Debug, PartialEq, Eq, Hash)
    };
    if e.default.is_some() {
        derives = quote!(#derives, Default);
    }
    // The schema's default is the derived `Default`.
    let defaults = (0..idents.len()).map(|i| (e.default == Some(i)).then(|| quote!(#[default])));
    quote! {
        #docs
        #[derive(#derives)]
        pub enum #name {
            #( #[doc = #variant_docs] #defaults #idents, )*
            /// A value this schema does not list, kept as it is.
            Other(#other_ty),
        }
    }
}

/// The `string_enum!` / `int_enum!` invocation of an enum, one variant a line.
fn enum_invocation(runtime: &str, name: &str, e: &EnumDef) -> String {
    let which = if e.integer { "int_enum" } else { "string_enum" };
    let mut out = format!("{runtime}::{which}! {{\n    {} {{\n", ident(name));
    for v in &e.variants {
        // `{:?}` of a str is a valid Rust string literal; integers print as literals.
        let value = match &v.value {
            serde_json::Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        out.push_str(&format!("        {} = {value},\n", ident(&v.ident)));
    }
    out.push_str("    }\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apply configurations are written as text; the text must be what the formatter prints
    /// for the same struct, at every width around its margin.
    #[test]
    fn apply_fields_wrap_as_the_formatter_wraps_them() {
        for n in 40..100 {
            let long = format!("T{}", "x".repeat(n));
            for (field, ty) in [
                ("spec", format!("Option<{long}>")),
                ("preferred_during_scheduling", format!("Option<Vec<{long}>>")),
                ("labels", format!("Option<BTreeMap<String, {long}>>")),
                ("items", format!("Option<Vec<Vec<{long}>>>")),
            ] {
                let head = format!("    pub {field}: ");
                let ours = format!("pub struct S {{\n{head}{},\n}}\n", wrap_type(&ty, 4, head.len(), 1));
                let tokens: TokenStream = format!("pub struct S {{ pub {field}: {ty}, }}").parse().unwrap();
                let theirs = prettyplease::unparse(&syn::parse2(tokens).unwrap());
                assert_eq!(ours, theirs, "{field}: {ty}");
            }
        }
        let note = "x".repeat(80);
        let attr = format!("#[deprecated(\n    note = {note:?}\n)]\npub struct S {{}}\n");
        let tokens: TokenStream = format!("#[deprecated(note = {note:?})] pub struct S {{}}").parse().unwrap();
        assert_eq!(attr, prettyplease::unparse(&syn::parse2(tokens).unwrap()));
    }
}
