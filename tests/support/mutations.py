"""Invalid XRs: mutations of a valid case, each with the field path its fatal result must name,
and the hostile values they draw from."""

import copy
import re

from hypothesis import assume
from hypothesis import strategies as st

from function import litellm_config, names, spec
from tests.support.strategies import (
    ENV_SOURCES,
    LITELLM_MODELS,
    MODELS,
    OLLAMA_MODELS,
    SOMETIMES,
    Case,
    chance,
    repeated,
    valid_cases,
)

SHELL_HOSTILE = [
    "x; rm -rf /",
    "$(id)",
    "`id`",
    "-rf",
    "--insecure",
    "a\nb",
    "smollm2:135m\n",
    "\nsmollm2:135m",
    "a b",
    "a|b",
    "a&&b",
    "a>b",
    "'a'",
    '"a"',
    "a\\b",
    "${IFS}",
    "a$b",
    "a*",
    "a?",
    "~root",
    ".hidden",
    "",
    " ",
    "模型",
    "smollm2:135m\x00",
    "a\tb",
    "a;b",
    "a(b)",
    "a{b}",
    "a!b",
    "a#b",
    "a%b",
    "a,b",
    "a=b",
]
METACHARACTERS = [*";&|$`()<>\\\"' \t\n*?[]{}!#~,=%\x00", "$(", "${", "\r\n", "\u2028", "\u00a0", "é"]
HOSTILE_MODELS = st.one_of(
    st.sampled_from(SHELL_HOSTILE),
    st.builds(
        lambda m, c, i: m[:i] + c + m[i:],
        st.sampled_from(OLLAMA_MODELS[:-1] + LITELLM_MODELS),
        st.sampled_from(METACHARACTERS),
        st.integers(0, 40),
    ),
    MODELS.map(lambda m: "-" + m),
    repeated(st.sampled_from(["a", "ab:"]), 257, 100_000),
    st.text(min_size=1, max_size=20).filter(lambda s: not re.fullmatch(spec.MODEL_PATTERN, s)),
)
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(0, 9), max_size=3),
)
# For optional fields, where null means "not set".
NON_NULL_WRONG_TYPES = WRONG_TYPES.filter(lambda v: v is not None)
ALIAS_BOMB = (
    "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n"
    "model_list: [{model_name: m, litellm_params: {model: m}}]\n"
)


@st.composite
def alias_bombs(draw) -> str:
    depth, width = draw(st.integers(2, 30)), draw(st.integers(2, 10))  # an anchor alone is harmless
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth)]
    lines.append("model_list: [{model_name: m, litellm_params: {model: m}}]")
    return "\n".join(lines) + "\n"


BAD_CONFIG_YAMLS = st.one_of(
    st.sampled_from(
        [
            "model_list: [",
            "just text",
            "",
            "   ",
            "# only a comment",
            "null",
            "[]",
            "model_list: []",
            "model_list: {}",
            "model_list: [x]",
            "model_list: [{model_name: x}]",
            "model_list: [{model_name: '', litellm_params: {model: m}}]",
            "model_list: [{model_name: x, litellm_params: {model: ''}}]",
            "model_list: [{model_name: 1, litellm_params: {model: m}}]",
            "model_list: [{model_name: x, litellm_params: {model: [m]}}]",
            "model_list: [{model_name: x, litellm_params: m}]",
            "model_list: [{model_name: x, litellm_params: {model: m}}]\n---\nmodel_list: []\n",
            "!!python/object/apply:os.system ['id']",
            "model_list: !!python/name:os.system",
            "? [a]\n: b\n",
            "model_list:\n\t- x\n",
            "model_list: [{model_name: x, litellm_params: {model: m}}]\nz: \x07\n",
            "model_list: &m [{model_name: x, litellm_params: {model: m}}]\nagain: *m\n",
            "x: *undefined\n",
            ALIAS_BOMB,
            "[" * 5000 + "]" * 5000,
            "model_list: " + "{a: " * 2000 + "1" + "}" * 2000,
            "model_list: [{model_name: x, litellm_params: {model: m}}]\nbig: " + "9" * 5000 + "\n",
            "model_list: [" + "{}," * 100_000 + "]",
        ]
    ),
    alias_bombs(),
    # Just over the limit: a valid config padded with a comment.
    st.integers(1, 4).map(
        lambda n: (
            "model_list: [{model_name: x, litellm_params: {model: m}}]\n#"
            + "x" * (litellm_config.MAX_BYTES - 58 + n)
            + "\n"
        )
    ),
    st.integers(0, 3).map(lambda n: "model_list: [{model_name: x, litellm_params: {model: m}}]\n#" + "é" * 131_072),
)


