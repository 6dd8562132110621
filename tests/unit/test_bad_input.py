"""A spec that cannot work gets an error that names the field."""

import pytest

from function import litellm_config
from function.compose import compose
from function.spec import SpecError
from tests.support.builders import HOSTED, PROXY, with_, xr

_AT = "spec.proxyConfig.env[0].valueFrom"
MODELS = "model_list: [{model_name: a, litellm_params: {model: ollama/a}}]\n"


def _ref(kind: str, name: str, key: str) -> list[dict]:
    return [{"name": "A", "valueFrom": {kind: {"name": name, "key": key}}}]


def _field(path: str) -> list[dict]:
    return [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": path}}}]


ALIAS_BOMB = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nmodel_list: [*c]\n"


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({}, "spec.mode", "required"),
        ({"mode": "Serverless"}, "spec.mode", "'Serverless' is not one of Proxy, Hosted"),
        ({"mode": "proxy"}, "spec.mode", "'proxy' is not one of Proxy, Hosted; did you mean Proxy?"),
        ({"mode": "Hostd"}, "spec.mode", "'Hostd' is not one of Proxy, Hosted; did you mean Hosted?"),
        ({"mode": 3}, "spec.mode", "the value is not one of Proxy, Hosted"),
        ({"mode": "Proxy"}, "spec", "mode Proxy needs proxyConfig"),
        ({"mode": "Proxy", "proxyConfig": {}}, "spec", "mode Proxy needs proxyConfig"),
        ({"mode": "Hosted"}, "spec", "mode Hosted needs serverConfig.model"),
        ({"mode": "Hosted", "serverConfig": {}}, "spec.serverConfig.model", "required"),
        (with_(PROXY, "proxyConfig.apiBase", "ftp://x"), "spec.proxyConfig.apiBase", "such as"),
        (with_(PROXY, "proxyConfig.apiBase", "http://a b"), "spec.proxyConfig.apiBase", "such as"),
        (with_(PROXY, "proxyConfig.apiBase", "http://x/\n"), "spec.proxyConfig.apiBase", "such as"),
        # Past the pattern, the parse: a port that is no port, a host that is none.
        (with_(PROXY, "proxyConfig.apiBase", "http://x:99999"), "spec.proxyConfig.apiBase", "not a valid URL"),
        (with_(PROXY, "proxyConfig.apiBase", "http://x:port/v1"), "spec.proxyConfig.apiBase", "not a valid URL"),
        (with_(PROXY, "proxyConfig.apiBase", "http://[::1/v1"), "spec.proxyConfig.apiBase", "not a valid URL"),
        (with_(PROXY, "proxyConfig.apiBase", "http://:80/v1"), "spec.proxyConfig.apiBase", "not a valid URL: no host"),
        (with_(PROXY, "proxyConfig.model", "x; rm -rf /"), "spec.proxyConfig.model", "such as"),
        (with_(HOSTED, "serverConfig.model", "$(id)"), "spec.serverConfig.model", "such as"),
        (with_(HOSTED, "serverConfig.model", "-rf"), "spec.serverConfig.model", "such as"),
        (with_(HOSTED, "serverConfig.model", "a" * 300), "spec.serverConfig.model", "at most 256"),
        (with_(HOSTED, "serverConfig.model", 7), "spec.serverConfig.model", "string"),
        (with_(PROXY, "proxyConfig.configYaml", "model_list: ["), "spec.proxyConfig.configYaml", "not valid YAML"),
        (with_(PROXY, "proxyConfig.configYaml", "just text"), "spec.proxyConfig.configYaml", "mapping"),
        (with_(PROXY, "proxyConfig.configYaml", "model_list: []"), "spec.proxyConfig.configYaml", "non-empty"),
        (
            with_(PROXY, "proxyConfig.configYaml", "model_list: [{model_name: x}]"),
            "spec.proxyConfig.configYaml",
            "model_list[0].litellm_params.model",
        ),
        (with_(PROXY, "proxyConfig.configYaml", ALIAS_BOMB), "spec.proxyConfig.configYaml", "aliases"),
        # LiteLLM takes general_settings.master_key over LITELLM_MASTER_KEY: a literal one sits
        # in the ModelAPI for every reader, an empty or null one opens the proxy.
        *[
            (with_(PROXY, "proxyConfig.configYaml", MODELS + settings), "spec.proxyConfig.configYaml", want)
            for settings, want in [
                ("general_settings: {master_key: sk-1234}", "general_settings.master_key must be os.environ/NAME"),
                ("general_settings: {master_key: ''}", "general_settings.master_key must be os.environ/NAME"),
                ("general_settings: {master_key: null}", "general_settings.master_key must be os.environ/NAME"),
                ("general_settings: {master_key: os.environ/}", "general_settings.master_key must be os.environ/NAME"),
                ("general_settings: [master_key]", "general_settings must be a mapping"),
                ("environment_variables: {LITELLM_MASTER_KEY: sk-1}", "environment_variables.LITELLM_MASTER_KEY"),
                ("environment_variables: [LITELLM_MASTER_KEY]", "environment_variables must be a mapping"),
                (
                    "general_settings: {master_key: os.environ/K}\nenvironment_variables: {K: sk-1}",
                    "environment_variables.K: the master key must come from proxyConfig.env",
                ),
            ]
        ],
        (
            with_(PROXY, "proxyConfig.configYaml", MODELS + "general_settings: {master_key: os.environ/TEAM_KEY}"),
            "spec.proxyConfig",
            "reads TEAM_KEY: set TEAM_KEY in env from a secretKeyRef",
        ),
        (
            with_(
                with_(PROXY, "proxyConfig.configYaml", MODELS + "general_settings: {master_key: os.environ/TEAM_KEY}"),
                "proxyConfig.env",
                [{"name": "TEAM_KEY", "value": "sk-literal"}],
            ),
            "spec.proxyConfig",
            "reads TEAM_KEY: set TEAM_KEY in env from a secretKeyRef",
        ),
        (
            with_(PROXY, "proxyConfig.configYaml", "model_list: [" + "{}," * 100_000 + "]"),
            "spec.proxyConfig.configYaml",
            "longer than",
        ),
        (with_(PROXY, "proxyConfig.env", [{"value": "x"}]), "spec.proxyConfig.env[0].name", "required"),
        (with_(PROXY, "proxyConfig.env", [{"name": "A B"}]), "spec.proxyConfig.env[0].name", "such as"),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
            "spec.proxyConfig.env",
            "duplicate name A",
        ),
        (
            with_(
                PROXY,
                "proxyConfig.env",
                [{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            ),
            "spec.proxyConfig.env[0]",
            "not both",
        ),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "valueFrom": {}}]),
            "spec.proxyConfig.env[0].valueFrom",
            "exactly one",
        ),
        (
            with_(
                PROXY,
                "proxyConfig.env",
                [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "Bad_Name", "key": "k"}}}],
            ),
            "spec.proxyConfig.env[0].valueFrom.secretKeyRef.name",
            "such as",
        ),
        # The API server's rules for the names of Secrets and ConfigMaps and for keys in them.
        (with_(PROXY, "proxyConfig.env", _ref("secretKeyRef", "a..b", "k")), f"{_AT}.secretKeyRef.name", "such as"),
        (with_(PROXY, "proxyConfig.env", _ref("secretKeyRef", "a-.b", "k")), f"{_AT}.secretKeyRef.name", "such as"),
        (
            with_(PROXY, "proxyConfig.env", _ref("configMapKeyRef", "a.-b", "k")),
            f"{_AT}.configMapKeyRef.name",
            "such as",
        ),
        (with_(PROXY, "proxyConfig.env", _ref("secretKeyRef", "s", ".")), f"{_AT}.secretKeyRef.key", "such as"),
        (with_(PROXY, "proxyConfig.env", _ref("secretKeyRef", "s", "..")), f"{_AT}.secretKeyRef.key", "such as"),
        (with_(PROXY, "proxyConfig.env", _ref("configMapKeyRef", "c", "..k")), f"{_AT}.configMapKeyRef.key", "such as"),
        # A label or annotation key in a fieldRef, and an extended resource, are qualified names.
        (with_(PROXY, "proxyConfig.env", _field("metadata.labels['-x']")), f"{_AT}.fieldRef.fieldPath", "such as"),
        (with_(PROXY, "proxyConfig.env", _field("metadata.labels['a//b']")), f"{_AT}.fieldRef.fieldPath", "such as"),
        (
            with_(HOSTED, "serverConfig.resources", {"limits": {"a..b/gpu": 1}}),
            "spec.serverConfig.resources.limits['a..b/gpu']",
            "such as",
        ),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "LITELLM_MASTER_KEY", "value": "sk-literal"}]),
            "spec.proxyConfig.env[0]",
            "never a literal value",
        ),
        (
            with_(HOSTED, "serverConfig.env", [{"name": "OLLAMA_MODELS", "value": "/tmp"}]),
            "spec.serverConfig.env",
            "set by the function",
        ),
        (with_(PROXY, "proxyConfig.typo", 1), "spec.proxyConfig.typo", "not a field here (the fields here: apiBase,"),
        (with_(PROXY, "proxyConfig.apibase", "http://x"), "spec.proxyConfig.apibase", "; did you mean apiBase?"),
        (with_(PROXY, "proxyConfig.modle", "m"), "spec.proxyConfig.modle", "; did you mean model?"),
        (
            with_(HOSTED, "serverConfig.resources", {"limits": {"memory": "lots"}}),
            "spec.serverConfig.resources.limits['memory']",
            "such as",
        ),
        (
            with_(HOSTED, "serverConfig.resources", {"limits": {"bad name!": "1"}}),
            "spec.serverConfig.resources.limits['bad name!']",
            "such as",
        ),
        (with_(PROXY, "proxyConfig", "http://x"), "spec.proxyConfig", "must be a mapping (key: value), not a string"),
    ],
)
def test_bad_spec_is_rejected_naming_the_field(spec, field, reason):
    with pytest.raises(SpecError) as err:
        compose(xr(spec), None, {})
    assert str(err.value).startswith(field + ":"), str(err.value)
    assert reason in str(err.value)


