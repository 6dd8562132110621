"""The GitHub workflows: actionlint finds nothing (with shellcheck on their scripts when it is
installed), CI runs the very scripts .ci/run runs, the release builds both platforms, embeds
the runtime, pushes on a tag with inputs for registry and version, pins every action by
version and holds no secret."""

import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from tests.support.shipping import IN_CI, ROOT, tool

WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+(\.\d+){0,2}$")


def workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps(doc: dict) -> list[dict]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def scripts_called(text: str) -> list[str]:
    """The repo scripts a shell text runs with bash, in order."""
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = shlex.split(line)
        out += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "bash" and not words[i + 1].startswith("-")]
    return out


def test_actionlint_finds_nothing():
    actionlint = tool("actionlint")
    if not shutil.which("shellcheck") and IN_CI:
        pytest.fail("shellcheck is not installed (hack/install-tools.sh installs it)")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 2
    out = subprocess.run([actionlint, "-no-color", "-oneline", *files], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_is_not_blind():
    actionlint = tool("actionlint")
    bad = """on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with: {nope: 1}
"""
    out = subprocess.run([actionlint, "-no-color", "-"], input=bad, capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert "nope" in out.stdout


def test_ci_runs_the_scripts_ci_run_runs_with_ci_true():
    ci_run = scripts_called((ROOT / ".ci/run").read_text())
    assert ci_run == ["hack/install-tools.sh", "hack/test.sh"]
    doc = workflow("ci.yml")
    runs = [s["run"] for s in steps(doc) if "run" in s]
    assert [script for run in runs for script in scripts_called(run)] == ci_run
    (job,) = doc["jobs"].values()
    assert job["env"]["CI"] == "true"
    assert {"push", "pull_request", "workflow_call"} <= set(doc["on"])


def test_the_release_builds_both_platforms_embeds_the_runtime_and_pushes_on_a_tag():
    doc = workflow("release.yml")
    assert doc["on"]["push"]["tags"] == ["v*"]
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert {"version", "registry"} <= set(inputs)
    assert "inputs.version" in doc["env"]["VERSION"]
    assert "github.ref_name" in doc["env"]["VERSION"]
    assert "inputs.registry" in doc["env"]["REGISTRY"]
    assert doc["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml"
    package = doc["jobs"]["package"]
    assert package["strategy"]["matrix"]["arch"] == ["amd64", "arm64"]
    uses = [s.get("uses", "").split("@")[0] for s in package["steps"]]
    assert {"docker/setup-qemu-action", "docker/setup-buildx-action", "docker/build-push-action"} <= set(uses)
    build = next(s for s in package["steps"] if s.get("uses", "").startswith("docker/build-push-action"))
    assert build["with"]["platforms"] == "linux/${{ matrix.arch }}"
    assert build["with"]["context"] == "."  # the Dockerfile as shipped
    run = "\n".join(s.get("run", "") for s in package["steps"])
    assert "xpkg build" in run
    assert "--embed-runtime-image-tarball=" in run
    push = "\n".join(s.get("run", "") for s in doc["jobs"]["push"]["steps"])
    assert "xpkg push" in push
    assert "function-modelapi-amd64.xpkg,function-modelapi-arm64.xpkg" in push
    assert '"$REGISTRY/$REPOSITORY:$VERSION"' in push


def test_every_action_is_pinned_by_version():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc = workflow(path.name)
        for s in steps(doc):
            if "uses" in s:
                assert PINNED.match(s["uses"]), f"{path.name}: {s['uses']} is not pinned by a version tag"


def test_no_secret_in_the_workflows():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        for key, value in re.findall(r"^\s*(password|token|username|api[_-]?key)\s*:\s*(.+)$", text, re.M | re.I):
            assert re.fullmatch(r"\$\{\{\s*secrets\.\w+\s*\}\}", value.strip()), f"{path.name}: {key} is not a secret"
        assert not re.search(r"gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|-----BEGIN", text), path.name
        # inputs reach scripts through env, never pasted into a shell
        for s in steps(workflow(path.name)):
            assert "inputs." not in s.get("run", ""), f"{path.name}: an input is pasted into a script"
