"""Proxy mode: the LiteLLM config, Deployment and client Secret."""

import base64
import copy
import hashlib
import re

import pytest
import yaml

from function import client, litellm, names
from function.compose import compose
from function.spec import Input, ProxyConfig
from tests.support.builders import PROXY, config_key, container, secret_value, with_, xr


def config_of(out) -> dict:
    return yaml.safe_load(secret_value(out.resources[config_key(out.resources)], names.LITELLM_CONFIG_FILE))


def test_without_a_model_every_model_goes_to_the_backend():
    out = compose(xr(PROXY), None, {})
    assert config_of(out) == {
        "model_list": [
            {"model_name": "*", "litellm_params": {"model": "*", "api_base": "http://ollama.ollama.svc:11434"}}
        ],
        "litellm_settings": {"callbacks": ["prometheus"]},
    }


def test_with_a_model_only_that_model_is_served():
    spec = with_(PROXY, "proxyConfig.model", "ollama/smollm2:135m")
    out = compose(xr(spec), None, {})
    assert config_of(out)["model_list"] == [
        {
            "model_name": "ollama/smollm2:135m",
            "litellm_params": {"model": "ollama/smollm2:135m", "api_base": "http://ollama.ollama.svc:11434"},
        }
    ]


def test_a_model_without_api_base_uses_the_providers_default():
    spec = {"mode": "Proxy", "proxyConfig": {"model": "gpt-4o-mini"}}
    out = compose(xr(spec), None, {})
    assert config_of(out)["model_list"][0]["litellm_params"] == {"model": "gpt-4o-mini"}


@pytest.mark.parametrize(
    ("model", "noted"),
    [
        # LiteLLM 1.108.7 cannot place a bare Ollama name: /v1/models lists nothing and every
        # call gets 400 "no healthy deployments", while the ModelAPI shows Ready.
        ("smollm2:135m", True),
        ("llama3.1:8b-instruct-q4_K_M", True),
        ("ollama/smollm2:135m", False),
        ("openai/my-model", False),
        # OpenAI's own names LiteLLM knows (the spec's "OpenAI Proxy" example).
        ("gpt-4o-mini", False),
        ("o3-mini", False),
        ("ft:gpt-4o-mini-2024-07-18:org::abc123", False),
    ],
)
def test_a_single_model_without_a_provider_is_noted_in_the_status(model, noted):
    out = compose(xr(with_(PROXY, "proxyConfig.model", model)), None, {})
    note = (
        f"spec.proxyConfig.model: {model} names no provider; LiteLLM serves a bare name only if it "
        f"knows it (for Ollama: ollama/{model})"
    )
    assert (note in out.status["message"]) == noted, out.status["message"]


def test_a_bare_hosted_providers_model_without_api_base_is_not_noted():
    # LiteLLM knows the hosted providers' names (anthropic's here) and their default bases.
    out = compose(xr({"mode": "Proxy", "proxyConfig": {"model": "claude-3-5-sonnet-20241022"}}), None, {})
    assert "names no provider" not in out.status["message"]


@pytest.mark.parametrize(
    ("proxy", "noted"),
    [
        # LiteLLM's Ollama providers default to localhost:11434: the proxy's own pod, where
        # nothing listens (LiteLLM 1.108.7: 500 "Cannot connect to host localhost:11434").
        ({"model": "ollama/smollm2:135m"}, True),
        ({"model": "ollama_chat/smollm2:135m"}, True),
        ({"model": "ollama/smollm2:135m", "apiBase": "http://ollama:11434"}, False),
        ({"model": "gpt-4o-mini"}, False),
    ],
)
def test_an_ollama_model_without_api_base_is_noted_in_the_status(proxy, noted):
    out = compose(xr({"mode": "Proxy", "proxyConfig": proxy}), None, {})
    note = (
        f"spec.proxyConfig.model: {proxy['model']} without spec.proxyConfig.apiBase goes to localhost:11434 "
        "in the proxy's own pod; set apiBase to the Ollama server"
    )
    assert (note in out.status["message"]) == noted, out.status["message"]


