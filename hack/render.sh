#!/usr/bin/env bash
# Renders a ModelAPI's objects and status: bash hack/render.sh examples/dev-ollama/xr.yaml
set -euo pipefail
source "$(dirname "$0")/venv.sh"
exec "$venv/bin/python" -m function render "$@"
