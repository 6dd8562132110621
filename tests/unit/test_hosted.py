"""Hosted mode: Ollama with its model pulled by an init container."""

from function import names
from function.compose import compose
from tests.support.builders import HOSTED, container, secret_value, with_, xr


def test_the_init_container_pulls_the_model_named_in_env_only():
    out = compose(xr(with_(HOSTED, "serverConfig.model", "hf.co/org/repo:Q4_K_M")), None, {})
    pull = container(out.resources, "pull-model")
    env = {e["name"]: e.get("value") for e in pull["env"]}
    assert env["MODEL"] == "hf.co/org/repo:Q4_K_M"
    assert pull["command"][:2] == ["/bin/sh", "-c"]
    assert "hf.co" not in " ".join(pull["command"])
    assert '"$MODEL"' in pull["command"][2]


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


def test_ollama_serves_on_11434():
    out = compose(xr(HOSTED), None, {})
    serve = container(out.resources, "ollama")
    assert serve["image"] == names.DEFAULT_OLLAMA_IMAGE
    assert serve["ports"][0]["containerPort"] == 11434
    assert {"name": "OLLAMA_HOST", "value": "0.0.0.0:11434"} in serve["env"]
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


def test_hosted_has_no_litellm_objects():
    out = compose(xr(HOSTED), None, {})
    assert set(out.resources) == {names.DEPLOYMENT, names.SERVICE, names.CLIENT_SECRET}
