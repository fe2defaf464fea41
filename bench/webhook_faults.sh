#!/usr/bin/env bash
# Minor page faults and CPU per admission of `spotfit serve` under the webhook wrk load (docs/benchmarks.md,
# "Webhook"), for one or more spotfit binaries side by side (alternating, ROUNDS rounds), e.g. a build
# without and with the startup malloc tuning (src/server/allocator.hpp):
#
#   [CONNS=16] [WRK_THREADS=1] bash bench/webhook_faults.sh DURATION ROUNDS BINARY...
#   e.g. bash bench/webhook_faults.sh 10s 3 old/spotfit build/release/spotfit
#
# One markdown row per run: binary, requests, req/s, minor faults per 1,000 requests, CPU µs per request
# (utime+stime of the serve process from /proc/PID/stat over the wrk run).
set -euo pipefail
duration=${1:?duration}; rounds=${2:?rounds}; shift 2
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "webhook_faults.sh: wrk not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pod=$(cat "$here/data/webhook-job-pod.json")
printf '%s' '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"requestKind":{"group":"","version":"v1","kind":"Pod"},"requestResource":{"group":"","version":"v1","resource":"pods"},"namespace":"analytics","operation":"CREATE","userInfo":{"username":"system:serviceaccount:kube-system:job-controller","uid":"3f1c8a52-97b1-4c1e-9a53-0b2d6e1f7a10","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},"object":' >"$work/review.json"
printf '%s' "$pod" >>"$work/review.json"
printf '%s' ',"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}' >>"$work/review.json"
"${1}" certs --out "$work/certs" --dns localhost >/dev/null
tick=$(getconf CLK_TCK)
stat_of() { awk '{print $10, $14 + $15}' "/proc/$1/stat"; }  # minflt, utime+stime (ticks)
echo "| binary | requests | req/s | minor faults / 1k req | CPU µs / req |"
echo "|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    port=$((18000 + RANDOM % 2000)); mport=$((port + 2000))
    "$bin" serve --https-addr "127.0.0.1:$port" --metrics-addr "127.0.0.1:$mport" \
      --tls-cert-file "$work/certs/tls.crt" --tls-key-file "$work/certs/tls.key" --log-level error 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mport/readyz" >/dev/null && break; sleep 0.1; done
    WEBHOOK_REVIEW="$work/review.json" wrk -t1 -c16 -d2s -s "$here/webhook_wrk.lua" "https://127.0.0.1:$port" >/dev/null
    read -r f0 c0 < <(stat_of $pid)
    out=$(WEBHOOK_REVIEW="$work/review.json" wrk -t"${WRK_THREADS:-1}" -c"${CONNS:-16}" -d"$duration" -s "$here/webhook_wrk.lua" "https://127.0.0.1:$port")
    read -r f1 c1 < <(stat_of $pid)
    kill -TERM $pid; wait $pid 2>/dev/null || true
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    awk -v b="$bin" -v r="$reqs" -v rps="$rps" -v f=$((f1 - f0)) -v c=$((c1 - c0)) -v t="$tick" \
      'BEGIN {printf "| %s | %d | %s | %.1f | %.1f |\n", b, r, rps, 1000 * f / r, 1e6 * c / t / r}'
  done
done
