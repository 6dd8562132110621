"""Hosted mode on a real node: a real Ollama (hack/build-ollama.sh), its init container exactly as
the function renders it, pulling a real model (hack/push-tiny-model.sh) over TLS from the
cluster's registry, as teams name models from a private registry; agents calling it on
`status.endpoint`; a Proxy in front of it; the real failures; a restart from the model cache.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest

from function import ollama
from tests.cluster import kube
from tests.cluster.conftest import Platform
from tests.cluster.stories import agent, namespace, pods, pods_summary, status, wait_message, wait_ready

NODE_IP = "10.209.0.1"

# An agent calling Ollama's own API and the OpenAI one on the endpoint, one JSON line per call.
CALLS = textwrap.dedent("""
    import json, os, sys, urllib.error, urllib.request
    base, model = sys.argv[1], sys.argv[2]
    messages = [{"role": "user", "content": "hello"}]
    calls = [
        ("/api/generate", {"model": model, "prompt": "hello", "stream": False}),
        ("/api/chat", {"model": model, "messages": messages, "stream": False}),
        ("/v1/chat/completions", {"model": model, "messages": messages}),
    ]
    for path, body in calls:
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}
        request = urllib.request.Request(base + path, json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as r:
                print(json.dumps({"path": path, "status": r.status, "body": json.loads(r.read())}))
        except urllib.error.HTTPError as e:
            print(json.dumps({"path": path, "status": e.code, "body": e.read().decode()}))
""")


def hosted(name: str, ns: str, server: dict) -> dict:
    return {
        "apiVersion": "ethical.institute/v1alpha1",
        "kind": "ModelAPI",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "crossplane": {"compositionRef": {"name": "modelapi-local"}},
            "mode": "Hosted",
            "serverConfig": server,
        },
    }


@contextmanager
def slow_registry(rate: str = "100kbit") -> Iterator[None]:
    """The registry's replies to pods (source port 5000, out of the pods' bridge) limited to RATE,
    as a large model over a real link: the tiny model then takes long enough to watch it pull.
    In the cluster's own network namespace; removed afterwards."""
    tc = ("exec", "tc")
    kube.cluster(*tc, "qdisc", "add", "dev", "cni0", "root", "handle", "1:", "htb", "default", "10")
    try:
        kube.cluster(*tc, "class", "add", "dev", "cni0", "parent", "1:", "classid", "1:10", "htb", "rate", "1gbit")
        kube.cluster(*tc, "class", "add", "dev", "cni0", "parent", "1:", "classid", "1:20", "htb", "rate", rate)
        kube.cluster(
            *tc, "filter", "add", "dev", "cni0", "parent", "1:", "protocol", "ip", "u32",
            "match", "ip", "src", f"{NODE_IP}/32", "match", "ip", "sport", "5000", "0xffff",
            "flowid", "1:20",
        )  # fmt: skip
        yield
    finally:
        kube.cluster(*tc, "qdisc", "del", "dev", "cni0", "root")


def live_pods(name: str, ns: str) -> list[dict]:
    return [p for p in pods(name, ns) if p["metadata"].get("deletionTimestamp") is None]


def pull_log(pod: dict) -> str:
    return kube.kubectl("logs", pod["metadata"]["name"], "-n", pod["metadata"]["namespace"], "-c", "pull-model")


def failed_pull_log(name: str, ns: str, timeout: float = 240) -> str:
    """The log of a pull that ended in failure, as the kubelet recorded it with that run's end (the
    pull container's terminationMessagePolicy: FallbackToLogsOnError): a log read with kubectl may
    be a retry that has only started."""

    def ended() -> str | None:
        for pod in live_pods(name, ns):
            for st in pod["status"].get("initContainerStatuses", []):
                for run in (st["state"].get("terminated"), (st.get("lastState") or {}).get("terminated")):
                    if run and run.get("exitCode", 0) != 0:
                        return run.get("message") or ""
        return None

    return kube.wait_for(ended, timeout, 2, f"a failed pull of {ns}/{name}")


def call(platform: Platform, ns: str, base: str, model: str, secret: str) -> dict[str, dict]:
    script = f"import sys; sys.argv[1:] = [{base!r}, {model!r}]\n" + CALLS
    phase, log = kube.run_pod(ns, "ollama-agent", platform.agent_image, script, env_from=secret, timeout=300)
    assert phase == "Succeeded", log
    return {c["path"]: c for c in map(json.loads, log.strip().splitlines())}


# The served ModelAPI: its name, namespace, the status message seen while it pulled, and its pod then.
Served = tuple[str, str, str, dict]


# --- The failing ones, started first -----------------------------------------------------------


@pytest.fixture(scope="module")
def hosted_failures(platform: Platform, model: str) -> str:
    ns = namespace("team-hosted-broken")
    kube.apply(
        hosted("absent", ns, {"model": model.rsplit(":", 1)[0] + ":not-pushed"}),
        # 4Mi: killed at once. At 16Mi `ollama serve` thrashed for minutes before the kernel killed
        # it (seen on this node: 4.5 min), longer than the wait below.
        hosted("starved", ns, {"model": model, "resources": {"limits": {"memory": "4Mi"}}}),
    )
    return ns


