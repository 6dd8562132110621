"""A team's env under the platform's bounds: `env.denied` names variables in any case and with `*`
anywhere; the variables the platform sets for its own guarantees (telemetry, metrics, Ollama's
wiring) cannot be replaced by a team's entry. Each refusal is a fatal result naming the field."""

import pytest

from function import litellm, names
from function.compose import compose
from function.spec import ENV_RULE_PATTERN, EXPECTED, SpecError, parse_input
from tests.support.builders import HOSTED, PROXY, container, refusal, with_, xr

CONFIG = "model_list:\n- model_name: fast\n  litellm_params: {model: ollama/smollm2:135m, api_base: 'http://o:11434'}\n"


def proxy_env(*names_: str) -> dict:
    return with_(PROXY, "proxyConfig.env", [{"name": n, "value": "x"} for n in names_])


def server_env(*names_: str) -> dict:
    return with_(HOSTED, "serverConfig.env", [{"name": n, "value": "x"} for n in names_])


def config_env(name: str) -> dict:
    return {"mode": "Proxy", "proxyConfig": {"configYaml": CONFIG + f"environment_variables: {{{name}: x}}\n"}}


def denied(*rules: str) -> dict:
    return {"env": {"denied": list(rules)}}


# --------------------------------------------------------------------------------------------
# env.denied: any case, `*` anywhere
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "name"),
    [
        ("HTTPS_PROXY", "https_proxy"),
        ("HTTPS_PROXY", "Https_Proxy"),
        ("https_proxy", "HTTPS_PROXY"),
        ("*_PROXY", "HTTP_PROXY"),
        ("*_PROXY", "no_proxy"),
        ("OTEL_*", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ("LITELLM_*", "litellm_log"),
        ("*_BASE_*", "OPENAI_BASE_URL"),
        ("*_*", "a_b"),
    ],
)
@pytest.mark.parametrize(
    ("where", "field"),
    [
        (proxy_env, "spec.proxyConfig.env[1].name"),
        (server_env, "spec.serverConfig.env[1].name"),
    ],
    ids=["proxy", "server"],
)
def test_a_denied_name_is_refused_in_any_case_and_by_a_star_anywhere(rule, name, where, field):
    assert refusal(where("FINE", name), denied(rule)) == (
        f"{field}: {name} is not allowed on this platform (env.denied: {rule})"
    )


def test_a_rule_of_a_star_alone_refuses_every_entry():
    assert (
        refusal(proxy_env("a"), denied("*"))
        == "spec.proxyConfig.env[0].name: a is not allowed on this platform (env.denied: *)"
    )


@pytest.mark.parametrize(("rule", "name"), [("HTTPS_PROXY", "https_proxy"), ("*_PROXY", "all_proxy")])
def test_a_denied_name_in_a_configyamls_environment_variables_is_refused_in_any_case(rule, name):
    assert refusal(config_env(name), denied(rule)) == (
        f"spec.proxyConfig.configYaml: environment_variables.{name}: {name} is not allowed on this platform "
        f"(env.denied: {rule})"
    )


