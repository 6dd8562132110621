"""What a team gets from a ModelAPI on a real node: a pod that passes its readiness probe, a
Service that routes, a client Secret an agent `envFrom`s, a key LiteLLM enforces, and a status
that tells real failures read from real pods."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.cluster import kube
from tests.cluster.conftest import BACKEND_NAME, MISSING_IMAGE, Platform
from tests.cluster.stories import (
    CONFIG_YAML,
    MODEL,
    MODELAPIS,
    agent,
    http_get,
    modelapi,
    namespace,
    pods,
    secret_value,
    status,
    wait_message,
    wait_ready,
)

# --- A wildcard proxy: Ready because it serves ---------------------------------------------


@pytest.fixture(scope="module")
def wildcard(platform: Platform) -> tuple[str, str]:
    ns = namespace("team-a")
    kube.apply(modelapi("wild", ns, {"apiBase": platform.api_base}))
    wait_ready("wild", ns)
    return "wild", ns


def test_wildcard_is_ready_because_its_pod_passes_its_readiness_probe(wildcard: tuple[str, str]) -> None:
    name, ns = wildcard
    (pod,) = [p for p in pods(name, ns) if p["metadata"].get("deletionTimestamp") is None]
    assert kube.is_true(pod, "Ready"), pod["status"]
    (container,) = pod["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    st = status(name, ns)
    assert st["phase"] == "Ready"
    assert st["endpoint"] == f"http://{name}.{ns}.svc.cluster.local:8000"


def test_the_endpoint_answers(platform: Platform, wildcard: tuple[str, str]) -> None:
    name, ns = wildcard
    got = http_get(platform, ns, status(name, ns)["endpoint"] + "/health/liveliness")
    assert got["status"] == 200, got


def test_an_agent_with_the_client_secret_gets_the_backends_answer(
    platform: Platform, wildcard: tuple[str, str]
) -> None:
    name, ns = wildcard
    got = agent(platform, ns, f"{name}-client")
    assert got["status"] == 200, got
    content = got["body"]["choices"][0]["message"]["content"]
    assert content.startswith(BACKEND_NAME), content
    assert "smollm2:135m" in content  # the backend received the model name it expects


def test_without_the_key_401(platform: Platform, wildcard: tuple[str, str]) -> None:
    name, ns = wildcard
    got = agent(platform, ns, f"{name}-client", no_key=True)
    assert got["status"] == 401, got


# --- One model; the spec's configYaml --------------------------------------------------------


def test_single_model_serves_it_and_refuses_others(platform: Platform) -> None:
    """Named `one.v2`, a valid name but no Service name: its objects take a stand-in name, which the
    status gives; its pods keep `app: one.v2` (the spec's `kubectl logs -l app=NAME`)."""
    ns = namespace("team-single")
    kube.apply(modelapi("one.v2", ns, {"apiBase": platform.api_base, "model": MODEL}))
    st = wait_ready("one.v2", ns)["status"]
    (pod,) = [p for p in pods("one.v2", ns) if p["metadata"].get("deletionTimestamp") is None]
    assert kube.is_true(pod, "Ready"), pod["status"]
    service = st["endpoint"].removeprefix("http://").split(".")[0]
    assert service.startswith("one-v2-") and st["clientSecretName"] == f"{service}-client"
    assert agent(platform, ns, st["clientSecretName"])["status"] == 200
    assert agent(platform, ns, st["clientSecretName"], model="ollama/llama2:latest")["status"] == 400


def test_config_yaml_routes_its_model_names(platform: Platform) -> None:
    ns = namespace("team-config")
    kube.apply(modelapi("routed", ns, {"configYaml": CONFIG_YAML.format(api_base=platform.api_base)}))
    wait_ready("routed", ns)
    got = agent(platform, ns, "routed-client", model="chat")
    assert got["status"] == 200, got
    assert "llama2:latest" in got["body"]["choices"][0]["message"]["content"]


# --- Real failures, read from real pods -------------------------------------------------------


@pytest.fixture(scope="module")
def failures(platform: Platform) -> str:
    """Every failing ModelAPI at once, so that their waits overlap."""
    ns = namespace("team-broken")
    kube.apply(
        modelapi("no-image", ns, {"apiBase": platform.api_base}, composition="modelapi-missing-image"),
        modelapi(
            "no-secret",
            ns,
            {
                "apiBase": platform.api_base,
                "env": [{"name": "BACKEND_TOKEN", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "token"}}}],
            },
        ),
        modelapi("exits", ns, {"apiBase": platform.api_base}, composition="modelapi-exits"),
        {
            "apiVersion": "ethical.institute/v1alpha1",
            "kind": "ModelAPI",
            "metadata": {"name": "too-big", "namespace": ns},
            "spec": {
                "crossplane": {"compositionRef": {"name": "modelapi-local"}},
                "mode": "Hosted",
                "serverConfig": {"model": "smollm2:135m", "resources": {"requests": {"memory": "500Gi"}}},
            },
        },
    )
    return ns


def test_an_image_not_in_the_registry(failures: str) -> None:
    wait_message("no-image", failures, "Pending", f"Cannot pull image {MISSING_IMAGE} for container litellm")


def test_a_secret_key_ref_to_a_missing_secret(failures: str) -> None:
    wait_message("no-secret", failures, "Pending", 'Container litellm cannot start: secret "absent" not found')


def test_a_container_that_exits_at_start(failures: str) -> None:
    st = wait_message("exits", failures, "Failed", "Container litellm is crash looping: last exit Error (exit ")
    assert "restarted" in st["message"]


