#!/usr/bin/env bash
# Builds the function package (package/ with examples/) with the runtime image from
# hack/build-image.sh embedded, by `crossplane xpkg build --embed-runtime-image`; prints the
# .xpkg's path last. Cached: a package for the same image, package/ and examples/ is not
# rebuilt.  build-package.sh [build-image.sh's flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/packages"
image=$(bash "$root/hack/build-image.sh" "$@" | tail -n 1)
crossplane=$(bash "$root/hack/install-crossplane.sh" | tail -n 1)
cd "$root"
key=$( (
  docker image inspect -f '{{.Id}}' "$image"
  echo "$crossplane"
  find package examples -type f | LC_ALL=C sort | xargs sha256sum
) | sha256sum | cut -c1-12)
xpkg="$cache/function-modelapi-$key.xpkg"
if [ ! -s "$xpkg" ]; then
  mkdir -p "$cache"
  echo "building $xpkg with the runtime $image" >&2
  "$crossplane" xpkg build --package-root=package --examples-root=examples \
    --embed-runtime-image="$image" -o "$xpkg.tmp" >&2
  mv "$xpkg.tmp" "$xpkg"
fi
echo "$xpkg"
