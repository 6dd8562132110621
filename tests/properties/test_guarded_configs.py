"""Generated guarded configs: a configYaml (and env) built from LiteLLM's settings, the keys we
know reach hosts, and a trap host the platform's egress list does not name, in every place. The
property: a config the guardrails accept never puts the trap where LiteLLM would connect to it,
and every model it serves goes to the listed backend.

Where LiteLLM connects is written here, independently of function.litellm_keys: a key that
function's lists came to allow by mistake is caught, not followed."""

import pytest
import yaml
from hypothesis import event, given, note
from hypothesis import strategies as st

from function import litellm_keys
from tests.support.builders import refusal
from tests.support.strategies import PROFILE

LISTED = "ollama.ollama.svc:11434"
PLATFORMS = [
    {"egress": {"allowedHosts": [LISTED]}},
    {"egress": {"allowedHosts": [LISTED]}, "models": {"allowed": ["*"]}, "env": {"denied": ["NOTHING"]}},
]
TRAP = "trap.example"
TRAP_IP = "10.9.9.9"
# The trap as people write hosts, and as an attacker hides one (user-info, case, no scheme).
TRAPS = [
    f"http://{TRAP}:8080",
    f"https://{TRAP}",
    f"HTTP://{TRAP.upper()}/v1",
    f"{TRAP}:8080",
    TRAP,
    f"http://{LISTED}@{TRAP}/",
    f"http://{TRAP}#@{LISTED}",
    f"http://{TRAP_IP}:80",
    f"//{TRAP}:443",
    f"socks5://{TRAP}:1080",
]
SAFE = [f"http://{LISTED}", f"http://{LISTED}/v1", "sk-a-key", "30", "chat", "true", "prometheus"]

# Where LiteLLM 1.108.7 connects, whatever our lists say: a model's base URL, settings that
# name caches, databases, webhooks, proxies and routes, and the variables programs read hosts from.
CONNECTS_PARAMS = ["api_base", "base_url", "aws_bedrock_runtime_endpoint", "aws_sts_endpoint", "vertex_api_base"]
CONNECTS_SETTINGS = {
    "litellm_settings": [
        "api_base",
        "cache_params",
        "redis_host",
        "callbacks",
        "success_callback",
        "failure_callback",
        "proxy_base_url",
    ],
    "router_settings": ["redis_host", "redis_url", "cache_kwargs"],
    "general_settings": ["database_url", "alerting_webhook_url", "pass_through_endpoints", "custom_auth"],
}
CONNECTS_ENV = [
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "https_proxy",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "REDIS_HOST",
    "DATABASE_URL",
    "AZURE_API_BASE",
    "SLACK_WEBHOOK_URL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
]
# Providers that send to api_base when a model has one (checked with the real LiteLLM), and
# ones that build their host themselves (region, their own service), whatever api_base says.
HONOURS = ["openai/gpt-4o", "ollama/llama3", "ollama_chat/llama3", "hosted_vllm/m", "gpt-4o", "anthropic/claude-3"]
OWN_HOST = ["sagemaker/endpoint", "bedrock/anthropic.claude", "replicate/meta/llama", "vertex_ai/gemini-pro"]

PARAMS_ALLOWED = [p.rsplit(".", 1)[1] for p in litellm_keys.ALLOWED if p.startswith("model_list[].litellm_params.")]
# (general_settings.master_key is the platform's to place: os.environ/NAME only, hosts or not)
SETTINGS_ALLOWED = {
    section: [p.split(".", 1)[1] for p in litellm_keys.ALLOWED if p.startswith(section + ".") and "master" not in p]
    for section in CONNECTS_SETTINGS
}
# Every place a trap can be put: where LiteLLM connects, and where our lists allow a value.
PLACES = (
    [("param", k) for k in PARAMS_ALLOWED + CONNECTS_PARAMS if k != "model"]
    + [
        (section, k)
        for section, keys in CONNECTS_SETTINGS.items()
        for k in dict.fromkeys(SETTINGS_ALLOWED[section] + keys)
    ]
    + [("environment_variables", n) for n in CONNECTS_ENV]
    + [("env", n) for n in CONNECTS_ENV]
)
CONNECTING = [
    place
    for place in PLACES
    if place[1] in CONNECTS_PARAMS + CONNECTS_ENV or place[1] in CONNECTS_SETTINGS.get(place[0], [])
]


