#!/usr/bin/env bash
# Compile cost of apply configurations: the crate `kube-codegen generate --types generate`
# makes from the v1.36 swagger with the types alone (`--emit types`) and with their apply
# configurations (`--emit types,apply`), for the whole API and for five resources. Debug
# builds without incremental caches; dependencies are built once and shared, each crate's own
# unit is rebuilt ROUNDS times in alternating order (touching its lib.rs) and the medians of
# its `cargo build --timings` durations are printed. Usage: ROUNDS=3 benches/apply-compile.sh
#
# INSTRUCTIONS=1: instead of timing, count the instructions rustc executes for the five-resource
# crates' own unit under `valgrind --tool=callgrind` (a few minutes each). Unlike seconds on a
# shared VM, the count repeats to within 0.01%, so a change of a few percent can be seen.
# INSTRUCTIONS=all counts the whole API's crates too (about half an hour more).
# RUNTIME_DIR=path: build the generated crates against another checkout's runtime (before/after).
#
# FLOOR=1: instead of the whole API, the five-resource crates beside two copies of five-apply cut
# down to what any apply configuration must have: `five-setters` keeps each configuration's
# struct, `Default` and setters; `five-serde` adds `Serialize` and `Deserialize` impls that do
# nothing per field (one-line delegations to generic code, as the real ones are). Neither
# works; they bound from below what any design with those items costs. Timed, or counted with
# INSTRUCTIONS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
corpus=${KUBE_CODEGEN_CORPUS:-../shared/corpus}
swagger="$corpus/openapi/v2/swagger-v1.36.0.json"
rounds=${ROUNDS:-3}
cargo build --release -q -p kube-codegen-cli
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
five=(--only pods --only services --only configmaps --only deployments.apps --only jobs.batch)

gen() { # NAME EMIT [ARGS...]
  local name=$1 emit=$2; shift 2
  target/release/kube-codegen generate "$swagger" --types generate --emit "$emit" "$@" \
    --crate-name "$name" --runtime-dir "${RUNTIME_DIR:-$repo/runtime}" --out "$work/$name"
  sed -i 's/^k8s-openapi = "0.29"/k8s-openapi = { version = "0.29", features = ["v1_36"] }/' "$work/$name/Cargo.toml"
  echo '[workspace]' >> "$work/$name/Cargo.toml"
  cp Cargo.lock "$work/$name/"
}

skeleton() { # NAME setters|serde : a cut-down copy of five-apply (FLOOR=1)
  rm -rf "${work:?}/$1"; cp -r "$work/five-apply" "$work/$1"
  sed -i "s/^name = \"five-apply\"/name = \"$1\"/" "$work/$1/Cargo.toml"
  find "$work/$1/src" -mindepth 2 -name '*.rs' -exec sed -i -e 's/kube_codegen_runtime::apply!/crate::skeleton!/' \
    -e '/^#\[derive(Clone)\]$/d' {} +
  cat >> "$work/$1/src/lib.rs" <<'EOF'
macro_rules! skeleton {
    (
        $name:ident $([$($resource:tt)*])? { $($json:literal => $field:ident: $ty:ty [$mode:ident],)* }
        $(keep $other:ident)?
    ) => {
        impl ::core::default::Default for $name {
            #[inline]
            fn default() -> Self {
                Self { $($field: ::core::option::Option::None,)* $($other: ::core::default::Default::default(),)? }
            }
        }
        impl $name {
            $(::kube_codegen_runtime::__apply_setter!($mode $field $json $ty);)*
        }
        impl ::kube_codegen_runtime::__private::serde::Serialize for $name { // serde
            fn serialize<S: ::kube_codegen_runtime::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> { // serde
                crate::skeleton_serde::serialize(self, serializer) // serde
            } // serde
        } // serde
        impl<'de> ::kube_codegen_runtime::__private::serde::Deserialize<'de> for $name { // serde
            fn deserialize<D: ::kube_codegen_runtime::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> { // serde
                crate::skeleton_serde::deserialize(deserializer) // serde
            } // serde
        } // serde
    };
}
pub(crate) use skeleton;
mod skeleton_serde { // serde
    use ::kube_codegen_runtime::__private::serde::{Deserialize, Deserializer, Serializer, de::IgnoredAny, ser::SerializeMap}; // serde
    pub fn serialize<T, S: Serializer>(_: &T, serializer: S) -> Result<S::Ok, S::Error> { // serde
        serializer.serialize_map(Some(0))?.end() // serde
    } // serde
    pub fn deserialize<'de, T: Default, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> { // serde
        IgnoredAny::deserialize(deserializer).map(|_| T::default()) // serde
    } // serde
} // serde
EOF
  if [[ $2 == setters ]]; then sed -i '/\/\/ serde$/d' "$work/$1/src/lib.rs"; fi
}
if [[ -n "${INSTRUCTIONS:-}" ]]; then
  crates=(five-types five-apply)
  gen five-types types "${five[@]}"; gen five-apply types,apply "${five[@]}"
  if [[ -n "${FLOOR:-}" ]]; then crates+=(five-setters five-serde); skeleton five-setters setters; skeleton five-serde serde; fi
  if [[ "$INSTRUCTIONS" == all ]]; then crates+=(all-types all-apply); gen all-types types; gen all-apply types,apply; fi
  for c in "${crates[@]}"; do
    env=(CARGO_INCREMENTAL=0 K8S_OPENAPI_ENABLED_VERSION=1.36 CARGO_TARGET_DIR="$work/target")
    (cd "$work/$c" && env "${env[@]}" cargo build -q 2>/dev/null)
    touch "$work/$c/src/lib.rs"
    # The crate's own rustc command as cargo runs it, minus cargo's JSON diagnostics.
    cmd=$(cd "$work/$c" && env "${env[@]}" cargo build -v 2>&1 | sed -n 's/^ *Running `\(.*rustc --crate-name [a-z_]*_\(types\|apply\|setters\|serde\) .*\)`$/\1/p' | head -n1)
    cmd=${cmd//--error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat/}
    mkdir -p "$work/out-$c"
    cmd=$(sed "s#--out-dir [^ ]*#--out-dir $work/out-$c#" <<< "$cmd")
    (cd "$work/$c" && eval "valgrind --tool=callgrind --callgrind-out-file=$work/cg-$c.out $cmd" > "$work/vg-$c.log" 2>&1)
    echo "$c $(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/vg-$c.log")" >> "$work/counts"
  done
  python3 - "$work/counts" <<'PY'
