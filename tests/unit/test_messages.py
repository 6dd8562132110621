"""Messages a team reads: a value that misses its pattern is told what was expected, with an
example, never the regex; a quantity gets one message, not one per member of its union; an XR
of a kind we do not compose says which kinds we do."""

import re

import pytest
import yaml

from function import names, spec
from function.compose import compose
from function.spec import EXPECTED, SpecError, parse_input
from tests.support import ROOT, xrd_check
from tests.support.builders import HOSTED, PROXY, with_, xr

ENV_AT = "spec.proxyConfig.env[0]"


def _ref(kind: str, name: str, key: str) -> list[dict]:
    return [{"name": "A", "valueFrom": {kind: {"name": name, "key": key}}}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            with_(PROXY, "proxyConfig.apiBase", "ftp://x"),
            "spec.proxyConfig.apiBase: must be an http(s) URL such as http://ollama.ollama.svc:11434",
        ),
        (
            with_(PROXY, "proxyConfig.model", "gpt 4"),
            "spec.proxyConfig.model: must be a model name such as smollm2:135m or ollama/smollm2:135m "
            "(letters, digits and ._:/@+-, starting with a letter or digit)",
        ),
        (with_(HOSTED, "serverConfig.model", "-rf"), "spec.serverConfig.model: must be a model name such as"),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "1A"}]),
            f"{ENV_AT}.name: must be an environment variable name such as OPENAI_API_KEY",
        ),
        (
            with_(PROXY, "proxyConfig.env", _ref("secretKeyRef", "A_B", "k")),
            f"{ENV_AT}.valueFrom.secretKeyRef.name: must be a Secret or ConfigMap name such as llm-secrets",
        ),
        (
            with_(PROXY, "proxyConfig.env", _ref("configMapKeyRef", "c", "..k")),
            f"{ENV_AT}.valueFrom.configMapKeyRef.key: must be a key in the Secret or ConfigMap such as api-key",
        ),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.x"}}}]),
            f"{ENV_AT}.valueFrom.fieldRef.fieldPath: must be a pod field a container's env can read",
        ),
        (
            with_(HOSTED, "serverConfig.resources", {"limits": {"bad name!": "1"}}),
            "spec.serverConfig.resources.limits['bad name!']: must be a resource name such as memory, cpu or "
            "nvidia.com/gpu",
        ),
    ],
    ids=["api-base", "proxy-model", "server-model", "env-name", "secret-name", "data-key", "field-path", "resource"],
)
def test_a_value_that_misses_its_pattern_is_told_what_was_expected(spec, message):
    with pytest.raises(SpecError) as err:
        compose(xr(spec), None, {})
    assert str(err.value).startswith(message), str(err.value)
    assert "pattern" not in str(err.value)
    assert "^" not in str(err.value)


@pytest.mark.parametrize("value", ["lots", "1.5.5", "-1x", [1], True, {"a": 1}], ids=repr)
def test_a_bad_quantity_gets_one_message(value):
    spec = with_(HOSTED, "serverConfig.resources", {"limits": {"memory": value}})
    with pytest.raises(SpecError) as err:
        compose(xr(spec), None, {})
    assert str(err.value) == "spec.serverConfig.resources.limits['memory']: must be a quantity such as 500m, 2Gi or 1"


def test_a_bad_key_and_a_bad_quantity_each_get_their_own_message():
    spec = with_(HOSTED, "serverConfig.resources", {"limits": {"memory": "lots", "bad name!": "1"}})
    with pytest.raises(SpecError) as err:
        compose(xr(spec), None, {})
    assert str(err.value) == (
        "spec.serverConfig.resources.limits['memory']: must be a quantity such as 500m, 2Gi or 1; "
        "spec.serverConfig.resources.limits['bad name!']: must be a resource name such as memory, cpu or nvidia.com/gpu"
    )


