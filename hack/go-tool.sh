#!/usr/bin/env bash
# Builds one Go program from the Go module proxy into a cache dir and prints its path;
# a second run costs nothing:  go-tool.sh MODULE VERSION PACKAGE NAME
# The proxy here refuses some modules' version lists, which `go install pkg@version` asks
# for: pin the version in a throwaway wrapper module instead. -trimpath as in
# hack/install-controlplane.sh, so that all these builds share the Go build cache.
# GO_TOOL_LDFLAGS adds linker flags (a version stamp, say); CGO_* pass through to cgo.
set -euo pipefail
module=$1 version=$2 package=$3 name=$4
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/$name-$version"
bin="$dir/$name"
if [ ! -x "$bin" ]; then
  work="$dir/wrapper"
  mkdir -p "$work"
  cd "$work"
  [ -f go.mod ] || go mod init "modelapi.local/$name" >&2
  go mod edit -require="$module@$version"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" > tools.go
  GOFLAGS=-mod=mod go mod tidy >&2
  GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w ${GO_TOOL_LDFLAGS:-}" -o "$bin.tmp" "$package" >&2
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
