"""A configYaml under the platform's guardrails is read positively (function.litellm_keys): plain
YAML, only the settings whose effect is known, every host it names within egress.allowedHosts,
every model within models.allowed. The corpus below is what a hostile team tried against the
deny-list this replaced (issue 27): each is refused, naming the part at fault."""

import pytest
import yaml

from function import litellm_keys, names
from function.compose import compose
from function.spec import SpecError
from tests.support.builders import refusal, xr
from tests.support.fake_backend import secret_data

LISTED = "http://ollama.ollama.svc:11434"
EGRESS = {"egress": {"allowedHosts": ["ollama.ollama.svc:11434", "api.openai.com"]}}
MODELS = {"models": {"allowed": ["ollama/smollm2:*", "openai/gpt-4o*"]}}
ENV = {"env": {"denied": ["LITELLM_*"]}}


def model(params: str, name: str = "fast") -> str:
    return f"model_list:\n- model_name: {name}\n  litellm_params: {{{params}}}\n"


OK = model(f"model: ollama/smollm2:135m, api_base: '{LISTED}'")


def config_refusal(config: str, platform: dict | None, env: list | None = None) -> str | None:
    return refusal({"mode": "Proxy", "proxyConfig": {"configYaml": config, **({"env": env} if env else {})}}, platform)


