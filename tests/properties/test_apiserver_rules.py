"""Specs the API server would refuse in a Deployment although they look valid (bugs these tests
found, each failing until the function was fixed): refused naming the field."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from function import names
from tests.support.apiserver import apiserver_problems
from tests.support.mutations import JSON_VALUES, env_of
from tests.support.properties import assert_rejected, run
from tests.support.strategies import NARROW, Case, valid_cases

# What the API server refuses in a Deployment although the function (and the XRD) accept it.
APISERVER_REFUSES = [
    pytest.param({"limits": {"memory": "512K"}}, "limits['memory']", id="uppercase-K-is-not-a-quantity-suffix"),
    pytest.param({"requests": {"cpu": "1K"}}, "requests['cpu']", id="uppercase-K-in-requests"),
    pytest.param({"limits": {"cpu": -1}}, "limits['cpu']", id="negative-number"),
    pytest.param({"limits": {"memory": -(2**30)}}, "limits['memory']", id="negative-number-memory"),
    pytest.param({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}, "", id="requests-above-limits"),
    pytest.param({"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}, "", id="cpu-requests-above-limits"),
    pytest.param({"limits": {"gpu": "1"}}, "limits['gpu']", id="unqualified-non-standard-resource"),
    pytest.param({"limits": {"requests.cpu": "1"}}, "limits['requests.cpu']", id="requests-prefix"),
    pytest.param({"limits": {"nvidia.com/gpu": "0.5"}}, "limits['nvidia.com/gpu']", id="fractional-gpu"),
    pytest.param({"requests": {"nvidia.com/gpu": "1"}}, "", id="gpu-request-without-limit"),
    pytest.param({"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}}, "", id="gpu-request-not-limit"),
    pytest.param({"limits": {"example.com/" + "g" * 64: "1"}}, "limits", id="resource-name-part-over-63"),
    pytest.param({"limits": {"a" * 254 + "/gpu": "1"}}, "limits", id="resource-prefix-over-253"),
]


@pytest.mark.parametrize(("resources", "at"), APISERVER_REFUSES)
def test_resources_the_apiserver_refuses_are_rejected_naming_the_field(resources, at):
    spec_ = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m", "resources": resources}}
    xr = {"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}
    out = run(xr)
    if not out.fatals:
        problems = apiserver_problems(out.resources[names.DEPLOYMENT])
        assert problems, "the checker should have caught this"
        pytest.fail(f"accepted, but the API server would refuse the Deployment: {problems}")
    assert_rejected(out, "spec.serverConfig.resources")  # at `at`, or at resources naming `at`


@pytest.mark.parametrize(
    "field_ref",
    [
        pytest.param({"fieldPath": "spec.containers[0].image"}, id="unsupported-field-path"),
        pytest.param({"fieldPath": "metadata.labels"}, id="labels-without-a-key"),
        pytest.param({"fieldPath": "status.phase"}, id="status-phase"),
        pytest.param({"fieldPath": "metadata.name", "apiVersion": "v2"}, id="api-version-not-v1"),
        # The API server checks a subscript as a qualified name: its name part is at most 63.
        pytest.param({"fieldPath": "metadata.annotations['" + "a" * 64 + "']"}, id="annotation-key-over-63"),
        pytest.param({"fieldPath": "metadata.labels['example.com/" + "a" * 64 + "']"}, id="label-key-over-63"),
    ],
)
def test_an_env_field_ref_the_apiserver_refuses_is_rejected_naming_the_field(field_ref):
    env = [{"name": "POD", "valueFrom": {"fieldRef": field_ref}}]
    spec_ = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://x", "env": env}}
    out = run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_})
    if not out.fatals:
        problems = apiserver_problems(out.resources[names.DEPLOYMENT])
        assert problems, "the checker should have caught this"
        pytest.fail(f"accepted, but the API server would refuse the Deployment: {problems}")
    assert_rejected(out, "spec.proxyConfig.env[0].valueFrom.fieldRef")


@st.composite
def apiserver_refused_cases(draw) -> tuple[Case, str]:
    """A valid case with one thing in it that only the API server would refuse."""
    case = copy.deepcopy(draw(valid_cases()))
    if case.mode == "Hosted" and draw(st.booleans()):
        resources = draw(st.sampled_from([p.values[0] for p in APISERVER_REFUSES]))
        case.config["resources"] = copy.deepcopy(resources)
        return case, "spec.serverConfig.resources"
    env, i, at = env_of(draw, case)
    env[i].pop("value", None)
    path = draw(st.sampled_from(["spec.containers[0].image", "metadata.labels", "status.phase", "spec.hostname"]))
    env[i]["valueFrom"] = {"fieldRef": {"fieldPath": path}}
    return case, f"{at}.valueFrom.fieldRef"


@NARROW
@given(apiserver_refused_cases())
def test_a_spec_the_apiserver_would_refuse_is_rejected_naming_the_field(example):
    case, prefix = example
    out = run(case.xr, case.fn_input)
    if not out.fatals:
        problems = [p for obj in out.resources.values() for p in apiserver_problems(obj)]
        pytest.fail(f"accepted, but the API server would refuse: {problems}")
    assert_rejected(out, prefix)


@pytest.mark.parametrize("namespace", ["n" * 64, "team.a", "Team-A"])
def test_a_network_policy_namespace_the_apiserver_refuses_is_rejected_naming_the_field(namespace):
    """Namespace names are DNS labels, and the policy selects them by label value (<= 63)."""
    fn_input = {"networkPolicy": {"allowNamespaces": [namespace]}}
    spec_ = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://x"}}
    out = run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}, fn_input)
    if not out.fatals:
        problems = [p for obj in out.resources.values() for p in apiserver_problems(obj)]
        pytest.fail(f"accepted {namespace!r}, which names no namespace; the API server would refuse: {problems}")
    assert out.fatals[0].startswith("function input input.networkPolicy.allowNamespaces[0]:"), out.fatals


@pytest.mark.parametrize(
    "api_base", ["http://[", "http://[::1", "http://a]b", "http://[zz]/v1", "http://h:99999", "http://h:port"]
)
def test_an_api_base_that_is_not_a_url_is_rejected_naming_the_field(api_base):
    """The pattern lets these through; urllib (and so LiteLLM's HTTP client) cannot parse them."""
    for spec_ in (
        {"mode": "Proxy", "proxyConfig": {"apiBase": api_base}},
        {"mode": "Proxy", "proxyConfig": {"apiBase": api_base, "model": "gpt-4o-mini"}},
    ):
        assert_rejected(run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}), "spec.proxyConfig.apiBase:")


