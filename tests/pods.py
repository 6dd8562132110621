"""Pods as a real cluster shows them, one per story a ModelAPI can be in."""

from function import names

IMAGE_OLLAMA = "docker.io/ollama/ollama:latest"
IMAGE_LITELLM = "docker.io/litellm/litellm:latest"


def pod(base: str, init: list[dict] | None, main: list[dict], conditions: list[dict] | None = None) -> dict:
    status: dict = {
        "phase": "Pending",
        "conditions": conditions
        or [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-26T10:00:01Z"},
            {"type": "Initialized", "status": "False" if init else "True", "reason": "ContainersNotInitialized"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
        ],
        "hostIP": "172.18.0.2",
        "podIP": "10.244.0.17",
        "qosClass": "Burstable",
        "startTime": "2026-11-26T10:00:01Z",
        "containerStatuses": main,
    }
    if init is not None:
        status["initContainerStatuses"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{base}-6d4cf56db6-x2v9q",
            "namespace": "team-a",
            "labels": {**names.selector_labels(base), "pod-template-hash": "6d4cf56db6"},
            "creationTimestamp": "2026-11-26T10:00:01Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{base}-6d4cf56db6"}],
        },
        "spec": {"containers": [{"name": c["name"], "image": c["image"]} for c in main]},
        "status": status,
    }


def container(name: str, image: str, state: dict, last: dict | None = None, restarts: int = 0, ready: bool = False):
    c = {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": ready,
        "restartCount": restarts,
        "started": "running" in state,
        "state": state,
        "lastState": {"terminated": last} if last else {},
    }
    return c


WAITING_INIT = {"waiting": {"reason": "PodInitializing"}}


def terminated(reason: str, code: int, message: str = "") -> dict:
    t = {
        "exitCode": code,
        "reason": reason,
        "startedAt": "2026-11-26T10:00:02Z",
        "finishedAt": "2026-11-26T10:00:09Z",
        "containerID": "containerd://9f1c",
    }
    if message:
        t["message"] = message
    return t


def hosted(story: str, base: str = "ollama") -> dict:
    ollama_waiting = container("ollama", IMAGE_OLLAMA, WAITING_INIT)
    if story == "pulling":
        init = container("pull-model", IMAGE_OLLAMA, {"running": {"startedAt": "2026-11-26T10:00:03Z"}})
        return pod(base, [init], [ollama_waiting])
    if story == "pull-not-found":
        log = (
            "pulling manifest\nError: pull model manifest: file does not exist\n"
            "pull of model smollm2:135m failed (exit 1)"
        )
        init = container(
            "pull-model",
            IMAGE_OLLAMA,
            {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
            terminated("Error", 1, log),
            restarts=3,
        )
        return pod(base, [init], [ollama_waiting])
    if story == "pull-not-found-progress":
        # What the kubelet keeps of a real log (its last 2 KB): `ollama pull` draws a spinner
        # with terminal escapes for as long as it waits, and the error comes last.
        spinner = "".join(
            f"\x1b[?2026h\x1b[?25l\x1b[1Gpulling manifest {c} \x1b[K\x1b[?25h\x1b[?2026l" for c in "⠋⠙⠹⠸⠼⠴" * 8
        )
        log = spinner + "\nError: pull model manifest: file does not exist\npull of model smollm2:135m failed (exit 1)"
        init = container("pull-model", IMAGE_OLLAMA, {"terminated": terminated("Error", 1, log[-2048:])})
        return pod(base, [init], [ollama_waiting])
    if story == "pull-network":
        log = (
            'Error: pull model manifest: Get "https://registry.ollama.ai/v2/library/smollm2/manifests/135m": '
            "dial tcp: i/o timeout"
        )
        init = container("pull-model", IMAGE_OLLAMA, {"terminated": terminated("Error", 1, log)}, restarts=0)
        return pod(base, [init], [ollama_waiting])
    if story == "image-pull":
        waiting = {
            "reason": "ImagePullBackOff",
            "message": 'Back-off pulling image "ollama/ollama:latets"',
        }
        init = container("pull-model", "ollama/ollama:latets", {"waiting": waiting})
        return pod(base, [init], [container("ollama", "ollama/ollama:latets", WAITING_INIT)])
    if story == "oom":
        done = container("pull-model", IMAGE_OLLAMA, {"terminated": terminated("Completed", 0)}, ready=True)
        crash = container(
            "ollama",
            IMAGE_OLLAMA,
            {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container"}},
            terminated("OOMKilled", 137),
            restarts=4,
        )
        return pod(base, [done], [crash])
    if story == "unschedulable":
        conditions = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes",
            }
        ]
        p = pod(base, None, [], conditions)
        del p["status"]["containerStatuses"]
        return p
    if story == "pulled-after-a-retry":
        log = "Error: pull model manifest: dial tcp: i/o timeout"
        done = container(
            "pull-model",
            IMAGE_OLLAMA,
            {"terminated": terminated("Completed", 0)},
            terminated("Error", 1, log),
            restarts=1,
            ready=True,
        )
        return pod(
            base, [done], [container("ollama", IMAGE_OLLAMA, {"running": {"startedAt": "2026-11-26T10:01:00Z"}})]
        )
    if story == "starting":
        done = container("pull-model", IMAGE_OLLAMA, {"terminated": terminated("Completed", 0)}, ready=True)
        return pod(
            base, [done], [container("ollama", IMAGE_OLLAMA, {"running": {"startedAt": "2026-11-26T10:01:00Z"}})]
        )
    raise ValueError(story)


def proxy(story: str, base: str = "dev-ollama") -> dict:
    if story == "secret-missing":
        waiting = {"reason": "CreateContainerConfigError", "message": 'secret "openai-secrets" not found'}
        return pod(base, None, [container("litellm", IMAGE_LITELLM, {"waiting": waiting})])
    if story == "never-pull":
        waiting = {
            "reason": "ErrImageNeverPull",
            "message": 'Container image "litellm/litellm:latest" is not present with pull policy of Never',
        }
        return pod(base, None, [container("litellm", "litellm/litellm:latest", {"waiting": waiting})])
    if story == "crashloop":
        crash = container(
            "litellm",
            IMAGE_LITELLM,
            {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container"}},
            terminated("Error", 1),
            restarts=5,
        )
        return pod(base, None, [crash])
    raise ValueError(story)