def _config_key(mode: str) -> str:
    return "proxyConfig" if mode == "Proxy" else "serverConfig"


def env_of(draw, case: Case) -> tuple[list, int, str]:
    """The case's env list (created if absent), an index in it, and that entry's path."""
    cfg = case.config
    env = cfg.setdefault("env", [])
    if not env:
        env.append({"name": "SOME_VAR", "value": "x"})
    i = draw(st.integers(0, len(env) - 1))
    return env, i, f"spec.{_config_key(case.mode)}.env[{i}]"


def m_metadata_missing(draw, case):
    if draw(st.booleans()):
        del case.xr["metadata"]
    else:
        case.xr["metadata"] = draw(st.one_of(st.text(max_size=10), st.lists(st.text(max_size=3)), st.floats(0, 9)))
    return "metadata:"


def m_spec_missing(draw, case):
    if draw(st.booleans()):
        del case.xr["spec"]
    else:
        case.xr["spec"] = draw(st.one_of(st.none(), st.text(max_size=10), st.lists(st.text(max_size=3))))
    # Without spec.claimRef, a claim's XR that has no claim labels has no namespace either.
    return "metadata.namespace:" if case.scope == "claim-ref-only" else "spec:"


def m_name(draw, case):
    assume(case.scope == "namespaced")
    meta = case.xr["metadata"]
    if draw(st.booleans()):
        del meta["name"]
    else:
        meta["name"] = draw(st.one_of(st.just(""), st.booleans(), st.integers(0, 9), st.lists(st.integers())))
    return "metadata.name:"


def m_no_namespace(draw, case):
    # Cluster-scoped: a ModelAPI (always namespaced) without one is rendered into "default".
    case.xr["kind"] = "XModelAPI"
    meta = case.xr["metadata"]
    meta.pop("namespace", None)
    meta.get("labels", {}).pop("crossplane.io/claim-namespace", None)
    case.spec.pop("claimRef", None)
    if draw(st.booleans()):
        meta["namespace"] = ""
    return "metadata.namespace:"


def m_mode(draw, case):
    if draw(st.booleans()):
        del case.spec["mode"]
    else:
        case.spec["mode"] = draw(
            st.one_of(st.sampled_from(["proxy", "hosted", "PROXY", "Proxy ", "", "Serverless"]), WRONG_TYPES)
        )
    return "spec.mode:"


def m_config_missing(draw, case):
    key = _config_key(case.mode)
    if case.mode == "Proxy" and draw(st.booleans()):
        case.spec[key] = draw(st.sampled_from([{}, {"env": []}]))
    else:
        case.spec.pop(key, None)
    return "spec:"


def m_config_type(draw, case):
    key = _config_key(case.mode)
    case.spec[key] = draw(NON_NULL_WRONG_TYPES.filter(lambda v: not isinstance(v, dict)))
    return f"spec.{key}:"


def m_model(draw, case):
    key = _config_key(case.mode)
    case.spec.setdefault(key, {})["model"] = draw(st.one_of(HOSTILE_MODELS, NON_NULL_WRONG_TYPES))
    return f"spec.{key}.model:"


