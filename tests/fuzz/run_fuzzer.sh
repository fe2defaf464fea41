#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SECONDS CORPUS WORKDIR: fuzzes for SECONDS from the checked-in CORPUS (read only;
# new inputs go to WORKDIR/corpus). A crash, leak, sanitizer report, timeout (10 s per input) or RSS over
# 2 GiB fails; the reproducer is left in WORKDIR/ as crash-*/timeout-*/oom-*: copy it to
# tests/fuzz/corpus/<target>/regress-<what> so the regular build replays it (tests/integration).
set -euo pipefail
fuzzer=$1 seconds=$2 corpus=$3 work=$4
mkdir -p "$work/corpus"
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$corpus"
