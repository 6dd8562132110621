"""What every cluster story uses: a team's namespace as a platform labels it, a ModelAPI, its
status and pods, waits on what the status tells, and an agent pod that calls the endpoint."""

from __future__ import annotations

import base64
import json
import textwrap

from tests.cluster import kube
from tests.cluster.conftest import Platform

MODELAPIS = "modelapis.ethical.institute"  # not `modelapi`: the claims XRD's category takes that name
MODEL = "ollama/smollm2:135m"  # the backend receives smollm2:135m

# An agent: calls $OPENAI_BASE_URL/chat/completions with the client Secret's key (and, with
# NO_KEY set, without it); prints the status and the body as one JSON line.
AGENT = textwrap.dedent("""
    import json, os, urllib.error, urllib.request
    body = json.dumps({"model": os.environ["MODEL"], "messages": [{"role": "user", "content": "hi"}]}).encode()
    headers = {"Content-Type": "application/json"}
    if not os.environ.get("NO_KEY"):
        headers["Authorization"] = "Bearer " + os.environ["OPENAI_API_KEY"]
    url = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=60) as r:
            print(json.dumps({"status": r.status, "body": json.loads(r.read())}))
    except urllib.error.HTTPError as e:
        print(json.dumps({"status": e.code, "body": e.read().decode()}))
""")
GET = textwrap.dedent("""
    import json, sys, urllib.error, urllib.request
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
            print(json.dumps({"status": r.status, "body": r.read().decode()}))
    except urllib.error.HTTPError as e:
        print(json.dumps({"status": e.code, "body": e.read().decode()}))
""")


# A team's namespace as a platform labels it for the API server's own PodSecurity admission:
# baseline enforced, the most the upstream LiteLLM and Ollama images allow (they run as root;
# README, Pod security), so that the real admission refuses a pod of ours that breaks it.
POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


# A configYaml that routes the model name `chat` to the platform's backend.
CONFIG_YAML = """model_list:
  - model_name: chat
    litellm_params:
      model: ollama/llama2:latest
      api_base: {api_base}
"""


def namespace(name: str) -> str:
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": POD_SECURITY}})
    return name


def modelapi(name: str, ns: str, proxy: dict, composition: str = "modelapi-local") -> dict:
    return {
        "apiVersion": "ethical.institute/v1alpha1",
        "kind": "ModelAPI",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"crossplane": {"compositionRef": {"name": composition}}, "mode": "Proxy", "proxyConfig": proxy},
    }


def status(name: str, ns: str) -> dict:
    return (kube.get(MODELAPIS, name, ns) or {}).get("status") or {}


def wait_ready(name: str, ns: str, timeout: float = 240) -> dict:
    def ready() -> dict | None:
        xr = kube.get(MODELAPIS, name, ns)
        return xr if kube.is_true(xr, "Ready") and (xr or {}).get("status", {}).get("phase") == "Ready" else None

    try:
        return kube.wait_for(ready, timeout, 2, f"ModelAPI {ns}/{name} Ready")
    except TimeoutError as e:
        raise AssertionError(f"{e}; status: {status(name, ns)}; pods: {pods_summary(name, ns)}") from None


def pods(name: str, ns: str) -> list[dict]:
    return kube.items("pods", ns, f"app={name}")


def pods_summary(name: str, ns: str) -> list:
    """What a failed wait saw of the pods: every container's status, the init containers' first."""
    return [
        (
            p["metadata"]["name"],
            [*(p.get("status", {}).get(k) or [] for k in ("initContainerStatuses", "containerStatuses"))],
        )
        for p in pods(name, ns)
    ]


def agent(plat: Platform, ns: str, secret: str, *, model: str = MODEL, no_key: bool = False) -> dict:
    script = f"import os; os.environ['MODEL'] = {model!r}; os.environ['NO_KEY'] = {'1' if no_key else ''!r}\n" + AGENT
    phase, log = kube.run_pod(ns, "agent-nokey" if no_key else "agent", plat.agent_image, script, env_from=secret)
    assert phase == "Succeeded", log
    return json.loads(log.strip().splitlines()[-1])


def http_get(plat: Platform, ns: str, url: str) -> dict:
    script = f"import sys; sys.argv[1:] = [{url!r}]\n" + GET
    phase, log = kube.run_pod(ns, "curl", plat.agent_image, script)
    assert phase == "Succeeded", log
    return json.loads(log.strip().splitlines()[-1])


def secret_value(name: str, ns: str, key: str) -> str:
    return base64.b64decode((kube.get("secret", name, ns) or {})["data"][key]).decode()


def wait_message(name: str, ns: str, phase: str, text: str, timeout: float = 240, *, ready: bool = False) -> dict:
    """The status told PHASE with TEXT in its message; READY: whether agents can call it meanwhile
    (an update failing while the previous revision serves)."""

    def told() -> dict | None:
        st = status(name, ns)
        return st if st.get("phase") == phase and text in (st.get("message") or "") else None

    try:
        st = kube.wait_for(told, timeout, 2, f"{ns}/{name}: {phase}, {text!r}")
    except TimeoutError as e:
        raise AssertionError(f"{e}; status: {status(name, ns)}; pods: {pods_summary(name, ns)}") from None
    xr = kube.get(MODELAPIS, name, ns)
    assert kube.is_true(xr, "Ready") is ready, xr["status"]
    assert (st.get("ready") is True) is ready, st
    return st
