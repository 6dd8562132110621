#!/usr/bin/env bash
# Installs (cached) every tool the full test suite uses: LiteLLM, the control plane
# (etcd, kube-apiserver, crossplane core), the crossplane CLI and the benchmark's Go
# peer. LiteLLM's download runs beside the Go builds, which share one build cache.
set -euo pipefail
here=$(dirname "$0")
log=$(mktemp)
bash "$here/install-litellm.sh" >"$log" 2>&1 &
litellm=$!
bash "$here/install-controlplane.sh"
bash "$here/install-crossplane.sh"
bash "$here/../benchmarks/install-go-templating.sh"
if ! wait "$litellm"; then
  cat "$log" >&2
  exit 1
fi
cat "$log"
rm -f "$log"
