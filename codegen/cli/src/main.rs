//! The `kube-codegen` command.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use kube_codegen::{Artifact, Settings, TypeMode};

// Generating is allocation-bound (token trees, syntax trees); mimalloc cuts that time by a
// third against glibc's allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Typed Kubernetes clientsets, listers and informers for Rust.
#[derive(Parser)]
#[command(name = "kube-codegen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the API resources found in OpenAPI documents and CRDs.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// OpenAPI v2/v3 documents, CRD manifests, or directories of them.
        #[arg(required_unless_present = "from_cluster", value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Generate Rust code for the resources and types in OpenAPI documents and CRDs.
    #[command(after_help = "Examples:\n  \
        kube-codegen generate crds/ --out src/generated\n  \
        kube-codegen generate swagger.json --only deployments.apps --types generate --out src/k8s\n  \
        kube-codegen generate crds/ --crate-name my-crds --out my-crds\n  \
        kube-codegen generate swagger.json --emit clientset --only apps/v1 --out src/k8s --timings\n  \
        kube-codegen generate crds/ --out src/generated --check")]
    Generate {
        /// OpenAPI v2/v3 documents, CRD manifests, or directories of them.
        #[arg(required_unless_present = "from_cluster", value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Where to write the module tree (or, with --crate-name, the crate).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// `map`: io.k8s.* definitions are k8s-openapi's types; `generate`: emit them too.
        #[arg(long, value_enum, default_value = "map")]
        types: Types,
        /// Use an existing Rust type for a schema: `SCHEMA=RUST_PATH` (repeatable).
        #[arg(long = "extern-type", value_name = "SCHEMA=RUST_PATH", value_parser = pair)]
        extern_types: Vec<(String, String)>,
        /// Name the module of an API group: `GROUP=MODULE` (repeatable).
        #[arg(long = "group-alias", value_name = "GROUP=MODULE", value_parser = pair)]
        group_aliases: Vec<(String, String)>,
        /// Only this group-version (`apps/v1`) or resource (`deployments.apps`, `pods`), and the
        /// types it needs (repeatable).
        #[arg(long, value_name = "SELECTION")]
        only: Vec<String>,
        /// What to emit besides the types, comma-separated: `clientset`, `listers`, `informers`,
        /// `apply` (apply configurations and the clients' `apply` methods); everything by default.
        #[arg(long, value_enum, value_name = "ARTIFACTS", value_delimiter = ',')]
        emit: Option<Vec<Emit>>,
        /// Write a complete crate with this name (Cargo.toml and src/).
        #[arg(long, value_name = "NAME")]
        crate_name: Option<String>,
        /// The directory of kube-codegen-runtime, for the crate's Cargo.toml; without it, the
        /// crate depends on the runtime of this version from the registry.
        #[arg(long, value_name = "DIR", requires = "crate_name")]
        runtime_dir: Option<PathBuf>,
        /// The Rust path generated code uses for kube-codegen-runtime, if it is re-exported
        /// (`my_crate::runtime`); `kube_codegen_runtime` by default.
        #[arg(long, value_name = "RUST_PATH")]
        runtime_path: Option<String>,
        /// Leave the schemas' descriptions out of the docs.
        #[arg(long)]
        no_docs: bool,
        /// Print where the time went (reading, emitting, formatting, writing) to stderr.
        #[arg(long)]
        timings: bool,
        /// Write nothing; exit 1 and name the files when DIR differs from what would be written.
        #[arg(long)]
        check: bool,
    },
}

/// Reading a live cluster instead of files.
#[derive(clap::Args)]
struct ClusterArgs {
    /// Read what the cluster serves (OpenAPI v3, CRDs, discovery) instead of files.
    #[arg(long, conflicts_with = "inputs")]
    from_cluster: bool,
    /// The kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE", requires = "from_cluster")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME", requires = "from_cluster")]
    context: Option<String>,
    /// Where OpenAPI documents are cached by their hash (default: ~/.cache/kube-codegen).
    #[arg(long, value_name = "DIR", requires = "from_cluster", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Fetch every document, reading and writing no cache.
    #[arg(long, requires = "from_cluster")]
    no_cache: bool,
}

