"""A bad change never takes a working endpoint down, on a real node: an update whose new pod
cannot start leaves the previous revision serving (status Failed, ready true), that revision
survives its pod's deletion (as in a drain: its config Secret is still there), and a fixed spec
rolls forward and takes the previous config Secret away."""

from __future__ import annotations

import pytest

from tests.cluster import kube
from tests.cluster.conftest import Platform
from tests.cluster.stories import (
    CONFIG_YAML,
    agent,
    modelapi,
    namespace,
    pods,
    pods_summary,
    wait_message,
    wait_ready,
)

# LiteLLM 1.108.7 exits at start on it (`Invalid routing_strategy`); nothing of ours can know.
REFUSED_AT_START = "router_settings:\n  routing_strategy: not-a-strategy\n"
FIXED = "router_settings:\n  routing_strategy: simple-shuffle\n"


def config_secrets(name: str, ns: str) -> set[str]:
    return {
        s["metadata"]["name"]
        for s in kube.items("secrets", ns, f"app={name}")
        if s["metadata"]["name"].startswith(f"{name}-litellm-config-")
    }


def serving_pod(name: str, ns: str) -> dict:
    (pod,) = [p for p in pods(name, ns) if not p["metadata"].get("deletionTimestamp") and kube.is_true(p, "Ready")]
    return pod


def drained_revision_comes_back(platform: Platform, name: str, ns: str) -> None:
    """The serving pod deleted as a drain would: its ReplicaSet makes a new one from the previous
    revision, which starts (its config is still there) and serves."""
    old = serving_pod(name, ns)["metadata"]["name"]
    kube.kubectl("delete", "pod", old, "-n", ns, "--wait=false")

    def back() -> bool:
        live = [p for p in pods(name, ns) if not p["metadata"].get("deletionTimestamp")]
        return any(p["metadata"]["name"] != old and kube.is_true(p, "Ready") for p in live)

    try:
        kube.wait_for(back, 180, 2, "a pod of the previous revision Ready in place of the deleted one")
    except TimeoutError as e:
        raise AssertionError(f"{e}; pods: {pods_summary(name, ns)}") from None
    got = agent(platform, ns, f"{name}-client", model="chat")
    assert got["status"] == 200, got
    assert "llama2:latest" in got["body"]["choices"][0]["message"]["content"]  # the previous config


@pytest.fixture(scope="module")
def config(platform: Platform) -> str:
    return CONFIG_YAML.format(api_base=platform.api_base)


def test_a_config_litellm_refuses_at_start_leaves_the_previous_revision_serving(
    platform: Platform, config: str
) -> None:
    ns = namespace("team-safe-config")
    kube.apply(modelapi("safe", ns, {"configYaml": config}))
    wait_ready("safe", ns)
    (previous,) = config_secrets("safe", ns)

    kube.apply(modelapi("safe", ns, {"configYaml": config + REFUSED_AT_START}))
    st = wait_message("safe", ns, "Failed", "Container litellm is crash looping", ready=True)
    assert "the previous revision still serves" in st["message"], st
    assert previous in config_secrets("safe", ns)
    drained_revision_comes_back(platform, "safe", ns)

    kube.apply(modelapi("safe", ns, {"configYaml": config + FIXED}))
    wait_ready("safe", ns)
    kube.wait_for(
        lambda: len(config_secrets("safe", ns)) == 1 and previous not in config_secrets("safe", ns),
        120,
        2,
        "the previous config Secrets deleted once the fixed revision serves",
    )
    assert agent(platform, ns, "safe-client", model="chat")["status"] == 200


def test_a_missing_secret_added_in_an_update_leaves_the_previous_revision_serving(
    platform: Platform, config: str
) -> None:
    ns = namespace("team-safe-secret")
    kube.apply(modelapi("keyed", ns, {"configYaml": config}))
    wait_ready("keyed", ns)
    (previous,) = config_secrets("keyed", ns)
    missing = {"name": "BACKEND_TOKEN", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "token"}}}

    # The config changes too: a config Secret of its own beside the serving revision's.
    kube.apply(modelapi("keyed", ns, {"configYaml": config + FIXED, "env": [missing]}))
    st = wait_message("keyed", ns, "Failed", 'secret "absent" not found', ready=True)
    assert "the previous revision still serves" in st["message"], st
    drained_revision_comes_back(platform, "keyed", ns)

    assert previous in config_secrets("keyed", ns), "the serving revision's config went"
    kube.apply(modelapi("keyed", ns, {"configYaml": config + FIXED}))
    wait_ready("keyed", ns)

    def one_revision() -> bool:
        live = [p for p in pods("keyed", ns) if not p["metadata"].get("deletionTimestamp")]
        env = {e["name"] for e in live[0]["spec"]["containers"][0].get("env", [])} if len(live) == 1 else {"?"}
        return len(live) == 1 and kube.is_true(live[0], "Ready") and "BACKEND_TOKEN" not in env

    kube.wait_for(one_revision, 180, 2, "the fixed revision alone serving")
    kube.wait_for(
        lambda: len(config_secrets("keyed", ns)) == 1 and previous not in config_secrets("keyed", ns),
        120,
        2,
        "the previous revision's config Secret deleted once the fixed revision serves",
    )
