#!/usr/bin/env bash
# Fills in the CA bundle (and, for the default profile, the spotfit Service ClusterIP) of the
# KubeSchedulerConfiguration templates here and writes the results under --out DIR, never into this
# directory: DIR/second-scheduler/ is a complete kustomization (`kubectl apply -k DIR/second-scheduler`),
# DIR/default-profile/scheduler-config.yaml the file for the control-plane scheduler.
#
#   manifests/scheduler/render.sh --ca certs/out/ca.crt --out /tmp/spotfit-scheduler                  # second scheduler
#   manifests/scheduler/render.sh --ca certs/out/ca.crt --out /tmp/spotfit-scheduler --service-ip 10.96.0.42   # both
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
ca="" ip="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ca) ca=${2:?--ca needs a file}; shift 2 ;;
    --service-ip) ip=${2:?--service-ip needs an address}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "render.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$ca" ] || { echo "render.sh: --ca FILE is required (the CA that signed spotfit's serving certificate)" >&2; exit 2; }
[ -n "$out" ] || { echo "render.sh: --out DIR is required (where the rendered files go)" >&2; exit 2; }
grep -q "BEGIN CERTIFICATE" "$ca" || { echo "render.sh: $ca is not a PEM certificate" >&2; exit 1; }
out=$(realpath -m "$out")
case "$out/" in
  "$here"/*) echo "render.sh: --out $out is inside $here; render somewhere outside the source tree" >&2; exit 2 ;;
esac
mkdir -p "$out"
b64=$(base64 -w0 < "$ca")
mkdir -p "$out/second-scheduler"
cp "$here/second-scheduler/kustomization.yaml" "$here/second-scheduler/rbac.yaml" \
   "$here/second-scheduler/deployment.yaml" "$out/second-scheduler/"
sed "s|CA_BUNDLE_BASE64|$b64|" "$here/second-scheduler/scheduler-config.yaml" \
  > "$out/second-scheduler/scheduler-config.rendered.yaml"
echo "wrote $out/second-scheduler (kubectl apply -k $out/second-scheduler)"
if [ -n "$ip" ]; then
  mkdir -p "$out/default-profile"
  sed -e "s|CA_BUNDLE_BASE64|$b64|" -e "s|SPOTFIT_SERVICE_IP|$ip|" "$here/default-profile/scheduler-config.yaml" \
    > "$out/default-profile/scheduler-config.yaml"
  echo "wrote $out/default-profile/scheduler-config.yaml"
fi
