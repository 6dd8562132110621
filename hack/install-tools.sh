#!/usr/bin/env bash
# Installs (cached) every tool the full test suite uses: LiteLLM, the control plane
# (etcd, kube-apiserver, crossplane core) and the optional kinds' CRDs (Gateway API,
# prometheus-operator), the crossplane CLI, the benchmark's Go peer, the
# OCI registry, actionlint and nginx (Hosted's front); the real cluster's binaries (hack/install-cluster.sh) and images
# (hack/build-cluster-images.sh, Ollama built from its Go module among them); Docker (Debian's
# docker.io) with the runtime image built from the Dockerfile, and the function package with
# that image embedded. Prints each phase's time.
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
command -v nft >/dev/null || want+=(nftables)  # the NetworkPolicy engine's table, checked at the stop
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
  t=$SECONDS
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${want[@]}" >/dev/null
  echo "phase debian-packages: $((SECONDS - t)) s" >&2
fi

# Each phase's time, for CI's log: phase NAME COMMAND...
phase() {
  local name=$1 t=$SECONDS
  shift
  "$@"
  echo "phase $name: $((SECONDS - t)) s" >&2
}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# Lanes side by side, each a list of steps in the background with its log: the Kubernetes builds
# (CPU, on this shell) leave time to the downloads of the others (LiteLLM, the image's packages,
# the small Go tools' modules). The Go builds share one build and module cache, which Go locks.
lane() { # lane NAME STEP... where a step is "phase-name command words"
  local name=$1 step
  shift
  (
    for step in "$@"; do
      # shellcheck disable=SC2086 # a step is words
      phase $step
    done
  ) >"$logs/$name" 2>&1 &
  echo $! >"$logs/$name.pid"
}
join() { # join NAME: wait for the lane; its log on failure, its phase lines always
  if ! wait "$(cat "$logs/$1.pid")"; then
    cat "$logs/$1" >&2
    echo "install-tools: lane $1 failed" >&2
    exit 1
  fi
  grep -E '^(phase|making|building|built|stand-in packages)' "$logs/$1" >&2 || true
}
start=$SECONDS
lane litellm "litellm bash $here/install-litellm.sh"
lane image "runtime-image bash $here/build-image.sh"
lane go-tools "crossplane-cli bash $here/install-crossplane.sh" \
  "go-templating bash $here/../benchmarks/install-go-templating.sh" \
  "registry bash $here/install-registry.sh" "actionlint bash $here/install-actionlint.sh" \
  "crds bash $here/install-crds.sh" "cluster-go-tools bash $here/install-cluster.sh --go-tools" \
  "ollama bash $here/build-ollama.sh" "nginx bash $here/install-nginx.sh"
phase controlplane bash "$here/install-controlplane.sh"
phase cluster bash "$here/install-cluster.sh"
for l in litellm image go-tools; do join "$l"; done
echo "runtime image $(grep -v '^phase ' "$logs/image" | tail -n 1) ready"
echo "phase lanes: $((SECONDS - start)) s" >&2
phase package bash "$here/build-package.sh"
phase cluster-images bash "$here/build-cluster-images.sh"
