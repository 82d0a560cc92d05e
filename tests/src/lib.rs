//! Shared helpers for the integration tests.

use std::path::{Path, PathBuf};

/// The shared corpus: `$KUBE_CODEGEN_CORPUS`, or `../shared/corpus` beside the repository.
pub fn corpus() -> PathBuf {
    let dir = std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    assert!(dir.is_dir(), "the shared corpus is not at {} (set KUBE_CODEGEN_CORPUS)", dir.display());
    dir
}
