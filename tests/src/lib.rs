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

/// The target directory: `$CARGO_TARGET_DIR`, or the workspace's `target`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"))
}

/// A throw-away crate's folder that stays where it is from one run to the next, under the
/// target directory, held for the caller's lifetime against another run of the same test.
/// Written with [`write_if_changed`], its files keep their times while they do not change, so
/// cargo rebuilds the crate only when what it compiles changed.
pub struct CrateDir {
    path: PathBuf,
    _lock: std::fs::File,
}

impl CrateDir {
    /// The folder for the crate `name` (unique per test).
    pub fn new(name: &str) -> CrateDir {
        let path = target_dir().join("harness-src").join(name);
        std::fs::create_dir_all(path.join("src")).unwrap();
        let lock = std::fs::File::create(path.join(".lock")).unwrap();
        lock.lock().unwrap();
        CrateDir { path, _lock: lock }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `text` to `path` unless it holds it already (a rewrite would make cargo rebuild).
pub fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The workspace's `Cargo.lock`, for a throw-away crate: the same dependency versions as ours,
/// without a resolve.
pub fn lock_file() -> String {
    std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap()
}

/// A throw-away crate that compiles generated code as a user's crate would: a library with
/// `#![deny(warnings, missing_docs)]` holding generated module trees as its modules, and any
/// binaries a test adds. All harnesses share one target directory, so k8s-openapi is
/// compiled once per machine, not once per test, and each keeps its folder, so a run whose
/// generated code did not change builds nothing again.
pub struct Harness {
    dir: CrateDir,
}

impl Harness {
    /// The harness `name` (unique per test), whose library has one module per
    /// `(name, module tree)`.
    pub fn new(name: &str, modules: &[(&str, &kube_codegen::Files)]) -> Harness {
        Harness::with_edition(name, "2024", modules)
    }

    /// [`new`](Self::new) on another edition: generated code must read the same in 2021 and
    /// 2024 (lifetime capture of `impl Trait` differs between them).
    pub fn with_edition(name: &str, edition: &str, modules: &[(&str, &kube_codegen::Files)]) -> Harness {
        let dir = CrateDir::new(name);
        let src = dir.path().join("src");
        let mut lib = String::from("//! Compiles generated code.\n#![deny(warnings, missing_docs)]\n\n");
        for (name, files) in modules {
            files.write(&src.join(name)).unwrap();
            lib.push_str(&format!("/// Generated.\npub mod {name};\n"));
        }
        let runtime = workspace().join("runtime");
        write_if_changed(
            &dir.path().join("Cargo.toml"),
            &format!(
                r#"[package]
name = "harness-{name}"
version = "0.0.0"
edition = "{edition}"
publish = false

# Each harness a package of its own (they share a build directory, where one name would make
# them overwrite each other's builds), all with the library `harness`.
[lib]
name = "harness"

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
        );
        write_if_changed(&src.join("lib.rs"), &lib);
        write_if_changed(&dir.path().join("Cargo.lock"), &lock_file());
        Harness { dir }
    }

    /// Adds `src/bin/<name>.rs`.
    pub fn bin(&self, name: &str, source: &str) {
        write_if_changed(&self.dir.path().join("src/bin").join(format!("{name}.rs")), source);
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
        let out = run_cargo(self.dir.path(), args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "cargo {args:?} succeeded in {}, expected a failure", self.dir.path().display());
        stderr
    }
}

/// Runs cargo in `dir` with the harnesses' shared target directory and Kubernetes v1.36;
/// panics with its output when it fails.
pub fn cargo(dir: &Path, args: &[&str]) -> String {
    cargo_with(dir, args, &[])
}

/// [`cargo`] with more environment variables, which a program it runs sees too.
pub fn cargo_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run_cargo(dir, args, env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "cargo {args:?} failed in {}:\n{}\n{stdout}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The target directory every throw-away crate builds in, so their dependencies are built once.
pub fn harness_target() -> PathBuf {
    target_dir().join("harness")
}

fn run_cargo(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let target = harness_target();
    Command::new(env!("CARGO"))
        .args(args)
        .envs(env.iter().copied())
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
