#!/usr/bin/env bash
# Builds the package (hack/build-package.sh, cached) and pushes it with `crossplane xpkg push`
# to the local registry (hack/registry.sh, started when not running), trusting that
# registry's CA through SSL_CERT_FILE. Prints the pushed reference by digest last
# (127.0.0.1:PORT/function-modelapi@sha256:...), for installing it from there.
#   push-package.sh [REPOSITORY [TAG]]   defaults: function-modelapi v0.1.0
# REGISTRY_DIR picks the registry's state directory (hack/registry.sh's DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repository=${1:-function-modelapi}
tag=${2:-v0.1.0}
dir=${REGISTRY_DIR:-${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/registry}
xpkg=$(bash "$here/build-package.sh" | tail -n 1)
crossplane=$(bash "$here/install-crossplane.sh" | tail -n 1)
address=$(bash "$here/registry.sh" start "$dir" | tail -n 1)
SSL_CERT_FILE="$dir/ca-bundle.crt" "$crossplane" xpkg push -f "$xpkg" "$address/$repository:$tag" >&2
digest=$(curl -fsS --cacert "$dir/ca.crt" -o /dev/null -D - \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "https://$address/v2/$repository/manifests/$tag" | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}')
[ -n "$digest" ] || { echo "the registry names no digest for $address/$repository:$tag" >&2; exit 1; }
echo "pushed $xpkg to $address/$repository:$tag" >&2
echo "$address/$repository@$digest"
