#!/usr/bin/env bash
# Generating the types of every shared CRD: kube-codegen (release, one process over the
# folder, `--emit types`) against kopium 0.24.1 (one process per file, `-A`: kopium reads one
# file per process). Wall time, CPU time (user + system, every process summed) and peak
# resident memory, from /usr/bin/time; medians of interleaved runs.
# Usage: benches/generate-vs-kopium.sh [RUNS]   (needs: cargo install kopium --version 0.24.1)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
corpus=$(realpath "${KUBE_CODEGEN_CORPUS:-../shared/corpus}")
cargo build --release -q -p kube-codegen-cli
kc=$(realpath target/release/kube-codegen)
command -v kopium >/dev/null || { echo "kopium not installed: cargo install kopium --version 0.24.1" >&2; exit 2; }
kopium --version | grep -q '0.24.1' || { echo "need kopium 0.24.1" >&2; exit 2; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
nfiles=$(ls "$corpus"/crds/*.yaml | wc -l)

measure() { # label command... -> "label wall cpu maxrss_kb" on stdout
  local label=$1; shift
  /usr/bin/time -f "$label %e %U %S %M" -o "$out/t" "$@" > /dev/null
  awk '{printf "%s %s %.3f %s\n", $1, $2, $3 + $4, $5}' "$out/t"
}
for ((i = 0; i < runs; i++)); do
  # Interleaved, so machine noise falls on both alike.
  measure kopium bash -c 'for f in "$1"/crds/*.yaml; do kopium -A -f "$f" > "$2/k.rs"; done' _ "$corpus" "$out"
  rm -rf "$out/folder"
  measure kube-codegen "$kc" generate "$corpus/crds" --emit types --out "$out/folder"
done > "$out/all"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v l="$1" -v c="$2" '$1 == l {print $c}' "$out/all" | median; }
kw=$(col kopium 2); kc_w=$(col kube-codegen 2); kcpu=$(col kopium 3); ccpu=$(col kube-codegen 3)
km=$(col kopium 4); cm=$(col kube-codegen 4)
echo "$nfiles CRD files, $runs interleaved runs, medians:"
printf '  %-40s wall %6.3f s  cpu %6.3f s  peak %4d MB\n' "kopium 0.24.1, one process per file" "$kw" "$kcpu" $((km / 1024))
printf '  %-40s wall %6.3f s  cpu %6.3f s  peak %4d MB\n' "kube-codegen, one process, --emit types" "$kc_w" "$ccpu" $((cm / 1024))
printf '  ratio: wall %.2fx, cpu %.2fx kopium\n' "$(echo "$kc_w / $kw" | bc -l)" "$(echo "$ccpu / $kcpu" | bc -l)"
echo "  wall ranges: kopium $(awk '$1=="kopium"{print $2}' "$out/all" | sort -n | sed -n '1p;$p' | paste -sd-), kube-codegen $(awk '$1=="kube-codegen"{print $2}' "$out/all" | sort -n | sed -n '1p;$p' | paste -sd-)"
