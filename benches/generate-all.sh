#!/usr/bin/env bash
# Everything from the v1.36 swagger (types, clientset, listers, informers), release, into an
# empty directory each run: medians of the split `--timings` prints. Usage:
#   benches/generate-all.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-11}
corpus=${KUBE_CODEGEN_CORPUS:-../shared/corpus}
cargo build --release -q -p kube-codegen-cli
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for mode in map generate; do
  for i in $(seq "$runs"); do
    rm -rf "$work/out"
    target/release/kube-codegen generate "$corpus/openapi/v2/swagger-v1.36.0.json" --types "$mode" \
      --out "$work/out" --timings 2>>"$work/$mode.txt"
  done
  python3 - "$work/$mode.txt" "$mode" <<'PY'
import re, statistics, sys
rows = [dict((k, float(v)) for k, v in re.findall(r"(\w+) (\d+) ms", line)) for line in open(sys.argv[1])]
files = re.search(r"\((\d+) files\)", open(sys.argv[1]).readline()).group(1)
med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
print(f"--types {sys.argv[2]:8} ({files} files, {len(rows)} runs): " + ", ".join(f"{k} {med[k]:.0f} ms" for k in ["read", "emit", "format", "write", "total"]))
PY
done
