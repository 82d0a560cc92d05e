#!/usr/bin/env bash
# Compile cost of the clientset: the crate `kube-codegen generate` makes from the v1.36
# swagger with k8s-openapi's types (types re-exported, a client per resource), all of it and
# five resources of it, against k8s-openapi 0.29 (`v1_36`) alone. Cold debug builds from
# empty target directories in the same run; per-crate times from `cargo build --timings`.
# Apply configurations are left out (`--emit`): benches/apply-compile.sh measures them.
# Usage: benches/clientset-compile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
corpus=${KUBE_CODEGEN_CORPUS:-../shared/corpus}
swagger="$corpus/openapi/v2/swagger-v1.36.0.json"
source benches/lib.sh
cargo build --release -q -p kube-codegen-cli
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

mkdir -p "$work/a/src"
manifest k8s-openapi-only 'k8s-openapi = { version = "0.29", features = ["v1_36"] }' > "$work/a/Cargo.toml"
echo 'pub use k8s_openapi;' > "$work/a/src/lib.rs"

target/release/kube-codegen generate "$swagger" --emit clientset,listers,informers --crate-name clientset-all --runtime-dir "$repo/runtime" --out "$work/b"
target/release/kube-codegen generate "$swagger" --only pods --only services --only configmaps \
  --only deployments.apps --only jobs.batch --emit clientset,listers,informers --crate-name clientset-five --runtime-dir "$repo/runtime" --out "$work/c"
for d in b c; do
  # The final binary picks the Kubernetes version; here the crate stands in for it.
  sed -i 's/^k8s-openapi = "0.29"/k8s-openapi = { version = "0.29", features = ["v1_36"] }/' "$work/$d/Cargo.toml"
  echo '[workspace]' >> "$work/$d/Cargo.toml"
done
for d in a b c; do cp Cargo.lock "$work/$d/"; (cd "$work/$d" && cargo fetch -q); done

cold_build "$work/a"; cold_build "$work/b"; cold_build "$work/c"
ua=$(unit "$work/a" k8s-openapi); ub=$(unit "$work/b" clientset-all); uc=$(unit "$work/c" clientset-five)
lines() { cat $(find "$1/src" -name '*.rs') | wc -l; }
echo "cold debug builds, the crate's own unit (seconds):"
printf '  k8s-openapi 0.29 (v1_36)           %6.1f\n' "$ua"
printf '  clientset, whole v1.36 API          %6.1f  (%d lines) = %.0f%% of k8s-openapi\n' "$ub" "$(lines "$work/b")" "$(echo "100 * $ub / $ua" | bc -l)"
printf '  clientset, five resources           %6.1f  (%d lines)\n' "$uc" "$(lines "$work/c")"
