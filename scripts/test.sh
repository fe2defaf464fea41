#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: install dependencies, build Release and ASan+UBSan,
# run every unit/integration test on both, then the end-to-end suite against a real control plane
# (Release build). The output ends with ctest's summary.
#
#   bash scripts/test.sh            # everything
#   SPOTFIT_E2E=0 bash scripts/test.sh   # skip the end-to-end suite (no Kubernetes build)
#   SPOTFIT_FUZZ=0 bash scripts/test.sh  # skip exploratory fuzzing (SPOTFIT_FUZZ_SECONDS per target, default 20)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
e2e=${SPOTFIT_E2E:-1}

bash scripts/install-deps.sh || { echo "test.sh: installing dependencies failed" >&2; exit 1; }

configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null || return 1
  cmake --build "$dir" -j "$jobs" || return 1
}

status=0
echo "::: building Release"
configure_and_build build/release -DCMAKE_BUILD_TYPE=Release -DSPOTFIT_E2E=$([ "$e2e" = 1 ] && echo ON || echo OFF) || exit 1
echo "::: building ASan+UBSan"
configure_and_build build/asan -DCMAKE_BUILD_TYPE=Debug -DSPOTFIT_SANITIZE=ON -DSPOTFIT_BUILD_BENCH=OFF || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "::: tests under ASan+UBSan"
(cd build/asan && ctest --output-on-failure -j "$jobs" -LE e2e) || status=1

# Exploratory fuzzing: each decoder's libFuzzer target for a bounded time (6 targets x 20 s = 2 min) from
# the checked-in corpus; a crash, sanitizer report, 10 s input or 2 GiB RSS fails (tests/fuzz/README.md).
# The corpus itself is also replayed by the regular builds above and below (FuzzCorpus.*).
if [ "${SPOTFIT_FUZZ:-1}" = 0 ]; then
  echo "::: fuzzing skipped (SPOTFIT_FUZZ=0)"
else
echo "::: fuzzing each decoder for ${SPOTFIT_FUZZ_SECONDS:-20} s (clang, libFuzzer, ASan+UBSan)"
if CXX=clang++-14 cmake -S "$root" -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPOTFIT_FUZZ=ON \
     -DSPOTFIT_WERROR=OFF -DSPOTFIT_BUILD_BENCH=OFF -DSPOTFIT_FUZZ_SECONDS="${SPOTFIT_FUZZ_SECONDS:-20}" >/dev/null &&
   cmake --build build/fuzz -j "$jobs" --target fuzzers; then
  (cd build/fuzz && ctest --output-on-failure -L fuzz) || status=1
else
  echo "test.sh: building the fuzz targets failed" >&2
  status=1
fi
fi

echo "::: tests, Release (unit, integration, end-to-end)"
(cd build/release && ctest --output-on-failure -j "$jobs") || status=1
exit $status
