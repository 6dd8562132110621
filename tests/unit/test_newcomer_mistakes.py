"""The mistakes a team new to ModelAPIs makes, rendered: each gets the sentence it must, naming
the field and what to write, where the cluster would refuse it too (strict field validation, the
API server's names and versions), never a library's own words."""

import pytest
from click.testing import CliRunner

from function.compose import compose
from function.render import cli
from tests.support import ROOT
from tests.support.builders import xr
from tests.support.properties import LIBRARY_PHRASES

HEAD = "apiVersion: ethical.institute/v1alpha1\nkind: ModelAPI\nmetadata: {name: chat, namespace: team-a}\n"

MISTAKES = [
    (
        "a field one level too high",
        HEAD + "spec: {mode: Hosted, model: llama3, serverConfig: {model: llama3}}\n",
        "spec.model: not a field of a ModelAPI (its fields: mode, proxyConfig, serverConfig); "
        "did you mean proxyConfig.model or serverConfig.model?",
    ),
    (
        "a field in the wrong case",
        HEAD + "spec: {mode: Hosted, serverconfig: {model: llama3}}\n",
        "spec.serverconfig: not a field of a ModelAPI (its fields: mode, proxyConfig, serverConfig); "
        "did you mean serverConfig?",
    ),
    (
        "a mode in the wrong case",
        HEAD + "spec: {mode: hosted, serverConfig: {model: llama3}}\n",
        "spec.mode: 'hosted' is not one of Proxy, Hosted; did you mean Hosted?",
    ),
    (
        "a misspelt field inside a config",
        HEAD + "spec: {mode: Proxy, proxyConfig: {apibase: 'http://o:11434'}}\n",
        "spec.proxyConfig.apibase: not a field here (the fields here: apiBase, configYaml, env, model, replicas, "
        "resources); did you mean apiBase?",
    ),
    (
        "replicas as a string",
        HEAD + "spec: {mode: Proxy, proxyConfig: {apiBase: 'http://o:11434', replicas: '2'}}\n",
        "spec.proxyConfig.replicas: must be a whole number, not a string",
    ),
    (
        "a name with capitals",
        HEAD.replace("name: chat", "name: Chat") + "spec: {mode: Hosted, serverConfig: {model: llama3}}\n",
        "metadata.name: 'Chat' is not a name the API server takes",
    ),
    (
        "a version we do not serve",
        HEAD.replace("v1alpha1", "v1") + "spec: {mode: Hosted, serverConfig: {model: llama3}}\n",
        "apiVersion: ethical.institute/v1 is not served: this API is ethical.institute/v1alpha1",
    ),
    (
        "a config given as a mapping, not as text",
        HEAD + "spec: {mode: Proxy, proxyConfig: {configYaml: {model_list: []}}}\n",
        "spec.proxyConfig.configYaml: must be a string holding the LiteLLM config",
    ),
    (
        "a config whose YAML breaks, told at the line of the file",
        HEAD
        + "spec:\n  mode: Proxy\n  proxyConfig:\n    configYaml: |\n      model_list:\n"
        + "        - model_name: x\n          litellm_params: {model: openai/gpt-4o, api_key: sk-1: 2}\n",
        "spec.proxyConfig.configYaml: not valid YAML: a [list] or {mapping} that is not closed "
        "(line 10 of standard input, column 63)",
    ),
    (
        "a file that is not YAML at all",
        HEAD + "spec:\n  mode: Proxy\n   proxyConfig: {apiBase: 'http://o:11434'}\n",
        "-: not valid YAML: a ':' where no mapping can start",
    ),
    (
        "an env entry as a bare string",
        HEAD + "spec: {mode: Proxy, proxyConfig: {apiBase: 'http://o:11434', env: [OPENAI_API_KEY]}}\n",
        "spec.proxyConfig.env[0]: must be a mapping (key: value), not a string",
    ),
]


