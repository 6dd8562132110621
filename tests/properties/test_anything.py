"""Anything at all: random values anywhere in a valid XR, random configYaml text, any string in
a string field: composed validly or refused naming a field, never an internal error."""

import base64
import copy
import json

import pytest
import yaml
from hypothesis import given, note
from hypothesis import strategies as st

from function import litellm_config, names
from tests.support.builders import config_key
from tests.support.mutations import BAD_CONFIG_YAMLS, JSON_VALUES
from tests.support.properties import assert_rejected, assert_schema_valid, run
from tests.support.strategies import NARROW, PROFILE, SOMETIMES, chance, config_yamls, repeated, valid_cases


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def fuzzed_xrs(draw) -> dict:
    case = draw(valid_cases())
    xr = copy.deepcopy(case.xr)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(xr)))
        value = draw(JSON_VALUES)
        if not path:
            xr = value if isinstance(value, dict) else {"spec": value}
            continue
        *parents, last = path
        node = xr
        for p in parents:
            node = node[p]
        if isinstance(node, dict) and draw(chance(SOMETIMES)):
            node[draw(st.text(max_size=12))] = value  # a new key beside it
        elif isinstance(node, dict) and draw(chance(SOMETIMES)):
            del node[last]
        else:
            node[last] = value
    return xr


@PROFILE
@given(fuzzed_xrs())
def test_any_xr_is_composed_validly_or_rejected_naming_a_field(xr):
    note(json.dumps(xr, default=str)[:2000])
    out = run(xr)
    if out.fatals:
        assert_rejected(out)
    else:
        assert out.resources
        assert_schema_valid(out.resources)


YAML_TOKENS = st.sampled_from(
    [
        "model_list",
        "model_name",
        "litellm_params",
        "model",
        "api_base",
        ":",
        ": ",
        "- ",
        "\n",
        "\n  ",
        "\n    ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "!!str ",
        "!!binary ",
        "!custom ",
        "'",
        '"',
        "#",
        "? ",
        "|\n",
        ">\n",
        "---\n",
        "...\n",
        "x",
        "ollama/smollm2:135m",
        "*",
        "~",
        "null",
        "1",
        "\t",
        "%YAML 1.1\n",
        "<<: ",
        "\\",
        "é",
        "\x85",
        "\ufeff",
    ]
)
CONFIG_TEXTS = st.one_of(
    st.lists(YAML_TOKENS, max_size=40).map("".join),
    st.text(max_size=200),
    st.builds(
        lambda head, junk, i: head[:i] + junk + head[i:],
        config_yamls(enormous=False),
        st.text(max_size=5),
        st.integers(0, 200),
    ),
    BAD_CONFIG_YAMLS,
)


@NARROW
@given(CONFIG_TEXTS)
def test_any_config_yaml_is_used_verbatim_or_rejected_at_its_path(text):
    xr = {
        "apiVersion": names.API_VERSION,
        "kind": "ModelAPI",
        "metadata": {"name": "m", "namespace": "team-a"},
        "spec": {"mode": "Proxy", "proxyConfig": {"configYaml": text}},
    }
    out = run(xr)
    if out.fatals:
        assert_rejected(out, "spec.proxyConfig.configYaml:")
        return
    # Accepted: what LiteLLM will read is a single YAML mapping with a usable model_list,
    # without aliases, passed through byte for byte.
    assert len(text.encode()) <= litellm_config.MAX_BYTES
    # LiteLLM reads it with yaml.safe_load; pure Python is slow on the big ones, libyaml then.
    loader = yaml.SafeLoader if len(text) < 16_384 else yaml.CSafeLoader
    assert not any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=loader))
    config = yaml.load(text, Loader=loader)
    assert isinstance(config["model_list"], list)
    assert config["model_list"]
    for m in config["model_list"]:
        assert isinstance(m["model_name"], str)
        assert m["model_name"]
        assert isinstance(m["litellm_params"]["model"], str)
        assert m["litellm_params"]["model"]
    secret = out.resources[config_key(out.resources)]
    assert base64.b64decode(secret["data"][names.LITELLM_CONFIG_FILE]).decode() == text
    assert_schema_valid(out.resources)


