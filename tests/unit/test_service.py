"""The Service in front of a ModelAPI's pods, checked against the rendered Deployment itself:
it selects the pods the Deployment's template makes and its port reaches their container's."""

import pytest

from function import names
from function.compose import compose
from tests.support.builders import HOSTED, PROXY, xr

CASES = [
    (PROXY, "my-modelapi"),
    (HOSTED, "my-modelapi"),
    # A name that is no Service name: every object takes the stand-in base name.
    (PROXY, "My_Team.ModelAPI"),
    (HOSTED, "9-gpu-model"),
]
IDS = ["proxy", "hosted", "proxy-stand-in-name", "hosted-stand-in-name"]


def _rendered(spec: dict, name: str, fn_input: dict | None = None) -> dict:
    return compose(xr(spec, name=name), fn_input, {}).resources


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize(("spec", "name"), CASES, ids=IDS)
def test_the_service_selects_the_pods_of_the_deployment(spec, name):
    resources = _rendered(spec, name)
    deployment, service = resources[names.DEPLOYMENT], resources[names.SERVICE]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert _selects(service["spec"]["selector"], pod_labels), (service["spec"]["selector"], pod_labels)
    assert _selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)


@pytest.mark.parametrize(("spec", "name"), CASES, ids=IDS)
def test_the_service_selects_no_pod_of_another_modelapi(spec, name):
    service = _rendered(spec, name)[names.SERVICE]
    other = _rendered(spec, name + "-other")[names.DEPLOYMENT]["spec"]["template"]["metadata"]["labels"]
    assert not _selects(service["spec"]["selector"], other)


@pytest.mark.parametrize(("spec", "name"), CASES, ids=IDS)
def test_the_service_port_reaches_the_serving_container(spec, name):
    resources = _rendered(spec, name)
    ports = resources[names.SERVICE]["spec"]["ports"]
    # The container with the ports: LiteLLM, or Hosted's front (Ollama listens on loopback).
    (serving,) = [c for c in resources[names.DEPLOYMENT]["spec"]["template"]["spec"]["containers"] if "ports" in c]
    exposed = {p["name"]: p for p in serving["ports"]}
    # Each of the container's ports, and only those (a proxy's metrics port beside its endpoint's).
    assert [p["targetPort"] for p in ports] == list(exposed)
    for port in ports:
        assert port["name"] == port["targetPort"]
        assert port["protocol"] == exposed[port["targetPort"]]["protocol"] == "TCP"
        assert port["port"] == exposed[port["targetPort"]]["containerPort"]
    assert ports[0]["name"] == names.PORT_NAME
    assert serving["readinessProbe"]["httpGet"]["port"] == names.PORT_NAME


@pytest.mark.parametrize(("spec", "name"), CASES, ids=IDS)
def test_the_network_policy_and_the_pods_asked_for_are_the_deployments(spec, name):
    """The NetworkPolicy guards, and Crossplane fetches for the status, the pods the Deployment makes."""
    out = compose(xr(spec, name=name), {"networkPolicy": {}}, {})
    pod_labels = out.resources[names.DEPLOYMENT]["spec"]["template"]["metadata"]["labels"]
    policy = out.resources[names.NETWORK_POLICY]["spec"]
    assert _selects(policy["podSelector"]["matchLabels"], pod_labels)
    assert _selects(out.pod_labels, pod_labels)
    assert out.needs_pods


@pytest.mark.parametrize(("spec", "name"), CASES, ids=IDS)
def test_the_service_is_reached_inside_the_cluster_only(spec, name):
    assert _rendered(spec, name)[names.SERVICE]["spec"]["type"] == "ClusterIP"
