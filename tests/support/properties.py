"""Driving the function in the property tests: a request from plain dicts, its outcome, and
the checks every property shares (one fatal result naming the field; objects Kubernetes accepts)."""

import functools
import re
from dataclasses import dataclass

import kubernetes_validate
import kubernetes_validate.utils
import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import fn
from tests.support.builders import request

K8S_VERSIONS = ("1.34", "1.30")

# kubernetes_validate lists its schema versions and reads and parses its JSON schemas from disk
# on every call (~25 ms a Deployment); they never change, so keep them. Validation is unchanged.
for _name, _size in (("schema_contents", 128), ("all_versions", 1)):
    if not hasattr(getattr(kubernetes_validate.utils, _name), "cache_info"):
        setattr(kubernetes_validate.utils, _name, functools.lru_cache(_size)(getattr(kubernetes_validate.utils, _name)))


@dataclass
class Outcome:
    fatals: list[str]
    warnings: list[str]
    normals: list[str]
    resources: dict[str, dict]
    ready: dict[str, int]
    status: dict
    ttl: float


def outcome(rsp: fnv1.RunFunctionResponse) -> Outcome:
    by: dict = {fnv1.SEVERITY_FATAL: [], fnv1.SEVERITY_WARNING: [], fnv1.SEVERITY_NORMAL: []}
    for r in rsp.results:
        by[r.severity].append(r.message)
    composite = resource.struct_to_dict(rsp.desired.composite.resource)
    return Outcome(
        fatals=by[fnv1.SEVERITY_FATAL],
        warnings=by[fnv1.SEVERITY_WARNING],
        normals=by[fnv1.SEVERITY_NORMAL],
        resources={k: resource.struct_to_dict(v.resource) for k, v in rsp.desired.resources.items()},
        ready={k: v.ready for k, v in rsp.desired.resources.items()},
        status=composite.get("status", {}),
        ttl=rsp.meta.ttl.ToTimedelta().total_seconds(),
    )


def run(xr: dict, fn_input: dict | None = None, observed: dict | None = None, pods: list | None = None) -> Outcome:
    """`fn.run` on a request built from plain dicts; any exception fails the test."""
    return outcome(fn.run(request(xr, fn_input=fn_input, observed=observed, pods=pods, tag="generated")))


FIELD_PATH = re.compile(r"^(spec|metadata|apiVersion|kind)([.\[:])")


def assert_rejected(out: Outcome, prefix: str | None = None) -> None:
    """Exactly one fatal result naming the field, nothing composed."""
    assert len(out.fatals) == 1, out.fatals
    assert not out.warnings
    assert not out.normals
    assert out.resources == {}
    assert out.status == {}
    message = out.fatals[0]
    if prefix is None:
        assert FIELD_PATH.match(message), message
    else:
        assert message.startswith(prefix), f"expected {prefix!r}: {message!r}"
    assert "internal error" not in message
    raw = [phrase for phrase in LIBRARY_PHRASES if phrase in message]
    assert not raw, f"a library's own words in a team's message: {raw}: {message!r}"


# How pydantic and PyYAML word their errors: a team gets our sentences instead (function/spec.py).
LIBRARY_PHRASES = (
    "Input should be",
    "Extra inputs are not permitted",
    "Field required",
    "validation error",
    "[type=",
    "<unicode string>",
    "could not determine a constructor",
    "mapping values are not allowed",
    "cannot start any token",
    "could not find expected",
    "but found",
    "while scanning",
    "while parsing",
)


# Kinds of CRDs kubernetes-validate has no schema for: tests/e2e applies them through a real
# API server with their real CRDs (Gateway API, prometheus-operator).
CRD_KINDS = frozenset({"HTTPRoute", "ServiceMonitor"})


def assert_schema_valid(objects: dict[str, dict]) -> None:
    for key, obj in objects.items():
        if obj["kind"] in CRD_KINDS:
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                pytest.fail(f"{key} ({obj['kind']}) is invalid for Kubernetes {version}: {path}: {e.message}")
