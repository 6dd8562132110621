#!/usr/bin/env bash
# Builds a Crossplane control plane from Go modules only (no images, no release
# downloads): kube-apiserver, etcd and crossplane core, plus Crossplane's CRDs. The same core
# serves the real cluster (hack/build-cluster-images.sh, hack/cluster.py): `crossplane-upstream`
# as upstream builds it, and from the same module its Helm chart (chart/) and webhook
# configurations (webhookconfigurations/), so both planes run one Crossplane.
# Cached: prints the directory; a second run costs nothing. With --dir it only
# prints the directory, building nothing.
#
# Wrapper modules are made in a temp dir, never in the repo. They are needed
# because k8s.io/kubernetes replaces its staging modules with local paths (ignored
# when it is a dependency), and because the module proxy here refuses the version
# list of crossplane/v2, which `go install pkg@version` asks for.
set -euo pipefail

k8s_version=v1.35.4         # minor matches the k8s.io v0.35 libraries of crossplane v2.3.0
etcd_version=v3.6.5         # the etcd that k8s.io/kubernetes v1.35 depends on
crossplane_version=v2.3.0   # the newest core the Go module proxy serves here (the render CLI stays v2.2.1)

dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/controlplane-k8s${k8s_version}-etcd${etcd_version}-xp${crossplane_version}"
if [ "${1:-}" = --dir ]; then
  echo "$dir"
  exit 0
fi
complete() {
  [ -x "$dir/crossplane" ] && [ -x "$dir/crossplane-upstream" ] && [ -f "$dir/crds/.complete" ]
}
if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ] && complete; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=local

log() { echo "install-controlplane: $*" >&2; }

# kube-apiserver and etcd share one wrapper: etcd server is already in the
# Kubernetes module graph, so both binaries get the versions Kubernetes tested.
if [ ! -x "$dir/kube-apiserver" ] || [ ! -x "$dir/etcd" ]; then
  log "building kube-apiserver $k8s_version and etcd $etcd_version (slow the first time)"
  mkdir -p "$work/k8s"
  cd "$work/k8s"
  go mod init controlplane/k8s >/dev/null 2>&1
  staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
    kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
    sample-apiserver sample-cli-plugin sample-controller"
  args=(-require="k8s.io/kubernetes@$k8s_version" -require="go.etcd.io/etcd/server/v3@$etcd_version")
  for m in $staging; do
    args+=(-replace="k8s.io/$m=k8s.io/$m@v0.${k8s_version#v1.}")
  done
  go mod edit "${args[@]}"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "go.etcd.io/etcd/server/v3"\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n)\n' >tools.go
  go mod tidy >&2
  minor="${k8s_version#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  go build -ldflags="$ldflags" -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
  go build -ldflags="-s -w" -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$dir/etcd.tmp" "$dir/etcd"
fi

if ! complete; then
  log "building crossplane $crossplane_version (slow the first time)"
  mkdir -p "$work/crossplane"
  cd "$work/crossplane"
  go mod init controlplane/crossplane >/dev/null 2>&1
  go mod edit -require="github.com/crossplane/crossplane/v2@$crossplane_version"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/crossplane/crossplane/v2/cmd/crossplane"\n' >tools.go
  go mod tidy >&2
  src="$(go list -m -f '{{.Dir}}' "github.com/crossplane/crossplane/v2")"
  # Both binaries from one copy of the module (go refuses overlays on the module cache), so that
  # they share every compiled package but the one the sed below changes. Static (CGO_ENABLED=0)
  # as upstream's image has it; -trimpath keeps the temp path out of the binary and the cache
  # keys. From v2.3 the version lives in crossplane-runtime (internal/version is gone).
  cp -r "$src" xp && chmod -R u+w xp
  go mod edit -replace=github.com/crossplane/crossplane/v2=./xp
  build() {
    CGO_ENABLED=0 go build -trimpath \
      -ldflags="-s -w -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$crossplane_version" \
      -o "$dir/$1.tmp" github.com/crossplane/crossplane/v2/cmd/crossplane
    mv "$dir/$1.tmp" "$dir/$1"
  }
  build crossplane-upstream   # the real cluster's image: its pod's probes reach it on the pod IP
  # The local control plane's: crossplane core binds its metrics and health ports on every
  # interface (":%d", no flag for the host); a sed makes both bind 127.0.0.1 only. Fail if the
  # source moved.
  core=xp/cmd/crossplane/core/core.go
  [ "$(grep -c 'fmt.Sprintf(":%d"' "$core")" = 2 ] || { log "unexpected $core: cannot pin ports to 127.0.0.1"; exit 1; }
  sed -i 's/fmt.Sprintf(":%d"/fmt.Sprintf("127.0.0.1:%d"/' "$core"
  build crossplane
  rm -rf "$dir/crds" "$dir/chart" "$dir/webhookconfigurations"
  cp -r "$src/cluster/charts/crossplane" "$dir/chart"
  cp -r "$src/cluster/webhookconfigurations" "$dir/webhookconfigurations"
  mkdir -p "$dir/crds"
  cp "$src"/cluster/crds/*.yaml "$dir/crds/"
  chmod -R u+w "$dir/crds" "$dir/chart" "$dir/webhookconfigurations"   # the module cache is read-only
  touch "$dir/crds/.complete"
fi

echo "$dir"
