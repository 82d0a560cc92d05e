//! `#[kube(...)]`, as kube-derive 5 spells it, parsed with darling: every wrong attribute is
//! reported at once, at its span, with a "did you mean" where one is near.

use darling::util::{Flag, Override};
use darling::{FromDeriveInput, FromMeta};

/// The attributes of a derived custom resource.
#[derive(Debug, FromDeriveInput)]
#[darling(attributes(kube), supports(struct_named))]
pub struct KubeAttrs {
    pub ident: syn::Ident,
    pub vis: syn::Visibility,

    pub group: String,
    pub version: String,
    pub kind: String,
    #[darling(default)]
    pub root: Option<String>,
    #[darling(default)]
    pub plural: Option<String>,
    #[darling(default)]
    pub singular: Option<String>,
    #[darling(default)]
    pub namespaced: Flag,
    #[darling(default)]
    pub status: Option<syn::Path>,
    #[darling(default)]
    pub scale: Option<darling::util::SpannedValue<Scale>>,
    #[darling(default, multiple)]
    pub printcolumn: Vec<PrintColumn>,
    #[darling(default, multiple, rename = "shortname")]
    pub shortnames: Vec<String>,
    #[darling(default, multiple, rename = "category")]
    pub categories: Vec<String>,
    #[darling(default, multiple)]
    pub selectable: Vec<String>,
    #[darling(default)]
    pub doc: Option<String>,
    #[darling(default, multiple, rename = "annotation")]
    pub annotations: Vec<KeyValue>,
    #[darling(default, multiple, rename = "label")]
    pub labels: Vec<KeyValue>,
    #[darling(default, multiple, rename = "derive")]
    pub derives: Vec<syn::Path>,
    #[darling(default, multiple, rename = "attr")]
    pub attrs_for_root: Vec<RootAttr>,
    #[darling(default)]
    pub schema: Option<SchemaMode>,
    #[darling(default)]
    pub crates: Crates,
    #[darling(default, multiple, rename = "validation")]
    pub validations: Vec<Validation>,
    #[darling(default)]
    pub storage: Option<bool>,
    #[darling(default)]
    pub served: Option<bool>,
    #[darling(default)]
    pub deprecated: Option<Override<String>>,
    /// kube-derive's: not supported here, and said so rather than ignored.
    #[darling(default)]
    pub no_spec: Flag,
    /// kube-derive's: not supported here, and said so rather than ignored.
    #[darling(default)]
    pub cel: Flag,
}

/// `schema = "derived" | "manual" | "disabled"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromMeta)]
pub enum SchemaMode {
    /// From the spec and status types, through schemars (the default).
    Derived,
    /// The user fills `spec.versions[].schema` of the CRD.
    Manual,
    /// No schema at all.
    Disabled,
}

/// `scale(spec_replicas_path = "...", status_replicas_path = "...", label_selector_path = "...")`,
/// or the older JSON string form.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    pub label_selector_path: Option<String>,
}

#[derive(FromMeta)]
struct ScaleList {
    spec_replicas_path: String,
    status_replicas_path: String,
    #[darling(default)]
    label_selector_path: Option<String>,
}

impl FromMeta for Scale {
    fn from_list(items: &[darling::ast::NestedMeta]) -> darling::Result<Self> {
        let s = ScaleList::from_list(items)?;
        Ok(Scale {
            spec_replicas_path: s.spec_replicas_path,
            status_replicas_path: s.status_replicas_path,
            label_selector_path: s.label_selector_path,
        })
    }

    fn from_string(value: &str) -> darling::Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(value).map_err(|e| darling::Error::custom(format!("scale: not JSON: {e}")))?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        Ok(Scale {
            spec_replicas_path: field("specReplicasPath")
                .ok_or_else(|| darling::Error::custom("scale: `specReplicasPath` is required"))?,
            status_replicas_path: field("statusReplicasPath")
                .ok_or_else(|| darling::Error::custom("scale: `statusReplicasPath` is required"))?,
            label_selector_path: field("labelSelectorPath"),
        })
    }
}

/// `printcolumn(name = "...", json_path = "...", type_ = "...", description = "...",
/// format = "...", priority = N)`, or the older JSON string form.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintColumn(pub serde_json::Value);

