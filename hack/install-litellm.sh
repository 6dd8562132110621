#!/usr/bin/env bash
# Installs the real LiteLLM proxy in a venv of its own (large; never a dependency of the
# function). Cached: prints the path of the litellm executable.
set -euo pipefail
version=1.108.7
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/litellm-$version"
if [ ! -x "$dir/bin/litellm" ] || [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  python3 -m venv "$dir"
  # prisma too, as the image has it: LiteLLM's auth errors import it (without it a request
  # with no key gets 500 instead of 401).
  "$dir/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$version" "prisma>=0.11.0,<1.0" >&2
  touch "$dir/.complete"
fi
echo "$dir/bin/litellm"
