#!/usr/bin/env bash
# What the runtime's metrics cost, counted in instructions under callgrind, where CPU time on a
# shared machine moves more than they cost. A GET through a kube::Client to the in-memory API
# server, without and with the client metrics layer: 2,000 and 12,000 requests, the difference
# over 10,000 is one request, setup excluded. An informer's initial sync of ConfigMaps, without
# and with informer metrics: 1,000 and 5,000 objects, the difference over 4,000 is one object.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo bench -q -p kube-codegen-runtime --features fake --bench client_metrics --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" instructions "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per() { # CASE LOW HIGH
    echo $(( ($(count "$1" "$3") - $(count "$1" "$2")) / ($3 - $2) ))
}
plain=$(per plain 2000 12000); metrics=$(per metrics 2000 12000)
echo "GET: ${plain} instructions per request without the layer, ${metrics} with: +$(( (metrics - plain) * 1000 / plain )) per mille"
plain=$(per sync-plain 1000 5000); metrics=$(per sync-metrics 1000 5000)
echo "sync: ${plain} instructions per object without informer metrics, ${metrics} with: +$(( (metrics - plain) * 1000 / plain )) per mille"
