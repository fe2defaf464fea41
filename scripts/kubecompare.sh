#!/usr/bin/env bash
# Builds tests/kubecompare (the real component-helpers and VPA code, pinned in its go.mod and fetched
# through the Go module proxy) into a cache outside the work tree, keyed by its go.mod, go.sum and source
# and the Go version, then runs it on a cases file. A complete cache entry is reused without building.
#
#   scripts/kubecompare.sh CASES.json OUT.json
#   SPOTFIT_KUBECOMPARE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-kubecompare)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src="$here/../tests/kubecompare"
die() { echo "kubecompare: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: scripts/kubecompare.sh CASES.json OUT.json"
command -v go >/dev/null || die "go is not installed (needs Go >= 1.26, as for the e2e control plane)"
[[ -f $src/go.mod && -f $src/go.sum && -f $src/main.go ]] || die "missing $src/go.mod, go.sum or main.go"

vpa_version=$(awk '$1 == "k8s.io/autoscaler/vertical-pod-autoscaler" && $2 ~ /^v/ {print $2; exit}' "$src/go.mod")
helpers_version=$(awk '$1 == "k8s.io/component-helpers" && $2 ~ /^v/ {print $2; exit}' "$src/go.mod")
[[ -n $vpa_version && -n $helpers_version ]] || die "cannot read pinned versions from $src/go.mod"
go_version=$(go env GOVERSION)
digest=$( (cat "$src/go.mod" "$src/go.sum" "$src/main.go"; echo "$go_version") | sha256sum | cut -c1-12)
cache_root=${SPOTFIT_KUBECOMPARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-kubecompare}
entry="$cache_root/helpers-$helpers_version-vpa-$vpa_version-$digest"
mkdir -p "$cache_root"

if [[ ! -x $entry/kubecompare ]]; then
  exec 9>"$entry.lock"
  flock 9
  if [[ ! -x $entry/kubecompare ]]; then
    work=$(mktemp -d "$cache_root/build.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    cp "$src/go.mod" "$src/go.sum" "$src/main.go" "$work/"
    echo "kubecompare: building component-helpers $helpers_version and VPA $vpa_version with $go_version" >&2
    (cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -o kubecompare .) >&2 ||
      die "go build failed"
    mkdir -p "$entry"
    mv "$work/kubecompare" "$entry/kubecompare"
  fi
fi
"$entry/kubecompare" "$1" > "$2.tmp" || die "the Go side failed on $1"
mv "$2.tmp" "$2"
