#!/usr/bin/env bash
# Installs the real LiteLLM proxy in a venv of its own (large; never a dependency of the
# function). Cached: prints the path of the litellm executable.
set -euo pipefail
version=1.108.7
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/litellm-$version"
if [ ! -x "$dir/bin/litellm" ]; then
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$version" >&2
fi
echo "$dir/bin/litellm"
