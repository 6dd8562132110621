"""render's observed objects belong to one ModelAPI: its namespace, its names or labels; another
ModelAPI's objects and Pods are left out with a warning, two objects claiming one place are told,
and a `kind: List` (what `kubectl get -o yaml` prints) is read as its items."""

import copy

import yaml
from click.testing import CliRunner

from tests.support import ROOT

EXAMPLE = ROOT / "examples/dev-ollama/xr.yaml"
READY = ROOT / "tests/fixtures/observed/dev-ollama-ready.yaml"
PENDING = ROOT / "tests/fixtures/observed/dev-ollama-pending.yaml"


def run(*args: str) -> tuple[int, str, str]:
    from function.render import cli

    out = CliRunner().invoke(cli, [str(a) for a in args])
    return out.exit_code, out.stdout, out.stderr


def status(stdout: str) -> dict:
    return next(yaml.safe_load_all(stdout))["status"]


def pod(app: str, namespace: str = "team-a") -> dict:
    """A Pod whose container fails to start, labelled as the function labels APP's pods."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{app}-abc",
            "namespace": namespace,
            "labels": {"app": app, "app.kubernetes.io/instance": app, "app.kubernetes.io/name": "modelapi"},
        },
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "litellm",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}},
                    "image": "x",
                }
            ],
        },
    }


def test_another_modelapis_pod_is_left_out_with_a_warning(tmp_path):
    (tmp_path / "pods.yaml").write_text(yaml.safe_dump(pod("other-model")))
    (tmp_path / "objects.yaml").write_text(PENDING.read_text())
    code, alone, _ = run(EXAMPLE, "-o", PENDING)
    code_with, out, err = run(EXAMPLE, "-o", tmp_path)
    assert (code, code_with) == (0, 0)
    assert status(out) == status(alone)
    assert "warning: observed Pod team-a/other-model-abc is none of this file's ModelAPIs'" in err


def test_its_own_pod_is_read(tmp_path):
    (tmp_path / "pods.yaml").write_text(yaml.safe_dump(pod("dev-ollama")))
    (tmp_path / "objects.yaml").write_text(PENDING.read_text())
    code, out, err = run(EXAMPLE, "-o", tmp_path)
    assert code == 0, err
    assert "Cannot pull image" in status(out)["message"]
    assert "warning" not in err


def test_an_object_of_another_namespace_is_left_out(tmp_path):
    docs = [d for d in yaml.safe_load_all(READY.read_text()) if d]
    for d in docs:
        d["metadata"]["namespace"] = "team-b"
    (tmp_path / "observed.yaml").write_text(yaml.safe_dump_all(docs))
    _, alone, _ = run(EXAMPLE)
    code, out, err = run(EXAMPLE, "-o", tmp_path / "observed.yaml")
    assert code == 0, err
    assert status(out) == status(alone)
    assert err.count("is none of this file's ModelAPIs'") == len(docs)


def test_two_objects_claiming_one_place_are_told(tmp_path):
    docs = [d for d in yaml.safe_load_all(READY.read_text()) if d]
    twin = copy.deepcopy(next(d for d in docs if d["kind"] == "Service"))
    twin["metadata"]["name"] = "dev-ollama-old"
    (tmp_path / "observed.yaml").write_text(yaml.safe_dump_all([*docs, twin]))
    code, _, err = run(EXAMPLE, "-o", tmp_path / "observed.yaml")
    assert code == 0, err
    assert "warning: observed Service team-a/dev-ollama and Service team-a/dev-ollama-old both claim service" in err


def test_a_list_as_kubectl_prints_it_is_read_as_its_items(tmp_path):
    docs = [d for d in yaml.safe_load_all(READY.read_text()) if d]
    (tmp_path / "list.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": docs}))
    _, plain, _ = run(EXAMPLE, "-o", READY)
    code, listed, err = run(EXAMPLE, "-o", tmp_path / "list.yaml")
    assert code == 0, err
    assert listed == plain
    assert status(listed)["phase"] == "Ready"