@pytest.mark.parametrize(
    ("fn_input", "message"),
    [
        ({"imagePullSecrets": ["Reg Cred"]}, "input.imagePullSecrets[0]: must be a Secret or ConfigMap name"),
        ({"images": {"litellm": "a b"}}, "input.images.litellm: must be an image reference without spaces"),
        ({"networkPolicy": {"allowNamespaces": ["A"]}}, "input.networkPolicy.allowNamespaces[0]: must be a namespace"),
        (
            {"proxyResources": {"requests": {"memory": "x"}}},
            "input.proxyResources.requests['memory']: must be a quantity",
        ),
        (
            {"env": {"denied": ["HTTP?PROXY"]}},
            "input.env.denied[0]: must be an environment variable name or a pattern with *, such as HTTPS_PROXY",
        ),
        (
            {"egress": {"dns": {"namespace": "Kube-System"}}},
            "input.egress.dns.namespace: must be a namespace name such as team-a",
        ),
    ],
    ids=["pull-secret", "image", "namespace", "quantity", "env-rule", "dns-namespace"],
)
def test_the_function_input_gets_the_same_sentences(fn_input, message):
    with pytest.raises(SpecError) as err:
        parse_input(fn_input)
    assert str(err.value).startswith(f"function input {message}"), str(err.value)


def test_every_pattern_of_the_spec_has_a_sentence():
    """A pattern added to spec.py without a sentence would print its regex again."""
    patterns = {v for k, v in vars(spec).items() if k.endswith("_PATTERN") and not k.startswith("_")}
    assert patterns - set(EXPECTED) == set()
    assert all("such as" in sentence for sentence in EXPECTED.values())


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "ConfigMap"},
            "kind: 'ConfigMap' is not composed by function-modelapi; it composes ModelAPI and XModelAPI",
        ),
        (
            {"apiVersion": names.API_VERSION, "kind": "Foo"},
            "kind: 'Foo' is not composed by function-modelapi; it composes ModelAPI and XModelAPI",
        ),
        (
            {"apiVersion": "apiextensions.crossplane.io/v1", "kind": "ModelAPI"},
            "apiVersion: 'apiextensions.crossplane.io/v1' is not composed by function-modelapi; "
            "it composes ethical.institute/v1alpha1",
        ),
        ({"apiVersion": [], "kind": "ModelAPI"}, "apiVersion: [] is not composed by function-modelapi"),
    ],
    ids=["configmap", "unknown-kind", "other-group", "not-a-string"],
)
def test_an_xr_of_another_kind_is_refused_naming_the_kinds_we_compose(head, message):
    composite = {**xr(PROXY), **head}
    with pytest.raises(SpecError) as err:
        compose(composite, None, {})
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize(
    "head",
    [
        {"apiVersion": names.API_VERSION, "kind": "ModelAPI"},
        {"apiVersion": names.API_VERSION, "kind": "XModelAPI", "metadata": {"name": "x", "namespace": "team-a"}},
        # Hand-written requests and offline tools may leave them out: nothing present is wrong.
        {},
    ],
    ids=["modelapi", "xmodelapi", "neither"],
)
def test_our_kinds_and_an_xr_without_a_kind_are_composed(head):
    composite = {k: v for k, v in xr(PROXY).items() if k not in ("apiVersion", "kind")}
    composite.update(head)
    assert compose(composite, None, {}).status["phase"] == "Pending"


# --- The same sentences at admission, and what `kubectl explain` and `get -o wide` show -------


