"""Issue 6: the ModelAPI stories, each asserted against a real kube-apiserver and Crossplane.

Our function is served for real (`python -m function`, mTLS, as Crossplane runs it) and
registered with the control plane; the XRDs, Compositions and RBAC are applied exactly as
shipped. Every story then reads what Crossplane composed from the API server and compares
it with expectations of its own: the objects' fields in golden files (tests/golden/e2e/,
rewritten by `UPDATE_GOLDEN=1`), endpoints, statuses and messages as literal strings.
`function.compose.compose` only finds the objects and cross-checks them: compose cannot be
both the code under test and the judge of what is right.

Two control planes: the v2 stories run on the session's shared one; the claims flavour gets
a second one of its own (about 10 s to start). A v1 (claims) and a v2 XRD cannot both
define modelapis.ethical.institute, and swapping flavours in one control plane is not
reliable: deleting the v2 XRD while a ModelAPI exists hangs. Crossplane v2.2.1's XRD
finalizer removes the XRs with a cluster-wide DeleteAllOf, which the API server answers 404
for a namespaced kind; Crossplane ignores a 404 and then waits, forever, for the namespaced
ModelAPIs to go. Swapping would also depend on Crossplane stopping the XR controller and
starting a claim controller for the very same kind.

No kube-controller-manager runs: the tests stand in for its Deployment controller by
patching a Deployment's status. No garbage collection either: teardown stops processes.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from function import names, ollama
from tests.e2e.controlplane import ApiError, condition, is_true
from tests.e2e.stories import (
    API,
    CRD_API,
    EXAMPLES,
    LITELLM_PORT,
    TEAM_A,
    TEAM_C,
    TIMEOUT,
    V2_XRD,
    XRD_V2,
    Stage,
    applied,
    apply_modelapi,
    assert_live_matches_render,
    check_golden,
    composed,
    composition_input,
    decoded,
    load_one,
    modelapi_doc,
    ready_story,
    stand_in_for_the_deployment_controller,
    status_of,
    wait_status,
    want_status,
)
from tests.support import pods
from tests.support.builders import config_key

# --- v2: the API installs -----------------------------------------------------------------


def test_v2_xrd_and_its_crd_are_established(v2: Stage) -> None:
    name = load_one(V2_XRD)["metadata"]["name"]
    assert is_true(v2.cp.get(XRD_V2, "CompositeResourceDefinition", name), "Established")
    crd = v2.cp.get(CRD_API, "CustomResourceDefinition", name)
    assert is_true(crd, "Established")
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["kind"] == "ModelAPI"


# --- v2: admission ----------------------------------------------------------------------

PROXY = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://ollama.ollama.svc:11434"}}
HOSTED = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m"}}
MODEL_SENTENCE = 'Invalid value: "smollm2; rm -rf /": must be a model name such as smollm2:135m or ollama/smollm2:135m'

REFUSED = {
    "proxy-without-config": (
        {"mode": "Proxy", "proxyConfig": {"env": []}},
        "spec: Invalid value: mode Proxy needs proxyConfig.apiBase, proxyConfig.model or proxyConfig.configYaml",
    ),
    "proxy-without-proxyconfig": (
        {"mode": "Proxy"},
        "mode Proxy needs proxyConfig.apiBase, proxyConfig.model or proxyConfig.configYaml",
    ),
    "hosted-without-model": (
        {"mode": "Hosted", "serverConfig": {"env": []}},
        "spec.serverConfig.model: Required value",
    ),
    "hosted-without-serverconfig": ({"mode": "Hosted"}, "spec: Invalid value: mode Hosted needs serverConfig.model"),
    "proxy-with-serverconfig-without-model": (
        {**PROXY, "serverConfig": {"env": []}},
        "spec.serverConfig.model: Required value",
    ),
    "hosted-hostile-model": (
        {"mode": "Hosted", "serverConfig": {"model": "smollm2; rm -rf /"}},
        f"spec.serverConfig.model: {MODEL_SENTENCE}",
    ),
    "proxy-hostile-model": (
        {"mode": "Proxy", "proxyConfig": {"model": "smollm2; rm -rf /"}},
        f"spec.proxyConfig.model: {MODEL_SENTENCE}",
    ),
    "api-base-ftp": (
        {"mode": "Proxy", "proxyConfig": {"apiBase": "ftp://x"}},
        'spec.proxyConfig.apiBase: Invalid value: "ftp://x": must be an http(s) URL such as http://ollama.ollama.svc:11434',
    ),
    "duplicate-env": (
        {**PROXY, "proxyConfig": {**PROXY["proxyConfig"], "env": [{"name": "A", "value": "1"}, {"name": "A"}]}},
        'spec.proxyConfig.env[1]: Duplicate value: {"name":"A"}',
    ),
    "literal-master-key": (
        {**PROXY, "proxyConfig": {**PROXY["proxyConfig"], "env": [{"name": "LITELLM_MASTER_KEY", "value": "sk-x"}]}},
        "spec.proxyConfig.env[0]: Invalid value: "
        "LITELLM_MASTER_KEY must come from valueFrom.secretKeyRef, never a literal value",
    ),
    "ollama-host-in-env": (
        {**HOSTED, "serverConfig": {**HOSTED["serverConfig"], "env": [{"name": "OLLAMA_HOST", "value": "0.0.0.0"}]}},
        "spec.serverConfig.env: Invalid value: "
        "OLLAMA_HOST and OLLAMA_MODELS are set by the function (they wire the port and the model volume)",
    ),
    "memory-not-a-quantity": (
        {**HOSTED, "serverConfig": {**HOSTED["serverConfig"], "resources": {"limits": {"memory": "lots"}}}},
        'spec.serverConfig.resources.limits[memory]: Invalid value: "lots": must be a quantity such as 500m, 2Gi or 1',
    ),
}


def assert_nothing_created(s: Stage, name: str, namespace: str) -> None:
    assert s.modelapi(name, namespace) is None
    selector = f"app={name}"
    for api_version, kind in (("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "Secret")):
        assert s.cp.list(api_version, kind, namespace, label_selector=selector) == [], kind
        assert s.cp.get(api_version, kind, name, namespace) is None, kind


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_spec_is_refused_at_admission_with_the_promised_message(v2: Stage, case: str) -> None:
    spec, message = REFUSED[case]
    name = f"bad-{case}"
    doc = modelapi_doc(name, TEAM_C, spec)
    # POST, as `kubectl create` and client-side `kubectl apply` do.
    with pytest.raises(ApiError) as refused:
        v2.cp.request("POST", v2.cp.path(API, "ModelAPI", namespace=TEAM_C), doc)
    assert refused.value.status == 422, refused.value.body
    assert message in refused.value.body["message"]
    assert_nothing_created(v2, name, TEAM_C)


def test_duplicate_env_names_are_refused_by_server_side_apply_too(v2: Stage) -> None:
    """Server-side apply meets the list-map key before validation: the API server answers
    500 "failed to create typed patch object ... duplicate entries for key [name=\"A\"]",
    not the 422 "Duplicate value" that a create gets. Refused all the same."""
    name = "bad-duplicate-env-ssa"
    spec, _ = REFUSED["duplicate-env"]
    with pytest.raises(ApiError) as refused:
        v2.cp.apply(modelapi_doc(name, TEAM_C, spec))
    assert 'duplicate entries for key [name="A"]' in refused.value.body["message"]
    assert_nothing_created(v2, name, TEAM_C)


# --- v2: a ModelAPI of each kind, from the shipped examples --------------------------------

EXAMPLE_STORIES = {
    "proxy-wildcard": "dev-ollama",
    "proxy-single-model": "openai",
    "proxy-config-yaml": "multi-model",
    "hosted": "in-cluster-ollama",
}


@pytest.mark.parametrize("story", list(EXAMPLE_STORIES))
def test_a_modelapi_composes_its_objects_and_becomes_ready(v2: Stage, story: str) -> None:
    doc = load_one(EXAMPLES / EXAMPLE_STORIES[story] / "xr.yaml")
    assert doc["metadata"]["namespace"] == TEAM_A
    ready_story(v2, doc, story)


def test_the_wildcard_config_routes_every_model_to_the_api_base(v2: Stage) -> None:
    doc = load_one(EXAMPLES / "dev-ollama" / "xr.yaml")
    apply_modelapi(v2, doc)
    _, _, _, live = composed(v2, "dev-ollama", TEAM_A)
    config = yaml.safe_load(decoded(live[config_key(live)])[names.LITELLM_CONFIG_FILE])
    assert config == {
        "model_list": [
            {"model_name": "*", "litellm_params": {"model": "*", "api_base": doc["spec"]["proxyConfig"]["apiBase"]}}
        ],
        "litellm_settings": {"callbacks": ["prometheus"]},
    }


def test_a_config_yaml_is_served_verbatim(v2: Stage) -> None:
    doc = load_one(EXAMPLES / "multi-model" / "xr.yaml")
    apply_modelapi(v2, doc)
    _, _, _, live = composed(v2, "multi-model", TEAM_A)
    config = decoded(live[config_key(live)])[names.LITELLM_CONFIG_FILE]
    assert config == doc["spec"]["proxyConfig"]["configYaml"]
    env = live[names.DEPLOYMENT]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "secrets", "key": "openai"}}} in env


def test_integer_quantities_and_extended_resources_reach_the_containers(v2: Stage) -> None:
    # int-or-string quantities: the API server keeps 1 and 2 as integers, the function
    # receives them as doubles (protobuf Struct) and must write "1" and "2", not "1.0".
    spec = {
        "mode": "Hosted",
        "serverConfig": {
            "model": "smollm2:135m",
            "resources": {"requests": {"cpu": 2, "memory": "2Gi"}, "limits": {"nvidia.com/gpu": 1, "memory": "8Gi"}},
        },
    }
    apply_modelapi(v2, modelapi_doc("gpu", TEAM_C, spec))
    _, xr, rendered, live = composed(v2, "gpu", TEAM_C)
    assert xr["spec"]["serverConfig"]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert_live_matches_render(xr, rendered, live)
    pod = live[names.DEPLOYMENT]["spec"]["template"]["spec"]
    want = {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"nvidia.com/gpu": "1", "memory": "8Gi"}}
    resources = {c["name"]: c["resources"] for c in pod["initContainers"] + pod["containers"]}
    assert (resources["pull-model"], resources["ollama"]) == (want, want)


def test_a_gpu_model_with_a_cache_gets_its_claim_policy_toleration_and_is_replaced_not_surged(v2: Stage) -> None:
    """The claim and the NetworkPolicy are created and controlled by the XR; until the claim is
    bound (no storage provisioner here), the status says which claim and what to check."""
    name = "cached"
    spec = {
        "mode": "Hosted",
        "serverConfig": {
            "model": "smollm2:135m",
            "resources": {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}},
            "storage": {"size": "50Gi", "storageClassName": "fast-ssd"},
        },
    }
    apply_modelapi(v2, modelapi_doc(name, TEAM_C, spec))
    _, xr, rendered, live = composed(v2, name, TEAM_C)
    check_golden("e2e/gpu-model-cache.yaml", applied(live))
    assert_live_matches_render(xr, rendered, live)
    assert live[ollama.MODELS_CLAIM]["kind"] == "PersistentVolumeClaim"
    assert live[names.NETWORK_POLICY]["kind"] == "NetworkPolicy"
    deployment = live[names.DEPLOYMENT]["spec"]
    assert deployment["strategy"] == {"type": "Recreate"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in deployment["template"]["spec"][
        "tolerations"
    ]
    story = pods.hosted("unschedulable", name=name)
    story["spec"] = pods.hosted("pulling", name=name)["spec"]  # a pod the API server takes has containers
    why = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes"
    story["status"]["conditions"][0]["message"] = why
    meta = {k: story["metadata"][k] for k in ("name", "labels")}
    v2.cp.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {**meta, "namespace": TEAM_C}, "spec": story["spec"]})
    v2.watch("v1", "Pod", meta["name"], TEAM_C)
    v2.cp.patch_status("v1", "Pod", meta["name"], {k: v for k, v in story["status"].items() if k != "qosClass"}, TEAM_C)
    want = f"PersistentVolumeClaim {name}-models is not bound"

    def told() -> bool:
        return want in str(status_of(v2.modelapi(name, TEAM_C)).get("message"))

    v2.eventually(told, f"ModelAPI {TEAM_C}/{name} saying {want!r}", timeout=TIMEOUT)

    # Replaced, not surged: the old pod terminating (a finalizer holds it, as a grace period
    # would), no new one yet. Pending, never Failed.
    pod_path = v2.cp.path("v1", "Pod", meta["name"], TEAM_C)
    merge = "application/merge-patch+json"
    v2.cp.request("PATCH", pod_path, {"metadata": {"finalizers": ["e2e/hold"]}}, content_type=merge)
    v2.cp.delete("v1", "Pod", meta["name"], TEAM_C)
    replacing = f"Replacing the pod of Deployment {name}"

    def replaced() -> bool:
        status = status_of(v2.modelapi(name, TEAM_C))
        return status.get("phase") == "Pending" and str(status.get("message")).startswith(replacing)

    v2.eventually(replaced, f"ModelAPI {TEAM_C}/{name} saying {replacing!r}", timeout=TIMEOUT)
    held = v2.cp.get("v1", "Pod", meta["name"], TEAM_C)
    v2.cp.request("PATCH", pod_path, {"metadata": {"finalizers": None}}, content_type=merge)
    assert held["metadata"].get("deletionTimestamp")


def test_a_modelapi_past_the_platforms_guardrails_is_refused_and_nothing_is_created(v2: Stage) -> None:
    """The guarded Composition of examples/platform-guardrails: a model it does not allow is a
    fatal result naming the field and the bound, in the ModelAPI's Synced condition."""
    guarded = load_one(EXAMPLES / "platform-guardrails" / "composition.yaml")
    name = "unallowed"
    doc = modelapi_doc(name, TEAM_C, {"mode": "Hosted", "serverConfig": {"model": "deepseek-r1:671b"}})
    doc["spec"]["crossplane"] = {"compositionRef": {"name": guarded["metadata"]["name"]}}

    def refused() -> dict | None:
        synced = condition(v2.modelapi(name, TEAM_C), "Synced")
        return synced if synced and synced["status"] == "False" else None

    # A second Composition for the XRD, present only while this ModelAPI names it: others
    # created meanwhile by no name could be given either.
    v2.cp.apply(guarded)
    try:
        apply_modelapi(v2, doc)
        synced = v2.eventually(refused, f"ModelAPI {TEAM_C}/{name} Synced False")
    finally:
        v2.cp.delete("apiextensions.crossplane.io/v1", "Composition", guarded["metadata"]["name"])
    assert "spec.serverConfig.model: deepseek-r1:671b is not a model this platform allows" in synced["message"]
    assert v2.cp.get("apps/v1", "Deployment", name, TEAM_C) is None
    assert v2.cp.get("v1", "Secret", f"{name}-client", TEAM_C) is None


