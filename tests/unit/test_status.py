"""Status and readiness from observed objects."""

import pytest

from function import names
from function.compose import compose
from tests.support import pods
from tests.support.builders import HOSTED, PROXY, deployment_status, observed_ready, with_, xr


@pytest.mark.parametrize(
    ("deployment", "phase", "ready", "in_message"),
    [
        (None, "Pending", False, "Creating Deployment my-modelapi"),
        (deployment_status(available=0), "Pending", False, "Waiting for Deployment my-modelapi"),
        (deployment_status(available=0, progressing=("True", "ReplicaSetUpdated")), "Pending", False, "Waiting"),
        (deployment_status(available=1), "Ready", True, ""),
        (deployment_status(available=0, progressing=("False", "ProgressDeadlineExceeded")), "Failed", False, "failed"),
        # The update failed, the previous revision still serves: agents can call it.
        (
            deployment_status(available=1, progressing=("False", "ProgressDeadlineExceeded")),
            "Failed",
            True,
            "Update of Deployment my-modelapi failed: m; the previous revision still serves",
        ),
    ],
)
def test_phase_follows_the_deployment(deployment, phase, ready, in_message):
    observed = {} if deployment is None else {names.DEPLOYMENT: deployment}
    out = compose(xr(PROXY), None, observed)
    assert out.status["phase"] == phase
    assert out.status["ready"] is ready
    assert in_message in out.status["message"]
    assert out.ready[names.DEPLOYMENT] is ready


def rolling(available: int = 1) -> dict:
    """A rollout beside a serving replica: the old pod available, the new one not yet."""
    d = deployment_status(available=available, progressing=("True", "ReplicaSetUpdated"))
    d["status"].update(replicas=2.0, updatedReplicas=1.0)
    return d


def test_an_update_whose_new_pod_fails_says_so_and_that_the_previous_revision_serves():
    out = compose(xr(PROXY, name="dev-ollama"), None, {names.DEPLOYMENT: rolling()}, [pods.proxy("crashloop")])
    assert (out.status["phase"], out.status["ready"], out.problem) == ("Failed", True, True)
    assert out.status["message"].startswith(
        "Update of Deployment dev-ollama failed: Container litellm is crash looping"
    )
    assert out.status["message"].endswith("; the previous revision still serves")
    assert out.needs_pods  # the new pod is watched while the old one serves
    assert out.events[0].warning


def test_an_update_in_progress_is_ready_and_says_so():
    out = compose(xr(HOSTED, name="ollama"), None, {names.DEPLOYMENT: rolling()}, [pods.hosted("pulling")])
    assert (out.status["phase"], out.status["ready"]) == ("Ready", True)
    assert out.status["message"].startswith("Rolling out a change to Deployment ollama: Pulling model smollm2:135m")
    assert out.needs_pods


def test_a_finished_rollout_is_ready_without_asking_for_pods():
    done = deployment_status(available=1)
    done["status"].update(replicas=1.0, updatedReplicas=1.0)
    out = compose(xr(PROXY), None, {names.DEPLOYMENT: done})
    assert (out.status["phase"], out.status["message"], out.needs_pods) == ("Ready", "", False)


def test_hosted_pending_says_the_model_is_pulled_first():
    out = compose(xr(HOSTED), None, {names.DEPLOYMENT: deployment_status()})
    assert "model is pulled" in out.status["message"]


@pytest.mark.parametrize("spec", [PROXY, HOSTED])
def test_everything_existing_and_available_makes_every_resource_ready(spec):
    out = compose(xr(spec), None, observed_ready(spec))
    assert out.status == {
        "phase": "Ready",
        "ready": True,
        "endpoint": out.status["endpoint"],
        "message": "",
        "clientSecretName": "my-modelapi-client",
    }
    assert set(out.ready) == set(out.resources)
    assert all(out.ready.values())


def test_a_resource_not_yet_observed_is_not_ready():
    observed = observed_ready(PROXY)
    del observed[names.SERVICE]
    out = compose(xr(PROXY), None, observed)
    assert out.ready[names.SERVICE] is False
    assert out.ready[names.DEPLOYMENT] is True


def _diagnosed(spec: dict, name: str, pod: dict) -> dict:
    observed = {names.DEPLOYMENT: deployment_status(available=0, progressing=("True", "ReplicaSetUpdated"))}
    return compose(xr(spec, name=name), None, observed, [pod]).status


