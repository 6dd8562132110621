"""The function's own runtime, as the package manager runs it: restarted, or scaled to two
replicas by a DeploymentRuntimeConfig, it changes no ModelAPI's master key (the proxy's pod
does not roll) and the ModelAPI stays Ready. That each replica, and each new pod after the
restart, composed the ModelAPI is read from the pods' own logs (`--debug`: a line per call)
before the key is compared: the old state reads the same when no new pod answered at all."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Iterator

import pytest

from tests.cluster import kube
from tests.cluster.conftest import Platform
from tests.cluster.stories import MODELAPIS, modelapi, namespace, pods, wait_ready

FUNCTION = "function-modelapi"
CROSSPLANE_NS = "crossplane-system"


def function_pods() -> list[dict]:
    return [p for p in kube.items("pods", CROSSPLANE_NS) if p["metadata"]["name"].startswith(f"{FUNCTION}-")]


def ready_function_pods() -> list[str]:
    return [
        p["metadata"]["name"]
        for p in function_pods()
        if p["metadata"].get("deletionTimestamp") is None and kube.is_true(p, "Ready")
    ]


def key(name: str, ns: str) -> str:
    return base64.b64decode((kube.get("secret", f"{name}-client", ns) or {})["data"]["OPENAI_API_KEY"]).decode()


def live_pods(name: str, ns: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods(name, ns) if p["metadata"].get("deletionTimestamp") is None)


def composed_by(pod: str, name: str, ns: str) -> bool:
    """The function pod's log has a call for ns/name (fn._log_call, at --debug)."""
    log = kube.kubectl("logs", pod, "-n", CROSSPLANE_NS, check=False)
    return any("RunFunction" in line and f"{ns}/{name}" in line for line in log.splitlines())


def poke_until_composed_by(pods: Iterable[str], name: str, ns: str, timeout: float = 180) -> None:
    """Reconciles the ModelAPI again (a label change is watched) until every one of these
    function pods has composed it (Crossplane dials the replicas round-robin)."""
    deadline = time.monotonic() + timeout
    missing = sorted(pods)
    while True:
        missing = [p for p in missing if not composed_by(p, name, ns)]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no call for {ns}/{name} in the logs of {missing} within {timeout:.0f} s")
        kube.kubectl("label", MODELAPIS, name, "-n", ns, f"poke=n{time.monotonic_ns()}", "--overwrite")
        time.sleep(2)  # a poll between pokes, not a wait for an outcome


@pytest.fixture
def two_replicas() -> Iterator[None]:
    kube.apply(
        {
            "apiVersion": "pkg.crossplane.io/v1beta1",
            "kind": "DeploymentRuntimeConfig",
            "metadata": {"name": "two-replicas"},
            "spec": {
                "deploymentTemplate": {
                    "spec": {
                        "replicas": 2,
                        "selector": {},
                        # A log line per call: which replica composed which ModelAPI.
                        "template": {"spec": {"containers": [{"name": "package-runtime", "args": ["--debug"]}]}},
                    }
                }
            },
        }
    )
    kube.kubectl(
        "patch", "function", FUNCTION, "--type=merge", "-p", '{"spec":{"runtimeConfigRef":{"name":"two-replicas"}}}'
    )
    try:
        kube.wait_for(lambda: len(ready_function_pods()) == 2, 180, 2, "two function replicas Ready")
        yield
    finally:
        kube.kubectl(
            "patch", "function", FUNCTION, "--type=merge", "-p", '{"spec":{"runtimeConfigRef":{"name":"default"}}}'
        )
        kube.wait_for(lambda: len(ready_function_pods()) == 1, 180, 2, "one function replica again")


def test_two_replicas_and_a_restart_keep_the_master_key(platform: Platform, two_replicas: None) -> None:
    ns = namespace("team-runtime")
    kube.apply(modelapi("steady", ns, {"apiBase": platform.api_base}))
    wait_ready("steady", ns)
    first_key, first_pods = key("steady", ns), live_pods("steady", ns)
    poke_until_composed_by(ready_function_pods(), "steady", ns)
    assert key("steady", ns) == first_key
    assert live_pods("steady", ns) == first_pods, "the proxy's pod rolled"
    # A restart: every function pod deleted; both new ones compose the same ModelAPI.
    old = set(ready_function_pods())
    kube.kubectl("delete", "pod", "-n", CROSSPLANE_NS, *old, "--wait=true")
    kube.wait_for(lambda: len(set(ready_function_pods()) - old) == 2, 180, 2, "two new function pods Ready")
    poke_until_composed_by(set(ready_function_pods()) - old, "steady", ns)
    assert key("steady", ns) == first_key
    assert live_pods("steady", ns) == first_pods, "the proxy's pod rolled after the function restarted"
    wait_ready("steady", ns, timeout=60)