SMART = "model_list:\n  - model_name: smart\n    litellm_params:\n      model: gpt-4o\n      api_key: os.environ/{}\n"
OPENAI_KEY_ENV = [{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]


@pytest.mark.parametrize(
    ("config", "env", "unset"),
    [
        # The spec's "Multi-Model Routing" shape: the key from the env.
        (SMART.format("OPENAI_API_KEY"), OPENAI_KEY_ENV, None),
        # Without it LiteLLM 1.108.7 starts, lists the model and answers every call 500
        # ("Missing credentials"; an unset api_base: "Cannot connect to host localhost").
        (SMART.format("OPENAI_API_KEY"), [], ["OPENAI_API_KEY"]),
        (SMART.format("OPENAI_API_KEY") + "      api_base: os.environ/GW\n", [], ["GW", "OPENAI_API_KEY"]),
        # Set by the function, or by LiteLLM itself from environment_variables.
        (SMART.format("LITELLM_MASTER_KEY"), [], None),
        (SMART.format("OPENAI_API_KEY") + "environment_variables:\n  OPENAI_API_KEY: sk-x\n", [], None),
        # A comment is not a reference.
        ("# api_key: os.environ/OLD\n" + SMART.format("OPENAI_API_KEY"), OPENAI_KEY_ENV, None),
    ],
)
def test_a_config_reading_an_env_var_that_is_not_set_is_noted(config, env, unset):
    out = compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": config, "env": env}}), None, {})
    note = "spec.proxyConfig.configYaml: reads os.environ/"
    if unset is None:
        assert note not in out.status["message"], out.status["message"]
    else:
        refs = ", ".join(f"os.environ/{name}" for name in unset)
        assert f"spec.proxyConfig.configYaml: reads {refs}, not set in spec.proxyConfig.env" in out.status["message"]


def test_config_yaml_is_used_verbatim_and_api_base_and_model_are_ignored():
    text = 'model_list:\n  - model_name: "fast"\n    litellm_params:\n      model: "ollama/x"\n      api_base: "http://o:1"\n'
    spec = {"mode": "Proxy", "proxyConfig": {"configYaml": text, "apiBase": "http://a:1", "model": "m"}}
    out = compose(xr(spec), None, {})
    assert secret_value(out.resources[config_key(out.resources)], names.LITELLM_CONFIG_FILE) == text
    assert out.status["message"] == (
        "Creating Deployment my-modelapi; "
        "spec.proxyConfig.apiBase and spec.proxyConfig.model are ignored when configYaml is set"
    )


def test_the_generated_config_is_the_same_text_on_every_render():
    """Its keys sorted: the text names the config's Secret and rolls the pods when it changes."""
    out = compose(xr(with_(PROXY, "proxyConfig.model", "ollama/x")), None, {})
    assert secret_value(out.resources[config_key(out.resources)], names.LITELLM_CONFIG_FILE) == (
        "litellm_settings:\n"
        "  callbacks:\n"
        "  - prometheus\n"
        "model_list:\n"
        "- litellm_params:\n"
        "    api_base: http://ollama.ollama.svc:11434\n"
        "    model: ollama/x\n"
        "  model_name: ollama/x\n"
    )


def test_a_generated_config_is_dumped_once_and_then_read_from_its_cache():
    """PyYAML's dumper costs ~0.3 ms and the same config comes back on every reconcile."""
    spec, platform = ProxyConfig(apiBase="http://ollama.ollama.svc:11434"), Input()
    first = litellm.config_files(spec, platform)[names.LITELLM_CONFIG_FILE]
    assert litellm._GENERATED.get((None, "http://ollama.ollama.svc:11434", ("prometheus",), ())) is first
    assert litellm.config_files(spec, platform)[names.LITELLM_CONFIG_FILE] is first


def test_litellm_listens_on_8000_with_the_mounted_config():
    out = compose(xr(PROXY), None, {})
    c = container(out.resources, "litellm")
    assert c["image"] == names.DEFAULT_LITELLM_IMAGE
    assert "command" not in c
    assert c["args"][:4] == ["--port", "8000", "--config", "/etc/litellm/config.yaml"]
    assert c["ports"][0]["containerPort"] == 8000
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"


def test_user_env_reaches_the_container_unchanged():
    env = [
        {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "PLAIN", "value": "v"},
        {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k", "optional": True}}},
    ]
    out = compose(xr(with_(PROXY, "proxyConfig.env", env)), None, {})
    assert container(out.resources, "litellm")["env"][-3:] == env


def test_a_user_env_entry_replaces_a_default_of_the_same_name():
    env = [{"name": "LITELLM_LOCAL_MODEL_COST_MAP", "value": "False"}]
    out = compose(xr(with_(PROXY, "proxyConfig.env", env)), None, {})
    got = [e for e in container(out.resources, "litellm")["env"] if e["name"] == "LITELLM_LOCAL_MODEL_COST_MAP"]
    assert got == env


def test_the_master_key_comes_from_the_client_secret():
    out = compose(xr(PROXY), None, {})
    env = {e["name"]: e for e in container(out.resources, "litellm")["env"]}
    ref = env[names.MASTER_KEY_ENV]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "my-modelapi-client", "key": "OPENAI_API_KEY"}
    key = secret_value(out.resources[names.CLIENT_SECRET], "OPENAI_API_KEY")
    # 256 bits, URL-safe base64 without its padding: nothing a shell, a URL or a header mangles.
    assert re.fullmatch(r"sk-[A-Za-z0-9_-]{43}", key), key


def test_the_master_key_is_kept_once_the_secret_exists():
    kept = "sk-kept-from-the-cluster-0123456789abcdef"
    secret = {"data": {"OPENAI_API_KEY": base64.b64encode(kept.encode()).decode()}}
    out = compose(xr(PROXY), None, {names.CLIENT_SECRET: secret})
    assert secret_value(out.resources[names.CLIENT_SECRET], "OPENAI_API_KEY") == kept


@pytest.mark.parametrize(
    ("observed", "kept"),
    [
        (base64.b64encode(b"sk-team-key-0123456789").decode(), True),
        (base64.b64encode(b"sk-team-key-0123456789\n").decode(), False),  # `echo KEY | base64`
        (base64.b64encode(b"sk-team key").decode(), False),  # no HTTP client sends it as one token
        (base64.b64encode(b"sk-").decode(), False),  # nothing to guess
        (base64.b64encode(b"team-key-0123456789").decode(), False),
        (base64.b64encode(b"\xff\xfe").decode(), False),
        ("not base64!", False),
        # Characters outside base64's alphabet are an error, not skipped: this is no key anyone set.
        ("c2stdGVhbS1r*ZXktMDEyMzQ1Njc4OQ==", False),
        ("", False),
        (None, False),
    ],
    ids=["usable", "newline", "space", "prefix-only", "no-prefix", "not-utf8", "not-base64", "junk", "empty", "null"],
)
def test_only_a_usable_observed_key_is_kept(observed, kept):
    """A key the proxy and its clients cannot both use as a bearer token is derived again."""
    derived = secret_value(compose(xr(PROXY), None, {}).resources[names.CLIENT_SECRET], "OPENAI_API_KEY")
    out = compose(xr(PROXY), None, {names.CLIENT_SECRET: {"data": {"OPENAI_API_KEY": observed}}})
    got = out.resources[names.CLIENT_SECRET]["data"]["OPENAI_API_KEY"]
    assert got == (observed if kept else base64.b64encode(derived.encode()).decode())


def test_the_master_key_differs_between_modelapis():
    a = compose(xr(PROXY, name="a"), None, {})
    b = compose(xr(PROXY, name="b"), None, {})
    key = names.CLIENT_SECRET
    assert secret_value(a.resources[key], "OPENAI_API_KEY") != secret_value(b.resources[key], "OPENAI_API_KEY")


def test_a_user_who_brings_a_master_key_keeps_it():
    own = {"name": "LITELLM_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": "mine", "key": "k"}}}
    out = compose(xr(with_(PROXY, "proxyConfig.env", [own])), None, {})
    keys = [e for e in container(out.resources, "litellm")["env"] if e["name"] == names.MASTER_KEY_ENV]
    assert keys == [own]
    assert "OPENAI_API_KEY" not in out.resources[names.CLIENT_SECRET]["data"]


