#!/usr/bin/env bash
# Installs (cached) actionlint, the GitHub Actions workflow linter, from the Go module proxy; prints its path.
set -euo pipefail
exec bash "$(dirname "$0")/go-tool.sh" github.com/rhysd/actionlint v1.7.12 \
  github.com/rhysd/actionlint/cmd/actionlint actionlint