def base() -> tuple[dict, list[dict]]:
    """A guarded config that is accepted: a model at the listed backend, its key in the env."""
    config = {
        "model_list": [{"model_name": "chat", "litellm_params": {"model": "ollama/llama3", "api_base": SAFE[0]}}],
        "environment_variables": {"OPENAI_API_KEY": "sk-a-key"},
    }
    return config, []


def put(config: dict, env: list[dict], place: tuple[str, str], value: object, entry: int = 0) -> None:
    where, key = place
    if where == "param":
        config["model_list"][entry]["litellm_params"][key] = value
    elif where == "env":
        env.append({"name": key, "value": value})
    else:
        config.setdefault(where, {})[key] = value


@st.composite
def guarded(draw) -> tuple[dict, list[dict]]:
    """The accepted base, more models (some whose providers ignore api_base), then values put in
    places: mostly ones that pass, some traps, at places LiteLLM connects to a third of the time."""
    config, env = base()
    for _ in range(draw(st.integers(0, 2))):
        model = draw(st.sampled_from(HONOURS * 3 + OWN_HOST))
        api_base = draw(st.sampled_from([SAFE[0], SAFE[1], None, *TRAPS]))
        params = {"model": model} if api_base is None else {"model": model, "api_base": api_base}
        config["model_list"].append({"model_name": draw(st.sampled_from(["fast", TRAP])), "litellm_params": params})
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(CONNECTING) | st.sampled_from(PLACES) | st.sampled_from(PLACES))
        value = draw(st.sampled_from(SAFE) | st.sampled_from(SAFE) | st.sampled_from(TRAPS))
        if draw(st.booleans()) and place[0] not in ("param", "env", "environment_variables"):
            value = [value]
        put(config, env, place, value, draw(st.integers(0, len(config["model_list"]) - 1)))
    return config, env


def _trap_where_it_connects(config: dict, env: list[dict]) -> list[str]:
    """Every place of CONFIG and ENV where LiteLLM would connect to the trap."""

    def trapped(value: object) -> bool:
        text = yaml.safe_dump(value).lower()
        return TRAP in text or TRAP_IP in text

    found = [
        f"model_list[{i}].litellm_params.{key}"
        for i, entry in enumerate(config["model_list"])
        for key in CONNECTS_PARAMS
        if trapped(entry["litellm_params"].get(key, ""))
    ]
    found += [
        f"{section}.{key}"
        for section, keys in CONNECTS_SETTINGS.items()
        for key in keys
        if trapped((config.get(section) or {}).get(key, ""))
    ]
    found += [
        f"environment_variables.{n}" for n, v in (config.get("environment_variables") or {}).items() if trapped(v)
    ]
    found += [f"env.{e['name']}" for e in env if e["name"] in CONNECTS_ENV and trapped(e["value"])]
    return found


def judge(config: dict, env: list[dict], platform: dict) -> str | None:
    """The refusal of CONFIG and ENV under PLATFORM, or None; what was accepted checked."""
    spec = {"mode": "Proxy", "proxyConfig": {"configYaml": yaml.safe_dump(config, sort_keys=False), "env": env}}
    message = refusal(spec, platform)
    if message is None:
        assert _trap_where_it_connects(config, env) == []
        for entry in config["model_list"]:
            params = entry["litellm_params"]
            assert params["model"] in HONOURS, params
            bases = [params[k] for k in CONNECTS_PARAMS if k in params]
            assert bases, f"{params['model']} goes to its provider's own host, which the list does not name"
            assert all(LISTED in str(b) for b in bases), params
    return message


@pytest.mark.parametrize("trap", TRAPS)
@pytest.mark.parametrize("place", CONNECTING, ids="{0[0]}.{0[1]}".format)
def test_a_trap_where_litellm_connects_is_refused(place, trap):
    config, env = base()
    put(config, env, place, trap)
    assert judge(config, env, PLATFORMS[0]) is not None


@PROFILE
@given(guarded(), st.sampled_from(PLATFORMS))
def test_an_accepted_guarded_config_never_sends_to_a_host_outside_the_list(case, platform):
    config, env = case
    note(yaml.safe_dump(config, sort_keys=False))
    note(f"env: {env}")
    event("accepted" if judge(config, env, platform) is None else "refused")


def test_the_base_is_accepted_and_safe_values_in_allowed_places_too():
    """The properties are not vacuous: what they start from is accepted under every platform."""
    config, env = base()
    assert [judge(config, env, p) for p in PLATFORMS] == [None, None]
    for place in set(PLACES) - set(CONNECTING):
        config, env = base()
        put(config, env, place, "openai" if place[1] == "custom_llm_provider" else "30")
        assert judge(config, env, PLATFORMS[0]) is None, place