@pytest.mark.parametrize(
    ("reads", "env", "generated"),
    [
        ("os.environ/LITELLM_MASTER_KEY", [], True),  # what LiteLLM reads anyway
        (
            "os.environ/TEAM_KEY",
            [{"name": "TEAM_KEY", "valueFrom": {"secretKeyRef": {"name": "t", "key": "k"}}}],
            False,
        ),
    ],
)
def test_a_config_that_names_its_master_key_env_gets_that_key(reads, env, generated):
    config = "model_list: [{model_name: a, litellm_params: {model: ollama/a}}]\ngeneral_settings: {master_key: %s}"
    spec = with_(with_(PROXY, "proxyConfig.configYaml", config % reads), "proxyConfig.env", env)
    out = compose(xr(spec), None, {})
    litellm_env = container(out.resources, "litellm")["env"]
    ours = [e for e in litellm_env if e["name"] == names.MASTER_KEY_ENV]
    assert bool(ours) == generated
    assert ("OPENAI_API_KEY" in out.resources[names.CLIENT_SECRET]["data"]) == generated
    assert all(e in litellm_env for e in env)


def test_the_master_key_is_never_in_args_config_or_status():
    out = compose(xr(PROXY), None, {})
    key = secret_value(out.resources[names.CLIENT_SECRET], "OPENAI_API_KEY")
    c = container(out.resources, "litellm")
    assert key not in " ".join(c["args"])
    assert key not in str(c["env"])
    assert key not in secret_value(out.resources[config_key(out.resources)], names.LITELLM_CONFIG_FILE)
    assert key not in str(out.status)


