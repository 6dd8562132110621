#!/usr/bin/env bash
# Installs (cached) every tool the full test suite uses: the crossplane CLI and LiteLLM.
set -euo pipefail
here=$(dirname "$0")
bash "$here/install-crossplane.sh"
bash "$here/install-litellm.sh"
