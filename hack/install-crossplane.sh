#!/usr/bin/env bash
# Installs the crossplane CLI whose `render` runs in-process (v2.2.x; later CLIs need Docker).
# Cached: prints the binary's path; a second run costs nothing.
set -euo pipefail
# v2.2.2 to v2.2.4 are refused by the Go module proxy here, and so is the module's version
# list, which `go install pkg@version` asks for: build from a throwaway wrapper module.
version=v2.2.1
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/crossplane-$version"
bin="$dir/crossplane"
if [ ! -x "$bin" ]; then
  work="$dir/wrapper"
  mkdir -p "$work"
  cd "$work"
  [ -f go.mod ] || go mod init modelapi.local/crossplane-cli >&2
  go mod edit -require="github.com/crossplane/crossplane/v2@$version"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/crossplane/crossplane/v2/cmd/crank"\n' > tools.go
  GOFLAGS=-mod=mod go mod tidy >&2
  # -trimpath as in hack/install-controlplane.sh: the two builds then share the Go build cache.
  GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w" -o "$bin.tmp" github.com/crossplane/crossplane/v2/cmd/crank >&2
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