def m_model_missing(draw, case):
    assume(case.mode == "Hosted")
    del case.spec["serverConfig"]["model"]
    return "spec.serverConfig.model:"


def m_api_base(draw, case):
    assume(case.mode == "Proxy")
    case.spec["proxyConfig"]["apiBase"] = draw(
        st.one_of(
            st.sampled_from(
                [
                    "",
                    "ftp://x",
                    "http://",
                    "http://a b",
                    "http://x/\n",
                    "http://x/$(id) y",
                    "javascript:alert(1)",
                    "file:///etc/passwd",
                    "http://x/<script>",
                    '"http://x"',
                    "http:/x",
                    "x",
                    "http://x:1/" + "p" * 2048,
                    "http://\u00a0x",
                ]
            ),
            NON_NULL_WRONG_TYPES,
            st.text(max_size=20).filter(lambda s: not re.fullmatch(spec.API_BASE_PATTERN, s)),
        )
    )
    return "spec.proxyConfig.apiBase:"


def m_config_yaml(draw, case):
    assume(case.mode == "Proxy")
    case.spec["proxyConfig"]["configYaml"] = draw(st.one_of(BAD_CONFIG_YAMLS, NON_NULL_WRONG_TYPES))
    return "spec.proxyConfig.configYaml:"


def m_env_type(draw, case):
    case.config["env"] = draw(
        st.one_of(st.none(), st.text(max_size=5), st.dictionaries(st.text(max_size=3), st.text(max_size=3)))
    )
    return f"spec.{_config_key(case.mode)}.env:"


def m_env_item_type(draw, case):
    env, i, at = env_of(draw, case)
    env[i] = draw(st.one_of(st.none(), st.text(max_size=5), st.integers(), st.lists(st.text(max_size=3))))
    return at + ":"


def m_env_name(draw, case):
    env, i, at = env_of(draw, case)
    bad = st.one_of(
        st.sampled_from(["", "A B", "1ABC", "A=B", "A\nB", "$(id)", "ÄÖÜ", "A;B", "a/b", "A" * 257]),
        WRONG_TYPES,
        st.text(max_size=10).filter(lambda s: not re.fullmatch(spec.ENV_NAME_PATTERN, s)),
    )
    if draw(chance(SOMETIMES)):
        env[i].pop("name", None)
    else:
        env[i]["name"] = draw(bad)
    return at + ".name:"


def m_env_duplicate(draw, case):
    env, i, _ = env_of(draw, case)
    copy_ = copy.deepcopy(env[i])
    copy_.pop("value", None)
    env.insert(draw(st.integers(0, len(env))), copy_)
    return f"spec.{_config_key(case.mode)}.env:"


def m_env_too_many(draw, case):
    n = draw(st.integers(spec.MAX_ENV + 1, spec.MAX_ENV + 50))
    case.config["env"] = [{"name": f"V{i}", "value": ""} for i in range(n)]
    return f"spec.{_config_key(case.mode)}.env:"


def m_env_value(draw, case):
    env, i, at = env_of(draw, case)
    env[i].pop("valueFrom", None)
    choice = draw(st.sampled_from(["long", "nul", "type"]))
    if choice == "long":
        env[i]["value"] = draw(repeated(st.sampled_from(["x", "é", "🦙"]), spec.MAX_ENV_VALUE + 1, 200_000))
        return at + ".value:"
    if choice == "nul":
        env[i]["value"] = draw(st.text(max_size=5)) + "\x00" + draw(st.text(max_size=5))
        return at + ":"
    env[i]["value"] = draw(NON_NULL_WRONG_TYPES)
    return at + ".value:"


def m_env_both(draw, case):
    env, i, at = env_of(draw, case)
    env[i]["value"] = "x"
    env[i]["valueFrom"] = draw(ENV_SOURCES)
    return at + ":"


