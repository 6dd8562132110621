"""The NetworkPolicies: who may reach the endpoint (only the ModelAPI's own namespace, plus the
namespaces the platform names), and, where the platform asks, where a proxy may connect."""

import ipaddress
import re
from collections.abc import Sequence

from function import k8s, names
from function.spec import ClusterDNS, NetworkPolicyDefaults

# An in-cluster Service by name: reachable as the pods of its namespace.
_SERVICE_HOST = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$"
)


def network_policy(
    naming: names.Naming,
    namespace: str,
    component: str,
    port: int,
    policy: NetworkPolicyDefaults,
    metrics_port: int | None = None,
    metrics_namespaces: Sequence[str] = (),
) -> dict:
    """The endpoint's port for the namespace's pods and policy.allowNamespaces; the metrics port,
    where there is one, for those and metrics_namespaces (Prometheus's)."""
    ingress = [{"from": _sources(policy.allowNamespaces), "ports": [{"port": port, "protocol": "TCP"}]}]
    if metrics_port is not None:
        scrapers = _sources([*policy.allowNamespaces, *metrics_namespaces])
        ingress.append({"from": scrapers, "ports": [{"port": metrics_port, "protocol": "TCP"}]})
    return k8s.of_modelapi(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        naming,
        namespace,
        component,
        {
            "podSelector": {"matchLabels": naming.selector()},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    )


def _sources(namespaces: Sequence[str]) -> list[dict]:
    """The pods of the policy's own namespace, and of these namespaces."""
    sources: list[dict] = [{"podSelector": {}}]
    if namespaces:
        sources.append(
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(set(namespaces))}
                    ]
                }
            }
        )
    return sources


def egress_policy(naming: names.Naming, namespace: str, component: str, allowed: list[str], dns: ClusterDNS) -> dict:
    """The proxy pods may reach the cluster's DNS pods (not port 53 of any address: a proxy
    variable would pass that) and the allowed hosts a policy can name: a CIDR as an ipBlock,
    an in-cluster Service (`svc.ns.svc`) as its namespace's pods, each with its port. A policy
    cannot name an external host: those must be allowed as CIDRs, or they are unreachable."""
    resolvers = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": dns.namespace}},
        "podSelector": {"matchLabels": dict(sorted(dns.podLabels.items()))} if dns.podLabels else {},
    }
    rules: list[dict] = [
        {"to": [resolvers], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    ]
    for entry in allowed:
        host, port = _split(entry)
        if "/" in host:
            peer: dict = {"ipBlock": {"cidr": str(ipaddress.ip_network(host, strict=False))}}
        elif (service := _SERVICE_HOST.match(host.lower())) is not None:
            peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": service["ns"]}}}
        else:
            continue
        rule: dict = {"to": [peer]}
        if port:
            rule["ports"] = [{"port": int(port), "protocol": "TCP"}]
        rules.append(rule)
    meta = {"name": names.egress_policy_name(naming.base), "namespace": namespace, "labels": naming.labels(component)}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {
            "podSelector": {"matchLabels": naming.selector()},
            "policyTypes": ["Egress"],
            "egress": rules,
        },
    }


def _split(entry: str) -> tuple[str, str]:
    head, sep, tail = entry.rpartition(":")
    if sep and tail.isdigit() and "/" not in tail and (":" not in head or head.endswith("]")):
        return head, tail
    return entry, ""


def renamed(policy: dict, observed: dict) -> dict:
    """POLICY under the name OBSERVED (a policy composed under an older name) has."""
    name = (observed.get("metadata") or {}).get("name") or policy["metadata"]["name"]
    return {**policy, "metadata": {**policy["metadata"], "name": name}}
