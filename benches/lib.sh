# Shared by the compile-time benchmark scripts; `source` it.

# manifest NAME DEPENDENCIES...: a Cargo.toml for a throw-away crate with its own workspace.
manifest() {
  local name=$1; shift
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2024"\n[dependencies]\n' "$name"
  printf '%s\n' "$@"
  printf '[workspace]\n'
}

# cold_build DIR: a debug build from an empty target directory, with `--timings`.
cold_build() {
  (cd "$1" && K8S_OPENAPI_ENABLED_VERSION=1.36 CARGO_TARGET_DIR="$1/target" cargo build -q --timings 2>/dev/null)
}

# unit DIR CRATE: the seconds the crate's own unit took in DIR's last `cold_build`.
unit() {
  python3 - "$1" "$2" <<'PY'
import json, re, sys, glob
html = open(glob.glob(sys.argv[1] + "/target/cargo-timings/cargo-timing.html")[0]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))
mine = [u for u in units if u["name"] == sys.argv[2]]
# The library itself when there is one (not its build script), else everything of that name.
lib = [u for u in mine if u.get("target", "") in ("", " (lib)", "lib")]
print(sum(u["duration"] for u in (lib or mine)))
PY
}
