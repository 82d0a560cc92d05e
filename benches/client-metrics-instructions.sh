#!/usr/bin/env bash
# Instructions per request of a GET through a kube::Client to the in-memory API server,
# without and with the client metrics layer: each case runs under callgrind with 2,000 and
# 12,000 requests, and the difference over 10,000 is what one request costs, setup excluded.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p kube-codegen-runtime --features fake --bench client_metrics --no-run
bin=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/client_metrics-* | grep -v '\.d$' | head -1)
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" instructions "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A per
for case in plain metrics; do
    low=$(count "$case" 2000)
    high=$(count "$case" 12000)
    per[$case]=$(( (high - low) / 10000 ))
    echo "$case: ${per[$case]} instructions per request"
done
echo "overhead: $(( (per[metrics] - per[plain]) * 1000 / per[plain] )) per mille"