def test_a_namespace_of_the_wrong_type_is_named_as_the_namespace():
    for namespace in (5, ["team-a"], {"name": "team-a"}, True):
        out = run({"metadata": {"name": "m", "namespace": namespace}, "spec": {"mode": "Proxy"}})
        assert_rejected(out, "metadata.namespace:")


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_carry_is_rejected_naming_the_field(number):
    """Crossplane never sends these (they come from JSON), but a raw gRPC caller can."""
    spec_ = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m", "resources": {"limits": {"cpu": number}}}}
    out = run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_})
    assert_rejected(out, "spec.serverConfig.resources.limits")


OBSERVED_SHAPES = st.one_of(
    st.just({"status": None}),
    st.just({"status": []}),
    st.just({"status": "Available"}),
    st.just({"status": {"availableReplicas": "1"}}),
    st.just({"status": {"availableReplicas": None}}),
    st.just({"status": {"conditions": None}}),
    st.just({"status": {"conditions": {"type": "Progressing"}}}),
    st.just({"status": {"conditions": [None, "x", {"type": "Progressing", "status": "False"}]}}),
    st.builds(lambda s: {"status": s}, JSON_VALUES),
    st.builds(lambda s: {"status": {"conditions": s}}, JSON_VALUES),
    st.builds(lambda s: {"status": {"availableReplicas": s}}, JSON_VALUES),
)


@NARROW
@given(valid_cases(), OBSERVED_SHAPES, st.one_of(st.none(), JSON_VALUES))
def test_observed_objects_of_any_shape_never_cause_an_internal_error(case, deployment, secret_data):
    """Crossplane passes on what the API server returned; a surprise there must not fail
    the reconcile with an internal error (nor log the frame's locals, see test_security)."""
    observed = {names.DEPLOYMENT: {"apiVersion": "apps/v1", "kind": "Deployment", **deployment}}
    if secret_data is not None:
        observed[names.CLIENT_SECRET] = {"apiVersion": "v1", "kind": "Secret", "data": secret_data}
    out = run(case.xr, case.fn_input, observed)
    assert not out.fatals, out.fatals
    assert out.status["phase"] in {"Pending", "Ready", "Failed"}
