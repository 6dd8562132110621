"""The status rules one by one: for each Deployment and pod a cluster can show, the exact Status
(phase, message, and whether it is a problem, a pull, a rollout, still serving).
tests/unit/test_status.py tells the same stories through compose and real pod files."""

import pytest

from function.status import MAX_DETAIL, Context, Status, evaluate

HOSTED = Context(
    name="m", hosted=True, model="smollm2:135m", pull_container="pull-model", memory_hint="the memory hint"
)
PROXY = Context(name="m", hosted=False, model=None, pull_container="", memory_hint="proxyResources")
RECREATES = Context(**{**HOSTED.__dict__, "recreates": True})
CLAIMED = Context(**{**HOSTED.__dict__, "claim": "m-models"})
WAITING = "Waiting for Deployment m to have an available replica"
HOSTED_WAITING = WAITING + " (the model is pulled before the server starts; large models take minutes)"


def deployment(available: float = 0, *conditions: dict, replicas: float | None = None, updated: float | None = None):
    status: dict = {"availableReplicas": available, "conditions": list(conditions)}
    if replicas is not None:
        status.update(replicas=replicas, updatedReplicas=updated)
    return {"status": status}


def condition(kind: str, status: str, reason: str = "", message: str = "") -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message}


DEADLINE = condition("Progressing", "False", "ProgressDeadlineExceeded", "ReplicaSet m-1 has timed out progressing.")
PROGRESSING = condition("Progressing", "True", "ReplicaSetUpdated")


def pod(
    *containers: dict,
    init: tuple[dict, ...] = (),
    created: str | None = "2026-01-01T00:00:00Z",
    deleting: bool = False,
    **status: object,
) -> dict:
    meta = {} if created is None else {"creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    return {
        "metadata": meta,
        "status": {**status, "initContainerStatuses": list(init), "containerStatuses": list(containers)},
    }


def waiting(reason: str, name: str = "ollama", message: str = "why") -> dict:
    return {"name": name, "image": "img:1", "state": {"waiting": {"reason": reason, "message": message}}}


def running(name: str = "ollama", ready: bool = False, **state: str) -> dict:
    return {"name": name, "ready": ready, "state": {"running": state}}


def ended(code: float, name: str = "pull-model", **terminated: str) -> dict:
    return {"name": name, "state": {"terminated": {"exitCode": code, **terminated}}}


def crashing(last: dict | None, restarts: float | None = 5) -> dict:
    c = {"name": "ollama", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {}}
    if last is not None:
        c["lastState"]["terminated"] = last
    if restarts is not None:
        c["restartCount"] = restarts
    return c


def unschedulable(message: str | None = "0/1 nodes are available", reason: str = "Unschedulable", status="False"):
    return {"conditions": [{"type": "PodScheduled", "status": status, "reason": reason, "message": message}]}


CRASH = "Container ollama is crash looping: last exit Error (exit 1), restarted 5 times"
LONG = "x" * (MAX_DETAIL + 100)

