#!/usr/bin/env bash
# Fills in the CA bundle (and, for the default profile, the spotfit Service ClusterIP) of the
# KubeSchedulerConfiguration templates here, writing *.rendered.yaml next to them.
#
#   manifests/scheduler/render.sh --ca certs/out/ca.crt                       # second scheduler only
#   manifests/scheduler/render.sh --ca certs/out/ca.crt --service-ip 10.96.0.42   # both
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ca="" ip=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ca) ca=${2:?--ca needs a file}; shift 2 ;;
    --service-ip) ip=${2:?--service-ip needs an address}; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "render.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$ca" ] || { echo "render.sh: --ca FILE is required (the CA that signed spotfit's serving certificate)" >&2; exit 2; }
grep -q "BEGIN CERTIFICATE" "$ca" || { echo "render.sh: $ca is not a PEM certificate" >&2; exit 1; }
b64=$(base64 -w0 < "$ca")
sed "s|CA_BUNDLE_BASE64|$b64|" "$here/second-scheduler/scheduler-config.yaml" \
  > "$here/second-scheduler/scheduler-config.rendered.yaml"
echo "wrote $here/second-scheduler/scheduler-config.rendered.yaml"
if [ -n "$ip" ]; then
  sed -e "s|CA_BUNDLE_BASE64|$b64|" -e "s|SPOTFIT_SERVICE_IP|$ip|" "$here/default-profile/scheduler-config.yaml" \
    > "$here/default-profile/scheduler-config.rendered.yaml"
  echo "wrote $here/default-profile/scheduler-config.rendered.yaml"
fi
