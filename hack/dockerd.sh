#!/usr/bin/env bash
# Makes sure a Docker daemon answers: installs Debian's docker.io when dockerd is missing,
# starts dockerd in the background (its own log and pid file under the tools cache) when
# none runs, and waits for its socket. The daemon is left running for later steps.
# Prints the daemon's address last.
set -euo pipefail
cache="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/dockerd"
if ! command -v dockerd >/dev/null; then
  echo "installing docker.io (Debian)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi
address="${DOCKER_HOST:-unix:///var/run/docker.sock}"
if docker version >/dev/null 2>&1; then
  echo "$address"
  exit 0
fi
mkdir -p "$cache"
echo "starting dockerd (log: $cache/dockerd.log)" >&2
setsid nohup dockerd --pidfile="$cache/dockerd.pid" >>"$cache/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 60); do
  if docker version >/dev/null 2>&1; then
    echo "$address"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60 s; its log:" >&2
tail -n 30 "$cache/dockerd.log" >&2
exit 1
