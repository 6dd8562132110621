#!/usr/bin/env bash
# Installs (cached) the distribution OCI registry, v3.1.2, from the Go module proxy; prints its path.
set -euo pipefail
exec bash "$(dirname "$0")/go-tool.sh" github.com/distribution/distribution/v3 v3.1.2 \
  github.com/distribution/distribution/v3/cmd/registry registry
