"""Hosted mode: Ollama with its model pulled by an init container, where the platform's profile
puts it, its models in a claim that lasts or a bounded emptyDir, behind a NetworkPolicy."""

import pytest

from function import front, names, ollama
from function.compose import compose
from function.spec import Input, SpecError, parse_spec
from tests.support.builders import HOSTED, container, secret_value, with_, xr


def test_the_init_container_pulls_the_model_named_in_env_only():
    out = compose(xr(with_(HOSTED, "serverConfig.model", "hf.co/org/repo:Q4_K_M")), None, {})
    pull = container(out.resources, "pull-model")
    env = {e["name"]: e.get("value") for e in pull["env"]}
    assert env["MODEL"] == "hf.co/org/repo:Q4_K_M"
    assert pull["command"][:2] == ["/bin/sh", "-c"]
    assert "hf.co" not in " ".join(pull["command"])
    assert '"$MODEL"' in pull["command"][2]


def test_the_pulls_own_settings_win_over_user_env_entries_of_the_same_name():
    """The user's env reaches the pull (proxies), but never names its model or its deadline."""
    env = [
        {"name": "MODEL", "value": "attacker/model"},
        {"name": ollama.PULL_TIMEOUT_ENV, "value": "1"},
        {"name": "HTTPS_PROXY", "value": "http://proxy.corp:3128"},
    ]
    out = compose(xr(with_(HOSTED, "serverConfig.env", env)), None, {})
    pull = container(out.resources, "pull-model")["env"]
    assert len({e["name"] for e in pull}) == len(pull)  # server-side apply refuses duplicate names
    values = {e["name"]: e["value"] for e in pull}
    assert values["MODEL"] == "smollm2:135m"
    assert values[ollama.PULL_TIMEOUT_ENV] == "120"
    assert values["HTTPS_PROXY"] == "http://proxy.corp:3128"
    assert values["OLLAMA_HOST"] == "127.0.0.1:11434"  # the pull's own server, never the pod's address


