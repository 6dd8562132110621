"""The ServiceMonitor (prometheus-operator) that has Prometheus scrape a proxy's metrics port."""

from function import names
from function.spec import Metrics


def service_monitor(base: str, namespace: str, component: str, metrics: Metrics) -> dict:
    # No credentials: the metrics port asks for none (names.METRICS_PORT), so no Secret is named.
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": base, "namespace": namespace, "labels": names.labels(base, component)},
        "spec": {
            "selector": {"matchLabels": names.selector_labels(base)},
            "endpoints": [{"port": names.METRICS_PORT_NAME, "path": names.METRICS_PATH, "interval": metrics.interval}],
        },
    }
