#!/usr/bin/env bash
# Generating the types of every shared CRD: kube-codegen (release) against kopium 0.24.1.
# kopium reads one file per process and emits one version (`-A` adds derives); kube-codegen is
# timed both ways: one process over the folder, and one process per file like kopium.
# Usage: benches/generate-vs-kopium.sh [RUNS]   (needs: cargo install kopium --version 0.24.1)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-9}
corpus=${KUBE_CODEGEN_CORPUS:-../shared/corpus}
cargo build --release -q -p kube-codegen-cli
kc=target/release/kube-codegen
command -v kopium >/dev/null || { echo "kopium not installed: cargo install kopium --version 0.24.1" >&2; exit 2; }
kopium --version | grep -q '0.24.1' || { echo "need kopium 0.24.1" >&2; exit 2; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
files=("$corpus"/crds/*.yaml)

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -a t_kopium t_folder t_perfile
for ((i = 0; i < runs; i++)); do
  # Interleaved, so machine noise falls on all three alike.
  s=$(now); for f in "${files[@]}"; do kopium -A -f "$f" > "$out/k.rs"; done; e=$(now)
  t_kopium+=("$(echo "$e - $s" | bc)")
  s=$(now); "$kc" generate "$corpus/crds" --out "$out/folder"; e=$(now)
  t_folder+=("$(echo "$e - $s" | bc)")
  s=$(now); for f in "${files[@]}"; do "$kc" generate "$f" --out "$out/one"; done; e=$(now)
  t_perfile+=("$(echo "$e - $s" | bc)")
done
k=$(printf '%s\n' "${t_kopium[@]}" | median)
a=$(printf '%s\n' "${t_folder[@]}" | median)
p=$(printf '%s\n' "${t_perfile[@]}" | median)
echo "${#files[@]} CRD files, $runs runs each, medians (seconds):"
printf '  kopium 0.24.1, one process per file     %8.3f\n' "$k"
printf '  kube-codegen, one process for the folder %8.3f  (%.2fx kopium)\n' "$a" "$(echo "$a / $k" | bc -l)"
printf '  kube-codegen, one process per file       %8.3f  (%.2fx kopium)\n' "$p" "$(echo "$p / $k" | bc -l)"
