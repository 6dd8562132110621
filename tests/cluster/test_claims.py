"""The claims flavour on the same cluster: the v2 XRD swapped for the claims XRD as the README
says (every ModelAPI deleted first, then the XRD), one claim through the story (Ready because it
serves, an agent with the client Secret gets the backend's answer), and the v2 XRD back after
(every later module checks that it is: tests/cluster/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from tests.cluster import kube
from tests.cluster.conftest import BACKEND_NAME, Platform, composition
from tests.cluster.stories import MODEL, agent, namespace
from tests.support import ROOT

CLAIMS = "modelapis.ethical.institute"  # not `modelapi`: see test_kubectl_get_modelapi_lists_the_claims


def crd_gone(name: str) -> bool:
    return kube.get("crd", name) is None


def swap_xrd(old: str, new: str) -> None:
    kube.kubectl("delete", "modelapis.ethical.institute", "-A", "--all", "--wait=true", "--timeout=180s")
    kube.kubectl("delete", "xrd", old, "--ignore-not-found", "--wait=true", "--timeout=180s")
    for crd in ("modelapis.ethical.institute", "xmodelapis.ethical.institute"):
        kube.wait_for(lambda crd=crd: crd_gone(crd), 180, 2, f"CRD {crd} gone")
    kube.apply_file(ROOT / new)
    name = yaml.safe_load((ROOT / new).read_text())["metadata"]["name"]
    kube.wait_for(lambda: kube.is_true(kube.get("xrd", name), "Established"), 120, 2, f"XRD {name} Established")


@pytest.fixture(scope="module")
def claims(platform: Platform) -> Iterator[None]:
    swap_xrd("modelapis.ethical.institute", "xrds/xmodelapi-claims.yaml")
    xr = kube.get("xrd", "xmodelapis.ethical.institute")
    kube.wait_for(
        lambda: kube.is_true(kube.get("xrd", "xmodelapis.ethical.institute"), "Offered"), 120, 2, "the claim offered"
    )
    assert xr is not None
    comp = yaml.safe_load((ROOT / "compositions" / "xmodelapi.yaml").read_text())
    local = composition("xmodelapi-local", {"litellm": platform.images["litellm"]})
    local["spec"] = {**comp["spec"], "pipeline": comp["spec"]["pipeline"]}
    local["spec"]["pipeline"][0]["input"]["images"]["litellm"] = platform.images["litellm"]
    kube.apply(local)
    try:
        yield
    finally:
        swap_xrd("xmodelapis.ethical.institute", "xrds/modelapi.yaml")


@pytest.fixture(scope="module")
def claim(platform: Platform, claims: None) -> str:
    """A team's claim, Ready; its namespace."""
    ns = namespace("team-b")
    kube.apply(
        {
            "apiVersion": "ethical.institute/v1alpha1",
            "kind": "ModelAPI",
            "metadata": {"name": "team-llm", "namespace": ns},
            "spec": {
                "compositionRef": {"name": "xmodelapi-local"},
                "mode": "Proxy",
                "proxyConfig": {"apiBase": platform.api_base, "model": MODEL},
            },
        }
    )

    def ready() -> dict | None:
        found = kube.get(CLAIMS, "team-llm", ns)
        return found if kube.is_true(found, "Ready") else None

    try:
        kube.wait_for(ready, 240, 2, "the claim Ready")
    except TimeoutError as e:
        raise AssertionError(f"{e}: {kube.get(CLAIMS, 'team-llm', ns)}") from None
    return ns


def test_a_claim_is_ready_and_serves(platform: Platform, claim: str) -> None:
    assert kube.get("deployment", "team-llm", claim) is not None, "the objects belong in the claim's namespace"
    got = agent(platform, claim, "team-llm-client")
    assert got["status"] == 200, got
    assert got["body"]["choices"][0]["message"]["content"].startswith(BACKEND_NAME)


def test_kubectl_get_modelapi_lists_the_claims(claim: str) -> None:
    """The README's `kubectl get modelapi -n NS`, with the claims flavour, names the team's claims."""
    listed = kube.kubectl("get", "modelapi", "-n", claim, "-o", "jsonpath={.items[*].kind}").split()
    assert listed, "no claim listed"
    assert set(listed) == {"ModelAPI"}, listed