@pytest.mark.parametrize("rule", ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"])
def test_a_rule_naming_a_proxy_variable_refuses_every_spelling_of_it(rule):
    """Programs (curl, Go, Python's urllib) read the proxy variables in either case."""
    for name in (rule, rule.lower(), rule.capitalize(), rule.swapcase().capitalize()):
        assert (refusal(proxy_env(name), denied(rule)) or "").endswith(f"(env.denied: {rule})"), name


@pytest.mark.parametrize(
    ("rule", "name"),
    [
        ("HTTPS_PROXY", "HTTPS_PROXY_X"),  # a name, not a prefix
        ("HTTP_PROXY", "HTTPS_PROXY"),
        ("*_PROXY", "PROXY"),
        ("OTEL_*", "OTEL"),
        ("*_BASE_*", "BASE_URL"),
    ],
)
def test_a_name_no_rule_matches_is_taken(rule, name):
    """Not by env.denied: the guardrails' positive reading of the environment may refuse it for
    what it is (tests/unit/test_guarded_config.py)."""
    assert "env.denied" not in (refusal(proxy_env(name), denied(rule)) or "")


@pytest.mark.parametrize("rule", ["HTTP PROXY", "A?", "[AB]*", "1A", "", "$HOME", "A/B", "ÄB"])
def test_a_rule_the_platform_cannot_honour_is_refused_in_the_input(rule):
    with pytest.raises(SpecError) as err:
        parse_input(denied(rule))
    assert str(err.value) == f"function input input.env.denied[0]: {EXPECTED[ENV_RULE_PATTERN]}"


@pytest.mark.parametrize("rule", ["HTTPS_PROXY", "*_PROXY", "OTEL_*", "*", "a.b-c", "_X*Y"])
def test_a_rule_of_name_characters_and_stars_is_taken(rule):
    assert parse_input(denied(rule)).env.denied == [rule]


# --------------------------------------------------------------------------------------------
# env.allowed: what a platform adds to the names a guarded proxy may be given
# --------------------------------------------------------------------------------------------

GUARDED = {"models": {"allowed": ["ollama/*"]}}


def one_model_env(*names_: str) -> dict:
    return with_(proxy_env(*names_), "proxyConfig.model", "ollama/smollm2:135m")


@pytest.mark.parametrize("where", [one_model_env, config_env], ids=["env", "configYaml"])
def test_a_name_the_function_does_not_know_is_refused_under_guardrails_until_the_platform_allows_it(where):
    spec = where("LITELLM_REQUEST_TIMEOUT")
    assert "is not a variable a proxy may be given on this platform" in refusal(spec, GUARDED)
    assert "env.allowed: none" in refusal(spec, GUARDED)
    assert refusal(spec, GUARDED | {"env": {"allowed": ["litellm_request_*"]}}) is None


def test_an_allowed_name_the_platform_also_denies_is_refused():
    platform = GUARDED | {"env": {"allowed": ["LITELLM_*"], "denied": ["LITELLM_REQUEST_TIMEOUT"]}}
    assert refusal(one_model_env("LITELLM_REQUEST_TIMEOUT"), platform) == (
        "spec.proxyConfig.env[0].name: LITELLM_REQUEST_TIMEOUT is not allowed on this platform "
        "(env.denied: LITELLM_REQUEST_TIMEOUT)"
    )


def test_an_allowed_name_does_not_pass_what_the_platform_sets():
    platform = GUARDED | {"env": {"allowed": ["*"]}, **TELEMETRY}
    assert "is set by the platform" in refusal(one_model_env("OTEL_EXPORTER_OTLP_ENDPOINT"), platform)


def test_an_allowed_host_variable_is_still_a_host_the_egress_list_bounds():
    platform = {"egress": {"allowedHosts": ["o:11434"]}, "env": {"allowed": ["MY_*"]}}
    assert "is not a backend this platform allows" in refusal(
        with_(proxy_env("MY_SERVICE_URL"), "proxyConfig.env", [{"name": "MY_SERVICE_URL", "value": "http://evil:80"}]),
        platform,
    )


@pytest.mark.parametrize("rule", ["HTTP PROXY", "[AB]*", ""])
def test_an_allowed_rule_the_platform_cannot_honour_is_refused_in_the_input(rule):
    with pytest.raises(SpecError) as err:
        parse_input({"env": {"allowed": [rule]}})
    assert str(err.value) == f"function input input.env.allowed[0]: {EXPECTED[ENV_RULE_PATTERN]}"


# --------------------------------------------------------------------------------------------
# What the platform sets, a team cannot replace
# --------------------------------------------------------------------------------------------

TELEMETRY = {"telemetry": {"otlpEndpoint": "http://otel.observability.svc:4318"}}


def test_a_team_entry_naming_a_telemetry_variable_is_refused_naming_the_entry():
    spec = proxy_env("A", "B", "OTEL_EXPORTER_OTLP_ENDPOINT")
    assert refusal(spec, TELEMETRY) == (
        "spec.proxyConfig.env[2].name: OTEL_EXPORTER_OTLP_ENDPOINT is set by the platform (telemetry) "
        "and cannot be replaced"
    )


@pytest.mark.parametrize(
    ("name", "serves", "platform"),
    [
        ("OTEL_RESOURCE_ATTRIBUTES", "telemetry", TELEMETRY),
        ("OTEL_SERVICE_NAME", "telemetry", TELEMETRY),
        ("otel_exporter_otlp_endpoint", "telemetry", TELEMETRY),
        # Other variables LiteLLM and the OpenTelemetry SDK read for where traces go.
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "telemetry", TELEMETRY),
        ("OTEL_ENDPOINT", "telemetry", TELEMETRY),
        ("OTEL_HEADERS", "telemetry", TELEMETRY),
        # Metrics are on by default.
        ("PROMETHEUS_MULTIPROC_DIR", "metrics", None),
        ("prometheus_multiproc_dir", "metrics", None),  # prometheus_client reads this spelling too
    ],
)
def test_a_variable_the_platform_sets_on_the_proxy_is_refused_in_any_case(name, serves, platform):
    told = f"{name} is set by the platform ({serves}) and cannot be replaced"
    assert refusal(proxy_env(name), platform) == f"spec.proxyConfig.env[0].name: {told}"
    assert refusal(config_env(name), platform) == (f"spec.proxyConfig.configYaml: environment_variables.{name}: {told}")


