"""What a guarded configYaml may hold, read from LiteLLM 1.108.7 (the version we ship): under
any of the platform's bounds (egress, models, env) a config is read positively, key by key,
against these lists, rather than searched for keys known to be bad. A key not listed is refused:
LiteLLM grows settings faster than a deny-list could follow, and many of them name hosts
(caches, databases, alerting webhooks), load code (custom callbacks and auth by module path)
or open routes (pass-through endpoints).

Paths are written as `Facts.leaves` names them, with list indices as `[]`; an entry allows
itself and everything under it."""

import fnmatch
import re

SECTIONS = ("model_list", "litellm_settings", "router_settings", "general_settings", "environment_variables")

ALLOWED = (
    "model_list[].model_name",
    "model_list[].model_info",
    # litellm_params: the model, its credentials and where it lives (checked), its request
    # defaults and its limits (GenericLiteLLMParams, LiteLLM_Params in litellm/types/router.py).
    *(
        f"model_list[].litellm_params.{key}"
        for key in (
            "model",
            "api_base",
            "base_url",
            "api_key",
            "api_version",
            "organization",
            "custom_llm_provider",
            "timeout",
            "stream_timeout",
            "max_retries",
            "rpm",
            "tpm",
            "max_parallel_requests",
            "weight",
            "order",
            "tags",
            "region_name",
            "aws_region_name",
            "aws_access_key_id",
            "aws_secret_access_key",
            "vertex_project",
            "vertex_location",
            "input_cost_per_token",
            "output_cost_per_token",
            "input_cost_per_second",
            "output_cost_per_second",
            "drop_params",
            "additional_drop_params",
            "merge_reasoning_content_in_choices",
            "temperature",
            "top_p",
            "max_tokens",
            "max_completion_tokens",
            "stop",
            "seed",
            "reasoning_effort",
            "extra_headers",
        )
    ),
    *(
        f"litellm_settings.{key}"
        for key in (
            "drop_params",
            "modify_params",
            "set_verbose",
            "json_logs",
            "request_timeout",
            "num_retries",
            "turn_off_message_logging",
            "redact_messages_in_exceptions",
            "redact_user_api_key_info",
            "enable_json_schema_validation",
            "default_max_tokens",
            "force_ipv4",
            "callbacks",
            "success_callback",
            "failure_callback",
            "fallbacks",
            "context_window_fallbacks",
            "content_policy_fallbacks",
            "default_fallbacks",
        )
    ),
    *(
        f"router_settings.{key}"
        for key in (
            "routing_strategy",
            "routing_strategy_args",
            "num_retries",
            "timeout",
            "stream_timeout",
            "allowed_fails",
            "allowed_fails_policy",
            "cooldown_time",
            "disable_cooldowns",
            "retry_after",
            "retry_policy",
            "fallbacks",
            "context_window_fallbacks",
            "content_policy_fallbacks",
            "default_fallbacks",
            "max_fallbacks",
            "model_group_alias",
            "enable_pre_call_checks",
            "enable_tag_filtering",
        )
    ),
    *(
        f"general_settings.{key}"
        for key in (
            "master_key",
            "background_health_checks",
            "health_check_interval",
            "health_check_details",
            "disable_spend_logs",
            "disable_master_key_return",
            "max_parallel_requests",
            "global_max_parallel_requests",
            "infer_model_from_keys",
        )
    ),
    "environment_variables",
)

# Keys whose value is where a request goes: checked against egress.allowedHosts.
HOST_KEYS = ("api_base", "base_url")
# Callbacks that send nothing off the pod but to where the platform points them (metrics are
# scraped, traces go to the platform's OTLP endpoint): any other is a host or a module path.
CALLBACKS = ("prometheus", "otel")
CALLBACK_KEYS = ("callbacks", "success_callback", "failure_callback")