def test_a_failed_pull_leaves_its_log_as_the_termination_message():
    """The status quotes the pull's last lines when it fails (Pulling model ... failed: ...):
    Kubernetes writes them into the termination message only with FallbackToLogsOnError."""
    pull = container(compose(xr(HOSTED), None, {}).resources, "pull-model")
    assert pull["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_the_model_is_shared_through_a_volume():
    out = compose(xr(HOSTED), None, {})
    pull, serve = container(out.resources, "pull-model"), container(out.resources, "ollama")
    assert pull["volumeMounts"] == serve["volumeMounts"]
    for c in (pull, serve):
        assert {"name": "OLLAMA_MODELS", "value": names.OLLAMA_MODELS_DIR} in c["env"]


def test_kubectl_logs_by_app_label_shows_the_pull():
    """The spec's troubleshooting: `kubectl logs -l app=N` tells whether the model is still
    downloading; kubectl's default container is otherwise the server, not started yet."""
    out = compose(xr(HOSTED), None, {})
    template = out.resources[names.DEPLOYMENT]["spec"]["template"]
    assert template["metadata"]["labels"]["app"] == "my-modelapi"
    default = template["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"]
    assert default == "pull-model" == template["spec"]["initContainers"][0]["name"]


def test_the_endpoint_is_the_front_on_11434_and_ollama_listens_on_loopback_only():
    out = compose(xr(HOSTED), None, {})
    serve, front_ = container(out.resources, "ollama"), container(out.resources, "front")
    assert serve["image"] == names.DEFAULT_OLLAMA_IMAGE
    assert "ports" not in serve
    assert {"name": "OLLAMA_HOST", "value": "127.0.0.1:11435"} in serve["env"]
    assert front_["image"] == names.DEFAULT_HOSTED_FRONT_IMAGE
    assert front_["ports"] == [{"name": "http", "containerPort": 11434, "protocol": "TCP"}]
    service = out.resources[names.SERVICE]["spec"]["ports"][0]
    assert (service["port"], service["targetPort"]) == (11434, "http")
    assert out.status["endpoint"] == "http://my-modelapi.team-a.svc.cluster.local:11434"


def test_env_and_resources_go_to_ollama():
    resources = {"requests": {"memory": "4Gi", "cpu": "2000m"}, "limits": {"memory": "16Gi", "nvidia.com/gpu": "1"}}
    env = [{"name": "OLLAMA_DEBUG", "value": "true"}]
    spec = with_(with_(HOSTED, "serverConfig.resources", resources), "serverConfig.env", env)
    out = compose(xr(spec), None, {})
    serve = container(out.resources, "ollama")
    assert serve["resources"] == {
        "limits": {"memory": "16Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "2000m", "memory": "4Gi"},
    }
    assert serve["env"][-1] == env[0]
    assert container(out.resources, "pull-model")["resources"] == serve["resources"]


def test_numeric_quantities_render_as_integers():
    spec = with_(HOSTED, "serverConfig.resources", {"limits": {"nvidia.com/gpu": 1.0, "cpu": 2}})
    out = compose(xr(spec), None, {})
    assert container(out.resources, "ollama")["resources"] == {"limits": {"cpu": "2", "nvidia.com/gpu": "1"}}


def test_a_new_model_rolls_the_pods():
    before = compose(xr(HOSTED), None, {}).resources[names.DEPLOYMENT]["spec"]["template"]
    spec = with_(HOSTED, "serverConfig.model", "llama2")
    after = compose(xr(spec), None, {}).resources[names.DEPLOYMENT]["spec"]["template"]
    assert before != after


def test_the_client_secret_points_at_ollamas_openai_api():
    out = compose(xr(HOSTED), None, {})
    secret = out.resources[names.CLIENT_SECRET]
    assert secret_value(secret, "OPENAI_BASE_URL") == "http://my-modelapi.team-a.svc.cluster.local:11434/v1"
    assert secret_value(secret, "OPENAI_API_KEY") == names.HOSTED_API_KEY


def test_hosted_has_no_litellm_objects_and_a_network_policy_by_default():
    """Ollama takes no key: the door is closed to other namespaces unless the platform opens it."""
    out = compose(xr(HOSTED), None, {})
    assert set(out.resources) == {names.DEPLOYMENT, names.SERVICE, names.CLIENT_SECRET, names.NETWORK_POLICY}
    (rule,) = out.resources[names.NETWORK_POLICY]["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {}}]  # its own namespace's pods only


def test_the_platform_can_leave_a_hosted_endpoint_open_and_the_status_says_so():
    out = compose(xr(HOSTED), {"hostedNetworkPolicy": False}, {})
    assert names.NETWORK_POLICY not in out.resources
    assert out.status["message"].endswith(
        "the endpoint takes no key (Ollama has none) and the platform composes no NetworkPolicy: any pod "
        "the cluster's network lets through can call its inference routes"
    )
    assert "takes no key" not in compose(xr(HOSTED), None, {}).status["message"]


# ---- GPU models: profiles, the model cache, rollouts -------------------------------------

GPU = {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1, "memory": "16Gi"}}
GPU_POOL = {
    "nodeSelector": {"cloud.google.com/gke-accelerator": "nvidia-l4"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
    "runtimeClassName": "nvidia",
    "priorityClassName": "llm-serving",
    "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
    "resources": GPU,
    "image": "mirror.local/ollama/ollama:rocm",
}
PLATFORM = {"profiles": {"gpu": GPU_POOL, "cpu": {"nodeSelector": {"pool": "cpu"}}}}


def pod_spec(out) -> dict:
    return out.resources[names.DEPLOYMENT]["spec"]["template"]["spec"]


def test_a_profile_puts_the_pod_where_the_platform_says():
    out = compose(xr(with_(HOSTED, "serverConfig.profile", "gpu")), PLATFORM, {})
    pod = pod_spec(out)
    assert pod["nodeSelector"] == GPU_POOL["nodeSelector"]
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["priorityClassName"] == "llm-serving"
    assert pod["affinity"] == GPU_POOL["affinity"]
    ollama_images = {c["image"] for c in pod["containers"] + pod["initContainers"] if c["name"] != front.CONTAINER}
    assert ollama_images == {GPU_POOL["image"]}
    assert pod["containers"][0]["resources"] == {
        "limits": {"memory": "16Gi", "nvidia.com/gpu": "1"},
        "requests": {"nvidia.com/gpu": "1"},
    }


def test_the_platforms_default_profile_applies_where_a_modelapi_names_none():
    out = compose(xr(HOSTED), {**PLATFORM, "defaultProfile": "cpu"}, {})
    assert pod_spec(out)["nodeSelector"] == {"pool": "cpu"}


def test_a_modelapis_own_resources_win_over_the_profiles():
    own = {"limits": {"memory": "4Gi"}}
    spec = with_(with_(HOSTED, "serverConfig.profile", "gpu"), "serverConfig.resources", own)
    assert pod_spec(compose(xr(spec), PLATFORM, {}))["containers"][0]["resources"] == {"limits": {"memory": "4Gi"}}


def test_an_unknown_profile_is_refused_naming_the_field_and_the_profiles():
    with pytest.raises(SpecError) as err:
        compose(xr(with_(HOSTED, "serverConfig.profile", "tpu")), PLATFORM, {})
    assert str(err.value) == "spec.serverConfig.profile: no profile tpu; the platform offers: cpu, gpu"


def test_a_default_profile_the_input_does_not_offer_is_refused_naming_the_input_field():
    with pytest.raises(SpecError) as err:
        compose(xr(HOSTED), {**PLATFORM, "defaultProfile": "tpu"}, {})
    assert str(err.value) == "function input input.defaultProfile: tpu is not one of profiles (cpu, gpu)"


@pytest.mark.parametrize(
    ("platform", "tolerations"),
    [
        # No profile: the GPU's taint is tolerated, as the ExtendedResourceToleration plugin does.
        ({}, [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]),
        # A profile's own tolerations, and the GPU's beside them.
        (
            {"profiles": {"p": {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}}, "defaultProfile": "p"},
            [
                {"key": "dedicated", "operator": "Exists"},
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            ],
        ),
        # A profile that says otherwise about the GPU's taint: its word stands.
        (
            {
                "profiles": {"p": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "a100"}]}},
                "defaultProfile": "p",
            },
            [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "a100"}],
        ),
    ],
)
def test_a_pod_asking_for_a_gpu_tolerates_its_taint(platform, tolerations):
    out = compose(xr(with_(HOSTED, "serverConfig.resources", GPU)), platform, {})
    assert pod_spec(out)["tolerations"] == tolerations


