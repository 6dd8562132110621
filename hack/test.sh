#!/usr/bin/env bash
# The test command: lint, format check, then every test. Tests that need the crossplane
# CLI, LiteLLM or the control plane skip loudly when those are missing (hack/install-tools.sh
# installs them), except under CI=true, where a missing tool fails.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$root"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
exec "$venv/bin/python" -m pytest -q -ra "$@"
