#!/usr/bin/env bash
# Installs (cached) every tool the full test suite uses: LiteLLM, the control plane
# (etcd, kube-apiserver, crossplane core) and the optional kinds' CRDs (Gateway API,
# prometheus-operator), the crossplane CLI, the benchmark's Go peer, the
# OCI registry and actionlint; the real cluster's binaries (hack/install-cluster.sh) and images
# (hack/build-cluster-images.sh, Ollama built from its Go module among them); Docker (Debian's
# docker.io) with the runtime image built from the Dockerfile, and the function package with
# that image embedded. LiteLLM's download
# and the image build (mostly downloads) run beside the Go builds, which share one build cache.
set -euo pipefail
here=$(dirname "$0")

# Debian packages first, in one apt run (the background jobs must not race for dpkg's lock).
want=()
command -v dockerd >/dev/null || want+=(docker.io)
command -v shellcheck >/dev/null || want+=(shellcheck)
if [ "$(id -u)" = 0 ]; then
  command -v mmdebstrap >/dev/null || want+=(mmdebstrap)
fi
# The real cluster's (hack/install-cluster.sh would install them too, but not beside the jobs below).
[ -x /usr/lib/cni/bridge ] || want+=(containernetworking-plugins)
command -v iptables-save >/dev/null || want+=(iptables)
command -v tc >/dev/null || want+=(iproute2)   # the Hosted stories' slow link to the registry
command -v gcc >/dev/null || want+=(gcc libc6-dev)
# Ollama's cgo build (hack/build-ollama.sh): the headers its module zip lacks.
[ -f /usr/include/nlohmann/json.hpp ] || want+=(nlohmann-json3-dev)
[ -f /usr/include/stb/stb_image.h ] || want+=(libstb-dev)
command -v g++ >/dev/null || want+=(g++)
if [ "${#want[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  echo "installing Debian packages: ${want[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${want[@]}" >/dev/null
fi

log=$(mktemp)
image_log=$(mktemp)
bash "$here/install-litellm.sh" >"$log" 2>&1 &
litellm=$!
start=$SECONDS
bash "$here/build-image.sh" >"$image_log" 2>&1 &
image=$!
bash "$here/install-controlplane.sh"
bash "$here/install-crds.sh"
bash "$here/install-cluster.sh"   # the same Go build cache: after the control plane
bash "$here/install-crossplane.sh"
bash "$here/../benchmarks/install-go-templating.sh"
bash "$here/install-registry.sh"
bash "$here/install-actionlint.sh"
if ! wait "$litellm"; then
  cat "$log" >&2
  exit 1
fi
cat "$log"
if ! wait "$image"; then
  cat "$image_log" >&2
  exit 1
fi
grep -E '^(making|building|built|stand-in packages)' "$image_log" || true
echo "runtime image $(tail -n 1 "$image_log") ready $((SECONDS - start)) s after the start"
bash "$here/build-package.sh"
start=$SECONDS
bash "$here/build-cluster-images.sh"
echo "cluster images ready in $((SECONDS - start)) s"
rm -f "$log" "$image_log"