@pytest.mark.parametrize(
    ("composite", "field"),
    [
        ({"spec": PROXY}, "metadata"),
        ({"metadata": {"name": "a", "namespace": "n"}}, "spec"),
        ({"metadata": {"name": "a", "namespace": "n"}, "spec": "text"}, "spec"),
        ({"metadata": {"name": "cluster-xr"}, "spec": PROXY}, "metadata.namespace"),
        ({"kind": "XModelAPI", "metadata": {"name": "cluster-xr"}, "spec": PROXY}, "metadata.namespace"),
        ({"metadata": {"namespace": "n"}, "spec": PROXY}, "metadata.name"),
    ],
)
def test_a_malformed_xr_is_rejected_naming_the_field(composite, field):
    with pytest.raises(SpecError) as err:
        compose(composite, None, {})
    assert str(err.value).startswith(field + ":"), str(err.value)


def test_a_bad_function_input_names_the_input_field():
    with pytest.raises(SpecError) as err:
        compose(xr(PROXY), {"imagePullPolicy": "Sometimes"}, {})
    assert "input.imagePullPolicy" in str(err.value)


def test_mode_mismatched_config_is_ignored_with_a_note_in_the_status():
    spec = {**HOSTED, "proxyConfig": PROXY["proxyConfig"]}
    out = compose(xr(spec), None, {})
    assert out.status["message"] == "Creating Deployment my-modelapi; spec.proxyConfig is ignored in mode Hosted"


