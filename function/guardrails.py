"""The platform's bounds on what a team may ask for (the function input's `egress`, `models`,
`limits` and `env`), checked at compose time: a spec past one is a fatal result naming the field
and the bound, so nothing changes in the cluster. Every bound is off unless the platform sets
it, but one: no backend lives at a link-local or cloud metadata address, so those are refused
always, unless the platform lists them itself."""

import fnmatch
import ipaddress
import socket
from urllib.parse import urlsplit

from function import quantity
from function.spec import EnvVar, Input, ModelAPISpec, Resources, SpecError

# Where clouds serve instance credentials: never an LLM backend.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.internal"})
METADATA_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local: AWS, GCP, Azure, OpenStack metadata
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def check(spec: ModelAPISpec, platform: Input) -> None:
    """Raises SpecError naming the field and the bound it passes."""
    if spec.mode == "Proxy" and spec.proxyConfig is not None:
        proxy = spec.proxyConfig
        if proxy.configYaml is not None:
            for i, url in proxy.configYaml.facts.api_bases:
                _egress(f"spec.proxyConfig.configYaml: model_list[{i}].litellm_params.api_base", url, platform)
            for name in proxy.configYaml.facts.env_set:
                _env_name(f"spec.proxyConfig.configYaml: environment_variables.{name}", name, platform)
        else:
            if proxy.apiBase is not None:
                _egress("spec.proxyConfig.apiBase", proxy.apiBase, platform)
            if proxy.model is not None:
                _model("spec.proxyConfig.model", proxy.model, platform)
        _env("spec.proxyConfig.env", proxy.env, platform)
        if proxy.replicas is not None and proxy.replicas > platform.proxyReplicas.max:
            raise SpecError(
                f"spec.proxyConfig.replicas: {proxy.replicas} is more than this platform allows "
                f"(proxy replicas at most {platform.proxyReplicas.max}, proxyReplicas.max)"
            )
        if proxy.resources is not None:
            _within("spec.proxyConfig.resources", proxy.resources, platform)
    if spec.mode == "Hosted" and spec.serverConfig is not None:
        server = spec.serverConfig
        _model("spec.serverConfig.model", server.model, platform)
        _env("spec.serverConfig.env", server.env, platform)
        if server.resources is not None:
            _within("spec.serverConfig.resources", server.resources, platform)


def bounded(resources: Resources | None, platform: Input) -> Resources | None:
    """The resources a container gets: the platform's default where the spec sets none, and a
    limit at the platform's most for every bounded cpu, memory or storage the spec leaves
    unlimited, so that no pod runs unbounded where the platform sets bounds."""
    if platform.limits is None:
        return resources
    chosen = resources or platform.limits.default
    most = platform.limits.max
    if not most:
        return chosen
    limits = dict(chosen.limits or {}) if chosen else {}
    for name, q in most.items():
        # Not an extended resource: a limit on a GPU is a request for one.
        if "/" not in name:
            limits.setdefault(name, q)
    requests = dict(chosen.requests or {}) if chosen else {}
    return Resources(requests=requests or None, limits=limits)


def _egress(field: str, url: str, platform: Input) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        # A configYaml's api_base is read as written (apiBase's pattern and parse come first).
        raise SpecError(f"{field}: {url!r} is not a URL with a port of 1-65535") from None
    address = _address(host)
    allowed = platform.egress.allowedHosts if platform.egress else None
    listed = allowed is not None and any(_matches(entry, host, address, port, exact=True) for entry in allowed)
    if _metadata(host, address) and not listed:
        raise SpecError(
            f"{field}: {host} is a link-local or cloud metadata address, where no LLM backend lives; "
            "a platform that means it lists it in egress.allowedHosts"
        )
    if allowed is not None and not any(_matches(entry, host, address, port, exact=False) for entry in allowed):
        raise SpecError(
            f"{field}: {host}:{port} is not a backend this platform allows (egress.allowedHosts: {', '.join(allowed)})"
        )


def _address(host: str) -> Address | None:
    """The IP a host name stands for without DNS: a literal, or the forms libc reads as one
    (`2852039166`, `0xa9fea9fe`, `169.254.43518` are 169.254.169.254)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(socket.inet_aton(host))
    except OSError:
        return None


def _metadata(host: str, address: Address | None) -> bool:
    if host in METADATA_HOSTS:
        return True
    if address is None:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return any((mapped or address) in net for net in METADATA_NETWORKS if (mapped or address).version == net.version)


def _matches(entry: str, host: str, address: Address | None, port: int, *, exact: bool) -> bool:
    """An entry: a host (`api.openai.com`), a suffix (`*.openai.azure.com`), a CIDR for literal
    IPs (`10.0.0.0/8`), each with an optional port (`:8000`). `exact`: only an entry that names
    this host itself (or a network inside the metadata ones) counts, not a wildcard."""
    name, _, wanted_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
    if wanted_port and int(wanted_port) != port:
        return False
    name = name.lower().rstrip(".")
    if "/" in name:
        network = ipaddress.ip_network(name, strict=False)
        inside = address is not None and address.version == network.version and address in network
        if exact:
            return inside and any(network.subnet_of(m) for m in METADATA_NETWORKS if m.version == network.version)
        return inside
    if name.startswith("*."):
        return not exact and host.endswith(name[1:])
    if address is not None and _address(name) is not None:
        return _address(name) == address
    return name == host


def _has_port(entry: str) -> bool:
    head, sep, tail = entry.rpartition(":")
    return bool(sep) and tail.isdigit() and "/" not in tail and (head.count(":") == 0 or head.endswith("]"))


def _model(field: str, model: str, platform: Input) -> None:
    allowed = platform.models.allowed if platform.models else None
    if allowed is not None and not any(fnmatch.fnmatchcase(model, pattern) for pattern in allowed):
        raise SpecError(f"{field}: {model} is not a model this platform allows (models.allowed: {', '.join(allowed)})")


def _env(field: str, env: list[EnvVar], platform: Input) -> None:
    for i, e in enumerate(env):
        _env_name(f"{field}[{i}].name", e.name, platform)


def _env_name(field: str, name: str, platform: Input) -> None:
    denied = platform.env.denied if platform.env else []
    for rule in denied:
        if name == rule or (rule.endswith("*") and name.startswith(rule[:-1])):
            raise SpecError(f"{field}: {name} is not allowed on this platform (env.denied: {rule})")


def _within(field: str, resources: Resources, platform: Input) -> None:
    most = platform.limits.max if platform.limits else {}
    for kind, values in (("requests", resources.requests), ("limits", resources.limits)):
        for name, q in (values or {}).items():
            if name in most and quantity.value(q) > quantity.value(most[name]):
                raise SpecError(
                    f"{field}.{kind}[{name!r}]: {quantity.text(q)} is more than this platform allows "
                    f"({quantity.text(most[name])}, limits.max)"
                )
