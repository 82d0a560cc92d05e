//! Reading the v1.36 swagger into the IR, side by side with parsing the same bytes into a
//! `serde_json::Value`: `cargo bench -p kube-codegen-openapi --bench read`.
//!
//! The two are interleaved run by run so machine noise hits both alike; medians and their
//! ratio are printed.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus() -> PathBuf {
    std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(41);
    let path = corpus().join("openapi/v2/swagger-v1.36.0.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

    let (mut value, mut ir) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let t = Instant::now();
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap());
        value.push(t.elapsed());

        let t = Instant::now();
        black_box(kube_codegen_openapi::read_bytes(&path, black_box(&bytes)).unwrap());
        ir.push(t.elapsed());
    }
    let (value, ir) = (median(value), median(ir));
    println!("swagger-v1.36.0.json, {} bytes, {runs} runs each, medians:", bytes.len());
    println!("  serde_json::from_slice::<Value>   {:>8.2} ms", value.as_secs_f64() * 1e3);
    println!("  kube_codegen_openapi::read_bytes  {:>8.2} ms", ir.as_secs_f64() * 1e3);
    println!("  ratio read / Value                {:>8.2}x", ir.as_secs_f64() / value.as_secs_f64());
}