def proxy_template(observed_key: str | None) -> dict:
    """The pod template composed while the client Secret holds observed_key (None: no Secret yet)."""
    observed = {}
    if observed_key is not None:
        observed[names.CLIENT_SECRET] = {"data": {"OPENAI_API_KEY": base64.b64encode(observed_key.encode()).decode()}}
    return compose(xr(PROXY), None, observed).resources[names.DEPLOYMENT]["spec"]["template"]


GENERATED = secret_value(compose(xr(PROXY), None, {}).resources[names.CLIENT_SECRET], "OPENAI_API_KEY")
EDITED = "sk-edited-by-the-team-0123456789abcdef"


@pytest.mark.parametrize(
    ("before", "after", "rolls"),
    [
        (None, GENERATED, False),  # the first render's key, then the same key observed
        (GENERATED, GENERATED, False),
        (GENERATED, EDITED, True),  # the team rotated the key in the Secret
        (EDITED, None, True),  # the Secret deleted: a key derived again, not the edited one
    ],
    ids=["first-render-then-observed", "unchanged", "edited", "deleted"],
)
def test_a_change_of_the_master_key_rolls_the_proxy(before, after, rolls):
    """LiteLLM reads its key from the Secret only when it starts: a proxy left running on the old
    key refuses every client given the new one (401)."""
    assert (proxy_template(before) != proxy_template(after)) is rolls


def test_a_brought_master_key_is_not_the_functions_to_roll():
    own = {"name": "LITELLM_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": "mine", "key": "k"}}}
    out = compose(xr(with_(PROXY, "proxyConfig.env", [own])), None, {})
    annotations = out.resources[names.DEPLOYMENT]["spec"]["template"]["metadata"]["annotations"]
    assert list(annotations) == [names.CONFIG_CHECKSUM_ANNOTATION]


def test_the_client_secret_gives_the_openai_base_url():
    out = compose(xr(PROXY), None, {})
    url = secret_value(out.resources[names.CLIENT_SECRET], "OPENAI_BASE_URL")
    assert url == "http://my-modelapi.team-a.svc.cluster.local:8000/v1"
    assert out.status["clientSecretName"] == "my-modelapi-client"


@pytest.mark.parametrize(
    ("change", "rolls"),
    [
        (("proxyConfig.apiBase", "http://other:11434"), True),
        (("proxyConfig.model", "ollama/llama2"), True),
        (("proxyConfig.env", [{"name": "X", "value": "1"}]), True),
        (("proxyConfig.apiBase", "http://ollama.ollama.svc:11434"), False),
    ],
)
def test_a_change_of_config_rolls_the_pods(change, rolls):
    before = compose(xr(PROXY), None, {}).resources[names.DEPLOYMENT]["spec"]["template"]
    after = compose(xr(with_(PROXY, *change)), None, {}).resources[names.DEPLOYMENT]["spec"]["template"]
    assert (before != after) is rolls


def test_platform_defaults_from_the_input_apply():
    fn_input = {
        "images": {"litellm": "registry.local/litellm:v1"},
        "imagePullPolicy": "Always",
        "imagePullSecrets": ["regcred"],
        "proxyResources": {"requests": {"memory": "512Mi"}},
    }
    out = compose(xr(PROXY), fn_input, {})
    pod = out.resources[names.DEPLOYMENT]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert (c["image"], c["imagePullPolicy"]) == ("registry.local/litellm:v1", "Always")
    assert c["resources"] == {"requests": {"memory": "512Mi"}}
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]


