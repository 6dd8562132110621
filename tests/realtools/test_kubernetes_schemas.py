"""Every object rendered for every example passes the Kubernetes OpenAPI schemas, strict
(unknown fields refused), for the Kubernetes versions Crossplane v2 supports."""

import re

import kubernetes_validate
import pytest
import yaml

from function import names
from function.compose import compose
from tests.support import EXAMPLE_NAMES, EXAMPLES, ROOT
from tests.support.builders import HOSTED, PROXY, with_, xr

VERSIONS = ["1.30", "1.31", "1.32", "1.33", "1.34"]

RICH = {
    "proxy-env": with_(
        PROXY,
        "proxyConfig.env",
        [
            {"name": "A", "value": "1"},
            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}},
            {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "LITELLM_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": "mine", "key": "k"}}},
        ],
    ),
    "hosted-gpu": with_(
        HOSTED, "serverConfig.resources", {"limits": {"nvidia.com/gpu": 1, "memory": "16Gi"}, "requests": {"cpu": 2}}
    ),
}
INPUT = {
    "imagePullSecrets": ["regcred"],
    "proxyResources": {"requests": {"memory": "512Mi", "cpu": "250m"}},
    "networkPolicy": {"allowNamespaces": ["agents"]},
}


def rendered() -> list[tuple[str, dict]]:
    cases = []
    for name in EXAMPLE_NAMES:
        doc = yaml.safe_load((EXAMPLES / name / "xr.yaml").read_text())
        cases += [(f"{name}/{key}", obj) for key, obj in compose(doc, None, {}).resources.items()]
    for name, spec in RICH.items():
        cases += [(f"{name}/{key}", obj) for key, obj in compose(xr(spec), INPUT, {}).resources.items()]
    return cases


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("case", "obj"), rendered(), ids=[c for c, _ in rendered()])
def test_rendered_objects_are_valid_kubernetes(case, obj, version):
    kubernetes_validate.validate(obj, version, strict=True)


def readme_yaml(starts: str) -> dict:
    """The README's YAML block whose text starts with STARTS."""
    readme = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith(starts)]
    assert len(blocks) == 1, f"one README yaml block starting {starts!r}, found {len(blocks)}"
    return yaml.safe_load(blocks[0])


def test_the_readmes_agent_uses_what_the_readmes_modelapi_gets():
    """The agent Deployment of "Use the endpoint" is valid, lives beside the ModelAPI of "Write a
    ModelAPI", takes the client Secret that ModelAPI gets and asks for a name its mode routes."""
    modelapi = readme_yaml("apiVersion: ethical.institute/v1alpha1\nkind: ModelAPI\nmetadata:\n  name: dev-ollama")
    agent = readme_yaml("# An agent of team-a")
    for version in VERSIONS:
        kubernetes_validate.validate(agent, version, strict=True)
    out = compose(modelapi, None, {})
    client = out.resources[names.CLIENT_SECRET]
    assert agent["metadata"]["namespace"] == client["metadata"]["namespace"] == modelapi["metadata"]["namespace"]
    (container,) = agent["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": client["metadata"]["name"]}}]
    assert set(client["data"]) == {names.CLIENT_BASE_URL_KEY, names.CLIENT_API_KEY_KEY}
    (model,) = [e["value"] for e in container["env"] if e["name"] == "MODEL"]
    assert "model" not in modelapi["spec"]["proxyConfig"] and model.startswith("ollama/")  # a wildcard's name