POD_STORIES = [
    (HOSTED, "pulling", "Pending", "Pulling model smollm2:135m (since 2026-11-26T10:00:03Z)"),
    (
        HOSTED,
        "pull-not-found",
        "Failed",
        "Pulling model smollm2:135m failed (exit 1): pulling manifest Error: pull model manifest: file does not exist",
    ),
    (HOSTED, "pull-network", "Pending", "dial tcp: i/o timeout; retrying"),
    # The end of a long log is what tells: the error, without the terminal's escapes.
    (
        HOSTED,
        "pull-not-found-progress",
        "Failed",
        "manifest ⠴ Error: pull model manifest: file does not exist pull of model smollm2:135m failed (exit 1); check",
    ),
    # Observed on the real cluster: 16Mi, `ollama serve` killed before it answered.
    (
        HOSTED,
        "pull-oom",
        "Failed",
        "Pulling model smollm2:135m failed (exit 1): ollama serve exited before answering; "
        "the container was OOMKilled: give it more memory (serverConfig.resources.limits.memory)",
    ),
    (HOSTED, "image-pull", "Pending", "Cannot pull image ollama/ollama:latets for container pull-model: Back-off"),
    (HOSTED, "oom", "Failed", "Container ollama is crash looping: last exit OOMKilled (exit 137), restarted 4 times"),
    (HOSTED, "oom", "Failed", "give it more memory (serverConfig.resources.limits.memory)"),
    (HOSTED, "unschedulable", "Pending", "Pod cannot be scheduled: 0/3 nodes are available: 3 Insufficient nvidia"),
    (HOSTED, "unschedulable", "Pending", "check serverConfig.resources"),
    (HOSTED, "starting", "Pending", "Container ollama started; waiting for it to pass its readiness probe"),
    # The pull's earlier failure (lastState) is history once it has completed.
    (HOSTED, "pulled-after-a-retry", "Pending", "Container ollama started; waiting for it to pass its readiness"),
    (PROXY, "secret-missing", "Pending", 'Container litellm cannot start: secret "openai-secrets" not found'),
    (PROXY, "never-pull", "Pending", "Cannot pull image litellm/litellm:latest for container litellm: Container image"),
    (PROXY, "crashloop", "Failed", "Container litellm is crash looping: last exit Error (exit 1), restarted 5 times"),
]


@pytest.mark.parametrize(("spec", "story", "phase", "in_message"), POD_STORIES)
def test_pods_explain_the_status(spec, story, phase, in_message):
    pod = pods.hosted(story) if spec is HOSTED else pods.proxy(story)
    status = _diagnosed(spec, "ollama" if spec is HOSTED else "dev-ollama", pod)
    assert status["phase"] == phase
    assert in_message in status["message"]
    assert status["message"].isprintable()


@pytest.mark.parametrize(
    ("reason", "phase"),
    [
        # The registry may answer later, or the image be pushed: the kubelet retries.
        ("ErrImagePull", "Pending"),
        ("ImagePullBackOff", "Pending"),
        ("ErrImageNeverPull", "Pending"),
        ("ImageInspectError", "Pending"),
        # No retry makes a malformed reference pullable: only a change of the image does.
        ("InvalidImageName", "Failed"),
    ],
)
def test_an_image_that_cannot_be_pulled_is_pending_unless_its_name_is_invalid(reason, phase):
    pod = pods.hosted("image-pull")
    pod["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"] = reason
    status = _diagnosed(HOSTED, "ollama", pod)
    assert status["phase"] == phase
    assert status["message"].startswith("Cannot pull image ollama/ollama:latets for container pull-model: Back-off")


CACHED = with_(HOSTED, "serverConfig.storage", {"size": "50Gi", "storageClassName": "fast-ssd"})


def test_a_pod_waiting_for_its_unbound_claim_says_which_claim_and_what_to_check():
    pod = pods.hosted("unschedulable")
    pod["status"]["conditions"][0]["message"] = (
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes"
    )
    out = compose(xr(CACHED, name="ollama"), None, {names.DEPLOYMENT: deployment_status()}, [pod])
    assert out.status["phase"] == "Pending"
    assert out.status["message"].endswith(
        "the models' PersistentVolumeClaim ollama-models is not bound: check that "
        "serverConfig.storage.storageClassName names a class that can provision it"
    )


def test_a_pod_being_replaced_is_pending_not_failed():
    """Recreate: the old pod goes first (it holds the GPU or the claim); no new one yet."""
    old = pods.hosted("starting")
    old["metadata"]["deletionTimestamp"] = "2026-11-26T10:05:00Z"
    out = compose(xr(CACHED, name="ollama"), None, {names.DEPLOYMENT: deployment_status()}, [old])
    assert out.status["phase"] == "Pending"
    assert out.status["message"].startswith("Replacing the pod of Deployment ollama: the old one goes first")
    assert not out.problem


