#!/usr/bin/env bash
# Builds helm (helm.sh/helm/v3, pinned below) from the Go module proxy into a cache outside the work tree,
# keyed by the helm version and the Go version, and prints the path of the helm binary as the last line
# of stdout. A complete cache entry is reused without running Go. Debian bookworm has no helm package,
# and nothing may be downloaded except through package registries, hence the build.
#
#   SPOTFIT_HELM_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-helm)
set -euo pipefail

helm_version=v3.21.4
# The Kubernetes version helm assumes without a cluster (`helm template`, `helm lint`): that of the
# k8s.io/client-go helm_version requires (v0.36.2 -> 1.36), set as helm's own Makefile does.
k8s_major=1 k8s_minor=36
recipe=2  # bump when the build flags below change, so a cached helm built differently is not reused

die() { echo "build-helm: $*" >&2; exit 1; }
command -v go >/dev/null || die "go is not installed (scripts/install-deps.sh installs it)"

go_version=$(go env GOVERSION)
cache_root=${SPOTFIT_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-helm}
entry="$cache_root/helm-$helm_version-k8s$k8s_major.$k8s_minor-$go_version-r$recipe"
if [[ -x $entry/bin/helm && -f $entry/complete ]]; then
  echo "$entry/bin/helm"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$entry.lock"
flock 9
if [[ -x $entry/bin/helm && -f $entry/complete ]]; then
  echo "$entry/bin/helm"
  exit 0
fi

work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build-helm: building helm $helm_version with $go_version into $entry" >&2
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=$k8s_major -X $pkg.k8sVersionMinor=$k8s_minor"
done
(
  cd "$work"
  export GOBIN="$work/bin" CGO_ENABLED=0 GOFLAGS=-mod=mod
  go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"
) >&2 || die "go install helm.sh/helm/v3/cmd/helm@$helm_version failed"
"$work/bin/helm" version >&2 || die "built helm does not run"

rm -rf "$entry"
mkdir -p "$entry"
mv "$work/bin" "$entry/bin"
touch "$entry/complete"
echo "$entry/bin/helm"
