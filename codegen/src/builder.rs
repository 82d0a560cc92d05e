//! The build.rs entry point: the CLI's settings, written to `OUT_DIR` for `include!`.

use std::path::{Path, PathBuf};

use crate::{Artifact, Error, Files, Settings, TypeMode};

/// Generates code from a build script.
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), kube_codegen::Error> {
///     kube_codegen::Builder::new().input("crds/").write()?;
///     Ok(())
/// }
/// ```
///
/// ```ignore
/// // src/lib.rs
/// pub mod generated {
///     include!(concat!(env!("OUT_DIR"), "/kube_codegen.rs"));
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    inputs: Vec<PathBuf>,
    #[cfg(feature = "cluster")]
    cluster: Option<crate::cluster::Cluster>,
    settings: Settings,
    out_dir: Option<PathBuf>,
    file_name: Option<String>,
}

impl Builder {
    /// A builder with no inputs and the default settings.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds an input: an OpenAPI document, a CRD manifest, or a directory of them.
    pub fn input(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.inputs.push(path.as_ref().to_owned());
        self
    }

    /// Reads what a live cluster serves instead of files (feature `cluster`): its OpenAPI v3
    /// documents, CRDs and discovery, as `kube-codegen generate --from-cluster` does. A build
    /// script reruns when `KUBECONFIG` changes, not when the cluster does.
    #[cfg(feature = "cluster")]
    pub fn from_cluster(&mut self, cluster: crate::cluster::Cluster) -> &mut Self {
        self.cluster = Some(cluster);
        self
    }

    /// The model of the inputs, or of the cluster.
    fn model(&self) -> Result<kube_codegen_openapi::Model, Error> {
        #[cfg(feature = "cluster")]
        if let Some(cluster) = &self.cluster {
            return cluster.fetch_blocking(&self.settings.only)?.model();
        }
        Ok(kube_codegen_openapi::read(&self.inputs)?)
    }

    /// Generates only these group-versions (`apps/v1`) or resources (`deployments.apps`), and
    /// the types they need.
    pub fn only<I, S>(&mut self, items: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings.only.extend(items.into_iter().map(Into::into));
        self
    }

    /// Whether Kubernetes' own definitions are k8s-openapi's types or generated.
    pub fn types(&mut self, mode: TypeMode) -> &mut Self {
        self.settings.types = mode;
        self
    }

    /// Uses an existing Rust type for a definition.
    pub fn extern_type(&mut self, schema: impl Into<String>, rust_path: impl Into<String>) -> &mut Self {
        self.settings.extern_types.insert(schema.into(), rust_path.into());
        self
    }

    /// Names the module of an API group.
    pub fn group_alias(&mut self, group: impl Into<String>, module: impl Into<String>) -> &mut Self {
        self.settings.group_aliases.insert(group.into(), module.into());
        self
    }

    /// What to emit besides the types (clientset, listers, informers, apply configurations);
    /// all by default.
    pub fn emit(&mut self, artifacts: impl IntoIterator<Item = Artifact>) -> &mut Self {
        self.settings.emit = artifacts.into_iter().collect();
        self
    }

    /// The Rust path generated code names the runtime by, when a crate re-exports it.
    pub fn runtime_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.settings.runtime_path = path.into();
        self
    }

    /// Whether the schemas' descriptions become docs (they do by default).
    pub fn docs(&mut self, on: bool) -> &mut Self {
        self.settings.docs = on;
        self
    }

    /// Where [`write`](Self::write) puts its file; `OUT_DIR` by default.
    pub fn out_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// The name of the file [`write`](Self::write) produces; `kube_codegen.rs` by default.
    pub fn file_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.file_name = Some(name.into());
        self
    }

    /// The settings as they stand.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The module tree, in memory: the same files `kube-codegen generate` writes.
    pub fn generate(&self) -> Result<Files, Error> {
        let model = self.model()?;
        crate::generate(&model, &self.settings)
    }

    /// Writes one file for `include!` into the output directory (only when its content
    /// changed), tells cargo to rerun on any change to the inputs, and returns the file's path.
    pub fn write(&self) -> Result<PathBuf, Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| Error::Setting("OUT_DIR is not set: call out_dir(...) outside a build script".into()))?,
        };
        let file = self.file_name.clone().unwrap_or_else(|| "kube_codegen.rs".to_owned());
        for input in &self.inputs {
            // A directory is watched as well as its files, so a new file reruns the build.
            println!("cargo:rerun-if-changed={}", input.display());
        }
        for input in kube_codegen_openapi::input_files(&self.inputs)? {
            println!("cargo:rerun-if-changed={}", input.display());
        }
        #[cfg(feature = "cluster")]
        if self.cluster.is_some() {
            println!("cargo:rerun-if-env-changed=KUBECONFIG");
        }
        let model = self.model()?;
        let files = crate::generate_single_file(&model, &self.settings, &file)?;
        files.write(&out_dir)?;
        Ok(out_dir.join(file))
    }
}
