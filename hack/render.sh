#!/usr/bin/env bash
# Renders a ModelAPI's objects and status: bash hack/render.sh examples/dev-ollama/xr.yaml
# Installs the function alone into .venv on its first run (the tests' tools come with hack/test.sh).
set -euo pipefail
venv_extras=
source "$(dirname "$0")/venv.sh"
exec "$venv/bin/python" -m function render "$@"
