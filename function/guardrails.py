"""The platform's bounds on what a team may ask for (the function input's `egress`, `models`,
`limits` and `env`), checked at compose time: a spec past one is a fatal result naming the field
and the bound, so nothing changes in the cluster. Every bound is off unless the platform sets
it, but one: no backend lives at a link-local or cloud metadata address, so those are refused
always, unless the platform lists them itself."""

import fnmatch
import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from function import litellm, litellm_keys, names, quantity
from function.litellm_config import Facts
from function.spec import EnvVar, Input, ModelAPISpec, ProxyConfig, Resources, SpecError

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
        _proxy(spec.proxyConfig, platform)
    if spec.mode == "Hosted" and spec.serverConfig is not None:
        server = spec.serverConfig
        _model("spec.serverConfig.model", server.model, platform)
        _env("spec.serverConfig.env", server.env, platform, _OLLAMA_ENV)
        if server.resources is not None:
            _within("spec.serverConfig.resources", server.resources, platform)


def _proxy(proxy: ProxyConfig, platform: Input) -> None:
    if proxy.configYaml is not None:
        for i, url in proxy.configYaml.facts.api_bases:
            _egress(f"spec.proxyConfig.configYaml: model_list[{i}].litellm_params.api_base", url, platform)
        for name in proxy.configYaml.facts.env_set:
            _env_name(f"spec.proxyConfig.configYaml: environment_variables.{name}", name, platform)
        if _guarded(platform):
            _config(proxy.configYaml.facts, platform)
    else:
        _single(proxy.apiBase, proxy.model, platform)
    _env("spec.proxyConfig.env", proxy.env, platform)
    if _guarded(platform):
        for i, e in enumerate(proxy.env):
            _env_known(f"spec.proxyConfig.env[{i}].name", e.name, platform)
    if _egress_bound(platform):
        _env_hosts("spec.proxyConfig.env", proxy.env, platform)
    if proxy.replicas is not None and proxy.replicas > platform.proxyReplicas.max:
        raise SpecError(
            f"spec.proxyConfig.replicas: {proxy.replicas} is more than this platform allows "
            f"(proxy replicas at most {platform.proxyReplicas.max}, proxyReplicas.max)"
        )
    if proxy.resources is not None:
        _within("spec.proxyConfig.resources", proxy.resources, platform)


def _guarded(platform: Input) -> bool:
    """Whether the platform bounds what a proxy reaches, serves or is given."""
    return (
        _egress_bound(platform)
        or (platform.models is not None and platform.models.allowed is not None)
        or bool(platform.env and platform.env.denied)
    )


def _egress_bound(platform: Input) -> bool:
    return platform.egress is not None and platform.egress.allowedHosts is not None


def _single(api_base: str | None, model: str | None, platform: Input) -> None:
    """A Proxy without configYaml: one model at apiBase or at its provider's host, or any model
    (a wildcard) at apiBase."""
    if api_base is not None:
        _egress("spec.proxyConfig.apiBase", api_base, platform)
        if model is not None and _egress_bound(platform):
            _provider_honours_api_base("spec.proxyConfig.model", model, "")
    elif model is not None and _egress_bound(platform):
        _provider_host("spec.proxyConfig.model", model, "", platform)
    if model is not None:
        _model("spec.proxyConfig.model", model, platform)
    elif platform.models is not None and platform.models.allowed is not None:
        raise SpecError(
            "spec.proxyConfig.model: a proxy without model serves whatever model a caller names, and this "
            f"platform allows only some (models.allowed: {', '.join(platform.models.allowed)}): name the model "
            "in proxyConfig.model, or list the models in proxyConfig.configYaml"
        )


CONFIG = "spec.proxyConfig.configYaml"