def test_a_config_is_read_once_whether_refused_or_not(monkeypatch):
    """A refused ModelAPI comes back on every retry; a large config takes a good part of a second to read."""
    parsed = []
    read = litellm_config.read
    monkeypatch.setattr(litellm_config, "read", lambda text: parsed.append(text) or read(text))
    refused, accepted = "model_list: []  # parsed once, 1", MODELS + "# parsed once, 2"
    for _ in range(3):
        assert isinstance(litellm_config.verdict(refused), litellm_config.ConfigError)
        assert litellm_config.verdict(accepted) == litellm_config.Facts(
            master_key_env=None,
            env_refs=(),
            models=((0, "a", "ollama/a", ""),),
            shapes=("model_list[].litellm_params.model", "model_list[].model_name"),
        )
    assert parsed == [refused, accepted]


@pytest.mark.parametrize(
    ("q", "reason"),
    [
        ("1e99999999999", "the exponent is larger than a quantity can hold"),
        ("1e-99999999999", "the exponent is larger than a quantity can hold"),
        (float("inf"), "not a number a quantity can hold"),
    ],
)
def test_a_quantity_no_number_can_hold_is_refused_naming_it(q, reason):
    spec = with_(HOSTED, "serverConfig.resources", {"limits": {"memory": q}})
    with pytest.raises(SpecError) as err:
        compose(xr(spec), None, {})
    assert str(err.value) == f"spec.serverConfig.resources.limits['memory']: {reason}"


def test_a_quantity_with_the_largest_exponent_is_read_in_a_moment():
    """Exact arithmetic on 1e2147483647 would build a number of two billion digits."""
    limits = {"requests": {"memory": "1e2147483647"}, "limits": {"memory": "2e2147483647"}}
    out = compose(xr(with_(HOSTED, "serverConfig.resources", limits)), None, {})
    pod = out.resources["deployment"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"] == {"memory": "2e2147483647"}
