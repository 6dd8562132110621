"""Every pattern and length limit of the function's spec model has its twin in the XRD's one
source (hack/xrd-schema.yaml): the same rule at admission and in the function."""

import typing

import pytest
import yaml
from pydantic import BaseModel

from function import litellm_config, spec
from tests.support import ROOT

SCHEMA = yaml.safe_load((ROOT / "hack/xrd-schema.yaml").read_text())["spec"]


def _constraints(annotation: object) -> tuple[object, dict]:
    """The type under Annotated and Optional, and the pattern and max_length put on it."""
    found: dict = {}
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, *meta = typing.get_args(annotation)
            # A Field(...) inside Annotated keeps its bounds (Ge, Le) in its own metadata.
            for part in [p for m in meta for p in (m, *getattr(m, "metadata", ()))]:
                for key in ("pattern", "max_length", "ge", "le"):
                    if getattr(part, key, None) is not None:
                        found[key] = getattr(part, key)
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, type(int | None)) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation, found


def _twins(model: type[BaseModel], schema: dict, path: str) -> list[tuple[str, dict, dict]]:
    """(path, the model's constraints, the schema's node) for every field, walking both."""
    out = []
    for name, info in model.model_fields.items():
        node = schema.get("properties", {}).get(name)
        assert node is not None, f"{path}.{name} is not in the XRD"
        annotation = typing.Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        at, found = _constraints(annotation)
        out.append((f"{path}.{name}", found, node))
        below = f"{path}.{name}"
        if typing.get_origin(at) is list:
            item, item_found = _constraints(typing.get_args(at)[0])
            out.append((f"{path}.{name}[]", item_found, node["items"]))
            at, node, below = item, node["items"], f"{below}[]"
        elif typing.get_origin(at) is dict:
            value = typing.get_args(at)[1]
            for member in typing.get_args(value) or (value,):
                _, value_found = _constraints(member)
                if value_found:
                    out.append((f"{path}.{name}{{}}", value_found, node["additionalProperties"]))
        if isinstance(at, type) and issubclass(at, BaseModel):
            out += _twins(at, node, below)
    return out


TWINS = _twins(spec.ModelAPISpec, SCHEMA, "spec")


@pytest.mark.parametrize(("found", "node"), [(f, n) for _, f, n in TWINS], ids=[p for p, _, _ in TWINS])
def test_a_rule_of_the_function_is_the_xrds_too(found, node):
    schema_key = "maxItems" if node.get("type") == "array" else "maxLength"
    if "max_length" in found:
        assert node.get(schema_key) == found["max_length"]
    if "pattern" in found:
        assert node.get("pattern") == found["pattern"]
    if "ge" in found:
        assert node.get("minimum") == found["ge"]
    if "le" in found:
        assert node.get("maximum") == found["le"]


def test_the_twins_cover_the_string_rules():
    paths = {p for p, found, _ in TWINS if found}
    assert {"spec.proxyConfig.apiBase", "spec.serverConfig.model", "spec.proxyConfig.env[].name"} <= paths
    assert "spec.serverConfig.resources.limits{}" in paths
    assert {"spec.proxyConfig.replicas", "spec.proxyConfig.resources.limits{}"} <= paths


def test_the_configyaml_limit_is_the_xrds():
    """Bytes in the function, characters at admission: the XRD admits no more than it."""
    assert SCHEMA["properties"]["proxyConfig"]["properties"]["configYaml"]["maxLength"] == litellm_config.MAX_BYTES


INPUT_CRD = yaml.safe_load((ROOT / "package/input/modelapi.fn.ethical.institute_inputs.yaml").read_text())
INPUT_SCHEMA = INPUT_CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_the_input_crd_gives_the_env_rules_pattern_and_the_dns_defaults_of_the_function():
    denied = INPUT_SCHEMA["properties"]["env"]["properties"]["denied"]["items"]
    assert denied["pattern"] == spec.ENV_RULE_PATTERN
    dns = INPUT_SCHEMA["properties"]["egress"]["properties"]["dns"]["properties"]
    assert {k: v["default"] for k, v in dns.items()} == spec.ClusterDNS().model_dump()