@pytest.mark.parametrize(("spec", "port"), [(PROXY, 8000), ({"mode": "Hosted", "serverConfig": {"model": "m"}}, 11434)])
def test_a_platform_network_policy_admits_only_the_namespace_and_the_allowed(spec, port):
    fn_input = {"networkPolicy": {"allowNamespaces": ["agents", "agents", "monitoring"]}, "metrics": {"enabled": False}}
    out = compose(xr(spec), fn_input, {})
    policy = out.resources[names.NETWORK_POLICY]["spec"]
    assert policy["podSelector"] == {"matchLabels": names.Naming("my-modelapi", "my-modelapi").selector()}
    assert policy["ingress"] == [
        {
            "from": [
                {"podSelector": {}},
                {
                    "namespaceSelector": {
                        "matchExpressions": [
                            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["agents", "monitoring"]}
                        ]
                    }
                },
            ],
            "ports": [{"port": port, "protocol": "TCP"}],
        }
    ]


def test_without_the_platform_default_there_is_no_network_policy():
    assert names.NETWORK_POLICY not in compose(xr(PROXY), None, {}).resources


@pytest.mark.parametrize(
    ("api_base", "model", "want"),
    [
        ("https://api.openai.com", "gpt-4o-mini", "https://api.openai.com/v1"),
        ("https://api.openai.com/", None, "https://api.openai.com/v1"),
        ("https://api.openai.com/v1", "gpt-4o-mini", "https://api.openai.com/v1"),
        ("http://vllm.llm.svc:8000", "openai/meta-llama/Llama-3.1-8B", "http://vllm.llm.svc:8000/v1"),
        ("http://127.0.0.1:9999", "o3-mini", "http://127.0.0.1:9999/v1"),
        ("http://ollama:11434", "ollama/smollm2:135m", "http://ollama:11434"),
        ("http://ollama:11434", None, "http://ollama:11434"),
        ("https://my-azure.openai.azure.com", "azure/gpt-4", "https://my-azure.openai.azure.com"),
        ("http://gateway:8080/openai", "gpt-4o", "http://gateway:8080/openai"),
        ("http://LLM.BOX", "gpt-4o", "http://LLM.BOX/v1"),  # only its own trailing slash goes
    ],
)
def test_openai_backends_get_their_v1_base(api_base, model, want):
    proxy = {"apiBase": api_base} | ({"model": model} if model else {})
    out = compose(xr({"mode": "Proxy", "proxyConfig": proxy}), None, {})
    assert config_of(out)["model_list"][0]["litellm_params"]["api_base"] == want


# ---- each config revision in a Secret of its own: a bad change never reaches a running pod ----


def _revision(model: str) -> tuple[dict, str, dict]:
    """The composed objects of a proxy to model, its config key, and those objects observed."""
    out = compose(xr(with_(PROXY, "proxyConfig.model", model)), None, {})
    key = config_key(out.resources)
    return out.resources, key, copy.deepcopy(out.resources)


def _done(deployment: dict) -> dict:
    """The Deployment controller caught up, every replica on its template."""
    deployment = copy.deepcopy(deployment)
    deployment["metadata"]["generation"] = 2
    deployment["status"] = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    return deployment


def _pod_mounting(secret_name: str) -> dict:
    return {"kind": "Pod", "spec": {"volumes": [{"name": "config", "secret": {"secretName": secret_name}}]}}


def test_a_config_lives_in_a_secret_named_for_its_content_which_its_pods_mount():
    first, key, _ = _revision("ollama/smollm2:135m")
    second, other, _ = _revision("ollama/llama3.1:8b")
    assert key != other
    for objects, k in ((first, key), (second, other)):
        name = objects[k]["metadata"]["name"]
        assert name == f"my-modelapi-litellm-config-{k.rsplit('-', 1)[1]}"
        volumes = objects[names.DEPLOYMENT]["spec"]["template"]["spec"]["volumes"]
        assert [v for v in volumes if v["name"] == "config"] == [{"name": "config", "secret": {"secretName": name}}]
        assert objects[k]["metadata"]["labels"] == names.Naming("my-modelapi", "my-modelapi").labels(litellm.COMPONENT)


