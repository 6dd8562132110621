#!/usr/bin/env bash
# Makes the tests' tiny model (hack/tiny-model.py) into an Ollama model and pushes it to the local
# registry (hack/registry.sh, started when not running) with a host-side `ollama serve` of
# hack/build-ollama.sh, as a platform publishes a model to its private registry: `ollama create`,
# `ollama cp` to REGISTRY/library/NAME:TAG, `ollama push`. Cached: the tag is the hash of this
# script and the model's, and an existing tag is not pushed again. Prints `library/NAME:TAG`
# last: a ModelAPI names it as `10.209.0.1:5000/library/NAME:TAG` on the real cluster (whose
# registry serves the same storage).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/venv.sh"   # the venv's python has the gguf package
dir=${REGISTRY_DIR:-${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/registry}
repository=library/modelapi-tiny
tag=$(cat "$0" "$here/tiny-model.py" | sha256sum | cut -c1-10)
log() { echo "push-tiny-model: $*" >&2; }

ollama=$(bash "$here/build-ollama.sh" | tail -n 1)
address=$(bash "$here/registry.sh" start "$dir" | tail -n 1)
if curl -fsS --cacert "$dir/ca.crt" -o /dev/null \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "https://$address/v2/$repository/manifests/$tag" 2>/dev/null; then
  echo "$repository:$tag"
  exit 0
fi

work=$(mktemp -d)
server=
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  [ -z "$server" ] || wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS
"$venv/bin/python" "$here/tiny-model.py" "$work/tiny.gguf"
# A chat template (Ollama's Go template) and a short answer: the model's text is noise.
cat >"$work/Modelfile" <<'MODELFILE'
FROM ./tiny.gguf
TEMPLATE """{{- range .Messages }}{{ .Role }}: {{ .Content }}
{{ end }}assistant: """
PARAMETER num_predict 8
PARAMETER temperature 0
MODELFILE
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export OLLAMA_HOST="127.0.0.1:$port" OLLAMA_MODELS="$work/models" HOME="$work"
# Only the server talks to the registry: it must trust the registry's CA.
SSL_CERT_FILE="$dir/ca-bundle.crt" "$ollama" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  "$ollama" list >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
(cd "$work" && "$ollama" create modelapi-tiny -f Modelfile) >&2
"$ollama" cp modelapi-tiny "$address/$repository:$tag" >&2
"$ollama" push "$address/$repository:$tag" >&2 || { tail -n 20 "$work/serve.log" >&2; exit 1; }
log "pushed $address/$repository:$tag in $((SECONDS - start)) s"
echo "$repository:$tag"
