#!/usr/bin/env bash
# A one-node Kubernetes cluster inside a network namespace of its own (hack/cluster.py):
#   cluster.sh start          build what is missing (cached), start; prints the kubeconfig path last
#   cluster.sh stop           stop everything, delete the namespace, restore the host's settings
#   cluster.sh status         what runs (exit status 1 when the cluster is not up)
#   cluster.sh exec CMD...    run CMD inside the namespace with KUBECONFIG set (kubectl, curl)
#   cluster.sh import IMG...  load Docker images into the node's containerd
# Needs root. The API server and every Service answer only inside the namespace: use exec.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = start ]; then
  bash "$here/install-controlplane.sh" >/dev/null
  bash "$here/install-cluster.sh" >/dev/null
fi
exec python3 "$here/cluster.py" "$@"