@pytest.mark.parametrize(("spec", "generation", "told"), [(CACHED, 2, True), (CACHED, 1, False), (HOSTED, 2, False)])
def test_a_failed_update_under_recreate_says_nothing_serves(spec, generation, told):
    """Recreate (a claim, a GPU) stops the previous pod first: a new model that does not exist leaves
    nothing serving, and the message says so; not at the first rollout, nor where the old pod serves."""
    deployment = {**deployment_status(), "metadata": {"generation": generation}}
    out = compose(xr(spec, name="ollama"), None, {names.DEPLOYMENT: deployment}, [pods.hosted("pull-not-found")])
    assert out.status["phase"] == "Failed"
    assert out.status["ready"] is False
    said = "the previous pod was stopped first (it holds a GPU or the models' claim), so nothing serves until"
    assert (said in out.status["message"]) is told, out.status["message"]


def test_an_available_deployment_is_ready_whatever_a_new_pod_says():
    observed = {names.DEPLOYMENT: deployment_status(available=1)}
    out = compose(xr(HOSTED, name="ollama"), None, observed, [pods.hosted("oom")])
    assert out.status["phase"] == "Ready"


def test_a_failed_rollout_says_what_the_pod_says():
    observed = {names.DEPLOYMENT: deployment_status(available=0, progressing=("False", "ProgressDeadlineExceeded"))}
    out = compose(xr(HOSTED, name="ollama"), None, observed, [pods.hosted("image-pull")])
    assert out.status["phase"] == "Failed"
    assert out.status["message"].startswith(
        "Rollout of Deployment ollama failed: Cannot pull image ollama/ollama:latets"
    )


@pytest.mark.parametrize(
    ("story", "phase", "message"),
    [
        # A large model outlasts the Deployment's progress deadline (600 s) while it downloads:
        # the pull still running is progress the Deployment cannot see.
        ("pulling", "Pending", "Pulling model smollm2:135m (since 2026-11-26T10:00:03Z)"),
        ("pull-network", "Failed", "Rollout of Deployment ollama failed: Pulling model smollm2:135m failed (exit 1)"),
    ],
)
def test_a_pull_still_running_past_the_progress_deadline_is_not_a_failed_rollout(story, phase, message):
    observed = {names.DEPLOYMENT: deployment_status(available=0, progressing=("False", "ProgressDeadlineExceeded"))}
    out = compose(xr(HOSTED, name="ollama"), None, observed, [pods.hosted(story)])
    assert out.status["phase"] == phase
    assert out.status["message"].startswith(message)
    assert out.problem == (phase == "Failed")


FORBIDDEN = (
    'pods "ollama-7f9b8c6d5-x2v9q" is forbidden: violates PodSecurity "restricted:latest": '
    "runAsNonRoot != true (pod or containers must set securityContext.runAsNonRoot=true)"
)
CANNOT_CREATE = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": FORBIDDEN}


@pytest.mark.parametrize(
    ("progressing", "phase", "message"),
    [
        # No pod to explain: the Deployment says why (admission, quota).
        (("True", "ReplicaSetUpdated"), "Pending", f"Deployment ollama cannot create its pod: {FORBIDDEN}"),
        (
            ("False", "ProgressDeadlineExceeded"),
            "Failed",
            f"Rollout of Deployment ollama failed: Deployment ollama cannot create its pod: {FORBIDDEN}",
        ),
    ],
)
def test_a_pod_the_deployment_cannot_create_is_explained(progressing, phase, message):
    deployment = deployment_status(available=0, progressing=progressing)
    deployment["status"]["conditions"].append(CANNOT_CREATE)
    out = compose(xr(HOSTED, name="ollama"), None, {names.DEPLOYMENT: deployment}, [])
    assert (out.status["phase"], out.status["message"]) == (phase, message)
    assert out.problem


def test_the_newest_live_pod_is_the_one_that_explains():
    old = pods.hosted("oom")
    old["metadata"]["creationTimestamp"] = "2026-11-26T09:00:00Z"
    going = pods.hosted("unschedulable")
    going["metadata"]["creationTimestamp"] = "2026-11-26T11:00:00Z"
    going["metadata"]["deletionTimestamp"] = "2026-11-26T11:00:05Z"
    out = compose(
        xr(HOSTED, name="ollama"),
        None,
        {names.DEPLOYMENT: deployment_status()},
        [old, pods.hosted("pulling"), going],
    )
    assert out.status["message"].startswith("Pulling model")


@pytest.mark.parametrize(
    ("before", "after", "events"),
    [
        (None, "pulling", [(False, "Pending: Pulling model smollm2:135m (since 2026-11-26T10:00:03Z)")]),
        ("pulling", "pulling", []),
        ("pulling", "oom", [(True, "Failed: Container ollama is crash looping")]),
        ("pulling", "image-pull", [(True, "Pending: Cannot pull image")]),
    ],
)
def test_a_change_of_status_is_told_once(before, after, events):
    observed = {names.DEPLOYMENT: deployment_status()}
    composite = xr(HOSTED, name="ollama")
    if before:
        composite["status"] = compose(composite, None, observed, [pods.hosted(before)]).status
    out = compose(composite, None, observed, [pods.hosted(after)])
    assert [(e.warning, e.message[: len(m)]) for e, (_, m) in zip(out.events, events, strict=True)] == events


