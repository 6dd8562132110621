"""Small builders shared by several objects."""

import base64

from function import names


def secret(name: str, namespace: str, labels: dict[str, str], data: dict[str, str]) -> dict:
    # `data`, not `stringData`: the observed Secret carries `data`, so desired and
    # observed compare alike.
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())},
    }


def of_modelapi(api_version: str, kind: str, naming: names.Naming, namespace: str, component: str, spec: dict) -> dict:
    """An object of a ModelAPI: named after it, in its namespace, with its labels."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": naming.base, "namespace": namespace, "labels": naming.labels(component)},
        "spec": spec,
    }
