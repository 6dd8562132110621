"""Every pod the function composes is hardened, and every object carries the ModelAPI's labels:
checked on the rendered objects against the values written out here, not against the function's
own constants (a rule weakened there must fail here)."""

import pytest

from function import names
from function.compose import compose
from tests.support.builders import HOSTED, PROXY, with_, xr

HARDENED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "seccompProfile": {"type": "RuntimeDefault"},
}
# Hosted's front runs from an image made for it: as a user, on a read-only root filesystem.
HARDENED_FRONT = {**HARDENED_CONTAINER, "runAsNonRoot": True, "runAsUser": 101, "readOnlyRootFilesystem": True}
CASES = {
    "proxy": PROXY,
    "hosted": HOSTED,
    "hosted-cache": with_(HOSTED, "serverConfig.storage", {"size": "10Gi"}),
    "hosted-gpu": with_(HOSTED, "serverConfig.resources", {"limits": {"nvidia.com/gpu": 1}}),
}


@pytest.mark.parametrize("spec", CASES.values(), ids=CASES.keys())
def test_every_container_and_pod_is_hardened(spec):
    pod = compose(xr(spec), None, {}).resources[names.DEPLOYMENT]["spec"]["template"]["spec"]
    for c in pod.get("initContainers", []) + pod["containers"]:
        assert c["securityContext"] == (HARDENED_FRONT if c["name"] == "front" else HARDENED_CONTAINER), c["name"]
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert host not in pod
    assert all("hostPath" not in v for v in pod["volumes"])


@pytest.mark.parametrize("spec", CASES.values(), ids=CASES.keys())
def test_every_object_carries_the_modelapis_labels(spec):
    for key, obj in compose(xr(spec), None, {}).resources.items():
        labels = obj["metadata"]["labels"]
        assert labels["app"] == labels["app.kubernetes.io/instance"] == "my-modelapi", key
        assert labels["app.kubernetes.io/name"] == "modelapi", key
        assert labels["app.kubernetes.io/managed-by"] == "function-modelapi", key


@pytest.mark.parametrize("spec", CASES.values(), ids=CASES.keys())
def test_one_replica_by_default(spec):
    """A Hosted pod may hold the one GPU there is; a second replica would never schedule."""
    assert compose(xr(spec), None, {}).resources[names.DEPLOYMENT]["spec"]["replicas"] == 1
