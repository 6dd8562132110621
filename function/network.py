"""The optional NetworkPolicy: only the ModelAPI's own namespace, plus the namespaces the
platform names in the function input, may reach the endpoint."""

from function import names
from function.spec import NetworkPolicyDefaults


def network_policy(base: str, namespace: str, component: str, port: int, policy: NetworkPolicyDefaults) -> dict:
    sources: list[dict] = [{"podSelector": {}}]
    if policy.allowNamespaces:
        sources.append(
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "In",
                            "values": sorted(set(policy.allowNamespaces)),
                        }
                    ]
                }
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": base, "namespace": namespace, "labels": names.labels(base, component)},
        "spec": {
            "podSelector": {"matchLabels": names.selector_labels(base)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"port": port, "protocol": "TCP"}]}],
        },
    }
