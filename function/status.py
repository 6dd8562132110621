"""Status rules: the ModelAPI's phase and message from what Crossplane observed (the
Deployment) and what the function asked it for (the ModelAPI's pods).

Pending while it may still recover, Failed when it will not without a change, Ready
when serving."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

Phase = Literal["Pending", "Ready", "Failed"]

MAX_DETAIL = 300
# What a failed `ollama pull` prints when the model does not exist.
MODEL_NOT_FOUND = ("file does not exist", "not found", "manifest unknown")
_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-_])")
_REDRAW = re.compile(r"\r|\x1b\[1?G")


@dataclass(frozen=True)
class Status:
    phase: Phase
    message: str
    problem: bool = False  # worth a Warning event, not a Normal one
    # The model still downloading: progress the Deployment cannot see, so a large model
    # outlasts its progress deadline (600 s) without the rollout having failed.
    pulling: bool = False
    # An update that fails while the previous revision still serves: agents can call it.
    serving: bool = False
    # A rollout in progress: the new pod is watched (its Pods asked for) even while serving.
    rolling: bool = False

    @property
    def ready(self) -> bool:
        return self.phase == "Ready" or self.serving


@dataclass(frozen=True)
class Context:
    """What the messages need to know about the ModelAPI."""

    name: str
    hosted: bool
    model: str | None
    pull_container: str
    memory_hint: str
    # The Deployment replaces its pod rather than surging a second one (a GPU, a claim).
    recreates: bool = False
    # The models' PersistentVolumeClaim, where it has one.
    claim: str | None = None
    # The replicas asked for: Ready from the first available, and the message counts the others.
    replicas: int = 1


def _map(value: object) -> Mapping:
    """Observed objects come from a cluster: any field may be missing, null or odd."""
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _condition(obj: Mapping, kind: str) -> Mapping:
    for c in _list(_map(obj.get("status")).get("conditions")):
        if _map(c).get("type") == kind:
            return c
    return {}


def _short(text: object) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def _log_tail(text: object) -> str:
    """The end of a container's log, where its error is: without the terminal escapes of a
    progress display (`ollama pull` draws one) and other control characters."""
    # A redrawn line (carriage return, cursor to column 1) shows only its last frame.
    text = "\n".join(_REDRAW.split(line.rstrip("\r"))[-1] for line in str(text or "").split("\n"))
    text = "".join(ch if ch.isprintable() else " " for ch in _ESCAPE.sub("", text))
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else "..." + text[3 - MAX_DETAIL :]


def evaluate(deployment: Mapping | None, pods: Sequence[Mapping], ctx: Context) -> Status:
    if not isinstance(deployment, Mapping) or not deployment:
        return Status("Pending", f"Creating Deployment {ctx.name}")
    progressing = _condition(deployment, "Progressing")
    rollout_failed = progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded"
    observed = _map(deployment.get("status"))
    available = observed.get("availableReplicas")
    if isinstance(available, (int, float)) and available >= 1:
        return _serving(observed, rollout_failed, progressing, pods, ctx)
    # No pod at all when admission or a quota refuses it: only the Deployment tells.
    cannot_create = _condition(deployment, "ReplicaFailure")
    if cannot_create.get("status") == "True":
        message = f"Deployment {ctx.name} cannot create its pod: {_short(cannot_create.get('message'))}"
        found: Status | None = Status("Pending", message, problem=True)
    else:
        found = diagnose(pods, ctx)
    if rollout_failed and not (found and found.pulling):
        detail = found.message if found else _short(progressing.get("message")) or "no progress within the deadline"
        return Status("Failed", f"Rollout of Deployment {ctx.name} failed: {detail}", problem=True)
    if found and found.problem and ctx.recreates and _updated(deployment):
        # Recreate stopped the previous pod first: no earlier revision serves meanwhile.
        message = f"{found.message}; the previous pod was stopped first (it holds a GPU or the models' claim)"
        return replace(found, message=message + ", so nothing serves until this is fixed")
    if found:
        return found
    waiting = f"Waiting for Deployment {ctx.name} to have an available replica"
    if ctx.hosted:
        waiting += " (the model is pulled before the server starts; large models take minutes)"
    return Status("Pending", waiting)


def _updated(deployment: Mapping) -> bool:
    """The Deployment's spec has changed since it was created (its generation counts changes)."""
    generation = _map(deployment.get("metadata")).get("generation")
    return isinstance(generation, int) and generation > 1


def _serving(
    observed: Mapping, rollout_failed: bool, progressing: Mapping, pods: Sequence[Mapping], ctx: Context
) -> Status:
    """An available replica serves; a rollout beside it (a change, its new pod) may still fail."""
    replicas, updated = observed.get("replicas"), observed.get("updatedReplicas")
    rolling = isinstance(replicas, (int, float)) and isinstance(updated, (int, float)) and updated < replicas
    if not rolling and not rollout_failed:
        available = int(observed.get("availableReplicas") or 0)
        if available < ctx.replicas:
            return Status("Ready", f"{available}/{ctx.replicas} replicas ready")
        return Status("Ready", "")
    found = diagnose(pods, ctx)
    if rollout_failed or (found and found.problem):
        detail = found.message if found else _short(progressing.get("message")) or "no progress within the deadline"
        return Status(
            "Failed",
            f"Update of Deployment {ctx.name} failed: {detail}; the previous revision still serves",
            problem=True,
            serving=True,
            rolling=True,
        )
    return Status(
        "Ready",
        f"Rolling out a change to Deployment {ctx.name}: {found.message if found else 'in progress'}",
        rolling=True,
    )