DEPLOYMENT_RULES = [
    ("no deployment yet", None, [], HOSTED, Status("Pending", "Creating Deployment m")),
    ("an empty observed deployment", {}, [], HOSTED, Status("Pending", "Creating Deployment m")),
    ("no replica yet (proxy)", deployment(0), [], PROXY, Status("Pending", WAITING)),
    (
        "no replica yet (hosted): the pull is said",
        deployment(0, PROGRESSING),
        [],
        HOSTED,
        Status("Pending", HOSTED_WAITING),
    ),
    ("an available replica", deployment(1), [], PROXY, Status("Ready", "")),
    ("an available replica, as a float", deployment(1.0), [], PROXY, Status("Ready", "")),
    ("every replica updated", deployment(1, replicas=1, updated=1), [], PROXY, Status("Ready", "")),
    (
        "past the deadline, no pod to tell why",
        deployment(0, DEADLINE),
        [],
        PROXY,
        Status("Failed", "Rollout of Deployment m failed: ReplicaSet m-1 has timed out progressing.", problem=True),
    ),
    (
        "past the deadline without a message",
        deployment(0, condition("Progressing", "False", "ProgressDeadlineExceeded")),
        [],
        PROXY,
        Status("Failed", "Rollout of Deployment m failed: no progress within the deadline", problem=True),
    ),
    (
        "not progressing for another reason",
        deployment(0, condition("Progressing", "False", "Paused")),
        [],
        PROXY,
        Status("Pending", WAITING),
    ),
    (
        "a deadline reason on a progressing rollout",
        deployment(0, condition("Progressing", "True", "ProgressDeadlineExceeded")),
        [],
        PROXY,
        Status("Pending", WAITING),
    ),
    (
        "a pod admission refuses",
        deployment(0, condition("ReplicaFailure", "True", "FailedCreate", "exceeded quota: team-a")),
        [],
        PROXY,
        Status("Pending", "Deployment m cannot create its pod: exceeded quota: team-a", problem=True),
    ),
    (
        "a replica failure that has cleared",
        deployment(0, condition("ReplicaFailure", "False", "FailedCreate", "exceeded quota")),
        [],
        PROXY,
        Status("Pending", WAITING),
    ),
    (
        "a pod admission refuses past the deadline",
        deployment(0, DEADLINE, condition("ReplicaFailure", "True", "FailedCreate", "quota")),
        [],
        PROXY,
        Status("Failed", "Rollout of Deployment m failed: Deployment m cannot create its pod: quota", problem=True),
    ),
    (
        "a pod that explains the failed rollout",
        deployment(0, DEADLINE),
        [pod(crashing({"reason": "Error", "exitCode": 1}))],
        HOSTED,
        Status("Failed", f"Rollout of Deployment m failed: {CRASH}", problem=True),
    ),
    (
        "a pull still running past the deadline",
        deployment(0, DEADLINE),
        [pod(init=(running("pull-model", startedAt="T0"),))],
        HOSTED,
        Status("Pending", "Pulling model smollm2:135m (since T0)", pulling=True),
    ),
    (
        "a rollout beside a serving replica",
        deployment(1, PROGRESSING, replicas=2, updated=1),
        [],
        PROXY,
        Status("Ready", "Rolling out a change to Deployment m: in progress", rolling=True),
    ),
    (
        "a rollout whose new pod starts",
        deployment(1, PROGRESSING, replicas=2, updated=1),
        [pod(running())],
        PROXY,
        Status(
            "Ready",
            "Rolling out a change to Deployment m: Container ollama started; waiting for it to pass its "
            "readiness probe",
            rolling=True,
        ),
    ),
    (
        "a rollout whose new pod crashes",
        deployment(1, PROGRESSING, replicas=2, updated=1),
        [pod(crashing({"reason": "Error", "exitCode": 1}))],
        HOSTED,
        Status(
            "Failed",
            f"Update of Deployment m failed: {CRASH}; the previous revision still serves",
            problem=True,
            serving=True,
            rolling=True,
        ),
    ),
    (
        "an update past its deadline beside a serving replica",
        deployment(1, DEADLINE),
        [],
        PROXY,
        Status(
            "Failed",
            "Update of Deployment m failed: ReplicaSet m-1 has timed out progressing.; the previous revision "
            "still serves",
            problem=True,
            serving=True,
            rolling=True,
        ),
    ),
    (
        "an update past its deadline without a message",
        deployment(1, condition("Progressing", "False", "ProgressDeadlineExceeded")),
        [],
        PROXY,
        Status(
            "Failed",
            "Update of Deployment m failed: no progress within the deadline; the previous revision still serves",
            problem=True,
            serving=True,
            rolling=True,
        ),
    ),
]


@pytest.mark.parametrize(
    ("deployment_", "pods", "ctx", "want"), [c[1:] for c in DEPLOYMENT_RULES], ids=[c[0] for c in DEPLOYMENT_RULES]
)
def test_the_deployment_and_its_pods_give_the_status(deployment_, pods, ctx, want):
    assert evaluate(deployment_, pods, ctx) == want


