"""The HTTPRoute (Gateway API) that lets clients outside the cluster reach a proxy."""

from function import k8s, names
from function.spec import Gateway


def http_route(naming: names.Naming, namespace: str, component: str, port: int, gateway: Gateway) -> dict:
    """HOSTNAME/NAMESPACE/NAME/... reaches the proxy as /..., within the platform's timeout."""
    return k8s.of_modelapi(
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        naming,
        namespace,
        component,
        {
            "parentRefs": [p.to_k8s() for p in gateway.parentRefs],
            "hostnames": [gateway.hostname],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": names.route_path(naming.base, namespace)}}],
                    "filters": [
                        {
                            "type": "URLRewrite",
                            "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
                        }
                    ],
                    # The Service's port for the proxy: never its metrics port, which takes no key.
                    "backendRefs": [{"name": naming.base, "port": port}],
                    "timeouts": {"request": gateway.timeout},
                }
            ],
        },
    )


def external_endpoint(base: str, namespace: str, gateway: Gateway) -> str:
    return f"{gateway.scheme}://{gateway.hostname}{names.route_path(base, namespace)}"
