//! `kube-codegen generate --from-cluster` against the in-memory API server serving the v1.36
//! API (its swagger loaded, served as `/openapi/v3` per group-version over loopback HTTP),
//! beside `kube-codegen generate swagger.json` of the same specification, whole processes in
//! alternating order: cold (no cache) and warm (every document cached by its hash).
//!
//! `cargo bench -p kube-codegen-cli --bench from_cluster [-- ROUNDS]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube_codegen_runtime::fake::ApiServer;

fn corpus() -> PathBuf {
    std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
}

fn run(args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kube-codegen")).args(args).output().unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(9);
    let swagger = corpus().join("openapi/v2/swagger-v1.36.0.json");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = ApiServer::new();
    server.register::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(&swagger).unwrap()).unwrap();
    server.load_openapi(spec).unwrap();
    let serving = runtime.block_on(server.serve("127.0.0.1:0")).unwrap();
    let kubeconfig = serving.kubeconfig().to_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (out_files, out_cold, out_warm) = (dir.path().join("files"), dir.path().join("cold"), dir.path().join("warm"));
    let files_args = ["generate", swagger.to_str().unwrap(), "--out", out_files.to_str().unwrap()];
    let cold_args =
        ["generate", "--from-cluster", "--kubeconfig", &kubeconfig, "--no-cache", "--out", out_cold.to_str().unwrap()];
    let cache_dir = cache.to_str().unwrap();
    let warm_args = [
        "generate",
        "--from-cluster",
        "--kubeconfig",
        &kubeconfig,
        "--cache-dir",
        cache_dir,
        "--out",
        out_warm.to_str().unwrap(),
    ];
    // Warm-up, and the cache filled.
    run(&files_args);
    run(&cold_args);
    run(&warm_args);
    let (mut files, mut cold, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first, so neither always follows the other.
        if round % 2 == 0 {
            files.push(run(&files_args));
            cold.push(run(&cold_args));
            warm.push(run(&warm_args));
        } else {
            warm.push(run(&warm_args));
            cold.push(run(&cold_args));
            files.push(run(&files_args));
        }
    }
    let (f, c, w) = (median(files), median(cold), median(warm));
    println!("v1.36, {rounds} alternating rounds, medians of whole `kube-codegen generate` processes:");
    println!("  swagger.json from a file        {}", ms(f));
    println!("  --from-cluster, no cache        {}  ({:.2}x the file)", ms(c), c.as_secs_f64() / f.as_secs_f64());
    println!("  --from-cluster, cached by hash  {}  ({:.2}x the file)", ms(w), w.as_secs_f64() / f.as_secs_f64());
    let cached = dir_text(&cache);
    let bytes: usize = cached.iter().map(|(_, text)| text.len()).sum();
    let file_bytes = std::fs::metadata(&swagger).unwrap().len();
    println!(
        "  documents fetched: {} of {:.1} MB (the swagger: {:.1} MB)",
        cached.len(),
        bytes as f64 / 1e6,
        file_bytes as f64 / 1e6
    );
    let same = dir_text(&out_files) == dir_text(&out_cold);
    println!("  output identical to the file's: {same}");
}

/// Every file under `dir`, relative, with its content.
fn dir_text(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().to_owned(), std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}
