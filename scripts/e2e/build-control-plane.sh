#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from the Go module
# proxy (pinned in scripts/e2e/k8s/go.mod) into a cache outside the work tree, keyed by the pinned versions,
# the go.mod/go.sum contents and the Go version. A complete cache entry is reused without running Go.
# Prints the directory holding the binaries as the last line of stdout. Exit status non-zero on failure.
#
#   SPOTFIT_E2E_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-e2e)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mod_dir="$here/k8s"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

die() { echo "build-control-plane: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed (needs Go >= 1.26 to build Kubernetes)"
[[ -f $mod_dir/go.mod && -f $mod_dir/go.sum ]] || die "missing $mod_dir/go.mod or go.sum"

k8s_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$mod_dir/go.mod")
etcd_version=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$mod_dir/go.mod")
[[ -n $k8s_version && -n $etcd_version ]] || die "cannot read pinned versions from $mod_dir/go.mod"
go_version=$(go env GOVERSION)
digest=$( (cat "$mod_dir/go.mod" "$mod_dir/go.sum"; echo "$go_version") | sha256sum | cut -c1-12)
cache_root=${SPOTFIT_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spotfit-e2e}
entry="$cache_root/k8s-$k8s_version-etcd-$etcd_version-$digest"

complete() {
  [[ -f $entry/complete ]] || return 1
  local b
  for b in "${binaries[@]}"; do [[ -x $entry/bin/$b ]] || return 1; done
}

mkdir -p "$cache_root"
if complete; then
  echo "$entry/bin"
  exit 0
fi

# One build at a time per cache entry (parallel ctest runs or several checkouts on one machine).
exec 9>"$entry.lock"
flock 9
if complete; then
  echo "$entry/bin"
  exit 0
fi

work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$mod_dir/go.mod" "$mod_dir/go.sum" "$work/"
mkdir -p "$work/bin"

minor=${k8s_version#v1.}
minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

echo "build-control-plane: building Kubernetes $k8s_version and etcd $etcd_version with $go_version" \
     "into $entry (first build takes a while)" >&2
start=$(date +%s)
(
  cd "$work"
  export GOFLAGS=-mod=mod CGO_ENABLED=0
  go build -trimpath -ldflags "$ldflags" -o bin/etcd go.etcd.io/etcd/server/v3
  go build -trimpath -ldflags "$ldflags" -o bin/ \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
) >&2 || die "go build failed"
seconds=$(( $(date +%s) - start ))

for b in "${binaries[@]}"; do [[ -x $work/bin/$b ]] || die "go build did not produce $b"; done
"$work/bin/kube-apiserver" --version >&2 || die "built kube-apiserver does not run"

rm -rf "$entry"
mkdir -p "$entry"
mv "$work/bin" "$entry/bin"
echo "$seconds" >"$entry/build-seconds"
echo "k8s $k8s_version etcd $etcd_version $go_version built in ${seconds}s on $(nproc) cores" >"$entry/complete"
echo "build-control-plane: built in ${seconds}s" >&2
echo "$entry/bin"
