"""The real cluster, started once per test session (hack/cluster.sh start), with Crossplane, the
function package and the ModelAPI API installed as users install them (hack/cluster.sh
crossplane), and stopped at the end, where the host must be as it was before the start.

Needs root and the tools of hack/install-tools.sh (the cluster's binaries, Docker for the images);
without them the tests skip loudly, except under CI=true where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.cluster import kube
from tests.support import ROOT, need_tool

BACKEND_NS = "backends"
BACKEND = "fake-backend"
BACKEND_NAME = "cluster-backend"  # the replies name it
MISSING_IMAGE = "10.209.0.1:5000/litellm:not-in-the-registry"


@dataclass(frozen=True)
class Platform:
    images: dict[str, str]
    api_base: str = f"http://{BACKEND}.{BACKEND_NS}.svc:11434"

    @property
    def agent_image(self) -> str:
        return self.images["backend"]


def _dir(script: str) -> Path:
    out = subprocess.run(["bash", str(ROOT / "hack" / script), "--dir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _need_tools() -> None:
    if os.geteuid() != 0:
        need_tool(None, "root (the cluster needs network namespaces, containerd and a kubelet)")
    cluster_bin, plane_bin = _dir("install-cluster.sh"), _dir("install-controlplane.sh")
    for b in (
        "kubelet",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
        "kubectl",
        "helm",
        "crictl",
        "coredns",
        "kube-network-policies",
        "pause",
    ):
        need_tool(str(cluster_bin / b), f"{b} (hack/install-cluster.sh)")
    for b in ("etcd", "kube-apiserver"):
        need_tool(str(plane_bin / b), f"{b} (hack/install-controlplane.sh)")
    for tool in ("containerd", "runc", "ctr", "docker", "nsenter", "unshare", "iptables-save", "tc", "nft"):
        need_tool(shutil.which(tool), f"{tool} (Debian: docker.io, util-linux, iptables, iproute2, nftables)")
    need_tool("/usr/lib/cni/bridge", "the CNI plugins (Debian: containernetworking-plugins)")


def composition(name: str, images: dict[str, str]) -> dict:
    """The repo's Composition as a platform that mirrors images would set it: its input's images
    pointing at the local names."""
    comp = yaml.safe_load((ROOT / "compositions" / "modelapi.yaml").read_text())
    comp["metadata"]["name"] = name
    comp["spec"]["pipeline"][0]["input"]["images"].update(images)
    return comp


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    _need_tools()
    # A cluster left running (an interrupted session) holds objects that would break later
    # asserts: the stories start on a fresh one, and the host is read as it is without it.
    if subprocess.run(["bash", str(kube.CLUSTER), "status"], capture_output=True, check=False).returncode == 0:
        kube.cluster("stop")
    before = kube.host_state()
    try:
        kube.cluster("start")
        images = json.loads(kube.cluster("crossplane").strip().splitlines()[-1])
        plat = Platform(images=images)
        kube.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": BACKEND_NS}},
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": BACKEND, "namespace": BACKEND_NS},
                "spec": {
                    "selector": {"matchLabels": {"app": BACKEND}},
                    "template": {
                        "metadata": {"labels": {"app": BACKEND}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "backend",
                                    "image": images["backend"],
                                    "env": [{"name": "BACKEND_NAME", "value": BACKEND_NAME}],
                                    "ports": [{"containerPort": 11434}],
                                    "readinessProbe": {"httpGet": {"path": "/", "port": 11434}, "periodSeconds": 1},
                                }
                            ]
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": BACKEND, "namespace": BACKEND_NS},
                "spec": {"selector": {"app": BACKEND}, "ports": [{"port": 11434}]},
            },
            composition(
                "modelapi-local",
                {"litellm": images["litellm"], "ollama": images["ollama"], "hostedFront": images["front"]},
            ),
            composition("modelapi-missing-image", {"litellm": MISSING_IMAGE}),
            # A container that exits at start: an image whose entrypoint refuses LiteLLM's args.
            composition("modelapi-exits", {"litellm": images["crossplane"]}),
        )
        kube.kubectl("rollout", "status", f"deploy/{BACKEND}", "-n", BACKEND_NS, "--timeout=120s")
        yield plat
    finally:
        kube.cluster("stop")
        after = kube.host_state()
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not changed, f"the cluster left the host changed: {changed}"


@pytest.fixture(scope="module", autouse=True)
def modelapi_api(platform: Platform) -> None:
    """Each module starts with the v2 ModelAPI API installed: test_claims swaps it for the claims
    flavour and back, and a swap back that failed must fail here with its cause, not later with
    unrelated errors."""
    xrd = kube.get("xrd", "modelapis.ethical.institute")
    if not kube.is_true(xrd, "Established") or (xrd or {}).get("apiVersion") != "apiextensions.crossplane.io/v2":
        pytest.fail(
            "the v2 ModelAPI XRD is not installed and Established before this module (a module before it swapped "
            f"it and did not put it back): {xrd and xrd.get('status')}"
        )


# The node's registry (hack/cluster.py), serving the local registry's storage.
REGISTRY = "10.209.0.1:5000"


@pytest.fixture(scope="session")
def model(platform: Platform) -> str:
    """The tiny model of hack/push-tiny-model.sh (cached: pushed once), as a team names it."""
    out = subprocess.run(
        ["bash", str(ROOT / "hack" / "push-tiny-model.sh")], capture_output=True, text=True, check=False, timeout=900
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return f"{REGISTRY}/{out.stdout.split()[-1]}"
