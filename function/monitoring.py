"""The ServiceMonitor (prometheus-operator) that has Prometheus scrape a proxy's metrics port."""

from function import k8s, names
from function.spec import Metrics


def service_monitor(naming: names.Naming, namespace: str, component: str, metrics: Metrics) -> dict:
    # No credentials: the metrics port asks for none (names.METRICS_PORT), so no Secret is named.
    return k8s.of_modelapi(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        naming,
        namespace,
        component,
        {
            "selector": {"matchLabels": naming.selector()},
            "endpoints": [{"port": names.METRICS_PORT_NAME, "path": names.METRICS_PATH, "interval": metrics.interval}],
        },
    )