#[derive(FromMeta)]
struct PrintColumnList {
    name: String,
    json_path: String,
    #[darling(rename = "type_")]
    ty: String,
    #[darling(default)]
    description: Option<String>,
    #[darling(default)]
    format: Option<String>,
    #[darling(default)]
    priority: Option<i32>,
}

impl FromMeta for PrintColumn {
    fn from_list(items: &[darling::ast::NestedMeta]) -> darling::Result<Self> {
        let c = PrintColumnList::from_list(items)?;
        let mut v = serde_json::json!({"name": c.name, "jsonPath": c.json_path, "type": c.ty});
        if let Some(d) = c.description {
            v["description"] = d.into();
        }
        if let Some(f) = c.format {
            v["format"] = f.into();
        }
        if let Some(p) = c.priority {
            v["priority"] = p.into();
        }
        Ok(PrintColumn(v))
    }

    fn from_string(value: &str) -> darling::Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(value).map_err(|e| darling::Error::custom(format!("printcolumn: not JSON: {e}")))?;
        for key in ["name", "jsonPath", "type"] {
            if v.get(key).and_then(|x| x.as_str()).is_none() {
                return Err(darling::Error::custom(format!("printcolumn: `{key}` is required")));
            }
        }
        Ok(PrintColumn(v))
    }
}

/// `annotation("key", "value")` or `annotation = "key=value"`; the same for `label`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue(pub String, pub String);

impl FromMeta for KeyValue {
    fn from_list(items: &[darling::ast::NestedMeta]) -> darling::Result<Self> {
        match items {
            [darling::ast::NestedMeta::Lit(syn::Lit::Str(k)), darling::ast::NestedMeta::Lit(syn::Lit::Str(v))] => {
                Ok(KeyValue(k.value(), v.value()))
            }
            _ => Err(darling::Error::custom("expected (\"key\", \"value\")")),
        }
    }

    fn from_string(value: &str) -> darling::Result<Self> {
        match value.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(KeyValue(k.to_owned(), v.to_owned())),
            _ => Err(darling::Error::custom("expected \"key=value\"")),
        }
    }
}

/// `validation = "self.x > 0"` (a CEL rule) or `validation = Rule::new(...)`: an expression
/// that `kube::core::Rule::from` takes.
#[derive(Debug, Clone)]
pub struct Validation(pub syn::Expr);

impl FromMeta for Validation {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        // A string is the rule itself, not Rust to parse.
        Ok(Validation(expr.clone()))
    }
}

/// `attr = "allow(deprecated)"`: an attribute for the root struct.
#[derive(Debug, Clone)]
pub struct RootAttr(pub proc_macro2::TokenStream);

impl FromMeta for RootAttr {
    fn from_string(value: &str) -> darling::Result<Self> {
        value
            .parse::<proc_macro2::TokenStream>()
            .map(RootAttr)
            .map_err(|e| darling::Error::custom(format!("attr: not an attribute: {e}")))
    }
}

/// `crates(kube_codegen_runtime = ..., k8s_openapi = ..., kube_core = ..., kube = ...)`: paths
/// to use instead of the crates' own names; kube-derive's other keys are accepted.
#[derive(Debug, Default, FromMeta)]
pub struct Crates {
    #[darling(default)]
    pub kube_codegen_runtime: Option<syn::Path>,
    /// `kube`: its `core` stands for `kube_core` unless that is given too.
    #[darling(default)]
    pub kube: Option<syn::Path>,
    #[darling(default)]
    pub k8s_openapi: Option<syn::Path>,
    #[darling(default)]
    pub kube_core: Option<syn::Path>,
    /// Accepted for kube-derive compatibility; the derive's code does not name these (the
    /// runtime, which it names, uses its own serde_json and schemars).
    #[darling(default)]
    #[allow(dead_code)]
    pub serde_json: Option<syn::Path>,
    #[darling(default)]
    #[allow(dead_code)]
    pub schemars: Option<syn::Path>,
    #[darling(default)]
    #[allow(dead_code)]
    pub kube_client: Option<syn::Path>,
    #[darling(default)]
    #[allow(dead_code)]
    pub serde: Option<syn::Path>,
    #[darling(default)]
    #[allow(dead_code)]
    pub std: Option<syn::Path>,
}