def test_the_previous_config_is_kept_while_a_pod_may_start_with_it_then_left_to_crossplane_to_delete():
    _, old_key, observed = _revision("ollama/smollm2:135m")
    old_name = observed[old_key]["metadata"]["name"]
    observed[names.DEPLOYMENT] = _done(observed[names.DEPLOYMENT])
    changed = xr(with_(PROXY, "proxyConfig.model", "ollama/llama3.1:8b"))

    # The change, before Crossplane applies it: the observed Deployment still names the old config.
    out = compose(changed, None, observed)
    new_key = config_key({k: v for k, v in out.resources.items() if k != old_key})
    assert {old_key, new_key} <= set(out.resources)
    assert out.resources[old_key]["data"] == observed[old_key]["data"]  # as it was, not rendered anew
    assert out.resources[old_key] == observed[old_key]  # all of it, a Secret as the API server has it

    # Applied: the Deployment names the new config, its rollout runs; the pods not fetched yet.
    observed[new_key] = copy.deepcopy(out.resources[new_key])
    observed[names.DEPLOYMENT] = copy.deepcopy(out.resources[names.DEPLOYMENT])
    observed[names.DEPLOYMENT]["metadata"]["generation"] = 3
    observed[names.DEPLOYMENT]["status"] = {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 1}
    assert old_key in compose(changed, None, observed).resources
    # Before it is applied, no pod fetched mounts the old config yet: the template still names it.
    observed_before = {**observed, names.DEPLOYMENT: _done(out.resources[names.DEPLOYMENT])}
    observed_before[names.DEPLOYMENT]["spec"]["template"]["spec"]["volumes"] = [
        {"name": "config", "secret": {"secretName": old_name}}
    ]
    assert old_key in compose(changed, None, observed_before, []).resources
    # The pods fetched: the old one still mounts it (it may restart: a drain, an OOM).
    new_name = out.resources[new_key]["metadata"]["name"]
    assert old_key in compose(changed, None, observed, [_pod_mounting(old_name), _pod_mounting(new_name)]).resources
    # Only new pods left: the old config goes (Crossplane deletes what is no longer desired).
    assert old_key not in compose(changed, None, observed, [_pod_mounting(new_name)]).resources
    # Or the rollout done, no pods asked for.
    observed[names.DEPLOYMENT] = _done(observed[names.DEPLOYMENT])
    final = compose(changed, None, observed)
    assert old_key not in final.resources
    assert [k for k in final.resources if names.is_litellm_config_key(k)] == [new_key]


def test_a_kept_config_is_desired_without_what_the_api_server_adds():
    """Its name, namespace and labels as observed; not its uid or resourceVersion (Crossplane would
    apply them back), nor a field an older revision of the Secret had that ours lacks."""
    _, old_key, observed = _revision("ollama/smollm2:135m")
    seen = observed[old_key]
    seen["metadata"].update(uid="u-1", resourceVersion="42", creationTimestamp="2026-01-01T00:00:00Z")
    seen["immutable"] = False
    changed = xr(with_(PROXY, "proxyConfig.model", "ollama/llama3.1:8b"))
    kept = compose(changed, None, observed).resources[old_key]
    meta = seen["metadata"]
    assert kept == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": meta["name"], "namespace": "team-a", "labels": meta["labels"]},
        "type": "Opaque",
        "data": seen["data"],
    }


def test_the_config_of_an_earlier_version_of_the_function_is_kept_like_any_previous_one():
    """It composed `litellm-config` named `N-litellm-config`: the pods that mount it keep it."""
    _, key, observed = _revision("ollama/smollm2:135m")
    legacy = copy.deepcopy(observed.pop(key))
    legacy["metadata"]["name"] = "my-modelapi-litellm-config"
    observed[names.LITELLM_CONFIG] = legacy
    template = observed[names.DEPLOYMENT]["spec"]["template"]["spec"]
    template["volumes"] = [{"name": "config", "secret": {"secretName": "my-modelapi-litellm-config"}}]
    out = compose(xr(with_(PROXY, "proxyConfig.model", "ollama/smollm2:135m")), None, observed)
    assert out.resources[names.LITELLM_CONFIG]["metadata"]["name"] == "my-modelapi-litellm-config"


def _entry(name: str, model: str, extra: str = "") -> str:
    return f"  - model_name: {name}\n    litellm_params:\n      model: {model}\n{extra}"


BASED = "      api_base: http://ollama:11434\n"