def test_a_redrawn_progress_line_shows_its_last_frame_only():
    """`ollama pull` redraws its progress line (cursor to column 1); as a real pull's log ends."""
    frame = "\x1b[?2026h\x1b[?25l\x1b[1Gpulling manifest {} \x1b[K\x1b[?25h\x1b[?2026l"
    log = "pulling model: m\n" + "".join(frame.format(c) for c in "⠋⠙⠹") + frame.format("")
    log += "\nError: pull model manifest: file does not exist\r\n"
    pod = pods.hosted("pull-not-found-progress")
    pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["message"] = log
    message = _diagnosed(HOSTED, "ollama", pod)["message"]
    assert "(exit 1): pulling model: m pulling manifest Error: pull model manifest: file does not exist;" in message


def test_a_proxy_waits_without_a_word_of_a_model_pull():
    out = compose(xr(PROXY), None, {names.DEPLOYMENT: deployment_status(available=0)})
    assert out.status["message"] == "Waiting for Deployment my-modelapi to have an available replica"


def test_a_proxy_out_of_memory_is_told_where_its_memory_is_set():
    pod = pods.proxy("crashloop")
    last = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
    last.update(reason="OOMKilled", exitCode=137)
    status = _diagnosed(PROXY, "dev-ollama", pod)
    assert status["message"].endswith(
        "; give it more memory (spec.proxyConfig.resources, or proxyResources in the function input)"
    )


@pytest.mark.parametrize("story", ["pull-oom", "oom"])
def test_a_container_killed_for_memory_is_a_problem_told_as_a_warning(story):
    observed = {names.DEPLOYMENT: deployment_status(available=0, progressing=("True", "ReplicaSetUpdated"))}
    out = compose(xr(HOSTED, name="ollama"), None, observed, [pods.hosted(story)])
    assert out.status["phase"] == "Failed"
    assert out.problem is True
    assert out.events[0].warning is True


OOM_HINT = "the container was OOMKilled: give it more memory (serverConfig.resources.limits.memory)"


def _retrying_after(terminated: dict) -> dict:
    """The pull-oom story a moment later: the kubelet runs the pull again, the kill in lastState."""
    pod = pods.hosted("pull-oom")
    (init,) = pod["status"]["initContainerStatuses"]
    init["lastState"] = {"terminated": terminated}
    init["state"] = {"running": {"startedAt": "2026-12-01T10:45:30Z"}}
    return pod


def test_a_pull_retried_after_it_ran_out_of_memory_stays_failed_while_it_runs():
    """It will run out again: "Pulling model" between two kills would hide the cause (seen on the
    real node: the status read Pulling whenever it was composed during a retry)."""
    killed = {"exitCode": 1, "reason": "OOMKilled", "message": "ollama serve exited before answering\n"}
    status = _diagnosed(HOSTED, "ollama", _retrying_after(killed))
    assert status["phase"] == "Failed", status
    assert status["message"].endswith(OOM_HINT), status
    assert "ollama serve exited before answering" in status["message"]


def test_a_pull_retried_after_another_failure_says_pulling():
    failed = {"exitCode": 1, "reason": "Error", "message": "dial tcp: i/o timeout\n"}
    status = _diagnosed(HOSTED, "ollama", _retrying_after(failed))
    assert status["phase"] == "Pending", status
    assert status["message"] == "Pulling model smollm2:135m (since 2026-12-01T10:45:30Z)"


@pytest.mark.parametrize("state", ["running", "waiting"])
def test_a_pull_killed_for_memory_before_it_ran_is_out_of_memory(state):
    """runc's own init killed under the limit: the kubelet reports StartError (exit 128)."""
    start_error = {
        "exitCode": 128,
        "reason": "StartError",
        "message": "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
        "runc create failed: container init was OOM-killed (memory limit too low?): unknown",
    }
    pod = _retrying_after(start_error)
    if state == "waiting":
        pod["status"]["initContainerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    status = _diagnosed(HOSTED, "ollama", pod)
    assert status["phase"] == "Failed", status
    assert status["message"].startswith("Pulling model smollm2:135m failed (exit 128): "), status
    assert status["message"].endswith(OOM_HINT), status


def test_a_pull_that_completed_is_not_failed_by_a_kill_inside_it():
    """exit 0 is a pull that completed, whatever the runtime says of a process inside it."""
    pod = pods.hosted("pull-oom")
    (init,) = pod["status"]["initContainerStatuses"]
    init["state"] = {"terminated": {"exitCode": 0, "reason": "OOMKilled"}}
    init["lastState"] = {}
    assert _diagnosed(HOSTED, "ollama", pod)["phase"] != "Failed"
