#!/usr/bin/env bash
# Builds function-go-templating (the Go reference of the benchmark) from the Go module proxy.
# Cached: prints the binary's path; a second run costs nothing. We never vendor its code.
set -euo pipefail
# The module proxy here refuses some versions' list endpoint, which `go install pkg@version`
# asks for: pin the version in a throwaway wrapper module instead. v0.12.2 (the one asked
# for) and v0.12.0-v0.12.1 are refused too; v0.12.3 is the nearest version served.
version="${GO_TEMPLATING_VERSION:-v0.12.3}"
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/function-go-templating-$version"
bin="$dir/function-go-templating"
if [ ! -x "$bin" ]; then
  work="$dir/wrapper"
  mkdir -p "$work"
  cd "$work"
  [ -f go.mod ] || go mod init modelapi.local/go-templating >&2
  go mod edit -require="github.com/crossplane-contrib/function-go-templating@$version"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/crossplane-contrib/function-go-templating"\n' > tools.go
  GOFLAGS=-mod=mod go mod tidy >&2
  GOFLAGS=-mod=mod go build -ldflags="-s -w" -o "$bin.tmp" github.com/crossplane-contrib/function-go-templating >&2
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
