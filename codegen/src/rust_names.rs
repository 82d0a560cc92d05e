//! Rust identifiers from JSON names: type names, field names, enum variants.

use proc_macro2::{Ident, Span};

/// Words that are keywords in some edition; raw identifiers where allowed, `_` suffixed where not.
pub(crate) const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Splits a JSON name into words: at non-alphanumerics, lower->upper steps, and the end of an
/// acronym (`HTTPRoute` -> `HTTP`, `Route`).
pub fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&prev) = current.chars().last().as_ref() {
            // `IPs` is a plural acronym, not `I` + `Ps`.
            let plural = chars.get(i + 1) == Some(&'s') && !chars.get(i + 2).is_some_and(|n| n.is_ascii_lowercase());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()) && !plural;
            let boundary = (c.is_ascii_uppercase() && (prev.is_ascii_lowercase() || prev.is_ascii_digit()))
                || (c.is_ascii_uppercase() && prev.is_ascii_uppercase() && next_lower);
            if boundary {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `UpperCamelCase`; empty when `text` has no alphanumerics. The rest of each word stays as
/// written, so `podIP` becomes `PodIP`.
pub fn pascal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in words(text) {
        let mut c = w.chars();
        if let Some(first) = c.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(c.as_str());
        }
    }
    out
}

/// `snake_case`; empty when `text` has no alphanumerics.
pub fn snake(text: &str) -> String {
    words(text).iter().map(|w| w.to_ascii_lowercase()).collect::<Vec<_>>().join("_")
}

/// A field identifier for a JSON property name: snake_case, keywords as raw identifiers,
/// `field_` prefixed when it would start with a digit or be empty.
pub fn field_ident(json: &str) -> String {
    let mut s = snake(json);
    if s.is_empty() {
        s = "field".to_owned();
    } else if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "field_");
    }
    s
}

/// A type or variant name: PascalCase, `X` prefixed when it would start with a digit.
pub fn type_ident(text: &str, empty: &str) -> String {
    let mut s = pascal(text);
    if s.is_empty() {
        s = empty.to_owned();
    } else if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'V');
    }
    s
}

/// The one way any name becomes an [`Ident`]: characters an identifier cannot hold become
/// `_`, a leading digit gets a `_` before it, an empty name is `_empty`, and keywords are raw
/// identifiers where Rust allows that (`r#type`) and `_`-suffixed where it does not (`self_`).
/// The name-making functions above already give clean names; this keeps any other string
/// from reaching `Ident::new`, which panics on what is not an identifier.
pub fn ident(name: &str) -> Ident {
    let mut clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if clean.is_empty() {
        clean.push_str("_empty");
    } else if clean.starts_with(|c: char| c.is_ascii_digit()) {
        clean.insert(0, '_');
    }
    match clean.as_str() {
        "self" | "Self" | "super" | "crate" | "_" => Ident::new(&format!("{clean}_"), Span::call_site()),
        n if KEYWORDS.contains(&n) => Ident::new_raw(n, Span::call_site()),
        n => Ident::new(n, Span::call_site()),
    }
}

/// Names from Rust's prelude that generated code writes, and their full paths.
const PRELUDE: &[(&str, &str)] = &[
    ("Option", "::core::option::Option"),
    ("String", "::std::string::String"),
    ("Vec", "::std::vec::Vec"),
    ("Box", "::std::boxed::Box"),
    ("Default", "::core::default::Default"),
    ("Into", "::core::convert::Into"),
    ("IntoIterator", "::core::iter::IntoIterator"),
    // Primitive types are names too: a type of the module called `bool` shadows them.
    ("bool", "::core::primitive::bool"),
    ("i32", "::core::primitive::i32"),
    ("i64", "::core::primitive::i64"),
    ("f64", "::core::primitive::f64"),
    ("str", "::core::primitive::str"),
];

/// Whether `name` is a prelude name generated code writes.
pub fn is_prelude(name: &str) -> bool {
    PRELUDE.iter().any(|(n, _)| *n == name)
}