def test_a_pod_without_an_extended_resource_tolerates_nothing_extra():
    assert "tolerations" not in pod_spec(compose(xr(HOSTED), None, {}))


@pytest.mark.parametrize(
    ("server", "strategy"),
    [
        ({}, None),  # the default RollingUpdate: a second pod beside the first costs nothing
        ({"resources": GPU}, {"type": "Recreate"}),  # the old pod holds the GPU the new one needs
        ({"storage": {"size": "50Gi"}}, {"type": "Recreate"}),  # and the ReadWriteOnce claim
    ],
)
def test_a_pod_holding_a_gpu_or_the_models_claim_is_replaced_not_surged(server, strategy):
    spec = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m", **server}}
    deployment = compose(xr(spec), None, {}).resources[names.DEPLOYMENT]
    assert deployment["spec"].get("strategy") == strategy


def test_storage_gives_the_models_a_claim_that_lasts():
    spec = with_(HOSTED, "serverConfig.storage", {"size": "50Gi", "storageClassName": "fast-ssd"})
    out = compose(xr(spec), None, {})
    claim = out.resources[ollama.MODELS_CLAIM]
    assert claim["metadata"] == {
        "name": "my-modelapi-models",
        "namespace": "team-a",
        "labels": names.Naming("my-modelapi", "my-modelapi").labels(ollama.COMPONENT),
    }
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "50Gi"}},
        "storageClassName": "fast-ssd",
    }
    volume, _ = pod_spec(out)["volumes"]
    assert volume == {"name": "models", "persistentVolumeClaim": {"claimName": "my-modelapi-models"}}