impl ClusterArgs {
    /// The model of the files, or of what the cluster serves; warnings go to stderr.
    fn read(self, inputs: &[PathBuf], only: &[String]) -> Result<kube_codegen::Model, String> {
        if !self.from_cluster {
            return kube_codegen_openapi::read(inputs).map_err(|e| e.to_string());
        }
        let cache = match (self.cache_dir, self.no_cache) {
            (_, true) => kube_codegen::cluster::Cache::Off,
            (Some(dir), false) => kube_codegen::cluster::Cache::Dir(dir),
            (None, false) => kube_codegen::cluster::Cache::Default,
        };
        let cluster = kube_codegen::cluster::Cluster { kubeconfig: self.kubeconfig, context: self.context, cache };
        let fetched = cluster.fetch_blocking(only).map_err(|e| e.to_string())?;
        for gv in &fetched.unpublished {
            eprintln!("warning: {gv} is served but publishes no OpenAPI v3 document; its resources are left out");
        }
        fetched.model().map_err(|e| e.to_string())
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// The types alone (always emitted).
    Types,
    /// `Clientset` and a typed client per resource.
    Clientset,
    /// A `<Kind>Lister` per resource with list and watch.
    Listers,
    /// A `<Kind>Informer` per resource with list and watch, and `SharedInformerFactory`.
    Informers,
    /// A `<Kind>Apply` configuration per resource and type, and the clients' `apply` methods.
    Apply,
}

#[derive(Clone, Copy, ValueEnum)]
enum Types {
    Map,
    Generate,
}

fn pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, found `{s}`")),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::List { json, inputs, cluster } => {
            let model = match cluster.read(&inputs, &[]) {
                Ok(m) => m,
                Err(e) => return fail(e),
            };
            let text = if json { kube_codegen::list::json(&model) } else { kube_codegen::list::table(&model) };
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Command::Generate {
            inputs,
            cluster,
            out,
            types,
            extern_types,
            group_aliases,
            only,
            emit,
            crate_name,
            runtime_dir,
            runtime_path,
            no_docs,
            timings,
            check,
        } => {
            let started = std::time::Instant::now();
            let mut settings = Settings {
                types: match types {
                    Types::Map => TypeMode::MapK8sOpenapi,
                    Types::Generate => TypeMode::Generate,
                },
                extern_types: extern_types.into_iter().collect::<BTreeMap<_, _>>(),
                group_aliases: group_aliases.into_iter().collect::<BTreeMap<_, _>>(),
                only,
                docs: !no_docs,
                ..Settings::default()
            };
            if let Some(path) = runtime_path {
                settings.runtime_path = path;
            }
            if let Some(emit) = emit {
                settings.emit = emit
                    .into_iter()
                    .filter_map(|e| match e {
                        Emit::Types => None,
                        Emit::Clientset => Some(Artifact::Clientset),
                        Emit::Listers => Some(Artifact::Listers),
                        Emit::Informers => Some(Artifact::Informers),
                        Emit::Apply => Some(Artifact::Apply),
                    })
                    .collect();
            }
            let model = match cluster.read(&inputs, &settings.only) {
                Ok(m) => m,
                Err(e) => return fail(e),
            };
            let read = started.elapsed();
            let files = match &crate_name {
                Some(name) => kube_codegen::generate_crate(&model, &settings, name, runtime_dir.as_deref())
                    .map(|f| (f, Default::default())),
                None => kube_codegen::generate_timed(&model, &settings),
            };
            let (files, split) = match files {
                Ok(f) => f,
                Err(e) => return fail(e),
            };
            if check {
                let drift = files.drift_summary(&out);
                if drift.is_empty() {
                    return ExitCode::SUCCESS;
                }
                eprintln!(
                    "error: {} is out of date ({} of {} files); run kube-codegen generate again:",
                    out.display(),
                    drift.len(),
                    files.0.len()
                );
                for (path, kind) in &drift {
                    let what = match kind {
                        kube_codegen::Drift::Missing => "missing".to_owned(),
                        kube_codegen::Drift::Stale => "stale, would be removed".to_owned(),
                        kube_codegen::Drift::Changed { added, removed } => {
                            format!("changed, +{added} -{removed} lines")
                        }
                    };
                    eprintln!("  {}: {what}", path.display());
                }
                // The changes themselves, as a unified diff on stdout (`--check > drift.patch`).
                let mut stdout = std::io::stdout().lock();
                for (path, kind) in &drift {
                    let old = match kind {
                        kube_codegen::Drift::Changed { .. } => {
                            std::fs::read_to_string(out.join(path)).unwrap_or_default()
                        }
                        kube_codegen::Drift::Missing => String::new(),
                        kube_codegen::Drift::Stale => continue,
                    };
                    let new = files.0.get(path).map(String::as_str).unwrap_or_default();
                    let (a, b) = (format!("a/{}", path.display()), format!("b/{}", path.display()));
                    let diff = similar::TextDiff::from_lines(old.as_str(), new);
                    // A closed pipe (`| head`) is not an error worth a panic.
                    let _ = write!(stdout, "{}", diff.unified_diff().context_radius(3).header(&a, &b));
                }
                return ExitCode::from(1);
            }
            let started_writing = std::time::Instant::now();
            if let Err(e) = files.write(&out) {
                return fail(e);
            }
            if timings {
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
                eprintln!(
                    "read {:.0} ms, emit {:.0} ms, format {:.0} ms, write {:.0} ms, total {:.0} ms ({} files)",
                    ms(read),
                    ms(split.emit),
                    ms(split.format),
                    ms(started_writing.elapsed()),
                    ms(started.elapsed()),
                    files.0.len()
                );
            }
            ExitCode::SUCCESS
        }
    }
}
