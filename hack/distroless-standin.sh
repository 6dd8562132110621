#!/usr/bin/env bash
# Runs INSIDE a debian:13-slim container (hack/build-image.sh starts it with --network=host):
# assembles a stand-in for gcr.io/distroless/python3-debian13 the way distroless does, by
# extracting Debian trixie packages (no maintainer scripts, no dpkg database, no shell) into
# /out, and writes it to stdout as a tarball for `docker import`.
# The packages: distroless's static/base layers (base-files, netbase, tzdata, ca-certificates,
# libc6, libssl3t64), its cc layer (libgcc-s1, libgomp1, libstdc++6), python3.13 and every
# package holding a library that python3.13 or its extension modules link (found with ldd).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
base="base-files netbase tzdata ca-certificates media-types libc6 libssl3t64 libgcc-s1 libgomp1 libstdc++6"
python="python3.13-minimal libpython3.13-minimal libpython3.13-stdlib"
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $base $python >/dev/null
pkgs=$( (
  echo "$base $python" | tr ' ' '\n'
  # shellcheck disable=SC2086
  dpkg -L $python | while read -r f; do
    if [ -f "$f" ] && [ ! -L "$f" ] && head -c 4 "$f" | grep -q ELF; then
      ldd "$f" 2>/dev/null || true
    fi
  done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
    dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || echo "no package holds $lib" >&2
  done | cut -d: -f1
) | sort -u)
mkdir -p /debs /out
chown _apt /debs
cd /debs
# shellcheck disable=SC2086
apt-get download -qq $pkgs >&2
for deb in /debs/*.deb; do
  dpkg-deb -x "$deb" /out
done
echo "stand-in packages: $(echo "$pkgs" | tr '\n' ' ')" >&2
cd /out
# The merged-/usr aliases (base-files ships them in trixie; made here if not).
for d in bin sbin lib lib64; do
  [ -e "$d" ] || [ ! -d "usr/$d" ] || ln -s "usr/$d" "$d"
done
ln -sf python3.13 usr/bin/python3
# ca-certificates' maintainer script makes the bundle: take the one the install above made.
mkdir -p etc/ssl/certs
cp /etc/ssl/certs/ca-certificates.crt etc/ssl/certs/ca-certificates.crt
# Users as distroless has them: root, nobody and nonroot (65532), none with a login shell.
cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
mkdir -p root home/nonroot tmp
chmod 700 root
chown 65532:65532 home/nonroot
chmod 700 home/nonroot
chmod 1777 tmp
# No shell, as distroless has none.
rm -f usr/bin/sh usr/bin/dash usr/bin/bash usr/bin/rbash
rm -rf usr/share/doc usr/share/man usr/share/info usr/share/lintian
for sh in bin/sh bin/bash bin/dash usr/bin/sh; do
  if [ -e "$sh" ] || [ -L "$sh" ]; then
    echo "a shell is left in the stand-in: $sh" >&2
    exit 1
  fi
done
tar --numeric-owner -C /out -c .
