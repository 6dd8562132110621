"""What every ModelAPI pod shares: hardening, image settings and the Deployment around it."""

from collections.abc import Sequence

from function import names
from function.spec import EnvVar, Input


def http_probe(path: str, period: int, failures: int) -> dict:
    return {
        "httpGet": {"path": path, "port": names.PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def container(name: str, image: str, platform: Input, **fields: object) -> dict:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": platform.imagePullPolicy,
        **fields,
        # Built here, not kept in a module constant, so that hack/mutate.sh mutates it too. Both
        # upstream images run as root, so runAsNonRoot cannot be set (see README, Pod security).
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def deployment(
    naming: names.Naming,
    namespace: str,
    component: str,
    platform: Input,
    pod_spec: dict,
    annotations: dict[str, str] | None = None,
    *,
    replicas: int = 1,
) -> dict:
    labels = naming.labels(component)
    template_meta: dict = {"labels": labels}
    if annotations:
        template_meta["annotations"] = annotations
    spec = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        **pod_spec,
    }
    if platform.imagePullSecrets:
        spec["imagePullSecrets"] = [{"name": n} for n in platform.imagePullSecrets]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": naming.base, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": naming.selector()},
            "template": {"metadata": template_meta, "spec": spec},
        },
    }


def merge_env(ours: list[dict], theirs: list[dict]) -> list[dict]:
    """Our defaults, then the user's; a user entry replaces our default of the same name
    (server-side apply refuses duplicate env names)."""
    own = {e["name"] for e in theirs}
    return [e for e in ours if e["name"] not in own] + theirs


def spread_across_nodes(naming: names.Naming) -> dict:
    """Replicas on different nodes where the scheduler can (a drain or a node's loss takes one, not
    all), on one node where it cannot: soft. Counted per revision (pod-template-hash), so a rollout's
    new pods spread among themselves rather than around the old ones."""
    return {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": naming.selector()},
        "matchLabelKeys": ["pod-template-hash"],
    }


def empty_env_note(field: str, env: Sequence[EnvVar]) -> str | None:
    """Entries with a name and neither value nor valueFrom: Kubernetes sets the variable empty,
    which a key or a URL never is."""
    empty = [f"{field}[{i}] ({e.name})" for i, e in enumerate(env) if e.value is None and e.valueFrom is None]
    if not empty:
        return None
    more = f" and {len(empty) - 3} more" if len(empty) > 3 else ""
    return (
        f"{', '.join(empty[:3])}{more}: neither value nor valueFrom, so set empty; give it a value, "
        "or valueFrom.secretKeyRef for a key"
    )
