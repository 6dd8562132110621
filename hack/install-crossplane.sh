#!/usr/bin/env bash
# Installs the crossplane CLI that renders in-process (v2.2.x; later CLIs need Docker).
# Cached: prints the binary's path; a second run costs nothing.
set -euo pipefail
version=v2.2.1  # v2.2.2..v2.2.4 are refused by the Go module proxy here
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/crossplane-$version"
bin="$dir/crossplane"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/crossplane/crossplane/v2/cmd/crank@$version" >&2
  mv "$dir/crank" "$bin"
fi
echo "$bin"
