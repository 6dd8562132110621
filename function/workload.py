"""What a mode builds: its own objects, and what the objects every mode shares (Service,
client Secret, NetworkPolicy) and the status need from it."""

from dataclasses import dataclass, field

from function import status


@dataclass(frozen=True)
class Workload:
    component: str  # the app.kubernetes.io/component of its objects
    port: int  # the endpoint's
    resources: dict[str, dict]  # by the key of the composed resource
    # The key agents send, for the client Secret; None where the team brings its own.
    api_key: str | None
    status: status.Context
    # Said in the status message: setups that start but cannot serve, fields ignored.
    notes: list[str] = field(default_factory=list)
    # Readiness of its own objects where existing is not enough (a claim is ready once bound).
    ready: dict[str, bool] = field(default_factory=dict)
    # A NetworkPolicy even where the platform's input asks for none (an endpoint without a key).
    network_policy_by_default: bool = False
    # More than one: a PodDisruptionBudget keeps all but one serving through a drain.
    replicas: int = 1
    # The Service's metrics port (its name: names.METRICS_PORT_NAME), where the pods serve metrics.
    metrics_port: int | None = None