# What a guarded proxy's environment (proxyConfig.env, a config's environment_variables) may
# hold, in any case: credentials, a few settings of LiteLLM's own, and the proxy and base-URL
# variables below (hosts, checked). LiteLLM and the SDKs under it read hundreds of variables;
# found by the real LiteLLM (tests/realtools/test_guarded_egress.py), some load the whole config
# from a bucket (LITELLM_CONFIG_BUCKET_NAME), open Redis connections (REDIS_CLUSTER_NODES), send
# profiles (PYROSCOPE_SERVER_ADDRESS), trade a token file for credentials at any endpoint
# (AWS_ROLE_ARN, AWS_ENDPOINT_URL_STS) or run code (LITELLM_WORKER_STARTUP_HOOKS).
ENV_ALLOWED = (
    "*_api_key",
    "*_api_version",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "litellm_master_key",
    "litellm_log",
    "litellm_local_model_cost_map",
    "no_proxy",
    "tz",
)
# Env names that say where a program connects, in any case: proxies and base URLs. Their values
# are hosts (NO_PROXY, a list of exceptions, is not).
HOST_ENV = ("*_proxy", "*_api_base", "*_base_url", "*_api_url", "*_url", "*_uri", "*_endpoint", "*_host")
NOT_HOST_ENV = ("no_proxy",)

# Where a provider's requests go when a model names no api_base (the defaults in LiteLLM's
# llms/<provider>/ and litellm_core_utils/get_llm_provider_logic.py). A provider not here cannot
# be placed under an egress list without an api_base.
PROVIDER_HOSTS = {
    "openai": "api.openai.com",
    "text-completion-openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "gemini": "generativelanguage.googleapis.com",
    "mistral": "api.mistral.ai",
    "codestral": "codestral.mistral.ai",
    "groq": "api.groq.com",
    "cohere": "api.cohere.ai",
    "cohere_chat": "api.cohere.ai",
    "xai": "api.x.ai",
    "openrouter": "openrouter.ai",
    "fireworks_ai": "api.fireworks.ai",
    "perplexity": "api.perplexity.ai",
    "deepseek": "api.deepseek.com",
    "together_ai": "api.together.ai",
    "cerebras": "api.cerebras.ai",
    "nvidia_nim": "integrate.api.nvidia.com",
    "ollama": "localhost:11434",
    "ollama_chat": "localhost:11434",
}

# Providers whose requests go to the model's api_base when it has one, checked with the real
# LiteLLM 1.108.7 (tests/realtools/test_guarded_egress.py). Others may not: SageMaker builds its
# host from the region, Replicate goes to its own whatever api_base says.
API_BASE_PROVIDERS = (
    "anthropic",
    "azure",
    "deepseek",
    "groq",
    "hosted_vllm",
    "mistral",
    "ollama",
    "ollama_chat",
    "openai",
)

_INDEX = re.compile(r"\[\d+\]")
URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def shape(path: str) -> str:
    """`model_list[3].litellm_params.model` as the lists name it: `model_list[].litellm_params.model`."""
    return _INDEX.sub("[]", path)


def allowed(path: str) -> bool:
    p = shape(path)
    return any(p == entry or p.startswith((entry + ".", entry + "[")) for entry in ALLOWED)


def is_host_key(path: str) -> bool:
    return path.rsplit(".", 1)[-1] in HOST_KEYS


def is_callback(path: str) -> bool:
    """A callback's name: litellm_settings.callbacks[0] and the like."""
    head, _, _ = path.rpartition("[")
    return head.startswith("litellm_settings.") and head.rsplit(".", 1)[-1] in CALLBACK_KEYS


def env_allowed(name: str) -> bool:
    low = name.lower()
    return is_host_env(name) or any(fnmatch.fnmatchcase(low, p) for p in ENV_ALLOWED)


def is_host_env(name: str) -> bool:
    low = name.lower()
    return low not in NOT_HOST_ENV and any(fnmatch.fnmatchcase(low, p) for p in HOST_ENV)


def tells(path: str, value: str) -> bool:
    """Whether a value says where requests go or what runs: the guardrails read these."""
    return bool(is_host_key(path) or URL.match(value) or path.startswith("environment_variables.") or is_callback(path))


def provider(model: str, custom_llm_provider: str) -> str:
    """The provider a model names (`anthropic/claude-3` is anthropic), or ''."""
    return custom_llm_provider or (model.split("/", 1)[0] if "/" in model else "")
