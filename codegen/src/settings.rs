//! The one settings type behind the CLI, the build.rs `Builder` and the derive macro.

use std::collections::{BTreeMap, BTreeSet};

/// What the generator emits besides the types, which it always emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Artifact {
    /// `Clientset`, a client per group-version and a `<Kind>Client` per resource.
    Clientset,
    /// A `<Kind>Lister` per resource that can be listed and watched.
    Listers,
    /// A `<Kind>Informer` per resource that can be listed and watched, and the root
    /// `SharedInformerFactory` with an accessor per group-version.
    Informers,
    /// A `<Kind>Apply` configuration per resource and per type reachable from it, and the
    /// clients' `apply` methods.
    Apply,
}

impl Artifact {
    /// Every artifact, as `emit` names them.
    pub const ALL: [(Artifact, &'static str); 4] = [
        (Artifact::Clientset, "clientset"),
        (Artifact::Listers, "listers"),
        (Artifact::Informers, "informers"),
        (Artifact::Apply, "apply"),
    ];

    /// The artifact called `name` (`clientset`).
    pub fn from_name(name: &str) -> Option<Artifact> {
        Artifact::ALL.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }
}

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
#[derive(Clone, Debug)]
pub struct Settings {
    /// How `io.k8s.*` definitions are treated.
    pub types: TypeMode,
    /// Definition name -> Rust path of an existing type to use instead of generating one.
    pub extern_types: BTreeMap<String, String>,
    /// API group -> module name, overriding the first-DNS-label rule.
    pub group_aliases: BTreeMap<String, String>,
    /// Only these group-versions (`apps/v1`) or resources (`deployments.apps`), and the types
    /// they need; everything when empty.
    pub only: Vec<String>,
    /// The artifacts emitted besides the types; all of them by default.
    pub emit: BTreeSet<Artifact>,
    /// The Rust path generated code names the runtime by: `kube_codegen_runtime` unless a
    /// crate re-exports it.
    pub runtime_path: String,
    /// Whether the schemas' descriptions become docs.
    pub docs: bool,
}

/// The runtime crate's own name.
pub const RUNTIME: &str = "kube_codegen_runtime";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            types: TypeMode::default(),
            extern_types: BTreeMap::new(),
            group_aliases: BTreeMap::new(),
            only: Vec::new(),
            emit: Artifact::ALL.iter().map(|(a, _)| *a).collect(),
            runtime_path: RUNTIME.to_owned(),
            docs: true,
        }
    }
}

impl Settings {
    /// The runtime's path, as generated code writes it.
    pub(crate) fn runtime(&self) -> Result<syn::Path, crate::Error> {
        let path: Option<syn::Path> = syn::parse_str(&self.runtime_path).ok();
        // A plain path: no generics, which a module path cannot carry.
        path.filter(|p| p.segments.iter().all(|s| s.arguments.is_none())).ok_or_else(|| {
            crate::Error::Setting(format!(
                "runtime path `{}` is not a Rust path like `my_crate::runtime`",
                self.runtime_path
            ))
        })
    }

    /// Checks what the emitters will rely on: extern types are Rust paths, module names are
    /// identifiers.
    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        let is_ident = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        for (schema, path) in &self.extern_types {
            if !path.split("::").all(is_ident) {
                return Err(crate::Error::Setting(format!(
                    "extern type for `{schema}`: `{path}` is not a Rust path like `my_crate::types::Name`"
                )));
            }
        }
        self.runtime()?;
        for (group, module) in &self.group_aliases {
            if !is_ident(module) {
                return Err(crate::Error::Setting(format!(
                    "group alias for `{group}`: `{module}` is not a module name"
                )));
            }
        }
        Ok(())
    }
}
