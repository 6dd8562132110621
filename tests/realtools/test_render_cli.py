"""`python -m function render` as a newcomer meets it: every file argument's problem in one
line naming the file, multi-document files as kubectl takes them, other kinds refused,
standard input, its help, and the same bytes on every run."""

import base64
import os
import subprocess
import sys

import pytest
import yaml

from function import client, names
from tests.support import EXAMPLES, ROOT
from tests.support.commands import render

DEV = EXAMPLES / "dev-ollama/xr.yaml"
MODELAPI = DEV.read_text()
SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: team-a}\nstringData: {k: v}\n"


def failed_with(out: subprocess.CompletedProcess, line: str) -> None:
    assert (out.returncode, out.stdout) == (1, ""), out
    assert out.stderr.startswith(f"error: {line}"), out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr


BAD_FILES = {
    "invalid-yaml": ("metadata: {name: [\n", "not valid YAML"),
    "empty": ("", None),
    "a-list": ("- mode: Proxy\n", "document 1 must be a Kubernetes object (a YAML mapping), not a list"),
    "a-scalar": ("just text\n", "document 1 must be a Kubernetes object (a YAML mapping), not a str"),
}
EMPTY_SAYS = {
    "xr": "holds no ModelAPI or XModelAPI of ethical.institute/v1alpha1 (found: nothing)",
    "input": "must hold one function input (kind Input) or Composition; no (found: nothing)",
    "observed": "holds no objects",
}


@pytest.mark.parametrize("argument", ["xr", "input", "observed"])
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_in_any_argument_is_one_line_naming_it(tmp_path, argument, case):
    text, says = BAD_FILES[case]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    args = {"xr": [str(bad)], "input": [str(DEV), "-i", str(bad)], "observed": [str(DEV), "-o", str(bad)]}[argument]
    failed_with(render(*args), f"{bad}: {says or EMPTY_SAYS[argument]}")


@pytest.mark.parametrize("argument", ["xr", "input", "observed"])
def test_a_missing_file_in_any_argument_is_one_line_naming_it(tmp_path, argument):
    gone = tmp_path / "gone.yaml"
    args = {"xr": [str(gone)], "input": [str(DEV), "-i", str(gone)], "observed": [str(DEV), "-o", str(gone)]}
    failed_with(render(*args[argument]), f"{gone}: cannot read it: No such file or directory")


def test_a_directory_as_the_xr_is_one_line(tmp_path):
    failed_with(render(str(tmp_path)), f"{tmp_path}: cannot read it: Is a directory")


def modelapi(name: str) -> str:
    doc = yaml.safe_load(MODELAPI)
    doc["metadata"]["name"] = name
    return yaml.safe_dump(doc)


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        (MODELAPI + "---\n", ["dev-ollama"]),
        ("---\n" + MODELAPI, ["dev-ollama"]),
        (SECRET + "---\n" + MODELAPI, ["dev-ollama"]),
        (modelapi("first") + "---\n" + SECRET + "---\n" + modelapi("second"), ["first", "second"]),
    ],
    ids=["trailing-separator", "leading-separator", "a-secret-beside-it", "two-in-order"],
)
def test_every_modelapi_of_a_file_is_rendered_in_order(tmp_path, text, rendered):
    (tmp_path / "xr.yaml").write_text(text)
    out = render(str(tmp_path / "xr.yaml"))
    assert out.returncode == 0, out.stderr
    docs = list(yaml.safe_load_all(out.stdout))
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "ModelAPI"] == rendered
    assert "Secret" not in [d["kind"] for d in docs if d["metadata"]["name"] == "s"]
    # Each ModelAPI's own objects follow its head, as separate YAML documents.
    heads = [i for i, d in enumerate(docs) if d["kind"] == "ModelAPI"]
    assert heads[0] == 0 and len(docs) == 5 * len(rendered), [d["kind"] for d in docs]


def test_a_bad_spec_among_several_names_its_modelapi(tmp_path):
    bad = yaml.safe_load(modelapi("broken"))
    bad["spec"]["proxyConfig"]["apiBase"] = "ftp://x"
    (tmp_path / "xr.yaml").write_text(modelapi("good") + "---\n" + yaml.safe_dump(bad))
    failed_with(render(str(tmp_path / "xr.yaml")), "ModelAPI broken: spec.proxyConfig.apiBase: must be an http(s) URL")


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (
            "compositions/modelapi.yaml",
            "holds no ModelAPI or XModelAPI of ethical.institute/v1alpha1 (found: Composition)",
        ),
        ("xrds/modelapi.yaml", "(found: CompositeResourceDefinition)"),
    ],
)
def test_a_file_of_other_kinds_says_no_modelapi_is_there(path, says):
    out = render(path)
    assert (out.returncode, out.stdout) == (1, ""), out
    assert out.stderr.startswith(f"error: {path}: holds no ModelAPI") and says in out.stderr, out.stderr


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (
            "apiVersion: v1\nkind: ConfigMap\n",
            "holds no ModelAPI or XModelAPI of ethical.institute/v1alpha1 (found: ConfigMap)",
        ),
        (
            f"apiVersion: {names.API_VERSION}\nkind: Foo\n",
            "holds no ModelAPI or XModelAPI of ethical.institute/v1alpha1 (found: Foo)",
        ),
        (
            "apiVersion: example.org/v1\nkind: ModelAPI\n",
            "apiVersion: 'example.org/v1' is not composed by function-modelapi",
        ),
        ("kind: ModelAPI\n", "apiVersion: missing; a ModelAPI is ethical.institute/v1alpha1"),
    ],
    ids=["configmap", "unknown-kind", "other-group", "no-api-version"],
)
def test_a_document_of_another_kind_or_group_is_refused(tmp_path, head, says):
    spec = "metadata: {name: m, namespace: team-a}\nspec: {mode: Proxy, proxyConfig: {apiBase: 'http://x:1'}}\n"
    (tmp_path / "xr.yaml").write_text(head + spec)
    failed_with(render(str(tmp_path / "xr.yaml")), f"{tmp_path / 'xr.yaml'}: {says}")