PULL_FAILED = "Pulling model smollm2:135m failed (exit 1): "
POD_RULES = [
    *[
        (reason, pod(init=(waiting(reason, "pull-model"),)), HOSTED, Status(phase, CANNOT_PULL, problem=True))
        for CANNOT_PULL in ["Cannot pull image img:1 for container pull-model: why"]
        for reason, phase in [
            ("ErrImagePull", "Pending"),
            ("ImagePullBackOff", "Pending"),
            ("ErrImageNeverPull", "Pending"),
            ("ImageInspectError", "Pending"),
            ("InvalidImageName", "Failed"),
        ]
    ],
    *[
        (reason, pod(waiting(reason)), PROXY, Status("Pending", "Container ollama cannot start: why", problem=True))
        for reason in ("CreateContainerConfigError", "CreateContainerError")
    ],
    (
        "a container without a name",
        pod({"state": {"waiting": {"reason": "CreateContainerError", "message": "why"}}}),
        PROXY,
        Status("Pending", "Container  cannot start: why", problem=True),
    ),
    (
        "a pull running",
        pod(init=(running("pull-model", startedAt="T0"),)),
        HOSTED,
        Status("Pending", "Pulling model smollm2:135m (since T0)", pulling=True),
    ),
    (
        "a pull running since a time not told",
        pod(init=(running("pull-model"),)),
        HOSTED,
        Status("Pending", "Pulling model smollm2:135m (since ?)", pulling=True),
    ),
    (
        "a model that does not exist",
        pod(init=(ended(1, message="Error: pull model manifest: file does not exist"),)),
        HOSTED,
        Status(
            "Failed",
            PULL_FAILED + "Error: pull model manifest: file does not exist; check serverConfig.model",
            problem=True,
        ),
    ),
    (
        "a model not found, in capitals",
        pod(init=(ended(1, message="Error: MANIFEST UNKNOWN"),)),
        HOSTED,
        Status("Failed", PULL_FAILED + "Error: MANIFEST UNKNOWN; check serverConfig.model", problem=True),
    ),
    (
        "a pull that failed on the network",
        pod(init=(ended(1, message="dial tcp: i/o timeout"),)),
        HOSTED,
        Status("Pending", PULL_FAILED + "dial tcp: i/o timeout; retrying", problem=True),
    ),
    (
        "a pull that failed without output: its reason",
        pod(init=(ended(1, reason="Error"),)),
        HOSTED,
        Status("Pending", PULL_FAILED + "Error; retrying", problem=True),
    ),
    (
        "a pull that failed without output or reason",
        pod(init=(ended(1),)),
        HOSTED,
        Status("Pending", PULL_FAILED + "no output; retrying", problem=True),
    ),
    (
        "a pull that failed before, as lastState tells",
        pod(init=({"name": "pull-model", "state": {}, "lastState": {"terminated": {"exitCode": 1}}},)),
        HOSTED,
        Status("Pending", PULL_FAILED + "no output; retrying", problem=True),
    ),
    (
        "a pull whose exit code is no number",
        pod(init=(ended("one", message="boom"),)),  # type: ignore[arg-type]
        HOSTED,
        Status("Pending", "Pulling model smollm2:135m failed (exit ?): boom; retrying", problem=True),
    ),
    ("a pull that succeeded", pod(init=(ended(0),)), HOSTED, Status("Pending", HOSTED_WAITING)),
    ("a pull waiting to start", pod(init=(waiting("PodInitializing", "pull-model"),)), HOSTED, None),
    (
        "a crash loop",
        pod(crashing({"reason": "Error", "exitCode": 1.0})),
        HOSTED,
        Status("Failed", CRASH, problem=True),
    ),
    (
        "a crash loop that tells nothing of its last exit",
        pod(crashing(None, restarts=None)),
        HOSTED,
        Status(
            "Failed", "Container ollama is crash looping: last exit Error (exit ?), restarted ? times", problem=True
        ),
    ),
    (
        "a crash loop out of memory",
        pod(crashing({"reason": "OOMKilled", "exitCode": 137}, restarts=2)),
        HOSTED,
        Status(
            "Failed",
            "Container ollama is crash looping: last exit OOMKilled (exit 137), restarted 2 times; "
            "give it more memory (the memory hint)",
            problem=True,
        ),
    ),
    (
        "a container started, not ready",
        pod(running()),
        PROXY,
        Status("Pending", "Container ollama started; waiting for it to pass its readiness probe"),
    ),
    ("a container ready", pod(running(ready=True)), PROXY, Status("Pending", WAITING)),
    ("a container waiting for another reason", pod(waiting("ContainerCreating")), PROXY, Status("Pending", WAITING)),
    (
        "a pod that cannot be scheduled (hosted)",
        pod(**unschedulable()),
        HOSTED,
        Status(
            "Pending",
            "Pod cannot be scheduled: 0/1 nodes are available; check serverConfig.resources and serverConfig.profile",
            problem=True,
        ),
    ),
    (
        "a pod that cannot be scheduled (proxy)",
        pod(**unschedulable()),
        PROXY,
        Status("Pending", "Pod cannot be scheduled: 0/1 nodes are available", problem=True),
    ),
    (
        "a pod that cannot be scheduled, without a message",
        pod(**unschedulable(None)),
        PROXY,
        Status("Pending", "Pod cannot be scheduled: ", problem=True),
    ),
    (
        "a pod waiting for the models' claim",
        pod(**unschedulable('pod has unbound immediate PersistentVolumeClaims "m-models"')),
        CLAIMED,
        Status(
            "Pending",
            'Pod cannot be scheduled: pod has unbound immediate PersistentVolumeClaims "m-models"; the models\' '
            "PersistentVolumeClaim m-models is not bound: check that serverConfig.storage.storageClassName names "
            "a class that can provision it",
            problem=True,
        ),
    ),
    (
        "a pod with a claim that cannot be scheduled for another reason",
        pod(**unschedulable()),
        CLAIMED,
        Status(
            "Pending",
            "Pod cannot be scheduled: 0/1 nodes are available; check serverConfig.resources and serverConfig.profile",
            problem=True,
        ),
    ),
    (
        "a pod without a claim whose scheduler names one",
        pod(**unschedulable("unbound PersistentVolumeClaim")),
        HOSTED,
        Status(
            "Pending",
            "Pod cannot be scheduled: unbound PersistentVolumeClaim; check serverConfig.resources and "
            "serverConfig.profile",
            problem=True,
        ),
    ),
    ("a pod scheduled", pod(**unschedulable(status="True")), PROXY, Status("Pending", WAITING)),
    ("a pod not scheduled yet", pod(**unschedulable(reason="SchedulerError")), PROXY, Status("Pending", WAITING)),
    (
        "the newest pod explains, an undated one is the oldest",
        [pod(crashing({"reason": "Error", "exitCode": 1}), created=None), pod(running())],
        PROXY,
        Status("Pending", "Container ollama started; waiting for it to pass its readiness probe"),
    ),
    (
        "a pod being deleted explains nothing",
        [pod(crashing({"reason": "Error", "exitCode": 1}), deleting=True)],
        PROXY,
        Status("Pending", WAITING),
    ),
    (
        "the old pod goes first where one holds a GPU or the claim",
        [pod(crashing({"reason": "Error", "exitCode": 1}), deleting=True)],
        RECREATES,
        Status(
            "Pending",
            "Replacing the pod of Deployment m: the old one goes first, as it holds a GPU or the models' claim that "
            "a second pod could not get; the endpoint is back when the new one is ready",
        ),
    ),
    ("no pod yet where one goes first", [], RECREATES, Status("Pending", HOSTED_WAITING)),
]