@pytest.mark.parametrize(
    ("entries", "local", "bare"),
    [
        ([_entry("fast", "ollama/smollm2:135m", BASED)], None, None),
        ([_entry("chat", "ollama_chat/smollm2:135m")], "model_list[0] (chat: ollama_chat/smollm2:135m)", None),
        # The spec's configYaml example: the Azure entry routes, the bare claude one cannot.
        (
            [_entry("gpt-4", "azure/gpt-4", BASED), _entry("claude", "claude-3-sonnet-20240229")],
            None,
            "model_list[1] (claude: claude-3-sonnet-20240229)",
        ),
        ([_entry("mine", "my-model", "      custom_llm_provider: openai\n" + BASED)], None, None),
        ([_entry("smart", "gpt-4o")], None, None),  # OpenAI's names go to its provider
        (
            [_entry(f"m{i}", f"ollama/m{i}") for i in range(5)],
            "model_list[0] (m0: ollama/m0), model_list[1] (m1: ollama/m1), model_list[2] (m2: ollama/m2) and 2 more",
            None,
        ),
    ],
)
def test_config_yaml_entries_litellm_cannot_route_are_noted(entries, local, bare):
    config = "model_list:\n" + "".join(entries)
    message = compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": config}}), None, {}).status["message"]
    local_note, bare_note = "no litellm_params.api_base for ", "no provider for "
    calls = ": LiteLLM calls localhost:11434 in the proxy's own pod"
    serves = ": LiteLLM serves a bare name only if its own model list knows it"
    assert (f"{local_note}{local}{calls}" in message) if local else (local_note not in message), message
    assert (f"{bare_note}{bare}{serves}" in message) if bare else (bare_note not in message), message


def test_a_long_model_name_is_clipped_in_the_note():
    config = "model_list:\n" + _entry("n" * 500, "ollama/" + "m" * 500)
    message = compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": config}}), None, {}).status["message"]
    assert "n" * 77 + "..." in message and "n" * 78 not in message


def test_a_preview_shows_the_placeholder_where_a_new_key_would_be_and_keeps_an_observed_one():
    """render: the same bytes on every run, and no key derived from the seed printed to a file."""
    out = compose(xr(PROXY), None, {}, preview=True)
    assert secret_value(out.resources[names.CLIENT_SECRET], names.CLIENT_API_KEY_KEY) == client.PREVIEW_KEY
    served = compose(xr(PROXY), None, {})
    key = secret_value(served.resources[names.CLIENT_SECRET], names.CLIENT_API_KEY_KEY)
    assert key != client.PREVIEW_KEY
    kept = compose(xr(PROXY), None, {names.CLIENT_SECRET: served.resources[names.CLIENT_SECRET]}, preview=True)
    assert secret_value(kept.resources[names.CLIENT_SECRET], names.CLIENT_API_KEY_KEY) == key


def _probe(path: str, period: int, failures: int) -> dict:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def test_the_litellm_container_exactly():
    """Its probes (LiteLLM takes up to 3 minutes to start: 90 startup tries 2 s apart), its
    config mounted read-only, the cost map read from the image (no download at start)."""
    litellm_ = container(compose(xr(PROXY), None, {}).resources, "litellm")
    assert litellm_["startupProbe"] == _probe("/health/liveliness", 2, 90)
    assert litellm_["livenessProbe"] == _probe("/health/liveliness", 15, 4)
    assert litellm_["readinessProbe"] == _probe("/health/readiness", 5, 3)
    assert litellm_["volumeMounts"] == [
        {"name": "config", "mountPath": "/etc/litellm", "readOnly": True},
        {"name": "metrics", "mountPath": "/var/run/litellm-metrics"},
    ]
    assert litellm_["env"][0] == {"name": "LITELLM_LOCAL_MODEL_COST_MAP", "value": "True"}
    assert litellm_["args"] == [
        "--port",
        "8000",
        "--config",
        "/etc/litellm/config.yaml",
        "--prometheus_metrics_port",
        "9090",
    ]


def test_the_config_digest_is_of_the_config_alone_or_of_every_file_in_any_order():
    """One file: the SHA-256 of the config, as before the platform's files existed (the Secret keeps
    its name across an upgrade of the function). Several: of every file by name, not of their order."""
    text = "model_list: []\n"
    assert litellm.config_digest({names.LITELLM_CONFIG_FILE: text}) == hashlib.sha256(text.encode()).hexdigest()
    files = {names.LITELLM_ENTRY_FILE: "include: []\n", names.LITELLM_CONFIG_FILE: text, "platform.yaml": "x: 1\n"}
    reordered = dict(reversed(list(files.items())))
    assert litellm.config_digest(files) == litellm.config_digest(reordered)
    assert litellm.config_digest(files) != litellm.config_digest({**files, "platform.yaml": "x: 2\n"})
    assert litellm.config_digest(files) != hashlib.sha256(text.encode()).hexdigest()