@pytest.mark.parametrize(
    ("spec", "platform"),
    [
        (proxy_env("OTEL_EXPORTER_OTLP_ENDPOINT"), None),  # no telemetry: the team's own
        (proxy_env("PROMETHEUS_MULTIPROC_DIR"), {"metrics": {"enabled": False}}),
        # Defaults a team may change, with the platform's telemetry and metrics on.
        (proxy_env(litellm.COST_MAP_ENV, "LITELLM_LOG"), TELEMETRY),
        (
            with_(
                PROXY,
                "proxyConfig.env",
                [{"name": names.MASTER_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}],
            ),
            TELEMETRY,
        ),  # the team's own master key (README: bring your own)
        (server_env("OLLAMA_DEBUG", "OLLAMA_KEEP_ALIVE"), TELEMETRY),
        (server_env("OTEL_EXPORTER_OTLP_ENDPOINT"), TELEMETRY),  # Ollama is not traced
    ],
    ids=["no-telemetry", "no-metrics", "litellm-defaults", "own-master-key", "ollama-settings", "ollama-otel"],
)
def test_a_variable_the_platform_does_not_guarantee_is_the_teams(spec, platform):
    assert refusal(spec, platform) is None


def test_every_variable_the_platform_sets_on_the_proxy_but_its_defaults_is_refused():
    """Read from the render: a variable the proxy gains later is refused, or named here as a default."""
    defaults = {litellm.COST_MAP_ENV, names.MASTER_KEY_ENV}
    platform = {**TELEMETRY, "metrics": {"enabled": True}}
    env = container(compose(xr(PROXY), platform, {}).resources, "litellm")["env"]
    ours = [e["name"] for e in env if e["name"] not in defaults]
    assert len(ours) == 5
    for name in ours:
        told = refusal(proxy_env(name), platform) or ""
        assert told.startswith(f"spec.proxyConfig.env[0].name: {name} is set by the platform ("), told


@pytest.mark.parametrize("name", ["ollama_host", "Ollama_Models"])
def test_ollamas_wiring_is_refused_in_every_spelling(name):
    assert refusal(server_env(name), None) == (
        f"spec.serverConfig.env[0].name: {name} is set by the platform (Ollama's address and model volume) "
        "and cannot be replaced"
    )
