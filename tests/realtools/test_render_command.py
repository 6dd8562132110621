"""`python -m function render`, on every example, against golden files."""

import pytest
import yaml

from tests.support import EXAMPLE_NAMES, EXAMPLES, ROOT, golden
from tests.support.commands import render

OBSERVED = ROOT / "tests/fixtures/observed"
STORIES = sorted(p.stem for p in OBSERVED.glob("*.yaml"))


def composition_for(example: str) -> str:
    return "compositions/xmodelapi.yaml" if example == "claim" else "compositions/modelapi.yaml"


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_example_renders_as_its_golden_file(example):
    out = render(f"examples/{example}/xr.yaml", "--input", composition_for(example))
    assert out.returncode == 0, out.stderr
    golden.check(f"render/{example}.yaml", out.stdout)


def test_the_gpu_example_renders_with_its_platforms_profile_as_its_golden_file():
    out = render("examples/gpu-ollama/xr.yaml", "--input", "examples/gpu-ollama/composition.yaml")
    assert out.returncode == 0, out.stderr
    golden.check("render/gpu-ollama-profile.yaml", out.stdout)


def test_a_production_platform_renders_replicas_metrics_traces_and_a_route_as_the_golden_file():
    out = render("examples/production/xr.yaml", "--input", "examples/production/composition.yaml")
    assert out.returncode == 0, out.stderr
    golden.check("render/production-platform.yaml", out.stdout)
    kinds = {d["kind"] for d in yaml.safe_load_all(out.stdout)}
    assert {"PodDisruptionBudget", "ServiceMonitor", "HTTPRoute"} <= kinds


GUARDED = "examples/platform-guardrails/composition.yaml"


def test_a_guarded_platform_renders_its_bounds_as_the_golden_file():
    out = render("examples/in-cluster-ollama/xr.yaml", "--input", GUARDED)
    assert out.returncode == 0, out.stderr
    golden.check("render/in-cluster-ollama-guarded.yaml", out.stdout)


def test_a_guarded_platform_refuses_a_backend_it_does_not_allow_in_the_preview(tmp_path):
    xr = yaml.safe_load((ROOT / "examples/dev-ollama/xr.yaml").read_text())
    xr["spec"]["proxyConfig"]["apiBase"] = "http://169.254.169.254"
    path = tmp_path / "xr.yaml"
    path.write_text(yaml.safe_dump(xr))
    out = render(str(path), "--input", GUARDED)
    assert out.returncode == 1
    assert "spec.proxyConfig.apiBase: 169.254.169.254 is a link-local or cloud metadata address" in out.stderr


@pytest.mark.parametrize("story", STORIES)
def test_observed_stories_render_as_their_golden_files(story):
    example = story.rsplit("-", 1)[0]
    out = render(f"examples/{example}/xr.yaml", "--observed", f"tests/fixtures/observed/{story}.yaml")
    assert out.returncode == 0, out.stderr
    golden.check(f"render/{story}.yaml", out.stdout)


def test_a_bad_spec_prints_the_field_and_fails(tmp_path):
    bad = yaml.safe_load((EXAMPLES / "dev-ollama/xr.yaml").read_text())
    bad["spec"]["proxyConfig"]["apiBase"] = "file:///etc/passwd"
    (tmp_path / "xr.yaml").write_text(yaml.safe_dump(bad))
    out = render(str(tmp_path / "xr.yaml"))
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith("error: spec.proxyConfig.apiBase:")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "holds no ModelAPI"),
        ("- mode: Proxy\n", "document 1 must be a Kubernetes object"),
        ("metadata: {name: [\n", "not valid YAML"),
        ("kind: ModelAPI\n---\nkind: Secret\n", "apiVersion: missing"),
    ],
)
def test_a_file_that_is_not_one_modelapi_prints_why_and_fails(tmp_path, text, says):
    (tmp_path / "xr.yaml").write_text(text)
    out = render(str(tmp_path / "xr.yaml"))
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith(f"error: {tmp_path / 'xr.yaml'}: {says}"), out.stderr


def test_the_specs_example_without_a_namespace_renders_into_default(tmp_path):
    """The spec writes its examples without a namespace; kubectl would create them in default."""
    xr = {
        "apiVersion": "ethical.institute/v1alpha1",
        "kind": "ModelAPI",
        "metadata": {"name": "dev-ollama"},
        "spec": {"mode": "Proxy", "proxyConfig": {"apiBase": "http://host.docker.internal:11434"}},
    }
    (tmp_path / "xr.yaml").write_text(yaml.safe_dump(xr))
    out = render(str(tmp_path / "xr.yaml"), "--input", "compositions/modelapi.yaml")
    assert out.returncode == 0, out.stderr
    head, *objects = yaml.safe_load_all(out.stdout)
    assert head["status"]["endpoint"] == "http://dev-ollama.default.svc.cluster.local:8000"
    assert {o["metadata"]["namespace"] for o in objects} == {"default"}
