#!/usr/bin/env bash
# Installs every Debian package spotfit's build, tests and benchmarks need. Idempotent: packages that are
# already installed are left alone, so a warm machine spends no time here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl
  libboost1.81-dev libboost-program-options1.81-dev libboost-system1.81-dev
  libssl-dev openssl
  rapidjson-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  python3 python3-yaml wrk procps iproute2 util-linux
  clang-14 libclang-rt-14-dev clang-format-14
  skopeo binutils
  tzdata  # /usr/share/zoneinfo: BudgetPolicy time zones (src/base/tz.cpp reads the TZif files)
  prometheus  # for promtool only: tests/chart checks and unit-tests the shipped alert rules with it

)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
