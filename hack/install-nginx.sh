#!/usr/bin/env bash
# Installs (cached) nginx, Hosted's front (function/front.py), from Debian's nginx package,
# extracted and never installed: installing it would start a server on port 80. Prints the
# binary's path.
set -euo pipefail
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/nginx"
if [ ! -x "$dir/usr/sbin/nginx" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # apt's lists may be missing on a machine that needed no other package: fetch them then.
  (cd "$work" && { apt-get download -qq nginx >&2 || { apt-get update -qq >&2 && apt-get download -qq nginx >&2; }; })
  rm -rf "$dir"
  mkdir -p "$dir"
  dpkg -x "$work"/nginx_*.deb "$dir"
fi
echo "$dir/usr/sbin/nginx"
