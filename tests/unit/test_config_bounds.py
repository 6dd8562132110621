"""Bounded work for an untrusted configYaml: a corpus of texts shaped to be costly, each refused
with a fatal naming `spec.proxyConfig.configYaml`, and a property over generated deep, wide and
unclosed texts: PyYAML's pure-Python parser (quadratic in flow nesting) never works on more
than the bounds let through.

How long each class takes to answer, and what it does to other calls, is measured in the
benchmark's hostile table (`python -m benchmarks.run`), not here."""

import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from function import litellm_config, lru, sandbox
from function.compose import compose
from function.spec import SpecError
from tests.support.builders import xr
from tests.support.commands import render

FIELD = "spec.proxyConfig.configYaml: "
MODELS = "model_list: [{model_name: m, litellm_params: {model: m}}]\n"
N = litellm_config.MAX_BYTES


def fill(unit: str, head: str = "", tail: str = "", size: int = N) -> str:
    """head + unit repeated + tail, as long as fits in size bytes."""
    return head + unit * ((size - len(head.encode()) - len(tail.encode())) // len(unit.encode())) + tail


# Each at the admitted size (or as costly as it gets below it), none a config LiteLLM could use.
HOSTILE = {
    "unclosed flow sequences": "[" * N,
    "unclosed flow mappings": "{" * N,
    "unclosed, after a valid config": MODELS + "x: " + "[" * (N - 100),
    "nested flow sequences": "[" * (N // 2) + "]" * (N // 2),
    "nested flow mappings": fill("{a: ", size=N // 2) + "}" * (N // 8),
    "nested block mappings": "".join(" " * i + "a:\n" for i in range(350)),
    "nested block sequences": "".join(" " * i + "- \n" for i in range(350)) + " " * 350 + "a\n",
    "nested inline block sequences": MODELS + "x: " + "- " * 5000 + "a\n",
    "nested in a model entry": "model_list:\n- model_name: m\n  litellm_params: {model: m, x: "
    + "[" * 40
    + "]" * 40
    + "}\n",
    "deep indentation": fill("a:\n", head=MODELS + "x:\n" + " " * 30_000),
    "wide flow list": fill("1,", head=MODELS + "x: [", tail="1]\n"),
    "wide block list": fill("- 1\n", head=MODELS + "x:\n"),
    "wide flow mapping of keys without values": fill("a,", head=MODELS + "x: {", tail="a}\n"),
    "many keys": MODELS + "".join(f"k{i}: v\n" for i in range(N // 10)),
    "many top-level lists": fill("- - - - - - - - a\n", head=MODELS + "x:\n"),
    "many question marks": fill("? a, ", head=MODELS + "x: [", tail="a]\n"),
    "complex block keys": fill("? [a, b]\n: c\n", head=MODELS),
    "complex flow keys": MODELS + "x: {" + ",".join(f"[{i}]: 1" for i in range(5000)) + "}\n",
    "a key longer than YAML allows": MODELS + "a" * (N - 100) + ": 1\n",
    "long scalar, no model_list": "x: " + "a" * (N - 10) + "\n",
    "long escapes, no model_list": fill("\\x41", head='x: "', tail='"\n'),
    "long single-quoted escapes, no model_list": fill("''", head="x: '", tail="'\n"),
    "tags the safe loader refuses": fill("- !foo a\n", head=MODELS + "x:\n", size=N // 2),
    "many tags": fill("!!str a,", head=MODELS + "x: [", tail="a]\n"),
    "many documents": fill("---\na: 1\n", head=MODELS),
    "many document ends": fill("...\n"),
    "many directives": fill("%TAG !a! tag:a,2000:\n") + "---\n",
    "many anchors": fill("- &a 1\n", head=MODELS + "x:\n"),
    "an alias bomb": "\n".join(
        ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
        + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 20)]
        + ["model_list: [{model_name: m, litellm_params: {model: m}}]"]
    ),
    "tabs in flow": fill("\t1,", head=MODELS + "x: [", tail="1]\n"),
    "one byte over": MODELS + "#" + "x" * (N - len(MODELS)) + "\n",
    "multi-byte characters over": MODELS + "#" + "é" * (N // 2),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_text_shaped_to_be_costly_is_refused_naming_the_field(text):
    spec = {"mode": "Proxy", "proxyConfig": {"configYaml": text}}
    with pytest.raises(SpecError) as err:
        compose(xr(spec), None, {})
    assert str(err.value).startswith(FIELD), str(err.value)[:200]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 33 + "]" * 33, "nested too deeply: more than 32 levels"),
        (MODELS + "x:\n" + "- 1\n" * litellm_config.MAX_NODES, f"more than {litellm_config.MAX_NODES} YAML nodes"),
        (MODELS + "? [a]\n: b\n", "a mapping key must be a plain value, not a list or mapping (line 2, column 3)"),
        (MODELS + "a: &x 1\nb: *x\n", "YAML anchors and aliases are not supported"),
        (MODELS + "#" * N, f"longer than {N} bytes"),
    ],
)
def test_each_bound_says_which_it_is(text, reason):
    verdict = litellm_config.verdict(text)
    assert isinstance(verdict, litellm_config.ConfigError)
    assert str(verdict).startswith(reason), str(verdict)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 32 + "]" * 32,  # as deep as allowed: not a config, but not refused for its depth
        MODELS + "x: [" + "1," * (litellm_config.MAX_NODES - 20) + "1]\n",
    ],
)
def test_a_text_within_the_bounds_is_read_by_pyyaml(text):
    verdict = litellm_config.verdict(text)
    assert not str(verdict).startswith(("nested too deeply", "more than")), verdict


def test_the_largest_valid_config_is_accepted():
    entry = (
        "- model_name: model-{i}\n  litellm_params:\n    model: openai/gpt-4o-mini\n"
        "    api_base: https://api.example.com/v1\n    api_key: os.environ/OPENAI_API_KEY\n    rpm: 100\n"
    )
    text = "model_list:\n"
    i = 0
    while len((text + entry.format(i=i)).encode()) <= N:
        text, i = text + entry.format(i=i), i + 1
    assert N - len(text.encode()) < len(entry) + 8
    verdict = litellm_config.verdict(text)
    assert isinstance(verdict, litellm_config.Facts)
    assert (verdict.master_key_env, verdict.env_refs) == (None, ("OPENAI_API_KEY",))
    assert verdict.api_bases == tuple((n, "https://api.example.com/v1") for n in range(i))


def test_render_answers_a_costly_file_with_the_fields_error(tmp_path):
    path = tmp_path / "xr.yaml"
    spec = {"mode": "Proxy", "proxyConfig": {"configYaml": "[" * 20_000}}
    path.write_text(yaml.safe_dump(xr(spec)))
    done = render(str(path))
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {FIELD}nested too deeply"), done.stderr


def test_a_reading_past_its_cpu_budget_is_refused_naming_the_field_and_retried_later():
    text = MODELS + "x: [" + "1," * (litellm_config.MAX_NODES - 20) + "1]\n"
    verdict = sandbox.verdict_now(text, cpu_budget=0.001)
    assert isinstance(verdict, litellm_config.ConfigError)
    assert str(verdict).startswith("could not be read within"), verdict
    spec = {"mode": "Proxy", "proxyConfig": {"configYaml": text}}
    with pytest.raises(SpecError, match=f"^{FIELD}could not be read within"):
        compose(xr(spec), None, {}, configs={text: verdict})
    # An overrun may be the machine's fault: it is kept for a while, then read again.
    key = litellm_config.digest(text)
    assert litellm_config.VERDICTS.get(key) == verdict
    later = time.monotonic() + sandbox.OVERRUN_TTL + 1
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(lru.time, "monotonic", lambda: later)
        assert litellm_config.VERDICTS.get(key) is None
    assert isinstance(sandbox.verdict_now(text), litellm_config.Facts)


# --------------------------------------------------------------------------------------------
# The property: what reaches PyYAML's pure-Python parser stays within the bounds
# --------------------------------------------------------------------------------------------

OPEN = st.sampled_from(["[", "{", "{a: ", "- ", "? ", "a:\n", "[a, ", "{a: [", "!!seq [", "&x ["])
CLOSE = st.sampled_from(["]", "}", "]}", "", "\n", ", 1]", "}]"])


@st.composite
def deep_texts(draw) -> str:
    """Texts of nested, unclosed, wide and indented structure, with or without a valid config."""
    depth = draw(st.integers(0, 3000))
    opener = draw(st.lists(OPEN, min_size=1, max_size=4).map("".join))
    closer = draw(st.one_of(st.just(""), st.lists(CLOSE, min_size=1, max_size=3).map("".join)))
    body = opener * depth + draw(st.sampled_from(["", "a", "1", "a: b"])) + closer * draw(st.integers(0, depth))
    if draw(st.booleans()):
        width = draw(st.integers(0, 20_000))
        body += (
            "\n"
            + draw(st.sampled_from(["x: [", "y: {", "z:\n"]))
            + draw(st.sampled_from(["1,", "a,", "- 1\n ", "? a, ", "k: v, "])) * width
        )
    if draw(st.booleans()):
        body = " " * draw(st.integers(0, 5000)) + body
    text = (MODELS if draw(st.booleans()) else "") + body
    return text[: litellm_config.MAX_BYTES]


class _Watched:
    """PyYAML's scanner, watched: the deepest flow and block nesting it reaches, and how many
    tokens it makes. Its cost grows with tokens times flow depth."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.depth = self.tokens = 0
        fetch = yaml.scanner.Scanner.fetch_more_tokens
        watched = self

        def fetch_more_tokens(scanner: yaml.scanner.Scanner) -> None:
            watched.depth = max(watched.depth, scanner.flow_level + len(scanner.indents))
            watched.tokens += 1
            fetch(scanner)

        monkeypatch.setattr(yaml.scanner.Scanner, "fetch_more_tokens", fetch_more_tokens)


@settings(max_examples=150, deadline=None)
@given(deep_texts())
def test_the_pure_parser_never_works_past_the_bounds(text):
    with pytest.MonkeyPatch.context() as monkeypatch:
        watched = _Watched(monkeypatch)
        verdict = litellm_config.verdict(text)
    assert watched.depth <= litellm_config.MAX_DEPTH + 2, (watched.depth, verdict)
    # Two tokens a node at most, and a few for the stream and document.
    assert watched.tokens <= 4 * litellm_config.MAX_NODES, (watched.tokens, verdict)
