#!/usr/bin/env bash
# Regenerates src/ from inputs/ with the CLI; tests/drift.rs fails when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
kc() { cargo run -q -p kube-codegen-cli -- "$@"; }
kc generate generated-example/inputs/widgets.yaml --out generated-example/src/widgets
kc generate generated-example/inputs/edge-cases.yaml --out generated-example/src/edge_cases
kc generate generated-example/inputs/mini-api.json --types generate --out generated-example/src/mini_api
