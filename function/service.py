"""The Service in front of a ModelAPI's pods."""

from function import k8s, names


def service(naming: names.Naming, namespace: str, component: str, port: int, metrics_port: int | None = None) -> dict:
    ports = [{"name": names.PORT_NAME, "port": port, "targetPort": names.PORT_NAME, "protocol": "TCP"}]
    if metrics_port is not None:
        ports.append(
            {
                "name": names.METRICS_PORT_NAME,
                "port": metrics_port,
                "targetPort": names.METRICS_PORT_NAME,
                "protocol": "TCP",
            }
        )
    return k8s.of_modelapi(
        "v1",
        "Service",
        naming,
        namespace,
        component,
        {"type": "ClusterIP", "selector": naming.selector(), "ports": ports},
    )