def _newest(pods: Sequence[Mapping]) -> Mapping | None:
    live = [p for p in pods if isinstance(p, Mapping) and not _map(p.get("metadata")).get("deletionTimestamp")]
    return max(live, key=lambda p: str(_map(p.get("metadata")).get("creationTimestamp", "")), default=None)


def diagnose(pods: Sequence[Mapping], ctx: Context) -> Status | None:
    """Why the newest pod is not serving, or None when it shows nothing wrong."""
    pod = _newest(pods)
    if pod is None:
        if ctx.recreates and any(_map(_map(p).get("metadata")).get("deletionTimestamp") for p in pods):
            return Status(
                "Pending",
                f"Replacing the pod of Deployment {ctx.name}: the old one goes first, as it holds a GPU or "
                "the models' claim that a second pod could not get; the endpoint is back when the new one is ready",
            )
        return None
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        why = str(scheduled.get("message") or "")
        if ctx.claim and "PersistentVolumeClaim" in why:
            hint = (
                f"; the models' PersistentVolumeClaim {ctx.claim} is not bound: check that "
                "serverConfig.storage.storageClassName names a class that can provision it"
            )
        elif ctx.hosted:
            hint = "; check serverConfig.resources and serverConfig.profile"
        else:
            hint = ""
        return Status("Pending", f"Pod cannot be scheduled: {_short(why)}{hint}", problem=True)
    status = _map(pod.get("status"))
    for c in _list(status.get("initContainerStatuses")) + _list(status.get("containerStatuses")):
        found = _container(_map(c), ctx)
        if found:
            return found
    return None


def _container(c: Mapping, ctx: Context) -> Status | None:  # noqa: PLR0911 - one return per story
    name = str(c.get("name", ""))
    state = _map(c.get("state"))
    waiting = _map(state.get("waiting"))
    reason = waiting.get("reason")
    # The current termination first: lastState keeps an earlier one after a later success.
    last = _map(state.get("terminated")) or _map(_map(c.get("lastState")).get("terminated"))
    if reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError"):
        message = f"Cannot pull image {c.get('image')} for container {name}: {_short(waiting.get('message'))}"
        return Status("Failed" if reason == "InvalidImageName" else "Pending", message, problem=True)
    if reason in ("CreateContainerConfigError", "CreateContainerError"):
        return Status("Pending", f"Container {name} cannot start: {_short(waiting.get('message'))}", problem=True)
    if name == ctx.pull_container:
        earlier = _map(_map(c.get("lastState")).get("terminated"))
        # A pull that ran out of memory runs out again on every retry (its exit code may read 0):
        # told as such while it waits to retry and while it retries.
        out_of_memory = "terminated" not in state and _out_of_memory(earlier)
        if "running" in state and not out_of_memory:
            since = _map(state["running"]).get("startedAt", "?")
            return Status("Pending", f"Pulling model {ctx.model} (since {since})", pulling=True)
        if out_of_memory:
            last = earlier
        if last.get("exitCode") not in (None, 0) or out_of_memory:
            detail = _log_tail(last.get("message")) or _short(last.get("reason")) or "no output"
            gone = any(s in detail.lower() for s in MODEL_NOT_FOUND)
            message = f"Pulling model {ctx.model} failed (exit {_int(last.get('exitCode'))}): {detail}"
            if gone:
                return Status("Failed", message + "; check serverConfig.model", problem=True)
            if _out_of_memory(last):  # it would run out again: no use retrying
                hint = f"the container was OOMKilled: give it more memory ({ctx.memory_hint})"
                return Status("Failed", f"{message}; {hint}", problem=True)
            return Status("Pending", message + "; retrying", problem=True)
        return None
    if reason == "CrashLoopBackOff":
        why = last.get("reason") or "Error"
        message = (
            f"Container {name} is crash looping: last exit {why} (exit {_int(last.get('exitCode'))}), "
            f"restarted {_int(c.get('restartCount'))} times"
        )
        if why == "OOMKilled":
            message += f"; give it more memory ({ctx.memory_hint})"
        return Status("Failed", message, problem=True)
    if "running" in state and not c.get("ready"):
        return Status("Pending", f"Container {name} started; waiting for it to pass its readiness probe")
    return None


def _out_of_memory(terminated: Mapping) -> bool:
    """Killed for memory: by the kernel in a running container (OOMKilled), or before it ran at
    all (runc's init killed under the limit: a StartError whose message says so)."""
    if terminated.get("reason") == "OOMKilled":
        return True
    return terminated.get("reason") == "StartError" and "oom-killed" in str(terminated.get("message", "")).lower()


def _int(value: object) -> int | str:
    return int(value) if isinstance(value, (int, float)) else "?"
