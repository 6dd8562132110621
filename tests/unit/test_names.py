import re

import pytest

from function import names
from function.compose import compose
from tests.support.builders import PROXY

DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("my-modelapi", "my-modelapi"),
        ("a", "a"),
        ("x" * 63, "x" * 63),
    ],
)
def test_a_valid_service_name_is_kept(name, want):
    assert names.base_name(name) == want


@pytest.mark.parametrize(
    "name",
    ["my.modelapi", "1st-model", "x" * 64, "x" * 253, "Upper", "a..b", "9", "-", "...", "llama3.1-8b"],
)
def test_other_names_become_a_valid_stable_service_name(name):
    got = names.base_name(name)
    assert DNS1035.match(got), got
    assert got == names.base_name(name)


def test_distinct_names_that_sanitize_alike_stay_distinct():
    assert names.base_name("a.b") != names.base_name("a-b.")
    assert names.base_name("x" * 64) != names.base_name("x" * 65)


def test_selector_labels_are_a_subset_of_the_pod_labels():
    labels = names.labels("m", "litellm-proxy")
    assert names.selector_labels("m").items() <= labels.items()
    assert labels["app"] == "m"


CLAIM_LABELS = {"crossplane.io/claim-name": "team-llm", "crossplane.io/claim-namespace": "team-b"}
CLAIM_REF = {"claimRef": {"name": "team-llm", "namespace": "team-b"}}


@pytest.mark.parametrize(
    ("kind", "metadata", "spec_extra", "want"),
    [
        ("ModelAPI", {"name": "mine", "namespace": "team-a"}, {}, ("mine", "team-a")),
        # A claim's XR (cluster-scoped): the claim's name and namespace, from Crossplane's labels...
        ("XModelAPI", {"name": "team-llm-x7k2p", "labels": CLAIM_LABELS}, CLAIM_REF, ("team-llm", "team-b")),
        # ... or from spec.claimRef alone.
        ("XModelAPI", {"name": "team-llm-x7k2p"}, CLAIM_REF, ("team-llm", "team-b")),
        # A namespaced ModelAPI is a team's own object: labels it carries cannot move or
        # rename what it gets.
        ("ModelAPI", {"name": "mine", "namespace": "team-a", "labels": CLAIM_LABELS}, {}, ("mine", "team-a")),
        ("ModelAPI", {"name": "mine", "namespace": "team-a"}, CLAIM_REF, ("mine", "team-a")),
        # A ModelAPI as the spec's examples write it, without a namespace (a file to render):
        # where kubectl would create it.
        ("ModelAPI", {"name": "dev-ollama"}, {}, ("dev-ollama", "default")),
    ],
)
def test_objects_go_to_the_modelapis_own_name_and_namespace(kind, metadata, spec_extra, want):
    composite = {"apiVersion": names.API_VERSION, "kind": kind, "metadata": metadata, "spec": {**PROXY, **spec_extra}}
    out = compose(composite, None, {})
    name, namespace = want
    assert {(o["metadata"]["name"], o["metadata"]["namespace"]) for o in out.resources.values()} >= {(name, namespace)}
    assert {o["metadata"]["namespace"] for o in out.resources.values()} == {namespace}
    assert out.status["endpoint"] == f"http://{name}.{namespace}.svc.cluster.local:8000"
    assert out.pod_namespace == namespace