# --- The model pulled, then served ---------------------------------------------------------


@pytest.fixture(scope="module")
def served(platform: Platform, model: str, hosted_failures: str) -> Served:
    """The failing ones (hosted_failures) started first: their waits overlap this one's."""
    ns = namespace("team-hosted")
    with slow_registry():
        kube.apply(hosted("tiny", ns, {"model": model}))
        pulling = wait_message("tiny", ns, "Pending", f"Pulling model {model} (since ", timeout=180)
        # The pod as it was when the status said so (the slowed registry keeps the pull going).
        (pod,) = live_pods("tiny", ns)
    wait_ready("tiny", ns)
    return "tiny", ns, pulling["message"], pod


def test_hosted_status_says_pulling_while_the_real_init_container_pulls(served: Served) -> None:
    _, _, message, pod = served
    assert message.startswith("Pulling model "), message
    (init,) = pod["status"]["initContainerStatuses"]
    assert "running" in init["state"], init
    assert init["restartCount"] == 0, init
    waiting = {c["name"]: c["state"].get("waiting", {}).get("reason") for c in pod["status"]["containerStatuses"]}
    assert set(waiting.values()) == {"PodInitializing"}, waiting  # Ollama and its front wait for the pull


def test_hosted_init_container_ran_the_rendered_pull_script_and_pulled(served: Served) -> None:
    name, ns, *_ = served
    (pod,) = live_pods(name, ns)
    (init,) = pod["spec"]["initContainers"]
    assert init["command"] == ["/bin/sh", "-c", ollama.PULL_SCRIPT]
    (st,) = pod["status"]["initContainerStatuses"]
    assert st["state"]["terminated"]["exitCode"] == 0, st
    log = pull_log(pod)
    assert "pulling model: " in log, log
    assert "success" in log, log  # ollama pull's last line


def test_hosted_agent_gets_answers_from_the_model(platform: Platform, served: Served, model: str) -> None:
    name, ns, *_ = served
    st = status(name, ns)
    assert st["ready"] is True, st
    assert st["endpoint"] == f"http://{name}.{ns}.svc.cluster.local:11434"
    got = call(platform, ns, st["endpoint"], model, f"{name}-client")
    assert got["/api/generate"]["status"] == 200, got
    assert got["/api/generate"]["body"]["model"] == model
    assert got["/api/generate"]["body"]["done"] is True
    assert got["/api/chat"]["status"] == 200, got
    assert got["/api/chat"]["body"]["message"]["role"] == "assistant"
    assert got["/v1/chat/completions"]["status"] == 200, got
    assert got["/v1/chat/completions"]["body"]["choices"][0]["message"]["role"] == "assistant"


# An agent trying Ollama's administration routes, and two ways of spelling one.
ADMIN = textwrap.dedent("""
    import json, sys, urllib.error, urllib.request
    base, model = sys.argv[1], sys.argv[2]
    calls = [
        ("POST", "/api/pull", {"model": "tinyllama"}),
        ("DELETE", "/api/delete", {"model": model}),
        ("POST", "/api/create", {"model": "mine", "from": model}),
        ("POST", "/api/copy", {"source": model, "destination": "other"}),
        ("POST", "/api/push", {"model": model}),
        ("HEAD", "/api/blobs/sha256:00", None),
        ("POST", "/api/generate/../pull", {"model": "tinyllama"}),
        ("POST", "/api/%70ull", {"model": "tinyllama"}),
        ("GET", "/api/tags", None),
    ]
    for method, path, body in calls:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base + path, data, {"Content-Type": "application/json"}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                print(json.dumps({"path": path, "status": r.status, "body": r.read().decode()}))
        except urllib.error.HTTPError as e:
            print(json.dumps({"path": path, "status": e.code, "body": e.read().decode()[:300]}))
""")


def test_hosted_administration_routes_are_closed_to_agents(platform: Platform, served: Served) -> None:
    """Ollama takes no key: every pod the NetworkPolicy admits reaches the endpoint, where the
    front passes only inference and reads. The model is still there after the attempts."""
    name, ns, *_ = served
    st = status(name, ns)
    script = f"import sys; sys.argv[1:] = [{st['endpoint']!r}, 'x']\n" + ADMIN
    phase, log = kube.run_pod(ns, "ollama-admin", platform.agent_image, script, timeout=300)
    assert phase == "Succeeded", log
    got = {c["path"]: c for c in map(json.loads, log.strip().splitlines())}
    refused = {p: c["status"] for p, c in got.items() if p != "/api/tags"}
    assert set(refused.values()) == {403}, got
    assert got["/api/tags"]["status"] == 200, got
    assert json.loads(got["/api/tags"]["body"])["models"], "the served model is gone"


