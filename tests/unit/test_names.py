import copy
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from function import names
from function.compose import Event, compose
from function.spec import SpecError
from tests.support.builders import HOSTED, PROXY, observed_ready, secret_value, xr
from tests.support.strategies import DNS_SUBDOMAINS, NARROW

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


def test_the_selector_is_a_subset_of_every_objects_labels():
    naming = names.Naming("chat-v2-0123abcd", "chat.v2")
    assert naming.selector() == {
        "app": "chat.v2",
        "app.kubernetes.io/instance": "chat-v2-0123abcd",
        "app.kubernetes.io/name": "modelapi",
    }
    assert naming.labels("litellm-proxy") == {
        **naming.selector(),
        "app.kubernetes.io/component": "litellm-proxy",
        "app.kubernetes.io/managed-by": names.FUNCTION,
    }


def _selected(out) -> dict[str, dict]:
    """Every selector the objects of a render carry, by where it is."""
    deployment = out.resources[names.DEPLOYMENT]
    return {
        "deployment": deployment["spec"]["selector"]["matchLabels"],
        "service": out.resources[names.SERVICE]["spec"]["selector"],
        "network policy": out.resources[names.NETWORK_POLICY]["spec"]["podSelector"]["matchLabels"],
        "disruption budget": out.resources[names.DISRUPTION_BUDGET]["spec"]["selector"]["matchLabels"],
        "spread": deployment["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["labelSelector"][
            "matchLabels"
        ],
        "pods asked for": out.pod_labels,
    }


NETWORK_POLICY_INPUT = {"networkPolicy": {}}
TWO_PROXIES = {**PROXY, "proxyConfig": {**PROXY["proxyConfig"], "replicas": 2}}


@pytest.mark.parametrize(
    ("name", "app"),
    [
        ("my-modelapi", "my-modelapi"),
        # Valid label values, not Service names: `kubectl logs -l app=NAME` (the spec's
        # troubleshooting) finds their pods all the same.
        ("1st-model", "1st-model"),
        ("chat.v2", "chat.v2"),
        ("llama3.1-8b", "llama3.1-8b"),
        # Longer than a label value may be: the stand-in, as for the objects' names.
        ("x" * 64, names.base_name("x" * 64)),
    ],
)
def test_pods_are_labelled_app_name_wherever_a_label_value_can_hold_it(name, app):
    out = compose(xr(TWO_PROXIES, name=name), NETWORK_POLICY_INPUT, {})
    template = out.resources[names.DEPLOYMENT]["spec"]["template"]["metadata"]["labels"]
    assert template["app"] == app
    assert out.resources[names.SERVICE]["metadata"]["name"] == names.base_name(name)
    for where, selector in _selected(out).items():
        assert selector["app"] == app, where
        assert selector.items() <= template.items(), where


def test_an_existing_deployment_keeps_the_app_label_its_immutable_selector_was_created_with():
    """Earlier versions labelled `chat.v2`'s pods with the stand-in: changing a Deployment's
    selector is refused by the API server, so the ModelAPI would never update again."""
    stand_in = names.base_name("chat.v2")
    first = compose(xr(TWO_PROXIES, name="chat.v2"), NETWORK_POLICY_INPUT, {})
    observed = copy.deepcopy(first.resources)
    observed[names.DEPLOYMENT]["spec"]["selector"]["matchLabels"]["app"] = stand_in
    observed[names.DEPLOYMENT]["spec"]["template"]["metadata"]["labels"]["app"] = stand_in
    out = compose(xr(TWO_PROXIES, name="chat.v2"), NETWORK_POLICY_INPUT, observed)
    template = out.resources[names.DEPLOYMENT]["spec"]["template"]["metadata"]["labels"]
    assert template["app"] == stand_in
    for where, selector in _selected(out).items():
        assert selector["app"] == stand_in, where
    # Once created with `app: chat.v2`, it stays so.
    again = compose(xr(TWO_PROXIES, name="chat.v2"), NETWORK_POLICY_INPUT, copy.deepcopy(first.resources))
    assert again.pod_labels["app"] == "chat.v2"


