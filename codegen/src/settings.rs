//! The one settings type behind the CLI, the build.rs `Builder` and the derive macro.

use std::collections::BTreeMap;

/// How definitions that k8s-openapi already has are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TypeMode {
    /// `io.k8s.*` definitions map to `k8s_openapi` paths and resources re-export them.
    #[default]
    MapK8sOpenapi,
    /// Every definition becomes a generated type, the Kubernetes API included.
    Generate,
}

/// What to generate and how.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// How `io.k8s.*` definitions are treated.
    pub types: TypeMode,
    /// Definition name -> Rust path of an existing type to use instead of generating one.
    pub extern_types: BTreeMap<String, String>,
    /// API group -> module name, overriding the first-DNS-label rule.
    pub group_aliases: BTreeMap<String, String>,
}
