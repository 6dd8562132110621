#!/usr/bin/env bash
# Builds the function's runtime image from the repo's Dockerfile as shipped, with the legacy
# builder of Debian's docker.io (started here when no daemon runs), and prints the image
# reference as its last line. Cached: an image whose inputs (Dockerfile, pyproject.toml,
# README.md, function/, the base images) are unchanged is not rebuilt.
#
#   build-image.sh                  use the bases present; else pull them; else make them offline
#   build-image.sh --offline-bases  make missing bases offline, never pull
#   build-image.sh --pull-bases     pull the real bases (fails when the registry is unreachable)
#
# Offline bases (no image registry here): `debian:13-slim` is made with mmdebstrap
# (minbase, trixie, from the Debian mirror of /etc/apt/sources.list*) and imported; the
# stand-in for `gcr.io/distroless/python3-debian13` is assembled from the Debian trixie
# packages distroless uses (hack/distroless-standin.sh). Both carry the label
# io.function-modelapi.stand-in=true. The offline debian:13-slim also carries this host's CA
# bundle as PIP_CERT (the build stage only; the runtime stage is the stand-in), as pip in
# the build reaches PyPI through this host's network.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=auto
case "${1:-}" in
  "") ;;
  --offline-bases) mode=offline ;;
  --pull-bases) mode=pull ;;
  *) echo "usage: $0 [--offline-bases|--pull-bases]" >&2; exit 2 ;;
esac
slim=debian:13-slim
distroless=gcr.io/distroless/python3-debian13
standin_label=io.function-modelapi.stand-in=true
host_ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"

bash "$root/hack/dockerd.sh" >/dev/null

have() { docker image inspect "$1" >/dev/null 2>&1; }

mirror() {
  # The Debian mirror apt uses on this host (one-line or deb822 sources).
  local m
  m=$(grep -rhoE '^(deb|URIs:)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^[:space:]]+' | head -n 1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

make_slim() {
  local m tar
  m=$(mirror)
  m=${m%/}
  if ! curl -fsS -o /dev/null "$m/dists/trixie/Release"; then
    echo "trixie is not on the mirror $m" >&2
    exit 1
  fi
  command -v mmdebstrap >/dev/null || {
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2
  }
  tar=$(mktemp --suffix=.tar)
  echo "making $slim offline: mmdebstrap minbase trixie from $m" >&2
  # As the official slim image: no docs, man pages or locales. The hooks' $1 is mmdebstrap's.
  # shellcheck disable=SC2016
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook='mkdir -p "$1/usr/local/share/build-host-ca"' \
    --customize-hook="cp '$host_ca' \"\$1/usr/local/share/build-host-ca/ca-bundle.crt\"" \
    trixie "$tar" "deb $m trixie main" "deb $m trixie-updates main" \
    "deb ${m%/debian}/debian-security trixie-security main" >&2
  docker import --change "LABEL $standin_label" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PIP_CERT=/usr/local/share/build-host-ca/ca-bundle.crt' \
    --change 'CMD ["bash"]' "$tar" "$slim" >&2
  rm -f "$tar"
}

make_distroless() {
  local tar
  tar=$(mktemp --suffix=.tar)
  echo "making a stand-in for $distroless from Debian trixie packages" >&2
  docker run --rm -i --network=host "$slim" bash -s <"$root/hack/distroless-standin.sh" >"$tar"
  docker import --change "LABEL $standin_label" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENTRYPOINT ["/usr/bin/python3.13"]' "$tar" "$distroless" >&2
  rm -f "$tar"
}

base() { # base IMAGE MAKER
  if [ "$mode" = pull ]; then
    docker pull "$1" >&2
    return
  fi
  have "$1" && return
  if [ "$mode" = auto ] && docker pull "$1" >&2; then
    return
  fi
  "$2"
}
base "$slim" make_slim
base "$distroless" make_distroless

cd "$root"
tag=$( (
  cat Dockerfile .dockerignore pyproject.toml README.md
  find function -type f -name '*.py' | LC_ALL=C sort | xargs cat
  docker image inspect -f '{{.Id}}' "$slim" "$distroless"
) | sha256sum | cut -c1-12)
image="function-modelapi-runtime:$tag"
if ! have "$image"; then
  echo "building $image" >&2
  start=$SECONDS
  DOCKER_BUILDKIT=0 docker build --network=host --force-rm -t "$image" . >&2
  echo "built $image in $((SECONDS - start)) s" >&2
fi
docker tag "$image" function-modelapi-runtime:latest
echo "$image"
