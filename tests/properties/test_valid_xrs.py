"""Valid XRs compose valid objects: Kubernetes' schemas (strict) and the API server's own rules."""

import base64
import copy
import json

import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import given, note

from function import names, ollama
from tests.support.apiserver import DNS1035_LABEL, apiserver_problems
from tests.support.builders import config_key, kinds_of_keys
from tests.support.properties import Outcome, assert_schema_valid, run
from tests.support.strategies import PROFILE, Case, valid_cases


def containers(deployment: dict) -> dict[str, dict]:
    pod = deployment["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod.get("initContainers", []) + pod["containers"]}


def check_composed(case: Case, out: Outcome, validate: bool = True) -> None:
    assert not out.fatals, out.fatals
    # What the function ignores is said in the status message (and in the event, when it changes).
    for note_ in case.ignored:
        assert note_ in out.status["message"]
    hosted = case.mode == "Hosted"
    expected = {names.DEPLOYMENT, names.SERVICE, names.CLIENT_SECRET}
    if not hosted:
        expected.add(names.LITELLM_CONFIG)
    platform = case.fn_input or {}
    if platform.get("networkPolicy") is not None or (hosted and platform.get("hostedNetworkPolicy", True)):
        expected.add(names.NETWORK_POLICY)
    if hosted and "storage" in case.config:
        expected.add(ollama.MODELS_CLAIM)
    metrics = not hosted and platform.get("metrics", {}).get("enabled", True)
    if not hosted and case.config.get("replicas", platform.get("proxyReplicas", {}).get("default", 1)) > 1:
        expected.add(names.DISRUPTION_BUDGET)
    if metrics and platform.get("metrics", {}).get("serviceMonitor"):
        expected.add(names.SERVICE_MONITOR)
    if not hosted and "gateway" in platform:
        expected.add(names.HTTP_ROUTE)
    assert kinds_of_keys(out.resources) == expected

    if validate:
        assert_schema_valid(out.resources)
        for key, obj in out.resources.items():
            assert apiserver_problems(obj) == [], f"{key}: the API server would refuse {obj['kind']}"

    # Everything lands in the target namespace, named after the target.
    base = out.resources[names.SERVICE]["metadata"]["name"]
    assert base == names.base_name(case.name)
    if DNS1035_LABEL.match(case.name) and len(case.name) <= 63:
        assert base == case.name
    for obj in out.resources.values():
        assert obj["metadata"]["namespace"] == case.namespace
        assert obj["metadata"]["name"].startswith(base)

    deployment = out.resources[names.DEPLOYMENT]
    service = out.resources[names.SERVICE]
    pod = deployment["spec"]["template"]["spec"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= template_labels.items()
    # `kubectl logs -l app=NAME` finds the pods of every name a label value can hold.
    assert template_labels["app"] == (case.name if len(case.name) <= 63 else base)
    port = names.OLLAMA_PORT if hosted else names.PROXY_PORT
    served = [c for c in pod["containers"] if any(p["name"] == names.PORT_NAME for p in c.get("ports", []))]
    assert [p["containerPort"] for p in served[0]["ports"]] == [port] + ([names.METRICS_PORT] if metrics else [])
    assert [p["port"] for p in service["spec"]["ports"]] == [port] + ([names.METRICS_PORT] if metrics else [])

    cs = containers(deployment)
    user_env = [{k: v for k, v in e.items() if v is not None} for e in case.config.get("env", [])]
    image = (case.fn_input or {}).get("images", {})
    if hosted:
        model = case.spec["serverConfig"]["model"]
        platform = case.fn_input or {}
        chosen = case.config.get("profile") or platform.get("defaultProfile")
        profile = platform.get("profiles", {}).get(chosen) if chosen else None
        assert set(cs) == {"pull-model", "ollama", "front"}
        assert cs["front"]["image"] == image.get("hostedFront", names.DEFAULT_HOSTED_FRONT_IMAGE)
        assert cs["ollama"]["image"] == (profile or {}).get("image") or image.get("ollama", names.DEFAULT_OLLAMA_IMAGE)
        assert cs["ollama"]["env"][2:] == user_env
        pull_env = {e["name"]: e for e in cs["pull-model"]["env"]}
        assert pull_env["MODEL"] == {"name": "MODEL", "value": model}
        # The model reaches the shell only through $MODEL: commands and args do not depend on it.
        other = copy.deepcopy(case.xr)
        other["spec"]["serverConfig"]["model"] = "smollm2:135m" if model != "smollm2:135m" else "mistral"
        reference = containers(run(other, case.fn_input).resources[names.DEPLOYMENT])
        for name, c in cs.items():
            assert (c.get("command"), c.get("args")) == (reference[name].get("command"), reference[name].get("args"))
        if case.server_resources is not None:
            assert cs["ollama"].get("resources", {}) == case.server_resources
            assert cs["pull-model"].get("resources", {}) == case.server_resources
    else:
        litellm = cs["litellm"]
        assert litellm["image"] == image.get("litellm", names.DEFAULT_LITELLM_IMAGE)
        if user_env:
            assert litellm["env"][-len(user_env) :] == user_env
        if case.proxy_resources is not None:
            assert litellm.get("resources", {}) == case.proxy_resources
        secret = out.resources[names.CLIENT_SECRET]["data"]
        own_key = any(e["name"] == names.MASTER_KEY_ENV for e in user_env)
        assert (names.CLIENT_API_KEY_KEY in secret) is not own_key
        if not own_key:
            key = base64.b64decode(secret[names.CLIENT_API_KEY_KEY]).decode()
            assert key.startswith("sk-")
            env = {e["name"]: e for e in litellm["env"]}
            ref = env[names.MASTER_KEY_ENV]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": names.client_secret_name(base), "key": names.CLIENT_API_KEY_KEY}
        config = base64.b64decode(out.resources[config_key(out.resources)]["data"][names.LITELLM_CONFIG_FILE]).decode()
        if "configYaml" in case.config:
            assert config == case.config["configYaml"]
        else:
            entry = yaml.safe_load(config)["model_list"][0]
            api_base = case.config.get("apiBase")
            # A bare OpenAI host gets its /v1.
            assert entry["litellm_params"].get("api_base") in {api_base, api_base and api_base.rstrip("/") + "/v1"}
            assert entry["model_name"] == entry["litellm_params"]["model"] == case.config.get("model", "*")

    endpoint = f"http://{base}.{case.namespace}.svc.cluster.local:{port}"
    client = out.resources[names.CLIENT_SECRET]["data"]
    assert base64.b64decode(client[names.CLIENT_BASE_URL_KEY]).decode() == endpoint + "/v1"
    assert out.status["endpoint"] == endpoint
    assert out.status["clientSecretName"] == names.client_secret_name(base)


@PROFILE
@given(valid_cases())
def test_a_valid_xr_composes_objects_kubernetes_accepts(case):
    note(json.dumps(case.xr)[:2000])
    out = run(case.xr, case.fn_input)
    check_composed(case, out)
    # Nothing observed yet: pending, nothing ready, come back soon.
    assert out.status["phase"] == "Pending"
    assert out.status["ready"] is False
    assert all(r == fnv1.READY_UNSPECIFIED for r in out.ready.values())
    assert out.ttl == 20

    # Next reconcile, everything exists and the Deployment is available: the same objects
    # (the master key kept), all ready.
    observed = copy.deepcopy(out.resources)
    replicas = observed[names.DEPLOYMENT]["spec"]["replicas"]
    observed[names.DEPLOYMENT]["status"] = {"availableReplicas": replicas, "replicas": replicas}
    if ollama.MODELS_CLAIM in observed:
        observed[ollama.MODELS_CLAIM]["status"] = {"phase": "Bound"}
    again = run(case.xr, case.fn_input, observed)
    assert again.resources == out.resources  # so valid as well
    check_composed(case, again, validate=False)
    assert again.status["phase"] == "Ready"
    assert again.status["ready"] is True
    assert all(r == fnv1.READY_TRUE for r in again.ready.values())
