#!/usr/bin/env bash
# ctest `provreq_crd_upstream`: the ProvisioningRequest CRD spotfit ships (manifests/crd/, linked into the
# chart's crds/) is byte for byte the one Cluster Autoscaler publishes in its API module
# k8s.io/autoscaler/cluster-autoscaler/apis at the pinned version: the version Kueue (scripts/e2e/
# build-kueue.sh) builds against, so Kueue, Cluster Autoscaler and spotfit agree on the schema. The module
# comes from the Go module proxy through `go mod download` (cached in Go's module cache, ~/go/pkg/mod).
# To move to a newer upstream: change PINNED, run with --update, review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
PINNED=v0.0.0-20240830133931-adfbe7e45277
shipped=manifests/crd/provisioningrequests.autoscaling.x-k8s.io.yaml
die() { echo "check-provreq-crd: $*" >&2; exit 1; }
command -v go >/dev/null || die "go is not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "k8s.io/autoscaler/cluster-autoscaler/apis@$PINNED" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
upstream="$dir/config/crd/autoscaling.x-k8s.io_provisioningrequests.yaml"
[[ -f $upstream ]] || die "upstream CRD not found in the module ($upstream)"
if [[ ${1:-} == --update ]]; then
  install -m 644 "$upstream" "$shipped"
  echo "check-provreq-crd: $shipped updated from $PINNED"
  exit 0
fi
[[ -L charts/spotfit/crds/provisioningrequests.autoscaling.x-k8s.io.yaml ]] || die "the chart does not link the CRD"
if ! diff -u "$upstream" "$shipped"; then
  die "$shipped differs from the upstream CRD of cluster-autoscaler/apis@$PINNED (run with --update)"
fi
echo "check-provreq-crd: $shipped equals cluster-autoscaler/apis@$PINNED"
