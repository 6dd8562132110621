"""The real cluster of hack/cluster.sh, seen from a test: kubectl inside its network namespace,
objects as dicts, waiting for what a story expects. No pytest here."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.support import ROOT
from tests.support.conditions import condition, is_true  # noqa: F401 - used by the tests through this module

CLUSTER = ROOT / "hack" / "cluster.sh"
T = TypeVar("T")


def cluster(*args: str, timeout: float = 1800) -> str:
    """`hack/cluster.sh ARGS`; its stdout. Fails with its stderr's tail."""
    out = subprocess.run(["bash", str(CLUSTER), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode:
        raise RuntimeError(f"hack/cluster.sh {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return out.stdout


def kubectl(*args: str, input: str | None = None, check: bool = True, timeout: float = 120) -> str:
    """kubectl in the cluster's network namespace. A `--timeout=Ns` of kubectl's own gets the
    process N s and a margin more, so that kubectl says what it waited for, not the kill."""
    for a in args:
        if a.startswith("--timeout=") and a.endswith("s") and a[len("--timeout=") : -1].isdigit():
            timeout = max(timeout, int(a[len("--timeout=") : -1]) + 60)
    out = subprocess.run(
        ["bash", str(CLUSTER), "exec", "kubectl", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and out.returncode:
        raise RuntimeError(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def apply(*objs: dict) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all(objs))


def apply_file(path: Path) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))


def get(kind: str, name: str, namespace: str | None = None) -> dict | None:
    args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
    out = subprocess.run(
        ["bash", str(CLUSTER), "exec", "kubectl", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if out.returncode:
        if "NotFound" in out.stderr:
            return None
        raise RuntimeError(f"kubectl get {kind} {name}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def items(kind: str, namespace: str, selector: str | None = None) -> list[dict]:
    args = ["get", kind, "-n", namespace, "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(kubectl(*args))["items"]


def wait_for(predicate: Callable[[], T], timeout: float = 180, interval: float = 1, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def run_pod(
    namespace: str, name: str, image: str, script: str, *, env_from: str | None = None, timeout: float = 120
) -> tuple[str, str]:
    """Runs `python3 -c SCRIPT` in a pod (image: the fake backend's, it has python3) until it ends;
    returns (phase, log)."""
    container: dict = {
        "name": "agent",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-c", script],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "allowPrivilegeEscalation": False},
    }
    if env_from:
        container["envFrom"] = [{"secretRef": {"name": env_from}}]
    kubectl("delete", "pod", name, "-n", namespace, "--ignore-not-found", "--wait=true")
    apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"restartPolicy": "Never", "containers": [container]},
        }
    )

    def ended() -> str | None:
        pod = get("pod", name, namespace)
        phase = ((pod or {}).get("status") or {}).get("phase")
        return phase if phase in ("Succeeded", "Failed") else None

    phase = wait_for(ended, timeout, what=f"pod {namespace}/{name} to end")
    return phase, kubectl("logs", name, "-n", namespace)


def host_state() -> dict[str, Any]:
    """What a cluster must leave as it found it on the host: iptables, nftables tables (the
    NetworkPolicy engine's), sysctls, mounts, network namespaces and links."""

    def cmd(*args: str) -> str:
        out = subprocess.run(list(args), capture_output=True, text=True, check=False)
        return out.stdout

    def rules(save: str) -> list[str]:
        return sorted(ln.split(" [")[0] for ln in cmd(save).splitlines() if ln and not ln.startswith("#"))

    sysctls = {}
    for name in (
        "vm/overcommit_memory",
        "vm/panic_on_oom",
        "kernel/panic",
        "kernel/panic_on_oops",
        "kernel/keys/root_maxkeys",
        "kernel/keys/root_maxbytes",
        "net/ipv4/ip_forward",
        "net/ipv4/conf/all/route_localnet",
        "net/bridge/bridge-nf-call-iptables",
        "net/netfilter/nf_conntrack_max",
    ):
        p = Path("/proc/sys") / name
        sysctls[name] = p.read_text().strip() if p.exists() else None
    # Docker's own containers (other builds on this machine) come and go: not the cluster's.
    with open("/proc/self/mountinfo") as f:
        mounts = sorted(
            f"{ln.split()[4]} {ln.split(' - ')[1].split()[0]}"
            for ln in f
            if not ln.split()[4].startswith(("/var/lib/docker/", "/run/docker/"))
        )
    return {
        "iptables": rules("iptables-save"),
        "ip6tables": rules("ip6tables-save"),
        "nftables": sorted(cmd("nft", "list", "tables").splitlines()),
        "sysctls": sysctls,
        "mounts": mounts,
        "netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else None,
        "links": sorted(
            name
            for name in (ln.split(":")[1].strip().split("@")[0] for ln in cmd("ip", "-o", "link").splitlines())
            if not (name.startswith("veth") and "master docker0" in cmd("ip", "-o", "link", "show", name))
        ),
    }