@pytest.mark.parametrize(
    ("spec", "path", "sentence"),
    [
        (with_(PROXY, "proxyConfig.apiBase", "ftp://x"), ".spec.proxyConfig.apiBase", EXPECTED[spec.API_BASE_PATTERN]),
        (with_(PROXY, "proxyConfig.model", "gpt 4"), ".spec.proxyConfig.model", EXPECTED[spec.MODEL_PATTERN]),
        (with_(HOSTED, "serverConfig.model", "$(id)"), ".spec.serverConfig.model", EXPECTED[spec.MODEL_PATTERN]),
        (
            with_(HOSTED, "serverConfig.env", [{"name": "1A"}]),
            ".spec.serverConfig.env[0].name",
            EXPECTED[spec.ENV_NAME_PATTERN],
        ),
        (
            with_(PROXY, "proxyConfig.env", _ref("secretKeyRef", "A_B", "k")),
            ".spec.proxyConfig.env[0].valueFrom.secretKeyRef.name",
            EXPECTED[spec.OBJECT_NAME_PATTERN],
        ),
    ],
    ids=["api-base", "proxy-model", "server-model", "env-name", "secret-name"],
)
@pytest.mark.parametrize("flavour", ["v2", "claims"])
def test_admission_gives_the_functions_sentence_where_a_pattern_fails(flavour, spec, path, sentence):
    # The API server runs the rules beside the schema's pattern (only type errors stop them).
    assert xrd_check._cel_errors(xrd_check.schema(flavour), xr(spec), "") == [f"{path}: {sentence}"]


@pytest.mark.parametrize(
    ("value", "errors"), [("lots", [f": {EXPECTED[spec.QUANTITY_PATTERN]}"]), ("2Gi", []), (2, [])]
)
@pytest.mark.parametrize("kind", ["requests", "limits"])
def test_admission_gives_one_sentence_for_a_bad_quantity_string_and_takes_integers(kind, value, errors):
    """A map's values, which tests/xrd_check.py does not walk: the int-or-string node's rule itself."""
    resources = xrd_check.schema("v2")["properties"]["spec"]["properties"]["serverConfig"]["properties"]["resources"]
    assert xrd_check._cel_errors(resources["properties"][kind]["additionalProperties"], value, "") == errors


@pytest.mark.parametrize("flavour", ["v2", "claims"])
def test_good_values_pass_the_pattern_rules(flavour):
    spec_ = with_(HOSTED, "serverConfig.resources", {"limits": {"memory": "8Gi", "cpu": 4, "nvidia.com/gpu": "1"}})
    spec_ = with_(spec_, "serverConfig.env", [{"name": "OLLAMA_DEBUG", "value": "false"}])
    assert xrd_check._cel_errors(xrd_check.schema(flavour), xr(spec_), "") == []


def _undescribed(node: dict, path: str) -> list[str]:
    missing = [] if node.get("description") else [path]
    for key, child in node.get("properties", {}).items():
        missing += _undescribed(child, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        missing += _undescribed(node["items"], f"{path}[]")
    return missing


@pytest.mark.parametrize("flavour", ["v2", "claims"])
def test_kubectl_explain_has_a_description_for_every_field(flavour):
    root = xrd_check.schema(flavour)["properties"]
    # A list's items are described by the list; a field under them has its own.
    missing = [p for p in _undescribed(root["spec"], "spec") + _undescribed(root["status"], "status") if p[-2:] != "[]"]
    assert missing == []


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (("spec", "mode"), "Required"),
        (("spec", "proxyConfig", "apiBase"), "http://host.docker.internal:11434"),
        (("spec", "proxyConfig", "model"), "ollama/smollm2:135m"),
        (("spec", "serverConfig", "model"), "smollm2:135m"),
        (("spec", "serverConfig", "resources"), "nvidia.com/gpu"),
        (("status", "phase"), "Pending"),
        (("status", "message"), "-o wide"),
    ],
)
def test_descriptions_carry_the_specs_examples(path, says):
    node = {"properties": xrd_check.schema("v2")["properties"]}
    for key in path:
        node = node["properties"][key]
    assert says in node["description"]