@pytest.mark.parametrize(("pods", "ctx", "want"), [c[1:] for c in POD_RULES], ids=[c[0] for c in POD_RULES])
def test_the_newest_pod_explains_a_pending_deployment(pods, ctx, want):
    want = want or Status("Pending", HOSTED_WAITING if ctx.hosted else WAITING)
    assert evaluate(deployment(0, PROGRESSING), pods if isinstance(pods, list) else [pods], ctx) == want


def _scheduling(message: str) -> dict:
    return pod(**unschedulable(message))


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("a  b\n c", "a b c"),
        ("x" * MAX_DETAIL, "x" * MAX_DETAIL),
        (LONG, "x" * (MAX_DETAIL - 3) + "..."),
    ],
    ids=["spaces-folded", "at-the-bound", "past-the-bound"],
)
def test_a_message_from_the_cluster_is_folded_and_cut_at_its_head(text, want):
    status = evaluate(deployment(0, PROGRESSING), [_scheduling(text)], PROXY)
    assert status.message == f"Pod cannot be scheduled: {want}"


@pytest.mark.parametrize(
    ("log", "want"),
    [
        # The line erased and redrawn from column 1: a terminal shows only what follows.
        ("pulling \x1b[2K\x1b[1Gmanifest\x07 done", "manifest done"),
        ("spinner \x1b[2K\x1b[1Gpulling \x07 done", "pulling done"),
        ("y" * MAX_DETAIL, "y" * MAX_DETAIL),
        ("head " + "y" * MAX_DETAIL, "..." + "y" * (MAX_DETAIL - 3)),
    ],
    ids=["escapes-and-controls", "redrawn", "at-the-bound", "past-the-bound"],
)
def test_a_pull_log_keeps_its_tail_without_terminal_escapes(log, want):
    status = evaluate(deployment(0, PROGRESSING), [pod(init=(ended(1, message=log),))], HOSTED)
    assert status.message == f"{PULL_FAILED}{want}; retrying"