/// Whether a module with these type names shadows a prelude name generated code writes.
pub fn shadows_prelude(names: &std::collections::BTreeSet<String>) -> bool {
    PRELUDE.iter().any(|(n, _)| names.contains(*n))
}

/// How one module writes the prelude's names: plainly, or by full path where a type of the
/// module shadows them (a CRD whose kind is `Option` or `String`).
#[derive(Clone, Debug, Default)]
pub struct Prelude {
    shadowed: Vec<&'static str>,
}

impl Prelude {
    /// The prelude of a module in which `defined(name)` says whether a type is called `name`.
    pub fn new(defined: impl Fn(&str) -> bool) -> Prelude {
        Prelude { shadowed: PRELUDE.iter().map(|(n, _)| *n).filter(|n| defined(n)).collect() }
    }

    /// `name` as this module must write it (text).
    pub fn text(&self, name: &'static str) -> &'static str {
        match PRELUDE.iter().find(|(n, _)| *n == name) {
            Some((_, path)) if self.shadowed.contains(&name) => path,
            _ => name,
        }
    }

    /// A type's path as this module must write it, when it is a prelude name the module
    /// shadows (`String` where a kind is called `String`).
    pub fn shadowed(&self, name: &str) -> Option<&'static str> {
        PRELUDE.iter().find(|(n, _)| *n == name && self.shadowed.contains(n)).map(|(_, path)| *path)
    }

    /// `name` as this module must write it (tokens).
    pub fn path(&self, name: &'static str) -> proc_macro2::TokenStream {
        let mut tokens = proc_macro2::TokenStream::new();
        for (i, segment) in self.text(name).split("::").enumerate() {
            if i > 0 {
                tokens.extend(quote::quote!(::));
            }
            if !segment.is_empty() {
                tokens.extend([proc_macro2::TokenTree::from(ident(segment))]);
            }
        }
        tokens
    }
}

/// The first name in `base`, `base2`, `base3`, ... that `taken` rejects.
pub fn unique(base: &str, mut taken: impl FnMut(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2..).map(|n| format!("{base}{n}")).find(|c| !taken(c)).expect("an unused suffix exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_like_a_person() {
        assert_eq!(words("HTTPRoute"), ["HTTP", "Route"]);
        assert_eq!(words("podIPs"), ["pod", "IPs"]);
        assert_eq!(words("x-kubernetes-foo"), ["x", "kubernetes", "foo"]);
        assert_eq!(words("$ref"), ["ref"]);
        assert_eq!(words("ipv4"), ["ipv4"]);
        assert_eq!(words("clusterIPs"), ["cluster", "IPs"]);
        assert_eq!(words("URLsAllowed"), ["URLs", "Allowed"]);
        assert_eq!(words("HTTPSettings"), ["HTTP", "Settings"]);
    }

    #[test]
    fn names() {
        assert_eq!(pascal("privateKey"), "PrivateKey");
        assert_eq!(pascal("podIP"), "PodIP");
        assert_eq!(snake("podIPs"), "pod_ips");
        assert_eq!(snake("apiVersion"), "api_version");
        assert_eq!(field_ident("-"), "field");
        assert_eq!(field_ident("3d"), "field_3d");
        assert_eq!(field_ident("$ref"), "ref");
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(type_ident("", "Empty"), "Empty");
        assert_eq!(type_ident("1.0", "Empty"), "V10");
        assert_eq!(unique("A", |n| n == "A" || n == "A2"), "A3");
        assert_eq!(ident("my-widgets").to_string(), "my_widgets");
        assert_eq!(ident("Foo-Bar").to_string(), "Foo_Bar");
        assert_eq!(ident("").to_string(), "_empty");
        assert_eq!(ident("3d").to_string(), "_3d");
        assert_eq!(ident("a.b/c").to_string(), "a_b_c");
        assert_eq!(ident("Δ").to_string(), "__");
    }

    #[test]
    fn prelude_names_are_qualified_only_where_shadowed() {
        let p = Prelude::new(|n| n == "Option");
        assert_eq!(p.text("Option"), "::core::option::Option");
        assert_eq!(p.text("String"), "String");
        assert_eq!(p.path("Option").to_string(), ":: core :: option :: Option");
    }
}
