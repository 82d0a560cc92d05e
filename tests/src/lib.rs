//! Shared helpers for the integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod roundtrip;

/// The shared corpus: `$KUBE_CODEGEN_CORPUS`, or `../shared/corpus` beside the repository.
pub fn corpus() -> PathBuf {
    let dir = std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    assert!(dir.is_dir(), "the shared corpus is not at {} (set KUBE_CODEGEN_CORPUS)", dir.display());
    dir
}

/// The repository root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A throw-away crate that compiles generated code as a user's crate would: a library with
/// `#![deny(warnings, missing_docs)]` holding generated module trees as its modules, and any
/// binaries a test adds. All harnesses share one target directory, so k8s-openapi is
/// compiled once per machine, not once per test.
pub struct Harness {
    dir: tempfile::TempDir,
}

impl Harness {
    /// A harness whose library has one module per `(name, module tree)`.
    pub fn new(modules: &[(&str, &kube_codegen::Files)]) -> Harness {
        let dir = tempfile::Builder::new().prefix("kube-codegen-harness").tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("bin")).unwrap();
        let mut lib = String::from("//! Compiles generated code.\n#![deny(warnings, missing_docs)]\n\n");
        for (name, files) in modules {
            files.write(&src.join(name)).unwrap();
            lib.push_str(&format!("/// Generated.\npub mod {name};\n"));
        }
        let runtime = workspace().join("runtime");
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!(
                r#"[package]
name = "harness"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
k8s-openapi = {{ version = "0.29", features = ["v1_36"] }}
kube-codegen-runtime = {{ path = {runtime:?}, features = ["ws", "fake"] }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
tokio = {{ version = "1", features = ["macros", "rt", "time"] }}
futures = "0.3"

[profile.dev]
debug = 0

[workspace]
"#
            ),
        )
        .unwrap();
        std::fs::write(src.join("lib.rs"), lib).unwrap();
        // Same dependency versions as the workspace, without a resolve.
        std::fs::copy(workspace().join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        Harness { dir }
    }

    /// Builds the harness as edition 2021 rather than 2024: generated code must read the
    /// same in both (lifetime capture of `impl Trait` differs between them).
    pub fn edition_2021(&self) {
        let manifest = self.dir.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap().replace("edition = \"2024\"", "edition = \"2021\"");
        std::fs::write(manifest, text).unwrap();
    }

    /// Adds `src/bin/<name>.rs`.
    pub fn bin(&self, name: &str, source: &str) {
        std::fs::write(self.dir.path().join("src/bin").join(format!("{name}.rs")), source).unwrap();
    }

    /// The harness directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs cargo in the harness; panics with its output when it fails.
    pub fn cargo(&self, args: &[&str]) -> String {
        cargo(self.dir.path(), args)
    }

    /// Runs cargo in the harness, expecting it to fail; its stderr. For code that must not
    /// compile.
    pub fn cargo_fails(&self, args: &[&str]) -> String {
        let out = run_cargo(self.dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "cargo {args:?} succeeded in {}, expected a failure", self.dir.path().display());
        stderr
    }
}

/// Runs cargo in `dir` with the harnesses' shared target directory and Kubernetes v1.36;
/// panics with its output when it fails.
pub fn cargo(dir: &Path, args: &[&str]) -> String {
    let out = run_cargo(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "cargo {args:?} failed in {}:\n{}\n{stdout}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn run_cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("harness");
    Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("K8S_OPENAPI_ENABLED_VERSION", "1.36")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap()
}

/// Every example object in the corpus's `instances/` (YAML, several documents a file).
pub fn instances() -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(corpus().join("instances")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
        out.extend(docs.into_iter().filter(|d| !d.is_null()));
    }
    out
}