@pytest.mark.parametrize("observed", [{}, {"spec": None}, {"spec": {"selector": {"matchLabels": {"app": 7}}}}, None])
def test_an_observed_deployment_without_a_usable_app_label_changes_nothing(observed):
    assert names.naming("chat.v2", observed) == names.Naming(names.base_name("chat.v2"), "chat.v2")


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


@pytest.mark.parametrize(
    ("name", "stand_in"),
    [
        ("My_Team.ModelAPI", "my-team-modelapi-3e9301dd"),
        ("9-gpu-model", "m-9-gpu-model-0891acd2"),
        ("1st-model", "m-1st-model-d39da9db"),
        ("--9x", "m-9x-9a3d051a"),
        ("llama3.1-8b", "llama3-1-8b-58f8970d"),
        ("-x-", "x-c6cf95e5"),
        ("a..b", "a-b-f62b4241"),
        ("...", "m-ab5df625"),
        ("x" * 64, "x" * 54 + "-7ce10097"),
        # Cut to fit 63 characters, without the dash the cut would leave.
        ("a" * 53 + "-" + "b" * 10, "a" * 53 + "-6a30f87a"),
    ],
)
def test_stand_in_names_never_change(name, stand_in):
    """Every object of such a ModelAPI carries it: another stand-in after an upgrade of the function
    would have Crossplane delete them all and create them anew (a new master key, a new pull)."""
    assert names.base_name(name) == stand_in


def _legacy_xr(metadata: dict, spec_extra: dict) -> dict:
    return {"apiVersion": names.API_VERSION, "kind": "XModelAPI", "metadata": metadata, "spec": {**PROXY, **spec_extra}}


def test_a_claims_xr_is_placed_by_crossplanes_claim_labels_alone():
    out = compose(_legacy_xr({"name": "team-llm-x7k2p", "labels": CLAIM_LABELS}, {}), None, {})
    assert out.pod_namespace == "team-b"
    assert out.resources[names.SERVICE]["metadata"]["name"] == "team-llm"


@pytest.mark.parametrize(
    "labels",
    [
        {"crossplane.io/claim-name": "team-llm"},
        {"crossplane.io/claim-namespace": "team-b"},
        {"crossplane.io/claim-name": "", "crossplane.io/claim-namespace": "team-b"},
    ],
)
def test_a_claims_xr_with_half_its_claim_labels_and_no_claim_ref_has_nowhere_to_go(labels):
    with pytest.raises(SpecError) as err:
        compose(_legacy_xr({"name": "x7k2p", "labels": labels}, {}), None, {})
    assert str(err.value) == (
        "metadata.namespace: a cluster-scoped XModelAPI without a claim has no namespace for its objects; "
        "create a ModelAPI claim in a namespace instead"
    )


@pytest.mark.parametrize("name", [7, "", None])
def test_a_name_that_is_no_string_is_missing(name):
    with pytest.raises(SpecError) as err:
        compose(xr(PROXY, name=name), None, {})
    assert str(err.value) == "metadata.name: missing"


def _key(composite: dict) -> str:
    return secret_value(compose(composite, None, {}).resources[names.CLIENT_SECRET], names.CLIENT_API_KEY_KEY)


def test_a_new_master_key_derives_from_the_uid_where_there_is_one():
    """Deleted and created again under the same name, a ModelAPI gets a new key: the old one may
    have been handed out."""
    first, again = xr(PROXY, uid="uid-1"), xr(PROXY, uid="uid-2")
    assert _key(first) != _key(again)
    assert _key(first) == _key(xr(PROXY, uid="uid-1"))
    # Without a uid (a hand-written request), from the namespace and name.
    assert _key(xr(PROXY)) == _key(xr(PROXY)) != _key(xr(PROXY, name="other"))
    assert _key(xr(PROXY, uid="")) == _key(xr(PROXY))


def test_ready_is_said_as_a_normal_event_with_the_endpoint():
    composite = xr(PROXY)
    out = compose(composite, None, observed_ready(PROXY))
    assert out.status["phase"] == "Ready"
    assert out.events == [Event(False, "ModelAPI is ready at http://my-modelapi.team-a.svc.cluster.local:8000")]


