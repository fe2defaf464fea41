#!/usr/bin/env bash
# Builds Kueue's manager (sigs.k8s.io/kueue/cmd/kueue) from the Go module proxy into a cache outside the
# work tree, keyed by the pinned version and the Go toolchain, like build-karpenter.sh. No third-party code
# is committed: `go install pkg@version` builds from the module cache with the module's own go.mod/go.sum.
# Kueue's CRDs are applied at run time from the module directory (`go mod download -json` reports it).
# Prints the cache entry as the last line of stdout:
#   <entry>/bin/kueue        the Kueue manager
#   <entry>/versions.env     KUEUE_VERSION=, GO_TOOLCHAIN=
#
#   SPOTFIT_KUEUE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-kueue)
set -euo pipefail

KUEUE_VERSION=v0.17.0
# Kueue v0.17.0's go.mod asks for Go 1.25; the pinned toolchain is the one build-karpenter.sh uses, so one
# toolchain download serves both.
GO_TOOLCHAIN=go1.27.3

die() { echo "build-kueue: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
export GOTOOLCHAIN=$GO_TOOLCHAIN GOFLAGS=-mod=mod CGO_ENABLED=0
cache_root=${SPOTFIT_KUEUE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-kueue}
entry="$cache_root/$KUEUE_VERSION-$GO_TOOLCHAIN"

complete() { [[ -f $entry/complete && -x $entry/bin/kueue && -f $entry/versions.env ]]; }

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
mkdir -p "$work/bin"
echo "build-kueue: building Kueue $KUEUE_VERSION with $GO_TOOLCHAIN into $entry (first build takes minutes)" >&2
start=$(date +%s)
(
  cd "$work"
  GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kueue/cmd/kueue@$KUEUE_VERSION"
) >&2 || die "go install failed"
seconds=$(( $(date +%s) - start ))
[[ -x $work/bin/kueue ]] || die "go install did not produce the kueue binary"
go mod download -json "sigs.k8s.io/kueue@$KUEUE_VERSION" >/dev/null || die "go mod download failed"

rm -rf "$entry"
mkdir -p "$entry"
mv "$work/bin" "$entry/bin"
printf 'KUEUE_VERSION=%s\nGO_TOOLCHAIN=%s\n' "$KUEUE_VERSION" "$GO_TOOLCHAIN" >"$entry/versions.env"
echo "$seconds" >"$entry/build-seconds"
echo "kueue $KUEUE_VERSION $GO_TOOLCHAIN built in ${seconds}s on $(nproc) cores" >"$entry/complete"
echo "build-kueue: built in ${seconds}s" >&2
echo "$entry"