def m_env_source(draw, case):
    env, i, at = env_of(draw, case)
    env[i].pop("value", None)
    env[i]["valueFrom"] = draw(
        st.one_of(
            st.just({}),
            st.builds(lambda a, b: {**a, **b}, ENV_SOURCES, ENV_SOURCES).filter(lambda s: len(s) > 1),
        )
    )
    return at + ".valueFrom:"


def m_env_key_ref(draw, case):
    env, i, at = env_of(draw, case)
    env[i].pop("value", None)
    ref = draw(st.sampled_from(["secretKeyRef", "configMapKeyRef"]))
    part = draw(st.sampled_from(["name", "key"]))
    good = {"name": "s", "key": "k"}
    bad = (
        st.sampled_from(["", "Bad_Name", "a b", "../etc", "a/b", "x" * 254])
        if part == "name"
        else st.sampled_from(["", "a b", "a/b", "x" * 254, "$(id)"])
    )
    good[part] = draw(st.one_of(bad, WRONG_TYPES))
    env[i]["valueFrom"] = {ref: good}
    return f"{at}.valueFrom.{ref}.{part}:"


def m_master_key_literal(draw, case):
    env, i, at = env_of(draw, case)
    assume(all(e.get("name") != names.MASTER_KEY_ENV for j, e in enumerate(env) if j != i))
    env[i] = {"name": names.MASTER_KEY_ENV, "value": draw(st.sampled_from(["sk-1234", "", "sk-" + "a" * 40]))}
    return at + ":"


def m_ollama_reserved(draw, case):
    assume(case.mode == "Hosted")
    env, i, _ = env_of(draw, case)
    reserved = draw(st.sampled_from(names.OLLAMA_RESERVED_ENV))
    assume(all(e.get("name") != reserved for e in env))
    env[i] = {"name": reserved, "value": "/tmp"}
    return "spec.serverConfig.env:"


def m_platform_env(draw, case):
    """A proxy's entry naming, in any case, a variable the platform sets there (metrics, telemetry)."""
    assume(case.mode == "Proxy")
    platform = case.fn_input or {}
    held = []
    if (platform.get("metrics") or {}).get("enabled", True):
        held.append("PROMETHEUS_MULTIPROC_DIR")
    if platform.get("telemetry"):
        held += ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    assume(held)
    name = draw(st.sampled_from(held))
    name = draw(st.sampled_from([name, name.lower(), name.capitalize()]))
    env, i, at = env_of(draw, case)
    assume(all(e.get("name") != name for j, e in enumerate(env) if j != i))
    env[i] = {"name": name, "value": "x"}
    return f"{at}.name: {name} is set by the platform ("


def m_extra_field(draw, case):
    key = _config_key(case.mode)
    extra = draw(st.sampled_from(["typo", "apibase", "Model", "envs", "image", "command", "replicas"]))
    where = draw(st.sampled_from(["config", "env", "valueFrom"]))
    if where == "config":
        assume(extra not in case.config)
        case.config[extra] = draw(st.one_of(st.text(max_size=5), st.integers()))
        return f"spec.{key}.{extra}:"
    env, i, at = env_of(draw, case)
    if where == "env":
        env[i][extra] = "x"
        return f"{at}.{extra}:"
    env[i].pop("value", None)
    env[i]["valueFrom"] = {"secretKeyRef": {"name": "s", "key": "k"}, extra: "x"}
    return f"{at}.valueFrom.{extra}:"


