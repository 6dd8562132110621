#!/usr/bin/env bash
# Builds (cached by content) the images the real cluster runs besides the function's own
# (hack/build-image.sh): Crossplane core (hack/install-controlplane.sh) on the distroless stand-in, LiteLLM's
# proxy (the pinned litellm[proxy] of hack/install-litellm.sh) and the tests' fake backend, both
# on the offline Debian base, and Ollama (hack/build-ollama.sh) trusting the local registry's CA.
# Docker's legacy builder, --network=host (pip and apt reach their registries through this
# host), and Hosted's front (nginx from Debian, as nginxinc/nginx-unprivileged lays it out).
# Prints one image reference a line: crossplane, litellm, backend, ollama, front.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
litellm_version=$(sed -n 's/^LITELLM_VERSION = "\(.*\)"$/\1/p' "$root/function/names.py")
export GOTOOLCHAIN=local
log() { echo "build-cluster-images: $*" >&2; }

# The bases: made offline by hack/build-image.sh when missing (it also builds the runtime image).
bash "$root/hack/build-image.sh" >/dev/null
have() { docker image inspect "$1" >/dev/null 2>&1; }
images="$root/tests/cluster/images"

# Crossplane core: the binary as upstream builds it (static, no port changes: the pod's probes
# reach it on the pod IP), with the CRDs and webhook configurations of its module: all from
# hack/install-controlplane.sh, so that the real cluster and the e2e plane run one Crossplane.
plane=$(bash "$root/hack/install-controlplane.sh" | tail -n 1)

build() { # build NAME CONTEXT [docker build args...]: tag NAME:<hash of context and bases>
  local name=$1 ctx=$2 tag
  shift 2
  tag=$( (
    find "$ctx" -type f | LC_ALL=C sort | xargs sha256sum | sed "s| $ctx/| |"
    echo "$*"
    docker image inspect -f '{{.Id}}' debian:13-slim gcr.io/distroless/python3-debian13
  ) | sha256sum | cut -c1-12)
  if ! have "$name:$tag"; then
    log "building $name:$tag"
    local start=$SECONDS
    DOCKER_BUILDKIT=0 docker build --network=host --force-rm -q -t "$name:$tag" "$@" "$ctx" >&2
    log "built $name:$tag in $((SECONDS - start)) s"
  fi
  echo "$name:$tag"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As upstream's image: the binary, and the CRDs and webhook configurations `core init` installs.
mkdir -p "$work/xp/crds"
cp "$images/crossplane/Dockerfile" "$work/xp/"
cp "$plane/crossplane-upstream" "$work/xp/crossplane"
cp "$plane"/crds/*.yaml "$work/xp/crds/"
cp -r "$plane/webhookconfigurations" "$work/xp/"
build modelapi.local/crossplane/crossplane "$work/xp"
build modelapi.local/litellm "$images/litellm" --build-arg "LITELLM_VERSION=$litellm_version"
mkdir -p "$work/backend"
cp "$images/backend/Dockerfile" "$images/backend/serve.py" "$root/tests/support/fake_backend.py" "$work/backend/"
build modelapi.local/fake-backend "$work/backend"
mkdir -p "$work/ollama"
cp "$images/ollama/Dockerfile" "$(bash "$root/hack/build-ollama.sh" | tail -n 1)" "$work/ollama/"
cp "$(bash "$root/hack/registry.sh" ca | tail -n 1)" "$work/ollama/registry-ca.crt"
build modelapi.local/ollama "$work/ollama"
build modelapi.local/front "$images/front"
