"""The PodDisruptionBudget of a ModelAPI with more than one replica."""

from function import k8s, names


def disruption_budget(naming: names.Naming, namespace: str, component: str) -> dict:
    """A drain evicts one pod at a time: the next waits until the first's replacement is ready, so
    all but one of the replicas serve throughout (maxUnavailable 1, not minAvailable: a budget
    that counts from the replicas asked keeps holding when they change, and never blocks a drain
    for good, as minAvailable equal to the replicas would). A pod that is not ready anyway may go
    (AlwaysAllow): a crash-looping pod must not hold a node's drain."""
    return k8s.of_modelapi(
        "policy/v1",
        "PodDisruptionBudget",
        naming,
        namespace,
        component,
        {
            "maxUnavailable": 1,
            "selector": {"matchLabels": naming.selector()},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    )
