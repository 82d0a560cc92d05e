#!/usr/bin/env bash
# Compile time of derived custom resources (ten, or COUNT): the crate with kube-codegen's derive
# (which also emits a client, lister and informer each) against the same crate with
# kube-derive. Cold debug builds from empty target directories in the same run: the whole build
# (wall clock, every dependency included) and the crate's own unit from `cargo build --timings`.
# Usage: [COUNT=3] benches/derive-compile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source benches/lib.sh
work=${KEEP_DIR:-$(mktemp -d)}; [ -n "${KEEP_DIR:-}" ] || trap 'rm -rf "$work"' EXIT

count=${COUNT:-10}
resources() { # derive-path -> COUNT resources
  for i in $(seq 0 $((count - 1))); do
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

mkdir -p "$work/kube-derive/src" "$work/ours/src" "$work/kube-client/src"
common=('k8s-openapi = { version = "0.29", features = ["v1_36"] }' 'schemars = "1"' 'serde = { version = "1", features = ["derive"] }' 'serde_json = "1"')
manifest with-kube-derive 'kube = { version = "5", default-features = false, features = ["derive"] }' "${common[@]}" > "$work/kube-derive/Cargo.toml"
# What an operator using kube-derive builds anyway: kube's client and runtime beside the derive
# (without TLS, as kube-codegen-runtime asks for kube).
manifest with-kube-client 'kube = { version = "5", default-features = false, features = ["derive", "client", "runtime"] }' "${common[@]}" > "$work/kube-client/Cargo.toml"
manifest with-kube-codegen "kube-codegen-runtime = { path = \"$repo/runtime\", features = [\"derive\"] }" "${common[@]}" > "$work/ours/Cargo.toml"
{ echo '//! Derived resources.'; echo 'use kube::CustomResource;'; resources CustomResource; } > "$work/kube-derive/src/lib.rs"
{ echo '//! Derived resources.'; echo 'use kube_codegen_runtime::CustomResource;'; resources CustomResource; } > "$work/ours/src/lib.rs"
cp "$work/kube-derive/src/lib.rs" "$work/kube-client/src/lib.rs"
for d in kube-derive kube-client ours; do cp Cargo.lock "$work/$d/"; (cd "$work/$d" && cargo fetch -q 2>/dev/null || true); done

wall() { local s e; s=$(date +%s.%N); cold_build "$1"; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
wa=$(wall "$work/kube-derive"); wb=$(wall "$work/ours"); wc=$(wall "$work/kube-client")
a=$(unit "$work/kube-derive" with-kube-derive); b=$(unit "$work/ours" with-kube-codegen)
echo "$count derived resources, cold debug builds (seconds):"
printf '  whole build:  kube-derive 5 %6.1f, kube-codegen %6.1f = %.2fx\n' "$wa" "$wb" "$(echo "$wb / $wa" | bc -l)"
printf '  whole build:  kube-derive 5 with kube client and runtime %6.1f, kube-codegen = %.2fx of it\n' \
  "$wc" "$(echo "$wb / $wc" | bc -l)"
printf '  crate itself: kube-derive 5 %6.2f, kube-codegen (+ client, lister, informer each) %6.2f = %.2fx\n' \
  "$a" "$b" "$(echo "$b / $a" | bc -l)"