@pytest.mark.parametrize("flavour", ["v2", "claims"])
def test_get_o_wide_shows_the_status_message(flavour):
    xrd = yaml.safe_load(xrd_check.XRDS[flavour].read_text())
    columns = xrd["spec"]["versions"][0]["additionalPrinterColumns"]
    assert {"name": "MESSAGE", "type": "string", "jsonPath": ".status.message", "priority": 1} in columns
    # The default view stays as it was: every other column has no priority.
    assert [c["name"] for c in columns if "priority" not in c] == ["MODE", "PHASE", "SERVING", "ENDPOINT"]


def test_the_packages_readme_names_every_install_step_of_the_readme():
    readme = (ROOT / "README.md").read_text()
    install = readme.split("## Install into a cluster", 1)[1].split("\n## ", 1)[0]
    files = set(re.findall(r"-f (\S+\.yaml)", install))
    assert {"install/rbac.yaml", "xrds/modelapi.yaml", "compositions/modelapi.yaml"} <= files
    package = yaml.safe_load((ROOT / "package/crossplane.yaml").read_text())
    steps = package["metadata"]["annotations"]["meta.crossplane.io/readme"]
    assert sorted(f for f in files if f not in steps) == []
    assert "crossplane xpkg install function" in steps


def _refused(spec: dict, fn_input: dict | None = None) -> str:
    with pytest.raises(SpecError) as err:
        compose(xr(spec), fn_input, {})
    return str(err.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            with_(PROXY, "proxyConfig.configYaml", 42),
            "spec.proxyConfig.configYaml: must be a string holding the LiteLLM config",
        ),
        # Past the pattern (a port, no host): urlsplit finds no hostname.
        (with_(PROXY, "proxyConfig.apiBase", "http://:8080"), "spec.proxyConfig.apiBase: not a valid URL: no host"),
        # A map's key of the wrong type is told about the key, not given the quantity's sentence.
        (
            with_(HOSTED, "serverConfig.resources", {"limits": {7: "1"}}),
            "spec.serverConfig.resources.limits[7]: must be a string, not 7",
        ),
        (
            with_(HOSTED, "serverConfig.profile", "gpu"),
            "spec.serverConfig.profile: no profile gpu; the platform offers: none",
        ),
    ],
    ids=["config-not-a-string", "url-without-host", "key-not-a-string", "no-profiles"],
)
def test_each_refusal_is_one_sentence_naming_the_field(spec, message):
    assert _refused(spec) == message


def test_at_most_three_problems_are_told_at_once():
    env = [{"name": f"{i}BAD"} for i in range(4)]
    told = _refused(with_(PROXY, "proxyConfig.env", env)).split("; ")
    assert [m.split(":")[0] for m in told] == [f"spec.proxyConfig.env[{i}].name" for i in range(3)]


def test_a_default_profile_the_platform_does_not_offer_lists_none():
    with pytest.raises(SpecError) as err:
        parse_input({"defaultProfile": "gpu"})
    assert str(err.value) == "function input input.defaultProfile: gpu is not one of profiles (none)"


def test_the_verdict_read_off_the_event_loop_is_the_one_used():
    """The server reads a large configYaml in a worker and hands compose its verdict: compose must
    take it, not read the text again on the event loop."""
    config = "model_list:\n  - model_name: fast\n    litellm_params:\n      model: ollama/smollm2:135m\n"
    verdict = spec.litellm_config.ConfigError("refused by the worker")
    with pytest.raises(SpecError) as err:
        compose(xr(with_(PROXY, "proxyConfig.configYaml", config)), None, {}, configs={config: verdict})
    assert str(err.value) == "spec.proxyConfig.configYaml: refused by the worker"


def test_extended_resources_are_those_of_a_domain_other_than_kubernetes_ios():
    limits = {"cpu": "1", "nvidia.com/gpu": 1, "example.com/fpga": 1, "kubernetes.io/x": 1, "a.kubernetes.io/y": 1}
    assert spec.Resources(limits=limits).extended() == ["example.com/fpga", "nvidia.com/gpu"]
