#!/usr/bin/env bash
# Compile time of derived custom resources (ten, or COUNT): the crate with kube-codegen's derive
# against the same crate with kube-derive, twice: types and CRDs only (the runtime without its
# `client` feature), and with clients (kube-codegen's client, lister and informer per resource,
# against kube-derive beside kube's client and runtime). Cold debug builds from empty target directories in the same run: the whole build
# (wall clock, every dependency included) and the crate's own unit from `cargo build --timings`.
# Usage: [COUNT=3] [ROUNDS=5] [PAIRS=types|clients] benches/derive-compile.sh
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

mkdir -p "$work/kube-derive/src" "$work/ours/src" "$work/kube-client/src" "$work/ours-client/src"
common=('k8s-openapi = { version = "0.29", features = ["v1_36"] }' 'schemars = "1"' 'serde = { version = "1", features = ["derive"] }' 'serde_json = "1"')
# Types and CRDs only: kube-derive, against kube-codegen's derive without the runtime's client.
manifest with-kube-derive 'kube = { version = "5", default-features = false, features = ["derive"] }' "${common[@]}" > "$work/kube-derive/Cargo.toml"
manifest with-kube-codegen "kube-codegen-runtime = { path = \"$repo/runtime\", default-features = false, features = [\"derive\"] }" "${common[@]}" > "$work/ours/Cargo.toml"
# With clients: kube-derive beside kube's client and runtime (without TLS, as
# kube-codegen-runtime asks for kube), against kube-codegen's derive with its typed client,
# lister and informer per resource.
manifest with-kube-client 'kube = { version = "5", default-features = false, features = ["derive", "client", "runtime"] }' "${common[@]}" > "$work/kube-client/Cargo.toml"
manifest with-kube-codegen-client "kube-codegen-runtime = { path = \"$repo/runtime\", features = [\"derive\"] }" "${common[@]}" > "$work/ours-client/Cargo.toml"
{ echo '//! Derived resources.'; echo 'use kube::CustomResource;'; resources CustomResource; } > "$work/kube-derive/src/lib.rs"
{ echo '//! Derived resources.'; echo 'use kube_codegen_runtime::CustomResource;'; resources CustomResource; } > "$work/ours/src/lib.rs"
cp "$work/kube-derive/src/lib.rs" "$work/kube-client/src/lib.rs"
cp "$work/ours/src/lib.rs" "$work/ours-client/src/lib.rs"
for d in kube-derive kube-client ours ours-client; do cp Cargo.lock "$work/$d/"; (cd "$work/$d" && cargo fetch -q 2>/dev/null || true); done

wall() { local s e; rm -rf "$1/target"; s=$(date +%s.%N); cold_build "$1"; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# ROUNDS rounds (default 1), each pair built back to back, the order alternating by round so
# neither side always builds first; medians. PAIRS=types or clients measures one pair only.
rounds=${ROUNDS:-1}; pairs=${PAIRS:-both}
declare -a ta tb tc td
for ((r = 0; r < rounds; r++)); do
  if [ "$pairs" != clients ]; then
    if ((r % 2)); then x=$(wall "$work/ours"); y=$(wall "$work/kube-derive"); else y=$(wall "$work/kube-derive"); x=$(wall "$work/ours"); fi
    ta+=("$y"); tb+=("$x")
  fi
  if [ "$pairs" != types ]; then
    if ((r % 2)); then x=$(wall "$work/ours-client"); y=$(wall "$work/kube-client"); else y=$(wall "$work/kube-client"); x=$(wall "$work/ours-client"); fi
    tc+=("$y"); td+=("$x")
  fi
done
echo "$count derived resources, cold debug builds, $rounds round(s), medians (seconds):"
if [ "$pairs" != clients ]; then
  wa=$(printf '%s\n' "${ta[@]}" | median); wb=$(printf '%s\n' "${tb[@]}" | median)
  a=$(unit "$work/kube-derive" with-kube-derive); b=$(unit "$work/ours" with-kube-codegen)
  printf '  types and CRDs:  kube-derive 5 %6.1f, kube-codegen (no client) %6.1f = %.2fx   (runs: %s / %s)\n' \
    "$wa" "$wb" "$(echo "$wb / $wa" | bc -l)" "$(printf '%.1f ' "${ta[@]}")" "$(printf '%.1f ' "${tb[@]}")"
  printf '  crate itself (last round): kube-derive 5 %6.2f, kube-codegen %6.2f (%.2fx)\n' "$a" "$b" "$(echo "$b / $a" | bc -l)"
fi
if [ "$pairs" != types ]; then
  wc=$(printf '%s\n' "${tc[@]}" | median); wd=$(printf '%s\n' "${td[@]}" | median)
  d=$(unit "$work/ours-client" with-kube-codegen-client)
  printf '  with clients:    kube-derive 5 + kube client and runtime %6.1f, kube-codegen %6.1f = %.2fx   (runs: %s / %s)\n' \
    "$wc" "$wd" "$(echo "$wd / $wc" | bc -l)" "$(printf '%.1f ' "${tc[@]}")" "$(printf '%.1f ' "${td[@]}")"
  printf '  crate itself with client, lister, informer each (last round): %6.2f\n' "$d"
fi