def _config(facts: Facts, platform: Input) -> None:
    """A config under the platform's bounds, read positively: plain YAML, only the settings
    function.litellm_keys lists, every host it names within egress, every model within models."""
    _config_shape(facts)
    for name in facts.env_set:
        _env_known(f"{CONFIG}: environment_variables.{name}", name, platform)
    egress = _egress_bound(platform)
    for path, value in facts.leaves:
        if litellm_keys.is_callback(path) and value not in litellm_keys.CALLBACKS:
            raise SpecError(
                f"{CONFIG}: {path}: {value} is not a callback this platform's guardrails allow (they allow "
                f"{', '.join(litellm_keys.CALLBACKS)}: others send requests to hosts of their own or load code)"
            )
        if not egress:
            continue
        env_name = path.removeprefix("environment_variables.") if path.startswith("environment_variables.") else ""
        if litellm_keys.is_host_key(path) or litellm_keys.URL.match(value):
            _egress(f"{CONFIG}: {path}", value, platform)
        elif env_name and litellm_keys.is_host_env(env_name):
            _egress(f"{CONFIG}: {path}", _as_url(value), platform)
    based = {i for i, _ in facts.api_bases} | {
        int(path.split("[", 1)[1].split("]", 1)[0])
        for path, _ in facts.leaves
        if litellm_keys.shape(path) == "model_list[].litellm_params.base_url"
    }
    for i, _, model, provider in facts.models:
        _model(f"{CONFIG}: model_list[{i}].litellm_params.model", model, platform)
        if egress and i in based:
            _provider_honours_api_base(f"{CONFIG}: model_list[{i}].litellm_params.model", model, provider)
        elif egress:
            _provider_host(f"{CONFIG}: model_list[{i}].litellm_params.model", model, provider, platform)


def _config_shape(facts: Facts) -> None:
    """Plain YAML, and only the settings function.litellm_keys lists, in the shapes LiteLLM reads."""
    if facts.tags:
        raise SpecError(
            f"{CONFIG}: an explicit YAML tag ({facts.tags[0]}): this platform's guardrails read a config as plain "
            "YAML, where a tag can turn a value into one they would not see; write the value without it"
        )
    for path in facts.shapes:
        for key in (f"litellm_settings.{k}" for k in litellm_keys.CALLBACK_KEYS):
            if path == key or path.startswith(key + "."):
                # LiteLLM iterates the value: a mapping's keys or a string's letters are callbacks too.
                raise SpecError(f"{CONFIG}: {key} must be a list of callback names such as prometheus")
        if not litellm_keys.allowed(path):
            raise SpecError(
                f"{CONFIG}: {path} is not a setting a config may hold on this platform: under its guardrails "
                "(egress, models or env) a config holds only the settings whose effect they know (the model list, "
                "credentials, request defaults, retries, fallbacks and limits)"
            )


def _provider_honours_api_base(field: str, model: str, custom_llm_provider: str) -> None:
    """A model with a base URL goes there only if its provider sends its requests to it."""
    provider = litellm_keys.provider(model, custom_llm_provider)
    if provider not in litellm_keys.API_BASE_PROVIDERS:
        raise SpecError(
            f"{field}: {model}: the function cannot tell that its provider ({provider or 'none named'}) sends its "
            "requests to api_base, which this platform's egress.allowedHosts bounds; name one of the providers "
            f"{', '.join(litellm_keys.API_BASE_PROVIDERS)} (as openai/{model.rsplit('/', 1)[-1]})"
        )


def _env_known(field: str, name: str, platform: Input) -> None:
    """Under the platform's bounds, a proxy's environment is read positively too: the names the
    function knows, and the ones the platform adds (env.allowed)."""
    added = platform.env.allowed if platform.env else []
    if not litellm_keys.env_allowed(name) and not any(_names(rule, name) for rule in added):
        raise SpecError(
            f"{field}: {name} is not a variable a proxy may be given on this platform: under its guardrails "
            "(egress, models or env) a proxy's environment holds credentials (NAME_API_KEY, AWS's static keys), "
            "proxy and base-URL variables, LiteLLM's log settings and what the platform adds (env.allowed: "
            f"{', '.join(added) or 'none'}); LiteLLM reads others that load its config from elsewhere, reach hosts "
            "of their own or run code"
        )