URL_TOKENS = st.sampled_from(
    [
        "http",
        "https",
        "://",
        ":",
        "/",
        "//",
        "[",
        "]",
        "::1",
        "@",
        "?",
        "#",
        "%",
        "%zz",
        "a",
        "api.openai.com",
        "80",
        "-",
        ".",
        "é",
        " ",
        "\\n",
        "$(id)",
        "`",
        "'",
        '"',
        "<",
        ">",
        "\\",
        "\\x00",
        "99999",
        "v1",
        "=",
        "&",
    ]
)
ANY_STRINGS = st.one_of(
    st.text(max_size=30),
    st.lists(URL_TOKENS, max_size=12).map("".join),
    st.lists(URL_TOKENS, max_size=12).map(lambda t: "http://" + "".join(t)),
    repeated(st.text(min_size=1, max_size=3), 200, 70_000),
)
_BASE_XR = {"metadata": {"name": "m", "namespace": "team-a"}}
# (spec, where the string goes, the path that names it)
STRING_FIELDS = [
    ({"mode": "Proxy", "proxyConfig": {}}, ("proxyConfig", "apiBase"), "spec.proxyConfig.apiBase"),
    ({"mode": "Proxy", "proxyConfig": {"apiBase": "http://x"}}, ("proxyConfig", "model"), "spec.proxyConfig.model"),
    ({"mode": "Proxy", "proxyConfig": {"model": "gpt-4o"}}, ("proxyConfig", "apiBase"), "spec.proxyConfig.apiBase"),
    ({"mode": "Hosted", "serverConfig": {}}, ("serverConfig", "model"), "spec.serverConfig.model"),
    ({"mode": "Proxy", "proxyConfig": {}}, ("proxyConfig", "configYaml"), "spec.proxyConfig.configYaml"),
    (
        {"mode": "Proxy", "proxyConfig": {"apiBase": "http://x", "env": [{"name": "A"}]}},
        ("proxyConfig", "env", 0, "value"),
        "spec.proxyConfig.env[0]",
    ),
    (
        {"mode": "Hosted", "serverConfig": {"model": "m", "env": [{"value": "v"}]}},
        ("serverConfig", "env", 0, "name"),
        "spec.serverConfig.env",
    ),
    (
        {"mode": "Hosted", "serverConfig": {"model": "m", "resources": {"limits": {}}}},
        ("serverConfig", "resources", "limits", "memory"),
        "spec.serverConfig.resources.limits['memory']",
    ),
]


@NARROW
@given(st.sampled_from(STRING_FIELDS), ANY_STRINGS)
def test_any_string_in_a_string_field_is_used_or_rejected_at_its_path(where, text):
    spec_, path, named = copy.deepcopy(where)
    node = spec_
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = text
    out = run({**_BASE_XR, "spec": spec_})
    if out.fatals:
        assert_rejected(out, named)
    else:
        assert_schema_valid(out.resources)


@pytest.mark.parametrize(
    "text",
    [
        # Found by the soak: libyaml (the function's parser) reads `{0?,model: 08}` as a mapping,
        # PyYAML's own parser, which LiteLLM's yaml.safe_load uses, refuses it.
        "model_list:\n- litellm_params: {0?,model: 08}\n  model_name: 08",
    ],
)
def test_a_config_litellm_cannot_parse_is_rejected(text):
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)  # as LiteLLM reads its config file
    xr = {"metadata": {"name": "m", "namespace": "n"}, "spec": {"mode": "Proxy", "proxyConfig": {"configYaml": text}}}
    assert_rejected(run(xr), "spec.proxyConfig.configYaml:")


def test_the_alias_bomb_is_refused_before_it_expands():
    bomb = "\n".join(
        ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
        + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 20)]
        + ["model_list: [{model_name: m, litellm_params: {model: m}}]"]
    )
    spec_ = {"mode": "Proxy", "proxyConfig": {"configYaml": bomb}}
    assert_rejected(run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}), "spec.proxyConfig.configYaml:")