def m_resources(draw, case):
    assume(case.mode == "Hosted")
    kind = draw(st.sampled_from(["limits", "requests"]))
    res = draw(st.sampled_from(["cpu", "memory", "nvidia.com/gpu"]))
    choice = draw(st.sampled_from(["quantity", "name", "type", "extra"]))
    at = "spec.serverConfig.resources"
    if choice == "quantity":
        q = draw(
            st.one_of(
                st.sampled_from(["lots", "", "1 Gi", "1gi", "1GB", "-1", "1e", "Gi", "1.2.3", "0x10", "∞", "1Gi\n"]),
                st.booleans(),
                st.lists(st.integers(), max_size=2),
            )
        )
        case.config["resources"] = {kind: {res: q}}
        return f"{at}.{kind}['{res}']:"
    if choice == "name":
        name = draw(st.sampled_from(["bad name!", "", "-cpu", "a/b/c", "UPPER.example.com/gpu", "x" * 400]))
        case.config["resources"] = {kind: {name: "1"}}
        return f"{at}.{kind}"
    if choice == "type":
        case.config["resources"] = {kind: draw(st.one_of(st.text(max_size=3), st.lists(st.integers(), max_size=2)))}
        return f"{at}.{kind}:"
    case.config["resources"] = {kind: {res: "1"}, "claims": [{"name": "x"}]}
    return f"{at}.claims:"


MUTATIONS = [
    m_metadata_missing,
    m_spec_missing,
    m_name,
    m_no_namespace,
    m_mode,
    m_config_missing,
    m_config_type,
    m_model,
    m_model_missing,
    m_api_base,
    m_config_yaml,
    m_env_type,
    m_env_item_type,
    m_env_name,
    m_env_duplicate,
    m_env_too_many,
    m_env_value,
    m_env_both,
    m_env_source,
    m_env_key_ref,
    m_master_key_literal,
    m_ollama_reserved,
    m_platform_env,
    m_extra_field,
    m_resources,
]


@st.composite
def invalid_cases(draw) -> tuple[Case, str, str]:
    case = copy.deepcopy(draw(valid_cases()))
    mutation = draw(st.sampled_from(MUTATIONS))
    prefix = mutation(draw, case)
    return case, prefix, mutation.__name__


BAD_INPUTS = st.one_of(
    st.builds(
        lambda v: ({"imagePullPolicy": v}, "input.imagePullPolicy"),
        st.one_of(st.text(max_size=8).filter(lambda v: v not in {"Always", "IfNotPresent", "Never"}), WRONG_TYPES),
    ),
    st.builds(
        lambda v: ({"images": {"ollama": v}}, "input.images.ollama"),
        st.one_of(st.sampled_from(["", "a b", "x\n", "x" * 513]), WRONG_TYPES),
    ),
    st.builds(lambda v: ({"images": v}, "input.images"), st.one_of(st.text(max_size=3), st.integers())),
    st.builds(lambda v: ({"imagePullSecrets": [v]}, "input.imagePullSecrets[0]"), st.sampled_from(["", "A", "a b"])),
    st.builds(lambda k: ({k: 1}, f"input.{k}"), st.sampled_from(["typo", "replicas", "image"])),
    st.builds(
        lambda q: ({"proxyResources": {"limits": {"cpu": q}}}, "input.proxyResources.limits['cpu']"),
        st.sampled_from(["lots", "", "1 Gi"]),
    ),
    st.builds(
        lambda r: ({"env": {"denied": ["HTTPS_PROXY", r]}}, "input.env.denied[1]"),
        st.sampled_from(["", "A?", "[AB]", "1A", "A B", "$X"]),
    ),
    st.builds(
        lambda d: ({"egress": {"dns": d[0]}}, f"input.egress.dns{d[1]}"),
        st.sampled_from(
            [
                ({"namespace": "A"}, ".namespace"),
                ({"podLabels": {"k": "a b"}}, ".podLabels['k']"),
                ({"podLabels": []}, ".podLabels"),
                ({"port": 53}, ".port"),
            ]
        ),
    ),
)


# Any JSON value, hostile strings among them: for fields and observed objects of any shape.
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(-(2**53), 2**53),
        st.text(max_size=20),
        st.sampled_from([*SHELL_HOSTILE, "Proxy", "Hosted", "smollm2:135m", "http://x", "1Gi", "-1", "team-a"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