def test_an_input_file_of_another_kind_or_a_bad_field_names_the_file(tmp_path):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (tmp_path / "in.yaml").write_text(
        f"apiVersion: {names.INPUT_API_VERSION}\nkind: Input\nimagePullPolicy: Sometimes\n"
    )
    failed_with(
        render(str(DEV), "-i", str(tmp_path / "cm.yaml")),
        f"{tmp_path / 'cm.yaml'}: must hold one function input (kind Input) or Composition; no (found: ConfigMap)",
    )
    failed_with(
        render(str(DEV), "-i", str(tmp_path / "in.yaml")),
        f"{tmp_path / 'in.yaml'}: function input input.imagePullPolicy:",
    )


@pytest.mark.parametrize("argument", ["xr", "input", "observed"])
def test_a_dash_reads_standard_input(argument):
    files = {
        "xr": str(DEV),
        "input": "compositions/modelapi.yaml",
        "observed": "tests/fixtures/observed/dev-ollama-ready.yaml",
    }
    from_files = render(str(DEV), "-i", files["input"], "-o", files["observed"])
    args = dict(files)
    args[argument] = "-"
    from_stdin = render(
        args["xr"], "-i", args["input"], "-o", args["observed"], stdin=(ROOT / files[argument]).read_text()
    )
    assert from_files.returncode == 0, from_files.stderr
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_files.stdout


def test_standard_input_serves_one_argument_only():
    failed_with(render("-", "-i", "-", stdin=MODELAPI), "-: standard input can be read for one argument only")


def test_render_has_its_own_usage_and_options():
    out = render("--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: function render [OPTIONS] XR_FILE")
    assert "-o, --observed" in out.stdout and "-i, --input" in out.stdout


def test_the_servers_help_mentions_render():
    out = subprocess.run(
        [sys.executable, "-m", "function", "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "python -m function render XR_FILE" in out.stdout


@pytest.mark.parametrize("example", ["dev-ollama", "multi-model", "claim"])
def test_the_same_file_renders_the_same_bytes_on_every_run_whatever_the_seed(example):
    """Without the tests' pinned seed, each process would draw its own: a preview prints a
    placeholder where a new key would be."""
    env = {k: v for k, v in os.environ.items() if k != "MODELAPI_KEY_SEED"}
    first = render(f"examples/{example}/xr.yaml", env=env)
    second = render(f"examples/{example}/xr.yaml", env={**env, "MODELAPI_KEY_SEED": "another-seed"})
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    secret = next(d for d in yaml.safe_load_all(first.stdout) if d["metadata"]["name"].endswith("-client"))
    assert base64.b64decode(secret["data"][names.CLIENT_API_KEY_KEY]).decode() == client.PREVIEW_KEY


def test_an_observed_key_is_kept_not_replaced_by_the_placeholder():
    out = render(str(DEV), "-o", "tests/fixtures/observed/dev-ollama-ready.yaml")
    secret = next(d for d in yaml.safe_load_all(out.stdout) if d["metadata"]["name"].endswith("-client"))
    assert (
        base64.b64decode(secret["data"][names.CLIENT_API_KEY_KEY]).decode()
        == "sk-observed-key-kept-across-reconciles-0001"
    )


def test_the_server_never_uses_the_placeholder():
    assert client.master_key(None, "team-a/m", preview=False) != client.PREVIEW_KEY


MALFORMED = [
    "metadata: {name: dev-ollama, annotations: {crossplane.io/composition-resource-name: 5}}",
    "metadata: {name: dev-ollama, annotations: {crossplane.io/composition-resource-name: [deployment]}}",
    "metadata: {name: dev-ollama, annotations: 5}",
    "metadata: 5\nstatus: [1, 2]",
    "metadata: {name: dev-ollama, annotations: {crossplane.io/composition-resource-name: deployment}}\n"
    "spec: 7\nstatus: {conditions: 5, availableReplicas: x}",
    "metadata: {name: dev-ollama, annotations: {crossplane.io/composition-resource-name: deployment}}\n"
    "spec: {template: {metadata: {annotations: 3}}, selector: 4}\n"
    "status: {conditions: [5, {type: Available, status: 1}]}",
    "metadata: {name: dev-ollama, annotations: {crossplane.io/composition-resource-name: client-secret}}\n"
    "data: {OPENAI_API_KEY: '!!!notbase64'}",
    "metadata: {name: dev-ollama, annotations: {crossplane.io/composition-resource-name: client-secret}}\ndata: 5",
]


@pytest.mark.parametrize("body", MALFORMED)
def test_render_never_prints_a_traceback_whatever_the_observed_files_hold(tmp_path, body):
    """A file given with -o may hold anything: render answers or fails in one line."""
    observed = tmp_path / "observed.yaml"
    observed.write_text(f"apiVersion: apps/v1\nkind: Deployment\n{body}\n")
    out = render(str(DEV), "-o", str(observed))
    assert "Traceback" not in out.stderr, out.stderr
    assert out.returncode == 0 or out.stderr.count("\n") == 1, out.stderr