def test_without_storage_the_models_emptydir_is_bounded():
    volume, _ = pod_spec(compose(xr(HOSTED), None, {}))["volumes"]
    assert volume == {"name": "models", "emptyDir": {"sizeLimit": "64Gi"}}
    volume, _ = pod_spec(compose(xr(HOSTED), {"modelsSizeLimit": "200Gi"}, {}))["volumes"]
    assert volume["emptyDir"] == {"sizeLimit": "200Gi"}


@pytest.mark.parametrize(("phase", "ready"), [("Bound", True), ("Pending", False), (None, False)])
def test_the_claim_is_ready_once_bound(phase, ready):
    spec = with_(HOSTED, "serverConfig.storage", {"size": "50Gi"})
    observed = {ollama.MODELS_CLAIM: {"status": {"phase": phase}} if phase else {}}
    assert compose(xr(spec), None, observed).ready[ollama.MODELS_CLAIM] is ready


@pytest.mark.parametrize(
    ("size", "why"),
    [
        ("0", "must be more than 0, e.g. 50Gi"),
        ("-1Gi", "must be a quantity such as 500m, 2Gi or 1"),
        ("lots", "must be a quantity such as 500m, 2Gi or 1"),
        ("1e99999999999", "the exponent is larger than a quantity can hold"),
    ],
)
def test_a_storage_size_says_why_it_is_no_size(size, why):
    with pytest.raises(SpecError) as err:
        compose(xr(with_(HOSTED, "serverConfig.storage", {"size": size})), None, {})
    assert str(err.value).startswith(f"spec.serverConfig.storage.size: {why}"), str(err.value)


@pytest.mark.parametrize("size", ["1", "500m", "50Gi"])
def test_any_size_above_zero_is_a_size(size):
    out = compose(xr(with_(HOSTED, "serverConfig.storage", {"size": size})), None, {})
    assert out.resources[ollama.MODELS_CLAIM]["spec"]["resources"]["requests"]["storage"] == size


def test_the_ollama_containers_exactly():
    out = compose(xr(HOSTED), None, {})
    pull, serve = container(out.resources, "pull-model"), container(out.resources, "ollama")
    front_ = container(out.resources, "front")
    probe = {"httpGet": {"path": "/", "port": "http"}, "timeoutSeconds": 5}
    assert front_["readinessProbe"] == {**probe, "periodSeconds": 5, "failureThreshold": 3}
    assert "readinessProbe" not in serve
    assert serve["livenessProbe"] == {
        "exec": {"command": ["ollama", "list"]},
        "periodSeconds": 15,
        "timeoutSeconds": 10,
        "failureThreshold": 4,
    }
    assert serve["args"] == ["serve"]
    assert serve["env"] == [
        {"name": "OLLAMA_HOST", "value": "127.0.0.1:11435"},
        {"name": "OLLAMA_MODELS", "value": "/models"},
    ]
    assert pull["command"] == ["/bin/sh", "-c", ollama.PULL_SCRIPT]
    assert pull["env"] == [
        {"name": "OLLAMA_HOST", "value": "127.0.0.1:11434"},
        {"name": "OLLAMA_MODELS", "value": "/models"},
        {"name": "MODEL", "value": "smollm2:135m"},
        {"name": ollama.PULL_TIMEOUT_ENV, "value": "120"},
    ]
    assert "ports" not in pull and "readinessProbe" not in pull
    assert pull["volumeMounts"] == serve["volumeMounts"] == [{"name": "models", "mountPath": "/models"}]


@pytest.mark.parametrize(("storage", "claim"), [(None, None), ({"size": "50Gi"}, "m-models")])
def test_the_status_names_the_models_claim_only_where_there_is_one(storage, claim):
    """Its message tells of an unbound claim: a ModelAPI without storage has none to tell of."""
    server = parse_spec(with_(HOSTED, "serverConfig.storage", storage)).serverConfig
    work = ollama.workload(names.naming("m", None), "team-a", server, Input(), {})
    assert work.status.claim == claim
