"""Status rules: the ModelAPI's phase and message from what Crossplane observed."""

from dataclasses import dataclass
from typing import Literal

Phase = Literal["Pending", "Ready", "Failed"]


@dataclass(frozen=True)
class Status:
    phase: Phase
    message: str

    @property
    def ready(self) -> bool:
        return self.phase == "Ready"


def _condition(deployment: dict, kind: str) -> dict:
    for c in deployment.get("status", {}).get("conditions", []) or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return {}


def from_deployment(deployment: dict | None, name: str, hosted: bool) -> Status:
    if not deployment:
        return Status("Pending", f"Creating Deployment {name}")
    progressing = _condition(deployment, "Progressing")
    if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        detail = progressing.get("message") or "no progress within the deadline"
        return Status("Failed", f"Rollout of Deployment {name} failed: {detail}")
    status = deployment.get("status", {})
    if (status.get("availableReplicas") or 0) >= 1:
        return Status("Ready", "")
    waiting = f"Waiting for Deployment {name} to have an available replica"
    if hosted:
        waiting += " (the model is pulled before the server starts; large models take minutes)"
    return Status("Pending", waiting)
