#!/usr/bin/env bash
# Builds Ollama (pinned, version stamped) from the Go module proxy, CPU only with cgo as its
# release does, into an image laid out as ollama/ollama is (entrypoint /bin/ollama, CMD serve,
# a shell, models under /root/.ollama unless OLLAMA_MODELS says otherwise) on the offline Debian
# base of hack/build-image.sh, with the local registry's CA (hack/registry.sh) in its trust
# store, as an enterprise adds its own CA to the images it mirrors. Cached: the binary by
# version, the image by the hash of its inputs. Prints the binary's path, then the image.
#
# The module zip lacks two headers its vendor/ tree had: nlohmann/json and stb_image come from
# Debian (nlohmann-json3-dev, libstb-dev), miniaudio.h from the Go module gen2brain/malgo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The version function/names.py pins (OLLAMA_VERSION).
version=v$(sed -n 's/^OLLAMA_VERSION = "\(.*\)"$/\1/p' "$here/../function/names.py")
[ "$version" != v ] && [ -n "$version" ] || { echo "no OLLAMA_VERSION in function/names.py" >&2; exit 1; }
malgo=v0.11.24
tools="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}"
export GOTOOLCHAIN=local
log() { echo "build-ollama: $*" >&2; }

bin="$tools/ollama-$version/ollama"
if [ ! -x "$bin" ]; then
  missing=()
  [ -f /usr/include/nlohmann/json.hpp ] || missing+=(nlohmann-json3-dev)
  [ -f /usr/include/stb/stb_image.h ] || missing+=(libstb-dev)
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  miniaudio=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/gen2brain/malgo@$malgo" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -f "$miniaudio/miniaudio.h" ] || { log "no miniaudio.h in $miniaudio"; exit 1; }
  include="$tools/ollama-$version/include"   # the sources include "miniaudio/miniaudio.h"
  mkdir -p "$include/miniaudio"
  cp "$miniaudio/miniaudio.h" "$include/miniaudio/"
  log "building ollama $version (cgo, CPU; a few minutes)"
  start=$SECONDS
  CGO_ENABLED=1 CGO_CPPFLAGS="-I$include" \
    GO_TOOL_LDFLAGS="-X github.com/ollama/ollama/version.Version=${version#v}" \
    bash "$here/go-tool.sh" github.com/ollama/ollama "$version" github.com/ollama/ollama ollama >/dev/null
  log "built ollama $version in $((SECONDS - start)) s"
fi
echo "$bin"
