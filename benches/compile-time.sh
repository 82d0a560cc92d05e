#!/usr/bin/env bash
# Cold debug build of the whole Kubernetes API: the crate `kube-codegen generate --types
# generate` makes from the v1.36 swagger, against k8s-openapi 0.29 with feature v1_36.
# Both are built from empty target directories in the same run; per-crate times come from
# `cargo build --timings`. Apply configurations are left out (`--emit`), as before they
# existed: benches/apply-compile.sh measures them. Usage: benches/compile-time.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
corpus=${KUBE_CODEGEN_CORPUS:-../shared/corpus}
source benches/lib.sh
cargo build --release -q -p kube-codegen-cli
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# A: k8s-openapi itself.
mkdir -p "$work/a/src"
manifest k8s-openapi-only 'k8s-openapi = { version = "0.29", features = ["v1_36"] }' > "$work/a/Cargo.toml"
echo 'pub use k8s_openapi;' > "$work/a/src/lib.rs"

# B: the generated crate (it uses k8s-openapi for Time, Quantity, IntOrString, ObjectMeta).
target/release/kube-codegen generate "$corpus/openapi/v2/swagger-v1.36.0.json" --types generate \
  --emit clientset,listers,informers \
  --crate-name k8s-generated --runtime-dir "$repo/runtime" --out "$work/b"
echo '[workspace]' >> "$work/b/Cargo.toml"

for d in a b; do cp Cargo.lock "$work/$d/"; (cd "$work/$d" && cargo fetch -q); done

build() { # dir -> prints wall seconds
  local s e
  s=$(date +%s.%N)
  (cd "$1" && K8S_OPENAPI_ENABLED_VERSION=1.36 CARGO_TARGET_DIR="$1/target" cargo build -q --timings 2>/dev/null)
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
wa=$(build "$work/a"); wb=$(build "$work/b")
ua=$(unit "$work/a" k8s-openapi); ub=$(unit "$work/b" k8s-generated); uab=$(unit "$work/b" k8s-openapi)
lines_b=$(cat $(find "$work/b/src" -name '*.rs') | wc -l)
echo "cold debug builds (seconds):"
printf '  k8s-openapi 0.29 (v1_36): whole build %6.1f, the k8s-openapi crate %6.1f\n' "$wa" "$ua"
printf '  generated crate:          whole build %6.1f, the generated crate   %6.1f (%d lines), its k8s-openapi %6.1f\n' "$wb" "$ub" "$lines_b" "$uab"
printf '  generated crate / k8s-openapi crate: %.2fx\n' "$(echo "$ub / $ua" | bc -l)"