def test_hosted_behind_a_wildcard_proxy(platform: Platform, served: Served, model: str) -> None:
    """The spec's two modes together: the Proxy's apiBase is the Hosted endpoint; `ollama/NAME`
    reaches Ollama as NAME."""
    name, ns, *_ = served
    kube.apply(
        {
            "apiVersion": "ethical.institute/v1alpha1",
            "kind": "ModelAPI",
            "metadata": {"name": "front", "namespace": ns},
            "spec": {
                "crossplane": {"compositionRef": {"name": "modelapi-local"}},
                "mode": "Proxy",
                "proxyConfig": {"apiBase": status(name, ns)["endpoint"]},
            },
        }
    )
    wait_ready("front", ns)
    got = agent(platform, ns, "front-client", model=f"ollama/{model}")
    assert got["status"] == 200, got
    assert got["body"]["choices"][0]["message"]["role"] == "assistant"


def test_hosted_update_to_a_missing_model_keeps_the_previous_one_serving(
    platform: Platform, served: Served, model: str
) -> None:
    """No GPU, no claim: a rolling update, so the old pod serves while the new one fails its pull."""
    name, ns, *_ = served
    missing = model.rsplit(":", 1)[0] + ":not-pushed"
    kube.apply(hosted(name, ns, {"model": missing}))
    try:
        st = wait_message(name, ns, "Failed", "check serverConfig.model", timeout=240, ready=True)
        assert "still serves" in st["message"], st
        got = call(platform, ns, st["endpoint"], model, f"{name}-client")
        assert got["/api/generate"]["status"] == 200, got
    finally:  # the shared ModelAPI back on its model, whatever failed above
        kube.apply(hosted(name, ns, {"model": model}))
        wait_ready(name, ns)


# --- Real failures ---------------------------------------------------------------------------


def test_hosted_a_model_the_registry_does_not_have(hosted_failures: str) -> None:
    st = wait_message("absent", hosted_failures, "Failed", "check serverConfig.model")
    assert "Pulling model " in st["message"], st
    log = failed_pull_log("absent", hosted_failures)
    assert "file does not exist" in log or "not found" in log, log
    assert re.search(r"pull of model \S+:not-pushed failed \(exit [1-9]", log), log


def test_hosted_a_memory_limit_below_what_ollama_needs(hosted_failures: str) -> None:
    st = wait_message("starved", hosted_failures, "Failed", "OOMKilled")
    assert "OOMKilled: give it more memory (serverConfig.resources.limits.memory)" in st["message"], st


# --- The model cache: a restart does not pull again --------------------------------------------


@pytest.fixture
def volume() -> Iterator[str]:
    """A hostPath PersistentVolume for the claim, as a one-node cluster without a provisioner
    needs (a platform's StorageClass provisions one); the directory and the PV removed after."""
    path = tempfile.mkdtemp(prefix="modelapi-models-")
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "modelapi-hosted-cache"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "local-models",
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": path, "type": "Directory"},
            },
        }
    )
    try:
        yield "local-models"
    finally:
        kube.kubectl("delete", "pv", "modelapi-hosted-cache", "--ignore-not-found", "--wait=false")
        shutil.rmtree(path, ignore_errors=True)


def init_seconds(pod: dict) -> float:
    """How long the pull step ran, from its container's own start and end."""
    pod = kube.get("pod", pod["metadata"]["name"], pod["metadata"]["namespace"]) or pod
    ended = pod["status"]["initContainerStatuses"][0]["state"]["terminated"]
    start, end = (datetime.fromisoformat(ended[k].replace("Z", "+00:00")) for k in ("startedAt", "finishedAt"))
    return (end - start).total_seconds()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """A line on the terminal, shown without -s (a measurement, not an assertion)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"\n{line}")

    return write


def test_hosted_restart_with_storage_takes_the_model_from_the_cache(
    model: str, volume: str, report: Callable[[str], None]
) -> None:
    ns = namespace("team-hosted-cache")
    kube.apply(hosted("cached", ns, {"model": model, "storage": {"size": "1Gi", "storageClassName": volume}}))
    try:
        wait_ready("cached", ns)
        (first,) = live_pods("cached", ns)
        assert "pulling model: " in pull_log(first)
        kube.kubectl("delete", "pod", first["metadata"]["name"], "-n", ns, "--wait=false")  # as a drain would

        def replaced() -> dict | None:
            live = [p for p in live_pods("cached", ns) if p["metadata"]["name"] != first["metadata"]["name"]]
            return live[0] if live and kube.is_true(live[0], "Ready") else None

        try:
            second = kube.wait_for(replaced, 180, 2, "a replacement pod Ready")
        except TimeoutError as e:
            raise AssertionError(f"{e}; pods: {pods_summary('cached', ns)}") from None
        log = pull_log(second)
        assert f"model {model} is in the cache already: not pulled again" in log, log
        wait_ready("cached", ns)
        report(f"ollama pull step: {init_seconds(first)} s pulling {model}, {init_seconds(second)} s from the cache")
    finally:
        kube.kubectl("delete", "modelapis.ethical.institute", "cached", "-n", ns, "--wait=true", "--timeout=120s")
        kube.wait_for(lambda: not kube.items("pvc", ns), 120, 2, "the models' claim deleted")