def _deployment_at(generation: int, status: dict) -> dict:
    return {"metadata": {"generation": generation}, "status": status}


@pytest.mark.parametrize(
    ("generation", "status", "rolling"),
    [
        (3, {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2}, False),
        # The controller has not seen the new template yet: its counts are of the old one.
        (3, {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2}, True),
        (3, {"replicas": 2, "updatedReplicas": 2}, True),
        (3, {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 1}, True),
        (3, {"observedGeneration": 3, "replicas": 2}, True),
    ],
)
def test_a_rollout_not_seen_to_its_end_keeps_every_previous_config_while_the_pods_are_not_known(
    generation, status, rolling
):
    _, old_key, observed = _revision("ollama/smollm2:135m")
    changed = xr(with_(PROXY, "proxyConfig.model", "ollama/llama3.1:8b"))
    applied = compose(changed, None, observed)
    new_key = config_key({k: v for k, v in applied.resources.items() if k != old_key})
    observed[new_key] = applied.resources[new_key]
    observed[names.DEPLOYMENT] = {**applied.resources[names.DEPLOYMENT], **_deployment_at(generation, status)}
    assert (old_key in compose(changed, None, observed).resources) is rolling


def test_the_config_a_template_names_is_the_config_volumes_not_another_secrets():
    template = {
        "spec": {
            "volumes": [
                "not a volume",
                {"name": "certs", "secret": {"secretName": "other"}},
                {"name": "config", "secret": {"secretName": "mine"}},
            ]
        }
    }
    assert litellm._config_of(template) == "mine"
    assert litellm._config_of({"spec": {"volumes": [{"name": "certs", "secret": {"secretName": "x"}}]}}) is None


@pytest.mark.parametrize(("count", "more"), [(3, ""), (4, " and 1 more")])
def test_notes_name_three_entries_and_count_only_those_past_them(count, more):
    config = "model_list:\n" + "".join(_entry(f"m{i}", f"ollama/m{i}") for i in range(count))
    message = compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": config}}), None, {}).status["message"]
    named = ", ".join(f"model_list[{i}] (m{i}: ollama/m{i})" for i in range(3))
    assert (
        f"spec.proxyConfig.configYaml: no litellm_params.api_base for {named}{more}: LiteLLM calls "
        "localhost:11434 in the proxy's own pod; set api_base to the Ollama server"
    ) in message


def test_a_model_name_of_exactly_the_notes_width_is_not_clipped():
    name = "n" * 80
    config = "model_list:\n" + _entry("x", "ollama/" + name[7:])
    message = compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": config}}), None, {}).status["message"]
    assert f"(x: ollama/{name[7:]})" in message and "..." not in message


@pytest.mark.parametrize("ignored", [{"apiBase": "http://ollama:11434"}, {"model": "ollama/smollm2:135m"}])
def test_api_base_or_model_beside_a_config_yaml_is_noted_as_ignored(ignored):
    config = "model_list:\n" + _entry("fast", "ollama/smollm2:135m", BASED)
    spec = {"mode": "Proxy", "proxyConfig": {"configYaml": config, **ignored}}
    message = compose(xr(spec), None, {}).status["message"]
    assert "spec.proxyConfig.apiBase and spec.proxyConfig.model are ignored when configYaml is set" in message


def test_each_config_gets_its_own_platform_file():
    """The platform's callbacks join each team's own litellm_settings: kept per config, never one
    team's settings in another's file."""
    files = {}
    for team in ("a", "b"):
        config = "model_list:\n" + _entry("fast", "ollama/smollm2:135m", BASED)
        config += f"litellm_settings:\n  request_timeout: {ord(team)}\n"
        files[team] = litellm.config_files(ProxyConfig(configYaml=config), Input())
    for team in ("a", "b"):
        platform = yaml.safe_load(files[team]["platform.yaml"])["litellm_settings"]
        assert platform == {"request_timeout": ord(team), "callbacks": ["prometheus"]}
