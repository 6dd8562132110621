#!/usr/bin/env bash
# Builds function-go-templating (the Go reference of the benchmark) from the Go module proxy.
# Cached: prints the binary's path. v0.12.2 (the version asked for) and v0.12.0-v0.12.1 are
# refused by the proxy here; v0.12.3 is the nearest version served.
set -euo pipefail
version="${GO_TEMPLATING_VERSION:-v0.12.3}"
exec bash "$(dirname "$0")/../hack/go-tool.sh" github.com/crossplane-contrib/function-go-templating "$version" \
  github.com/crossplane-contrib/function-go-templating function-go-templating
