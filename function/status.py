"""Status rules: the ModelAPI's phase and message from what Crossplane observed (the
Deployment) and what the function asked it for (the ModelAPI's pods).

Pending while it may still recover, Failed when it will not without a change, Ready
when serving."""

from dataclasses import dataclass
from typing import Literal

Phase = Literal["Pending", "Ready", "Failed"]

MAX_DETAIL = 300
# What a failed `ollama pull` prints when the model does not exist.
MODEL_NOT_FOUND = ("file does not exist", "not found", "manifest unknown")


@dataclass(frozen=True)
class Status:
    phase: Phase
    message: str
    problem: bool = False  # worth a Warning event, not a Normal one

    @property
    def ready(self) -> bool:
        return self.phase == "Ready"


@dataclass(frozen=True)
class Context:
    """What the messages need to know about the ModelAPI."""

    name: str
    hosted: bool
    model: str | None
    pull_container: str
    memory_hint: str


def _condition(obj: dict, kind: str) -> dict:
    for c in obj.get("status", {}).get("conditions", []) or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return {}


def _short(text: object) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def evaluate(deployment: dict | None, pods: list[dict], ctx: Context) -> Status:
    if not deployment:
        return Status("Pending", f"Creating Deployment {ctx.name}")
    progressing = _condition(deployment, "Progressing")
    rollout_failed = progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded"
    if (deployment.get("status", {}).get("availableReplicas") or 0) >= 1 and not rollout_failed:
        return Status("Ready", "")
    found = diagnose(pods, ctx)
    if rollout_failed:
        detail = found.message if found else _short(progressing.get("message")) or "no progress within the deadline"
        return Status("Failed", f"Rollout of Deployment {ctx.name} failed: {detail}", problem=True)
    if found:
        return found
    waiting = f"Waiting for Deployment {ctx.name} to have an available replica"
    if ctx.hosted:
        waiting += " (the model is pulled before the server starts; large models take minutes)"
    return Status("Pending", waiting)


def _newest(pods: list[dict]) -> dict | None:
    live = [p for p in pods if isinstance(p, dict) and not p.get("metadata", {}).get("deletionTimestamp")]
    return max(live, key=lambda p: str(p.get("metadata", {}).get("creationTimestamp", "")), default=None)


def diagnose(pods: list[dict], ctx: Context) -> Status | None:
    """Why the newest pod is not serving, or None when it shows nothing wrong."""
    pod = _newest(pods)
    if pod is None:
        return None
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        hint = "; check serverConfig.resources" if ctx.hosted else ""
        return Status("Pending", f"Pod cannot be scheduled: {_short(scheduled.get('message'))}{hint}", problem=True)
    status = pod.get("status", {})
    for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        found = _container(c, ctx)
        if found:
            return found
    return None


def _container(c: dict, ctx: Context) -> Status | None:  # noqa: PLR0911 - one return per story
    name = c.get("name", "")
    state = c.get("state") or {}
    waiting = state.get("waiting") or {}
    reason = waiting.get("reason")
    last = (c.get("lastState") or {}).get("terminated") or state.get("terminated") or {}
    if reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
        message = f"Cannot pull image {c.get('image')} for container {name}: {_short(waiting.get('message'))}"
        return Status("Failed" if reason == "InvalidImageName" else "Pending", message, problem=True)
    if reason in ("CreateContainerConfigError", "CreateContainerError"):
        return Status("Pending", f"Container {name} cannot start: {_short(waiting.get('message'))}", problem=True)
    if name == ctx.pull_container:
        if "running" in state:
            return Status("Pending", f"Pulling model {ctx.model} (since {state['running'].get('startedAt', '?')})")
        if last.get("exitCode") not in (None, 0):
            detail = _short(last.get("message")) or last.get("reason") or "no output"
            gone = any(s in detail.lower() for s in MODEL_NOT_FOUND)
            message = f"Pulling model {ctx.model} failed (exit {_int(last.get('exitCode'))}): {detail}"
            if gone:
                return Status("Failed", message + "; check serverConfig.model", problem=True)
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


def _int(value: object) -> int | str:
    return int(value) if isinstance(value, (int, float)) else "?"