# --- v2: production ------------------------------------------------------------------------

PRODUCTION = EXAMPLES / "production" / "composition.yaml"


def test_a_production_platform_composes_a_budget_a_monitor_and_a_route_the_api_server_takes(v2: Stage) -> None:
    """examples/production: three replicas on a platform with a ServiceMonitor, traces and a
    Gateway. The PodDisruptionBudget, and the ServiceMonitor and HTTPRoute against the real CRDs
    of prometheus-operator and Gateway API (hack/install-crds.sh), are admitted by the API server
    as rendered; the status is Ready at the first available replica, counts the others, and gives
    the external URL."""
    platform = load_one(PRODUCTION)
    doc = load_one(EXAMPLES / "production" / "xr.yaml")
    name, namespace = "front-door", TEAM_C
    doc["metadata"]["namespace"] = namespace
    doc["spec"]["crossplane"] = {"compositionRef": {"name": platform["metadata"]["name"]}}
    # The same control plane and function, rendering with this Composition's input.
    production = dataclasses.replace(v2, fn_input=composition_input(PRODUCTION), watching=[])
    v2.cp.apply(platform)
    try:
        apply_modelapi(production, doc)
        _, xr, rendered, live = composed(production, name, namespace)
        check_golden("e2e/production.yaml", applied(live))
        assert_live_matches_render(xr, rendered, live)
        assert {live[k]["kind"] for k in (names.DISRUPTION_BUDGET, names.SERVICE_MONITOR, names.HTTP_ROUTE)} == {
            "PodDisruptionBudget",
            "ServiceMonitor",
            "HTTPRoute",
        }
        assert live[names.DEPLOYMENT]["spec"]["replicas"] == 3
        route = live[names.HTTP_ROUTE]["spec"]
        assert route["rules"][0]["matches"][0]["path"] == {"type": "PathPrefix", "value": f"/{namespace}/{name}"}
        assert route["rules"][0]["timeouts"] == {"request": "600s"}
        assert live[names.SERVICE_MONITOR]["spec"]["endpoints"][0]["port"] == "metrics"

        stand_in_for_the_deployment_controller(production, live[names.DEPLOYMENT], available=2)
        external = {"externalEndpoint": f"https://llm.example.com/{namespace}/{name}"}
        partly = want_status(name, namespace, "Ready", LITELLM_PORT, "2/3 replicas ready", **external)
        wait_status(production, name, namespace, partly)
        stand_in_for_the_deployment_controller(production, production.cp.get("apps/v1", "Deployment", name, namespace))
        wait_status(production, name, namespace, want_status(name, namespace, "Ready", LITELLM_PORT, **external))
    finally:
        v2.cp.delete("apiextensions.crossplane.io/v1", "Composition", platform["metadata"]["name"])
