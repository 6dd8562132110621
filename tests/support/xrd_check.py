"""Admission as the API server does it, offline: an XRD's openAPIV3Schema (JSON Schema
plus list-map keys) and its CEL rules (x-kubernetes-validations, evaluated with cel-python)."""

import functools
import pathlib

import celpy
import jsonschema
import yaml

from tests.support import ROOT

XRDS = {"v2": ROOT / "xrds/modelapi.yaml", "claims": ROOT / "xrds/xmodelapi-claims.yaml"}


def schema(flavour: str) -> dict:
    xrd = yaml.safe_load(pathlib.Path(XRDS[flavour]).read_text())
    return xrd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@functools.cache
def _program(rule: str) -> celpy.Runner:
    env = celpy.Environment()
    return env.program(env.compile(rule))


def _cel_errors(node_schema: dict, value: object, path: str) -> list[str]:
    errors = []
    for v in node_schema.get("x-kubernetes-validations", []):
        result = _program(v["rule"]).evaluate({"self": celpy.json_to_cel(value)})
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            errors.append(f"{path}: {v['message']}")
    if node_schema.get("x-kubernetes-list-type") == "map" and isinstance(value, list):
        keys = [tuple(item.get(k) for k in node_schema["x-kubernetes-list-map-keys"]) for item in value]
        if len(keys) != len(set(keys)):
            errors.append(f"{path}: Duplicate value")
    if isinstance(value, dict):
        for key, child in value.items():
            if key in node_schema.get("properties", {}):
                errors += _cel_errors(node_schema["properties"][key], child, f"{path}.{key}")
    elif isinstance(value, list) and "items" in node_schema:
        for i, child in enumerate(value):
            errors += _cel_errors(node_schema["items"], child, f"{path}[{i}]")
    return errors


INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def structural_errors(node: dict, path: str = "") -> list[str]:
    """Where a schema is not structural, as the API server refuses a CRD for: every node
    has a type (int-or-string aside), and anyOf/allOf/oneOf/not carry no types, except
    int-or-string's exact [integer, string] pair."""
    errors = []
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    if "type" not in node and not int_or_string and not node.get("x-kubernetes-preserve-unknown-fields"):
        errors.append(f"{path or '.'}: type: Required value")
    for junctor in ("anyOf", "allOf", "oneOf"):
        branches = node.get(junctor, [])
        if int_or_string and junctor == "anyOf" and branches == INT_OR_STRING:
            continue
        errors += [f"{path}.{junctor}[{i}].type: must be empty" for i, b in enumerate(branches) if "type" in b]
    for key, child in node.get("properties", {}).items():
        errors += structural_errors(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            errors += structural_errors(node[key], f"{path}.{key}")
    return errors


def admission_errors(obj: dict, flavour: str = "v2") -> list[str]:
    """What the API server would refuse in obj's spec, as messages; [] when admitted."""
    s = schema(flavour)
    validator = jsonschema.Draft4Validator(s)
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
    if errors:
        return errors  # the API server checks the schema before the rules
    return _cel_errors(s, obj, "")