def test_the_other_modes_config_is_noted_as_ignored():
    both = {**PROXY, "serverConfig": {"model": "smollm2:135m"}}
    assert "spec.serverConfig is ignored in mode Proxy" in compose(xr(both), None, {}).status["message"].split("; ")


# --------------------------------------------------------------------------------------------
# No two ModelAPIs of one namespace are given an object of the same kind and name
# --------------------------------------------------------------------------------------------

# Every object a ModelAPI can have: each policy, the budget (replicas), the claim (storage), the
# monitor and the route; the client Secret and the config's.
EVERYTHING = {
    "networkPolicy": {},
    "egress": {"allowedHosts": ["ollama.ollama.svc:11434"], "networkPolicy": True},
    "metrics": {"serviceMonitor": True},
    "gateway": {"parentRefs": [{"name": "public"}], "hostname": "llm.example.com"},
}
EVERY_PROXY = {**PROXY, "proxyConfig": {**PROXY["proxyConfig"], "replicas": 2}}
EVERY_HOSTED = {**HOSTED, "serverConfig": {**HOSTED["serverConfig"], "storage": {"size": "1Gi"}}}


def composed(name: str) -> set[tuple[str, str]]:
    """(kind, name) of everything either mode composes for a ModelAPI of this name."""
    return {
        (obj["kind"], obj["metadata"]["name"])
        for spec in (EVERY_PROXY, EVERY_HOSTED)
        for obj in compose(xr(spec, name=name), EVERYTHING, {}).resources.values()
    }


def test_every_kind_is_composed_for_the_pairs_below():
    kinds = {kind for kind, _ in composed("a")}
    assert kinds == {
        "Deployment",
        "Service",
        "Secret",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PersistentVolumeClaim",
        "ServiceMonitor",
        "HTTPRoute",
    }
    assert len([n for k, n in composed("a") if k == "NetworkPolicy"]) == 2  # ingress and egress


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("a", "a-egress"),  # was: a's egress policy, a-egress's ingress policy
        ("a", "a-client"),
        ("a", "a-models"),
        ("a", "a-litellm-config"),
        ("a", names.base_name("a.egress")),
        ("a.egress", "a"),  # a stand-in's name, not `a.egress` itself
        ("a-b", "a.b"),
    ],
)
def test_two_modelapis_of_one_namespace_share_no_object(one, other):
    assert composed(one) & composed(other) == set()


def test_the_egress_policy_holds_a_dot_no_base_name_can():
    """Renamed from N-egress, under a key of its own: Crossplane keeps the name it observed under
    a key, so only a new key gets the new name (and deletes the old policy)."""
    out = compose(xr(PROXY, name="a"), EVERYTHING, {})
    assert out.resources[names.EGRESS_POLICY]["metadata"]["name"] == "a.egress"
    assert names.EGRESS_POLICY != "egress-policy"


# Names as Kubernetes takes them (DNS subdomains), and names made of another's with a suffix of
# ours (`a` and `a-egress`): where a collision would be.
SUFFIXES = st.sampled_from(["-egress", ".egress", "-client", "-models", "-litellm-config-0123456789", "-x", ".x"])
PAIRS = st.one_of(
    st.tuples(DNS_SUBDOMAINS, DNS_SUBDOMAINS),
    st.builds(lambda a, s: (a, a + s), DNS_SUBDOMAINS.filter(lambda n: len(n) <= 200), SUFFIXES),
    st.builds(lambda a, s: (names.base_name(a) + s, a), DNS_SUBDOMAINS, SUFFIXES),
    st.builds(lambda a: (names.base_name(a), a), DNS_SUBDOMAINS),
)


@NARROW
@given(PAIRS)
def test_no_pair_of_modelapis_in_one_namespace_shares_an_object(pair):
    one, other = pair
    assume(one != other)
    if names.base_name(one) == names.base_name(other):
        # Only where one is named as the other's stand-in (a hash of 32 bits aside): the
        # stand-in is a Service name, as any such ModelAPI's own name is.
        assert names.base_name(one) in pair
        return
    assert composed(one) & composed(other) == set()