# (what the team tried, its config, the platform, the refusal's start)
HOSTILE = [
    (
        "base_url beside api_base's check",
        model("model: openai/gpt-4o, base_url: 'http://127.0.0.1:9999'"),
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.base_url: 127.0.0.1:9999 is not a backend",
    ),
    (
        "a module setting LiteLLM copies onto itself",
        OK + "litellm_settings: {api_base: 'http://127.0.0.1:9999'}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: litellm_settings.api_base is not a setting a config may hold",
    ),
    (
        "a provider's base URL in the config's environment",
        OK + "environment_variables: {OPENAI_BASE_URL: 'http://127.0.0.1:9999'}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: environment_variables.OPENAI_BASE_URL: 127.0.0.1:9999 is not a backend",
    ),
    (
        "a proxy variable in lower case, without a scheme",
        OK + "environment_variables: {https_proxy: '127.0.0.1:3128'}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: environment_variables.https_proxy: 127.0.0.1:3128 is not a backend",
    ),
    (
        "a webhook in the environment",
        OK + "environment_variables: {SLACK_WEBHOOK_URL: 'https://hooks.slack.com/x'}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: environment_variables.SLACK_WEBHOOK_URL: hooks.slack.com:443 is not",
    ),
    (
        "pass-through endpoints",
        OK + "general_settings: {pass_through_endpoints: [{path: /x, target: 'http://127.0.0.1:9999'}]}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: general_settings.pass_through_endpoints[].path is not a setting",
    ),
    (
        "a cache on a host of its own",
        OK + "litellm_settings: {cache: true, cache_params: {type: redis, host: 127.0.0.1}}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: litellm_settings.cache is not a setting",
    ),
    (
        "a database",
        OK + "general_settings: {database_url: 'postgresql://u:p@127.0.0.1/db'}\n",
        MODELS,
        "spec.proxyConfig.configYaml: general_settings.database_url is not a setting",
    ),
    (
        "alerting",
        OK + "general_settings: {alerting: [slack]}\n",
        ENV,
        "spec.proxyConfig.configYaml: general_settings.alerting[] is not a setting",
    ),
    (
        "custom auth by module path",
        OK + "general_settings: {custom_auth: custom_auth.user_api_key_auth}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: general_settings.custom_auth is not a setting",
    ),
    (
        "a callback by module path",
        OK + "litellm_settings: {callbacks: [custom_callbacks.proxy_handler_instance]}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: litellm_settings.callbacks[0]: custom_callbacks.proxy_handler_instance is "
        "not a callback",
    ),
    (
        "a callback that sends to its own host",
        OK + "litellm_settings: {success_callback: [langfuse]}\n",
        MODELS,
        "spec.proxyConfig.configYaml: litellm_settings.success_callback[0]: langfuse is not a callback",
    ),
    (
        "a callback as a mapping's key (LiteLLM iterates the value: the keys are callbacks)",
        OK + "litellm_settings: {success_callback: {langfuse: on}}\n",
        MODELS,
        "spec.proxyConfig.configYaml: litellm_settings.success_callback must be a list of callback names",
    ),
    (
        "a callback as a string (LiteLLM iterates its letters)",
        OK + "litellm_settings: {failure_callback: langfuse}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: litellm_settings.failure_callback must be a list of callback names",
    ),
    (
        "a section LiteLLM reads beside the five",
        OK + "include: [other.yaml]\n",
        EGRESS,
        "spec.proxyConfig.configYaml: include[] is not a setting",
    ),
    (
        "credentials with hosts of their own",
        OK + "credential_list: [{credential_name: c, credential_values: {api_base: 'http://127.0.0.1:1'}}]\n",
        EGRESS,
        "spec.proxyConfig.configYaml: credential_list[].credential_name is not a setting",
    ),
    (
        "a host behind a binary tag",
        model("model: openai/gpt-4o, api_base: !!binary aHR0cDovLzEyNy4wLjAuMTo5OTk5"),
        EGRESS,
        "spec.proxyConfig.configYaml: an explicit YAML tag (line 3)",
    ),
    (
        "the metadata address behind a binary tag",
        model("model: openai/gpt-4o, api_base: !!binary aHR0cDovLzE2OS4yNTQuMTY5LjI1NA=="),
        ENV,
        "spec.proxyConfig.configYaml: an explicit YAML tag (line 3)",
    ),
    (
        "a provider's own host, which the list does not name",
        model("model: anthropic/claude-3-5-sonnet"),
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.model (provider anthropic, at "
        "api.anthropic.com): api.anthropic.com:443 is not a backend",
    ),
    (
        "a provider the function cannot place",
        model("model: sagemaker/my-endpoint"),
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.model: sagemaker/my-endpoint has no api_base",
    ),
    (
        "a model without a provider or a base",
        model("model: gpt-4o"),
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.model: gpt-4o has no api_base",
    ),
    (
        "a model past models.allowed",
        model(f"model: ollama/llama3.1:405b, api_base: '{LISTED}'"),
        MODELS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.model: ollama/llama3.1:405b is not a model",
    ),
    (
        "a wildcard entry under models.allowed",
        model(f"model: '*', api_base: '{LISTED}'", name="'*'"),
        MODELS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.model: * is not a model",
    ),
    (
        "a URL in a setting that looks harmless",
        model(f"model: ollama/smollm2:135m, api_base: '{LISTED}'") + "  model_info: {docs: 'http://127.0.0.1:1/'}\n",
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[0].model_info.docs: 127.0.0.1:1 is not a backend",
    ),
    (
        "a provider that builds its host from the region, whatever api_base says",
        model(f"model: sagemaker/endpoint, api_base: '{LISTED}', aws_region_name: 'x@127.0.0.1:1/'"),
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.model: sagemaker/endpoint: the function cannot "
        "tell that its provider (sagemaker) sends its requests to api_base",
    ),
    (
        "a model without a provider, at a base",
        model(f"model: gpt-4o, api_base: '{LISTED}'"),
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.model: gpt-4o: the function cannot tell",
    ),
    (
        "a Redis cluster in the config's environment",
        OK + 'environment_variables: {REDIS_CLUSTER_NODES: \'[{"host": "127.0.0.1", "port": 1}]\'}\n',
        MODELS,
        "spec.proxyConfig.configYaml: environment_variables.REDIS_CLUSTER_NODES: REDIS_CLUSTER_NODES is not a "
        "variable a proxy may be given",
    ),
    (
        "a setting outside the known litellm_params",
        model(f"model: bedrock/x, api_base: '{LISTED}', aws_bedrock_runtime_endpoint: 'http://127.0.0.1:1'"),
        EGRESS,
        "spec.proxyConfig.configYaml: model_list[].litellm_params.aws_bedrock_runtime_endpoint is not a setting",
    ),
]


@pytest.mark.parametrize(("config", "platform", "refused"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_a_hostile_config_is_refused_naming_the_part_at_fault(config, platform, refused):
    message = config_refusal(config, platform)
    assert message is not None, "accepted"
    assert message.startswith(refused), message


@pytest.mark.parametrize(("config", "platform"), [h[1:3] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_without_guardrails_the_config_is_the_teams_own(config, platform):
    """No bound set: LiteLLM's whole config is the team's (the metadata rule aside)."""
    message = config_refusal(config, None)
    assert message is None or "metadata" in message, message


ACCEPTED = [
    ("a listed backend", OK, EGRESS),
    ("a provider whose host is listed", model("model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY"), EGRESS),
    ("models within the allowed", OK + model("model: openai/gpt-4o-mini", name="mini")[len("model_list:\n") :], MODELS),
    (
        "request defaults, retries, fallbacks and limits",
        model(f"model: ollama/smollm2:135m, api_base: '{LISTED}', timeout: 30, rpm: 60, temperature: 0.2")
        + "router_settings: {num_retries: 2, fallbacks: [{fast: [fast]}]}\n"
        + "litellm_settings: {drop_params: true, callbacks: [prometheus]}\n"
        + "general_settings: {master_key: os.environ/LITELLM_MASTER_KEY}\n",
        EGRESS,
    ),
    ("a quoted string, no tag", model(f"model: 'ollama/smollm2:135m', api_base: \"{LISTED}\""), EGRESS),
]


@pytest.mark.parametrize(("config", "platform"), [a[1:] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_a_config_within_the_guardrails_is_composed(config, platform):
    assert config_refusal(config, platform) is None


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        (
            [{"name": "https_proxy", "value": "127.0.0.1:3128"}],
            "spec.proxyConfig.env[0].value: 127.0.0.1:3128 is not a backend",
        ),
        (
            [{"name": "OPENAI_BASE_URL", "value": "http://127.0.0.1:9999/v1"}],
            "spec.proxyConfig.env[0].value: 127.0.0.1:9999 is not a backend",
        ),
        (
            [{"name": "HTTPS_PROXY", "valueFrom": {"secretKeyRef": {"name": "p", "key": "url"}}}],
            "spec.proxyConfig.env[0]: HTTPS_PROXY names where requests go, and a value from a Secret",
        ),
    ],
)
def test_proxy_and_base_url_variables_are_hosts_within_egress(env, refused):
    message = config_refusal(OK, EGRESS, env)
    assert (message or "").startswith(refused), message


@pytest.mark.parametrize(
    "env",
    [
        # The whole config from a bucket at any endpoint, in place of the one checked.
        [
            {"name": "LITELLM_CONFIG_BUCKET_NAME", "value": "team-a"},
            {"name": "LITELLM_CONFIG_BUCKET_OBJECT_KEY", "value": "config.yaml"},
        ],
        # A token file traded for credentials at any endpoint.
        [{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::1:role/x"}],
        [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/token"}],
        [{"name": "AWS_ENDPOINT_URL_STS", "value": "http://127.0.0.1:1"}],
        [{"name": "aws_region", "value": "x@127.0.0.1:1/"}],
        # Profiles, startup code, the metadata server's address.
        [{"name": "LITELLM_ENABLE_PYROSCOPE", "value": "true"}],
        [{"name": "PYROSCOPE_SERVER_ADDRESS", "value": "http://127.0.0.1:1"}],
        [{"name": "LITELLM_WORKER_STARTUP_HOOKS", "value": "os:system"}],
        [{"name": "GCE_METADATA_IP", "value": "127.0.0.1:1"}],
    ],
    ids=lambda env: env[0]["name"],
)
@pytest.mark.parametrize("platform", [EGRESS, MODELS, ENV], ids=["egress", "models", "env"])
def test_a_variable_that_loads_reaches_or_runs_something_else_is_refused(env, platform):
    """Found with the real LiteLLM (tests/realtools/test_guarded_egress.py): the environment is read
    positively under any of the platform's bounds, as the config is."""
    message = config_refusal(OK, platform, env)
    assert (message or "").startswith(f"spec.proxyConfig.env[0].name: {env[0]['name']} is not "), message


@pytest.mark.parametrize(
    "env",
    [
        [{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "openai"}}}],
        [{"name": "azure_api_version", "value": "2024-06-01"}],
        [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIA"}, {"name": "AWS_SECRET_ACCESS_KEY", "value": "s"}],
        [{"name": "LITELLM_LOG", "value": "INFO"}],
    ],
    ids=lambda env: env[0]["name"],
)
def test_credentials_and_log_settings_are_a_guarded_proxys_to_have(env):
    assert config_refusal(OK, EGRESS, env) is None


def generated(platform: dict | None) -> dict:
    out = compose(xr({"mode": "Proxy", "proxyConfig": {"apiBase": LISTED}}), platform, {})
    (key,) = [k for k in out.resources if names.is_litellm_config_key(k)]
    return yaml.safe_load(secret_data(out.resources[key])[names.LITELLM_CONFIG_FILE])


def test_a_wildcard_under_egress_routes_only_the_providers_that_send_to_its_base():
    """Others (replicate/, sagemaker/) reach hosts of their own whatever api_base says: a name of
    theirs matches no route, and LiteLLM refuses it."""
    routes = {m["model_name"]: m["litellm_params"] for m in generated(EGRESS)["model_list"]}
    assert set(routes) == {f"{p}/*" for p in litellm_keys.API_BASE_PROVIDERS}
    assert all(params == {"model": name, "api_base": LISTED} for name, params in routes.items())
    assert [m["model_name"] for m in generated(None)["model_list"]] == ["*"]


def test_a_listed_proxy_variable_is_composed():
    assert config_refusal(OK, EGRESS, [{"name": "no_proxy", "value": "10.0.0.0/8"}]) is None
    assert config_refusal(OK, EGRESS, [{"name": "HTTP_PROXY", "value": LISTED}]) is None


@pytest.mark.parametrize(
    ("proxy", "platform", "refused"),
    [
        ({"model": "anthropic/claude-3-5-sonnet"}, EGRESS, "spec.proxyConfig.model (provider anthropic"),
        ({"model": "openai/gpt-4o"}, EGRESS, None),
        ({"apiBase": LISTED}, EGRESS, None),
        ({"apiBase": LISTED}, MODELS, "spec.proxyConfig.model: a proxy without model serves whatever model"),
        ({"apiBase": LISTED, "model": "ollama/smollm2:135m"}, MODELS, None),
    ],
)
def test_a_proxy_without_config_reaches_only_listed_hosts_and_serves_only_allowed_models(proxy, platform, refused):
    try:
        compose(xr({"mode": "Proxy", "proxyConfig": proxy}), platform, {})
        message = None
    except SpecError as e:
        message = str(e)
    assert (message or "").startswith(refused) if refused else message is None, message


SECRET = "s3cret-do-not-print"


BROKEN = [
    model(f"model: openai/x, api_base: 'http://team:{SECRET}@[not-v6]:1/'"),
    model(f"model: openai/x, api_base: 'http://team:{SECRET}@host:99999'"),
    f"model_list:\n- model_name: a\n  litellm_params: {{model: openai/x, api_key: {SECRET}: x}}\n",
    f"model_list: [\n  {{api_key: '{SECRET}'\n",
    f"model_list:\n- model_name: a\n  litellm_params: {{model: !!int {SECRET}}}\n",
]


@pytest.mark.parametrize(
    ("config", "platform"),
    [
        (model(f"model: openai/x, api_base: 'http://team:{SECRET}@127.0.0.1:9999'"), EGRESS),
        *((c, p) for c in BROKEN for p in (None, EGRESS)),
    ],
)
def test_no_refusal_quotes_a_secret_in_the_config(config, platform):
    """A URL's user-info, or a line PyYAML refuses, may hold a key: a refusal says where, not what."""
    message = config_refusal(config, platform)
    assert message is not None
    assert SECRET not in message, message
    assert "internal error" not in message
