#!/usr/bin/env bash
# Installs the crossplane CLI whose `render` runs in-process (v2.2.x; later CLIs need Docker).
# Cached: prints the binary's path. v2.2.2 to v2.2.4 are refused by the Go module proxy here.
set -euo pipefail
exec bash "$(dirname "$0")/go-tool.sh" github.com/crossplane/crossplane/v2 v2.2.1 \
  github.com/crossplane/crossplane/v2/cmd/crank crossplane