import sys
n = dict(line.split() for line in open(sys.argv[1]))
for what, name in (("five resources", "five"), ("whole API", "all")):
    if f"{name}-types" not in n:
        continue
    t, a = int(n[f"{name}-types"]), int(n[f"{name}-apply"])
    print(f"{name}-types  {t / 1e9:7.3f} G instructions")
    print(f"{name}-apply  {a / 1e9:7.3f} G instructions")
    print(f"{what}: apply configurations add {(a - t) / 1e9:.3f} G instructions ({100 * (a / t - 1):.0f}%)")
for name in ("five-setters", "five-serde"):
    if name in n:
        print(f"{name} {int(n[name]) / 1e9:7.3f} G instructions: {(int(n[name]) - int(n['five-types'])) / 1e9:.3f} G over five-types")
PY
  exit 0
fi
crates=(all-types all-apply five-types five-apply)
gen five-types types "${five[@]}"; gen five-apply types,apply "${five[@]}"
if [[ -n "${FLOOR:-}" ]]; then
  crates=(five-types five-setters five-serde five-apply); skeleton five-setters setters; skeleton five-serde serde
else
  gen all-types types; gen all-apply types,apply
fi

build() { # NAME -> prints the crate's own unit seconds
  touch "$work/$1/src/lib.rs"
  (cd "$work/$1" && CARGO_INCREMENTAL=0 K8S_OPENAPI_ENABLED_VERSION=1.36 CARGO_TARGET_DIR="$work/target" \
    cargo build -q --timings 2>/dev/null)
  python3 - "$work/target/cargo-timings/cargo-timing.html" "$1" <<'PY'
import json, re, sys
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", open(sys.argv[1]).read(), re.S).group(1))
print(sum(u["duration"] for u in units if u["name"] == sys.argv[2] and u.get("target", "") in ("", " (lib)", "lib")))
PY
}
build "${crates[0]}" > /dev/null # the shared dependencies
for i in $(seq "$rounds"); do
  order=("${crates[@]}")
  if (( i % 2 == 0 )); then order=(); for c in "${crates[@]}"; do order=("$c" "${order[@]}"); done; fi
  for c in "${order[@]}"; do echo "$c $(build "$c")" >> "$work/times"; done
done
for c in "${crates[@]}"; do echo "$c $(cat $(find "$work/$c/src" -name '*.rs') | wc -l)"; done > "$work/lines"
python3 - "$work/times" "$work/lines" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    name, t = line.split()
    times.setdefault(name, []).append(float(t))
lines = dict(line.split() for line in open(sys.argv[2]))
med = {k: statistics.median(v) for k, v in times.items()}
for k in lines:
    over = f"; {med[k] - med['five-types']:+.1f} s over five-types" if k.startswith("five-") and k != "five-types" else ""
    print(f"{k:12} {med[k]:6.1f} s  ({lines[k]} lines; rounds: {', '.join(f'{t:.1f}' for t in times[k])}{over})")
if "all-types" in med:
    print(f"whole API: apply configurations add {100 * (med['all-apply'] / med['all-types'] - 1):.0f}%")
print(f"five resources: apply configurations add {med['five-apply'] - med['five-types']:.1f} s")
PY