@pytest.mark.parametrize(("text", "message"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_newcomers_mistake_is_told_in_a_sentence(text, message):
    out = CliRunner().invoke(cli, ["-"], input=text)
    assert out.exit_code == 1, out.output
    assert out.output.startswith(f"error: {message}"), out.output
    assert not [p for p in LIBRARY_PHRASES if p in out.output], out.output


def test_crossplanes_own_fields_under_spec_are_taken():
    text = HEAD + "spec: {mode: Hosted, serverConfig: {model: llama3}, crossplane: {compositionRef: {name: x}}}\n"
    out = CliRunner().invoke(cli, ["-"], input=text)
    assert out.exit_code == 0, out.output


def test_every_example_in_the_help_renders(monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name the checkout's files
    help_text = CliRunner().invoke(cli, ["--help"]).output
    examples = [line.split()[2:] for line in help_text.splitlines() if line.strip().startswith("bash hack/render.sh")]
    assert len(examples) == 3, help_text
    for args in examples:
        out = CliRunner().invoke(cli, args)
        assert out.exit_code == 0, (args, out.output[-500:])
    assert "tests/fixtures/observed/" in help_text


# Setups that start but cannot serve: composed, with a note in the status saying what to add.
NOTES = [
    (
        "a provider model without its key",
        {"mode": "Proxy", "proxyConfig": {"model": "anthropic/claude-3-5-sonnet-20241022"}},
        "spec.proxyConfig.model: anthropic/claude-3-5-sonnet-20241022 is served by anthropic, which LiteLLM "
        "calls with the key in ANTHROPIC_API_KEY: add ANTHROPIC_API_KEY to spec.proxyConfig.env from a Secret",
    ),
    (
        "an OpenAI model at OpenAI without its key",
        {"mode": "Proxy", "proxyConfig": {"apiBase": "https://api.openai.com", "model": "gpt-4o-mini"}},
        "spec.proxyConfig.model: gpt-4o-mini is served by openai, which LiteLLM calls with the key in OPENAI_API_KEY",
    ),
    (
        "an env entry with a name alone",
        {"mode": "Proxy", "proxyConfig": {"apiBase": "http://o:11434", "env": [{"name": "OPENAI_API_KEY"}]}},
        "spec.proxyConfig.env[0] (OPENAI_API_KEY): neither value nor valueFrom, so set empty",
    ),
    (
        "a Hosted env entry with a name alone",
        {"mode": "Hosted", "serverConfig": {"model": "llama3", "env": [{"name": "OLLAMA_KEEP_ALIVE"}]}},
        "spec.serverConfig.env[0] (OLLAMA_KEEP_ALIVE): neither value nor valueFrom, so set empty",
    ),
]


@pytest.mark.parametrize(("spec", "note"), [n[1:] for n in NOTES], ids=[n[0] for n in NOTES])
def test_a_setup_that_cannot_serve_is_composed_with_a_note_saying_what_to_add(spec, note):
    out = compose(xr(spec), None, {})
    assert note in out.status["message"], out.status["message"]


def test_a_provider_model_with_its_key_gets_no_note():
    env = [{"name": "ANTHROPIC_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}]
    spec = {"mode": "Proxy", "proxyConfig": {"model": "anthropic/claude-3-5-sonnet-20241022", "env": env}}
    assert "ANTHROPIC_API_KEY" not in compose(xr(spec), None, {}).status["message"]


@pytest.mark.parametrize(
    ("count", "named"),
    [
        (1, "spec.proxyConfig.env[0] (E0)"),
        (3, "spec.proxyConfig.env[0] (E0), spec.proxyConfig.env[1] (E1), spec.proxyConfig.env[2] (E2)"),
        (4, "spec.proxyConfig.env[0] (E0), spec.proxyConfig.env[1] (E1), spec.proxyConfig.env[2] (E2) and 1 more"),
        (6, "spec.proxyConfig.env[0] (E0), spec.proxyConfig.env[1] (E1), spec.proxyConfig.env[2] (E2) and 3 more"),
    ],
)
def test_empty_env_entries_are_named_three_at_most_in_one_note(count, named):
    env = [{"name": f"E{i}"} for i in range(count)] + [{"name": "SET", "value": ""}]
    spec = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://o:11434", "env": env}}
    note = f"{named}: neither value nor valueFrom, so set empty; give it a value, or valueFrom.secretKeyRef for a key"
    message = compose(xr(spec), None, {}).status["message"]
    assert note in message
    assert "(SET)" not in message  # a value, even empty, is a value