def test_resources_no_node_has(failures: str) -> None:
    st = wait_message("too-big", failures, "Pending", "Pod cannot be scheduled: ")
    assert "Insufficient memory" in st["message"]
    assert "check serverConfig.resources" in st["message"]


# --- Update and delete -------------------------------------------------------------------------


def test_update_rolls_a_pod_and_keeps_the_key(platform: Platform) -> None:
    ns = namespace("team-update")
    kube.apply(modelapi("rolling", ns, {"apiBase": platform.api_base}))
    wait_ready("rolling", ns)
    key = secret_value("rolling-client", ns, "OPENAI_API_KEY")
    (old,) = [p["metadata"]["name"] for p in pods("rolling", ns)]
    kube.apply(modelapi("rolling", ns, {"apiBase": platform.api_base, "model": MODEL}))

    def rolled() -> bool:
        live = [p for p in pods("rolling", ns) if p["metadata"].get("deletionTimestamp") is None]
        return bool(live) and all(p["metadata"]["name"] != old and kube.is_true(p, "Ready") for p in live)

    kube.wait_for(rolled, 180, 2, "a new pod Ready in place of the old one")
    wait_ready("rolling", ns)
    assert secret_value("rolling-client", ns, "OPENAI_API_KEY") == key
    assert agent(platform, ns, "rolling-client")["status"] == 200
    assert agent(platform, ns, "rolling-client", model="ollama/llama2:latest")["status"] == 400


def test_delete_garbage_collects(platform: Platform) -> None:
    ns = namespace("team-delete")
    kube.apply(modelapi("gone", ns, {"apiBase": platform.api_base}))
    wait_ready("gone", ns)
    composed = kube.items("secrets", ns, "app=gone")
    assert {s["metadata"]["name"] for s in composed} >= {"gone-client"}
    assert [s for s in composed if s["metadata"]["name"].startswith("gone-litellm-config-")], composed
    kube.kubectl("delete", MODELAPIS, "gone", "-n", ns, "--wait=true", "--timeout=120s")

    def collected() -> bool:
        return (
            all(kube.get(kind, name, ns) is None for kind, name in (("deployment", "gone"), ("service", "gone")))
            and not kube.items("secrets", ns, "app=gone")
            and not pods("gone", ns)
        )

    kube.wait_for(collected, 120, 2, "the ModelAPI's objects garbage-collected")


# --- Production: replicas and their disruption budget ----------------------------------------


def evict(pod: str, ns: str) -> tuple[bool, str]:
    """What `kubectl drain` asks for each pod: an Eviction, which the API server refuses (429)
    where it would break a PodDisruptionBudget. Whether it was granted, and what was answered."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": ns}}
    out = subprocess.run(
        [
            "bash",
            str(kube.CLUSTER),
            "exec",
            "kubectl",
            "create",
            "--raw",
            f"/api/v1/namespaces/{ns}/pods/{pod}/eviction",
            "-f",
            "-",
        ],
        input=json.dumps(body),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return out.returncode == 0, (out.stdout + out.stderr).strip()


def serving(name: str, ns: str) -> list[dict]:
    return [p for p in pods(name, ns) if p["metadata"].get("deletionTimestamp") is None and kube.is_true(p, "Ready")]


def test_three_replicas_serve_and_a_drain_takes_one_at_a_time(platform: Platform) -> None:
    ns = namespace("team-prod")
    kube.apply(modelapi("front", ns, {"apiBase": platform.api_base, "replicas": 3}))
    wait_ready("front", ns)
    kube.wait_for(lambda: len(serving("front", ns)) == 3, 300, 2, "three replicas Ready")
    kube.wait_for(lambda: status("front", ns).get("message") == "", 120, 2, "the status without a replica count")

    def budget_allows_one() -> dict | None:
        pdb = kube.get("poddisruptionbudget", "front", ns)
        return pdb if ((pdb or {}).get("status") or {}).get("disruptionsAllowed") == 1 else None

    pdb = kube.wait_for(budget_allows_one, 120, 2, "the PodDisruptionBudget to allow one disruption")
    assert pdb["spec"]["maxUnavailable"] == 1

    first, second, _ = sorted(p["metadata"]["name"] for p in serving("front", ns))
    granted, said = evict(first, ns)
    assert granted, said
    # The next, before the first's replacement is ready: refused, as a drain would be told.
    granted, said = evict(second, ns)
    assert not granted
    assert "disruption budget" in said, said
    # Meanwhile the others serve, through the Service, with the client Secret's key.
    assert agent(platform, ns, "front-client")["status"] == 200
    st = status("front", ns)
    assert st["phase"] == "Ready", st
    # The replacement comes; the budget allows one again; the metrics port answers without a key.
    kube.wait_for(lambda: len(serving("front", ns)) == 3, 300, 2, "three replicas Ready again")
    kube.wait_for(budget_allows_one, 120, 2, "the PodDisruptionBudget to allow one disruption again")
    scraped = http_get(platform, ns, f"http://front.{ns}.svc:9090/metrics/")
    assert scraped["status"] == 200, scraped
    assert "litellm_" in scraped["body"]


def test_team_namespaces_enforce_pod_security_with_the_api_servers_admission() -> None:
    """The admission every story's pods passed is real: a privileged pod is refused."""
    ns = namespace("team-pod-security")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged", "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]},
    }
    with pytest.raises(RuntimeError, match="violates PodSecurity"):
        kube.apply(pod)
