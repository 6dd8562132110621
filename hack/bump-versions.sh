#!/usr/bin/env bash
# Bumps the upstream versions the function's default images name and the tests run, in their one
# place (function/names.py), and every file that names those images (the input schema, examples,
# README, golden files), then regenerates the XRDs and Compositions and the golden renders. The
# next hack/install-tools.sh builds the new LiteLLM and Ollama for the tests.
#   bash hack/bump-versions.sh [litellm=1.108.7] [ollama=0.17.4]
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$root"
images() { "$venv/bin/python" -c 'from function import names; print(names.DEFAULT_LITELLM_IMAGE, names.DEFAULT_OLLAMA_IMAGE)'; }
read -r old_litellm old_ollama <<<"$(images)"
for arg in "$@"; do
  name=${arg%%=*} value=${arg#*=}
  [[ $value =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "bump-versions: $arg: a version is N.N.N" >&2; exit 2; }
  case $name in
    litellm) var=LITELLM_VERSION ;;
    ollama) var=OLLAMA_VERSION ;;
    *) echo "bump-versions: $arg: litellm=VERSION or ollama=VERSION" >&2; exit 2 ;;
  esac
  sed -i "s/^$var = \".*\"$/$var = \"$value\"/" function/names.py
  grep -q "^$var = \"$value\"$" function/names.py
done
read -r new_litellm new_ollama <<<"$(images)"
for pair in "$old_litellm $new_litellm" "$old_ollama $new_ollama"; do
  read -r old new <<<"$pair"
  [ "$old" = "$new" ] && continue
  git grep -lF "$old" -- ':!function/names.py' | while read -r f; do sed -i "s#$old#$new#g" "$f"; done
done
"$venv/bin/python" hack/generate-manifests.py
"$venv/bin/python" hack/generate-docs.py
UPDATE_GOLDEN=1 "$venv/bin/python" -m pytest -q tests/realtools/test_render_command.py tests/realtools/test_crossplane_render.py
git --no-pager diff --stat
