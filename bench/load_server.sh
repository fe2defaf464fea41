#!/usr/bin/env bash
# HTTPS keep-alive load on the serving shell with wrk (Debian package), plus the server's RSS.
#
#   bash bench/load_server.sh [BUILD_DIR] [DURATION]      e.g. bash bench/load_server.sh build/release 10s
#
# Starts `bench_server --serve` (an embedded spotfit server with GET /ping over TLS, io threads = cores),
# runs wrk at several connection counts, and prints one markdown row per run: connections, req/s, p50,
# p99, the server's VmRSS after the run and its peak VmHWM. wrk shares the machine's cores with the server.
set -euo pipefail
build=${1:-build/release}
duration=${2:-10s}
bin="$build/bench/bench_server"
[ -x "$bin" ] || bin="$build/bench_server"
[ -x "$bin" ] || { echo "load_server.sh: no bench_server in $build (build target bench_server)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "load_server.sh: wrk not installed (apt-get install wrk)" >&2; exit 1; }

out=$(mktemp)
"$bin" --serve > "$out" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q https_port "$out" && break; sleep 0.05; done
port=$(awk '/https_port/ {print $2}' "$out")
[ -n "$port" ] || { echo "load_server.sh: server did not start" >&2; exit 1; }

rss() { awk -v k="$1:" '$1 == k {print int($2/1024) " MiB"}' /proc/$pid/status; }
echo "| connections | wrk threads | req/s | p50 | p99 | RSS after | peak RSS |"
echo "|---|---|---|---|---|---|---|"
for c in 1 16 64 256; do
  t=$(( c < 2 ? 1 : 2 ))
  res=$(wrk -t"$t" -c"$c" -d"$duration" --latency "https://127.0.0.1:$port/ping")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$res")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$res")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$res")
  errs=$(grep -E 'Non-2xx|Socket errors' <<<"$res" || true)
  echo "| $c | $t | $rps | $p50 | $p99 | $(rss VmRSS) | $(rss VmHWM) |${errs:+ $errs}"
done
