#!/usr/bin/env bash
# Compile time of ten derived custom resources: the crate with kube-codegen's derive (which
# also emits a client, lister and informer each) against the same crate with kube-derive.
# Cold debug builds from empty target directories in the same run; the crate's own unit from
# `cargo build --timings`, so dependencies do not count. Usage: benches/derive-compile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source benches/lib.sh
work=${KEEP_DIR:-$(mktemp -d)}; [ -n "${KEEP_DIR:-}" ] || trap 'rm -rf "$work"' EXIT

resources() { # derive-path -> ten resources
  for i in $(seq 0 9); do
    cat <<RS
/// Resource $i.
#[derive($1, Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[kube(group = "bench.example.com", version = "v1", kind = "Thing$i", namespaced, status = "Thing${i}Status",
       scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas"), shortname = "t$i")]
pub struct Thing${i}Spec {
    /// Replicas.
    pub replicas: i32,
    /// A name.
    pub name: String,
    /// Labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Ports.
    pub ports: Vec<Port$i>,
}
/// A port.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Port$i { /// Number. 
pub number: i32, /// Protocol.
pub protocol: Option<String> }
/// Status.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Thing${i}Status { /// Replicas.
pub replicas: i32 }
RS
  done
}

mkdir -p "$work/kube-derive/src" "$work/ours/src"
common=('k8s-openapi = { version = "0.29", features = ["v1_36"] }' 'schemars = "1"' 'serde = { version = "1", features = ["derive"] }' 'serde_json = "1"')
manifest with-kube-derive 'kube = { version = "5", default-features = false, features = ["derive"] }' "${common[@]}" > "$work/kube-derive/Cargo.toml"
manifest with-kube-codegen "kube-codegen-runtime = { path = \"$repo/runtime\", features = [\"derive\"] }" "${common[@]}" > "$work/ours/Cargo.toml"
{ echo '//! Ten resources.'; echo 'use kube::CustomResource;'; resources CustomResource; } > "$work/kube-derive/src/lib.rs"
{ echo '//! Ten resources.'; echo 'use kube_codegen_runtime::CustomResource;'; resources CustomResource; } > "$work/ours/src/lib.rs"
for d in kube-derive ours; do cp Cargo.lock "$work/$d/"; (cd "$work/$d" && cargo fetch -q 2>/dev/null || true); done

cold_build "$work/kube-derive"; cold_build "$work/ours"
a=$(unit "$work/kube-derive" with-kube-derive); b=$(unit "$work/ours" with-kube-codegen)
echo "ten derived resources, cold debug build of the crate itself (seconds):"
printf '  kube-derive 5:                     %6.2f\n' "$a"
printf '  kube-codegen (+ client, lister, informer each): %6.2f = %.2fx\n' "$b" "$(echo "$b / $a" | bc -l)"
