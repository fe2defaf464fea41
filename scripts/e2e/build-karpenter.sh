#!/usr/bin/env bash
# Builds Karpenter's kwok provider (sigs.k8s.io/karpenter/kwok) and the kwok controller
# (sigs.k8s.io/kwok/cmd/kwok) from the Go module proxy into a cache outside the work tree, keyed by the
# pinned versions and the Go toolchain. No third-party code is committed: `go install pkg@version` builds
# from the module cache with each module's own go.mod/go.sum (checked against the checksum database).
# A complete cache entry is reused without building. Prints the cache entry as the last line of stdout:
#   <entry>/bin/karpenter-kwok   Karpenter v1.15.0 with its kwok cloud provider
#   <entry>/bin/kwok             the kwok controller v0.8.0 (fakes kubelets from Stage objects)
#   <entry>/versions.env         KARPENTER_VERSION=, KWOK_VERSION=, GO_TOOLCHAIN=
# Karpenter's CRDs (NodePool, NodeClaim, KWOKNodeClass) are installed at run time from the module directory
# `go mod download -json sigs.k8s.io/karpenter@$KARPENTER_VERSION` reports (scripts/e2e/karpenter.py).
#
#   SPOTFIT_KARPENTER_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-karpenter)
set -euo pipefail

KARPENTER_VERSION=v1.15.0
KWOK_VERSION=v0.8.0
# Karpenter v1.15.0's go.mod asks for Go 1.26.9; the machine has 1.26.8. The newer toolchain comes from the
# Go proxy and is used by this script only.
GO_TOOLCHAIN=go1.27.3

die() { echo "build-karpenter: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
export GOTOOLCHAIN=$GO_TOOLCHAIN GOFLAGS=-mod=mod CGO_ENABLED=0
cache_root=${SPOTFIT_KARPENTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-karpenter}
entry="$cache_root/$KARPENTER_VERSION-kwok-$KWOK_VERSION-$GO_TOOLCHAIN"

complete() {
  [[ -f $entry/complete && -x $entry/bin/karpenter-kwok && -x $entry/bin/kwok && -f $entry/versions.env ]]
}

mkdir -p "$cache_root"
if complete; then
  echo "$entry"
  exit 0
fi

exec 9>"$entry.lock"
flock 9
if complete; then
  echo "$entry"
  exit 0
fi

work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/karpenter" "$work/kwok"

echo "build-karpenter: building Karpenter $KARPENTER_VERSION (kwok provider) and kwok $KWOK_VERSION with" \
     "$GO_TOOLCHAIN into $entry (first build takes a few minutes)" >&2
start=$(date +%s)
(
  cd "$work"  # no go.mod here: `go install pkg@version` uses the module's own go.mod and go.sum
  GOBIN="$work/karpenter" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/karpenter/kwok@$KARPENTER_VERSION"
  GOBIN="$work/kwok" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
) >&2 || die "go install failed"
seconds=$(( $(date +%s) - start ))
# Both commands are called "kwok": rename Karpenter's.
mv "$work/karpenter/kwok" "$work/bin/karpenter-kwok" || die "go install did not produce Karpenter's kwok binary"
mv "$work/kwok/kwok" "$work/bin/kwok" || die "go install did not produce the kwok controller"
"$work/bin/kwok" --version >&2 || die "the built kwok controller does not run"

# The module directory (for the CRDs) must exist: `go install` downloaded it.
go mod download -json "sigs.k8s.io/karpenter@$KARPENTER_VERSION" >/dev/null || die "go mod download failed"

rm -rf "$entry"
mkdir -p "$entry"
mv "$work/bin" "$entry/bin"
printf 'KARPENTER_VERSION=%s\nKWOK_VERSION=%s\nGO_TOOLCHAIN=%s\n' "$KARPENTER_VERSION" "$KWOK_VERSION" \
  "$GO_TOOLCHAIN" >"$entry/versions.env"
echo "$seconds" >"$entry/build-seconds"
echo "karpenter $KARPENTER_VERSION kwok $KWOK_VERSION $GO_TOOLCHAIN built in ${seconds}s on $(nproc) cores" \
  >"$entry/complete"
echo "build-karpenter: built in ${seconds}s" >&2
echo "$entry"
