#!/usr/bin/env bash
# Builds (cached) what hack/cluster.sh needs beyond hack/install-controlplane.sh: kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy and kubectl from the same
# k8s.io/kubernetes wrapper module, helm, crictl, CoreDNS and kube-network-policies from their Go
# modules, and a static pause binary (Kubernetes' pause.c, written out below). Debian packages:
# docker.io (containerd, runc), containernetworking-plugins, iptables, nftables, gcc. Prints the
# directory last; --dir only prints it; --go-tools builds only helm, crictl, CoreDNS,
# kube-network-policies and pause (hack/install-tools.sh runs them beside the Kubernetes builds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k8s_version=v1.35.4   # as hack/install-controlplane.sh
helm_version=v3.22.0
crictl_version=v1.34.0  # cri-tools v1.35.0 is refused by the Go module proxy here
coredns_version=v1.15.0
# The NetworkPolicy engine kind's kindnet embeds (verdicts on an NFQUEUE); hack/cluster.py says why this
# one and how packets reach it on this kernel.
network_policies_version=v0.8.0
tools="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}"
dir="$tools/cluster-k8s$k8s_version"
bins="kubelet kube-controller-manager kube-scheduler kube-proxy kubectl"
if [ "${1:-}" = --dir ]; then
  echo "$dir"
  exit 0
fi
if [ "${1:-}" = --go-tools ]; then
  bins=""
fi
log() { echo "install-cluster: $*" >&2; }

complete() {
  for b in $bins helm crictl coredns kube-network-policies pause; do [ -x "$dir/$b" ] || return 1; done
  [ -x /usr/lib/cni/bridge ] && command -v containerd >/dev/null && command -v runc >/dev/null \
    && command -v iptables-save >/dev/null && command -v nft >/dev/null
}
if complete; then
  echo "$dir"
  exit 0
fi

want=()
command -v containerd >/dev/null || want+=(docker.io)
[ -x /usr/lib/cni/bridge ] || want+=(containernetworking-plugins)
command -v iptables-save >/dev/null || want+=(iptables)
command -v nft >/dev/null || want+=(nftables)  # hack/cluster.py's stop checks the engine's table went
command -v gcc >/dev/null || want+=(gcc libc6-dev)
if [ "${#want[@]}" -gt 0 ]; then
  log "installing Debian packages: ${want[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >&2
fi

mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=local

missing=""
for b in $bins; do [ -x "$dir/$b" ] || missing+=" $b"; done  # none with --go-tools
if [ -n "$missing" ]; then
  log "building$missing from k8s.io/kubernetes $k8s_version"
  mkdir -p "$work/k8s"
  cd "$work/k8s"
  go mod init cluster/k8s >/dev/null 2>&1
  # The staging modules, as hack/install-controlplane.sh replaces them.
  staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
    kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
    sample-apiserver sample-cli-plugin sample-controller"
  args=(-require="k8s.io/kubernetes@$k8s_version")
  for m in $staging; do
    args+=(-replace="k8s.io/$m=k8s.io/$m@v0.${k8s_version#v1.}")
  done
  go mod edit "${args[@]}"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in $bins; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    printf ')\n'
  } >tools.go
  go mod tidy >&2
  minor="${k8s_version#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  for b in $missing; do
    start=$SECONDS
    go build -ldflags="$ldflags" -o "$dir/$b.tmp" "k8s.io/kubernetes/cmd/$b"
    mv "$dir/$b.tmp" "$dir/$b"
    log "built $b in $((SECONDS - start)) s"
  done
fi

if [ ! -x "$dir/helm" ]; then
  log "building helm $helm_version"
  helm=$(bash "$here/go-tool.sh" helm.sh/helm/v3 "$helm_version" helm.sh/helm/v3/cmd/helm helm | tail -n 1)
  ln -sf "$helm" "$dir/helm"
fi

if [ ! -x "$dir/crictl" ]; then
  log "building crictl $crictl_version"
  crictl=$(bash "$here/go-tool.sh" sigs.k8s.io/cri-tools "$crictl_version" sigs.k8s.io/cri-tools/cmd/crictl crictl | tail -n 1)
  ln -sf "$crictl" "$dir/crictl"
fi

if [ ! -x "$dir/coredns" ]; then
  log "building coredns $coredns_version"
  coredns=$(bash "$here/go-tool.sh" github.com/coredns/coredns "$coredns_version" github.com/coredns/coredns coredns | tail -n 1)
  ln -sf "$coredns" "$dir/coredns"
fi

if [ ! -x "$dir/kube-network-policies" ]; then
  log "building kube-network-policies $network_policies_version"
  # v0.8.0 has one command (cmd/): the NetworkPolicy controller; AdminNetworkPolicy stays behind its flags.
  knp=$(bash "$here/go-tool.sh" sigs.k8s.io/kube-network-policies "$network_policies_version" \
    sigs.k8s.io/kube-network-policies/cmd kube-network-policies | tail -n 1)
  ln -sf "$knp" "$dir/kube-network-policies"
fi

if [ ! -x "$dir/pause" ]; then
  log "building pause (static)"
  # Kubernetes' build/pause/linux/pause.c, in short: wait for SIGINT/SIGTERM, reap children.
  cat >"$work/pause.c" <<'C'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void sigdown(int signo) { psignal(signo, "Shutting down, got signal"); exit(0); }
static void sigreap(int signo) { (void)signo; while (waitpid(-1, NULL, WNOHANG) > 0) {} }
int main(void) {
  if (getpid() != 1) fprintf(stderr, "Warning: pause should be the first process\n");
  if (sigaction(SIGINT, &(struct sigaction){.sa_handler = sigdown}, NULL) < 0) return 1;
  if (sigaction(SIGTERM, &(struct sigaction){.sa_handler = sigdown}, NULL) < 0) return 2;
  if (sigaction(SIGCHLD, &(struct sigaction){.sa_handler = sigreap, .sa_flags = SA_NOCLDSTOP}, NULL) < 0) return 3;
  for (;;) pause();
  return 42;
}
C
  gcc -Os -static -o "$dir/pause.tmp" "$work/pause.c"
  strip "$dir/pause.tmp"
  mv "$dir/pause.tmp" "$dir/pause"
fi
echo "$dir"
