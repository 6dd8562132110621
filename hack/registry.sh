#!/usr/bin/env bash
# A local OCI registry (distribution v3.1.2, hack/install-registry.sh) on 127.0.0.1, a free
# port, with TLS from a CA of its own. State in DIR (default: the tools cache's registry/):
# ca.crt (the CA to trust), ca-bundle.crt (this host's bundle plus that CA: SSL_CERT_FILE for
# Go clients such as `crossplane xpkg push`), config.yml, data/, registry.log, pid, address.
#
#   registry.sh start [DIR]   start it unless it runs; prints its address (127.0.0.1:PORT) last
#   registry.sh stop [DIR]    stop it (the data stays in DIR)
#   registry.sh address [DIR] print the address of the running registry
#   registry.sh ca [DIR]      make the CA unless it exists (started or not); print its path
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-start}
dir=${2:-${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/registry}
host_ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"

running() {
  [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null
}

answers() {
  curl -fsS --max-time 2 --cacert "$dir/ca.crt" -o /dev/null "https://$(cat "$dir/address")/v2/" 2>/dev/null
}

make_tls() {
  [ -s "$dir/tls.key" ] && return
  local cfg
  cfg=$(mktemp)
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$cfg"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=function-modelapi-test-registry-ca -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
  openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -extfile "$cfg" -out "$dir/tls.crt" 2>/dev/null
  rm -f "$cfg" "$dir/tls.csr" "$dir/ca.srl"
  chmod 600 "$dir/ca.key" "$dir/tls.key"
  cat "$host_ca" "$dir/ca.crt" >"$dir/ca-bundle.crt"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  mkdir -p "$dir/data"
  if running && answers; then
    cat "$dir/address"
    return
  fi
  local registry port
  registry=$(bash "$here/install-registry.sh" | tail -n 1)
  make_tls
  for _ in 1 2 3; do
    port=$(free_port)
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $dir/tls.crt
    key: $dir/tls.key
  debug:
    addr: ""
YAML
    echo "127.0.0.1:$port" >"$dir/address"
    OTEL_TRACES_EXPORTER=none setsid "$registry" serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    for _ in $(seq 50); do
      if answers; then
        echo "registry at $(cat "$dir/address") (CA $dir/ca.crt, log $dir/registry.log)" >&2
        cat "$dir/address"
        return
      fi
      running || break
      sleep 0.2
    done
    stop
  done
  echo "the registry did not start; its log:" >&2
  tail -n 20 "$dir/registry.log" >&2
  exit 1
}

stop() {
  if running; then
    local pid
    pid=$(cat "$dir/pid")
    kill "$pid"
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$dir/pid"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  address) running && answers && cat "$dir/address" ;;
  ca) mkdir -p "$dir" && make_tls && echo "$dir/ca.crt" ;;
  *) echo "usage: $0 start|stop|address|ca [DIR]" >&2; exit 2 ;;
esac
