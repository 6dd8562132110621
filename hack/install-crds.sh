#!/usr/bin/env bash
# The CRDs of the optional kinds the function composes where the platform turns them on, for the
# e2e control plane: Gateway API's HTTPRoute (standard channel) and prometheus-operator's
# ServiceMonitor, each from its Go module at a pinned version (the module proxy serves them; no
# release download). Cached: prints the directory; with --dir it only prints it.
set -euo pipefail

gateway_api_version=v1.5.1        # the newest whose go.mod asks for no more than Go 1.25
prometheus_operator_version=v0.85.0

dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/crds-gatewayapi${gateway_api_version}-promop${prometheus_operator_version}"
if [ "${1:-}" = --dir ]; then
  echo "$dir"
  exit 0
fi
if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=local
module_dir() {
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}
gateway=$(module_dir "sigs.k8s.io/gateway-api@$gateway_api_version")
operator=$(module_dir "github.com/prometheus-operator/prometheus-operator@$prometheus_operator_version")
if [ -z "$gateway" ] || [ -z "$operator" ]; then
  echo "install-crds: a module did not download" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
cp "$gateway/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml" \
  "$operator/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$dir/"
chmod -R u+w "$dir"   # the module cache is read-only
touch "$dir/.complete"
echo "$dir"