def _provider_host(field: str, model: str, custom_llm_provider: str, platform: Input) -> None:
    """A model without a base URL goes to its provider's own host: that host must be allowed."""
    provider = litellm_keys.provider(model, custom_llm_provider)
    host = litellm_keys.PROVIDER_HOSTS.get(provider)
    if host is None:
        raise SpecError(
            f"{field}: {model} has no api_base, and the host its provider ({provider or 'none named'}) reaches "
            "cannot be checked against this platform's egress.allowedHosts: set an api_base it lists, or name "
            f"one of the providers {', '.join(sorted(litellm_keys.PROVIDER_HOSTS))}"
        )
    _egress(f"{field} (provider {provider}, at {host})", f"https://{host}", platform)


def _env_hosts(field: str, env: list[EnvVar], platform: Input) -> None:
    """Proxy and base-URL variables, in any case, are where requests go: within egress."""
    for i, e in enumerate(env):
        if not litellm_keys.is_host_env(e.name):
            continue
        if e.value is None:
            raise SpecError(
                f"{field}[{i}]: {e.name} names where requests go, and a value from a Secret or ConfigMap cannot be "
                "checked against this platform's egress.allowedHosts: give it as a value"
            )
        _egress(f"{field}[{i}].value", _as_url(e.value), platform)


def _as_url(value: str) -> str:
    """A proxy is often written without a scheme (`proxy:3128`)."""
    return value if litellm_keys.URL.match(value) else f"http://{value}"


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
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        # A configYaml's api_base is read as written (apiBase's pattern and parse come first).
        # Not quoted: a URL may carry a password.
        raise SpecError(f"{field}: not a URL with a host and a port of 1-65535") from None
    address = _address(host)
    allowed = platform.egress.allowedHosts if platform.egress else None
    if not host and allowed is not None:
        raise SpecError(f"{field}: not a URL with a host (scheme://host:port)")
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


# Ollama's wiring to its port and model volume (the spec refuses these spellings; here, every other).
_OLLAMA_ENV = dict.fromkeys(names.OLLAMA_RESERVED_ENV, "Ollama's address and model volume")


def _env(field: str, env: list[EnvVar], platform: Input, ours: Mapping[str, str] | None = None) -> None:
    for i, e in enumerate(env):
        _env_name(f"{field}[{i}].name", e.name, platform, ours)


def _env_name(field: str, name: str, platform: Input, ours: Mapping[str, str] | None = None) -> None:
    """ours: the variables the platform sets on the container, by name or pattern, with what each
    serves (litellm.platform_env, the proxy's, where not given: a configYaml is the proxy's)."""
    denied = platform.env.denied if platform.env else []
    for rule in denied:
        if _names(rule, name):
            raise SpecError(f"{field}: {name} is not allowed on this platform (env.denied: {rule})")
    for rule, serves in (litellm.platform_env(platform) if ours is None else ours).items():
        if _names(rule, name):
            raise SpecError(f"{field}: {name} is set by the platform ({serves}) and cannot be replaced")


def _names(rule: str, name: str) -> bool:
    """A rule names a variable in any case, `*` standing for any characters: programs read the
    proxy variables (HTTPS_PROXY, https_proxy) in either, so a rule one spelling passes would
    bound nothing."""
    return fnmatch.fnmatchcase(name.upper(), rule.upper())


def _within(field: str, resources: Resources, platform: Input) -> None:
    most = platform.limits.max if platform.limits else {}
    for kind, values in (("requests", resources.requests), ("limits", resources.limits)):
        for name, q in (values or {}).items():
            if name in most and quantity.value(q) > quantity.value(most[name]):
                raise SpecError(
                    f"{field}.{kind}[{name!r}]: {quantity.text(q)} is more than this platform allows "
                    f"({quantity.text(most[name])}, limits.max)"
                )
