"""Every object rendered for every example passes the Kubernetes OpenAPI schemas, strict
(unknown fields refused), for the Kubernetes versions Crossplane v2 supports."""

import kubernetes_validate
import pytest
import yaml

from function.compose import compose
from tests.support import EXAMPLE_NAMES, EXAMPLES
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
