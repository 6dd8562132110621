"""The ModelAPI spec and the function's input as typed models, validated once at the edge.

Every error names the field path (`spec.proxyConfig.apiBase: ...`)."""

import difflib
import ipaddress
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from function import litellm_config, names, quantity

MAX_ENV_VALUE = 32 * 1024
MAX_ENV = 128

# Ollama (`smollm2:135m`, `hf.co/org/repo:Q4_K_M`) and LiteLLM (`ollama/smollm2:135m`,
# `azure/gpt-4`) model names: no spaces, quotes or shell metacharacters, no leading `-`.
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
API_BASE_PATTERN = r"""^https?://[^\s/?#"'<>\\]+([/?#][^\s"'<>\\]*)?$"""
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
# An env.denied rule: a name, or a pattern where `*` stands for any characters (`*_PROXY`, `OTEL_*`).
ENV_RULE_PATTERN = r"^[-._a-zA-Z*][-._a-zA-Z0-9*]*$"
QUANTITY_PATTERN = r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
# A label key or an extended resource name: an optional DNS-subdomain prefix, then a name.
_QUALIFIED_NAME = rf"({_DNS_SUBDOMAIN}/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
RESOURCE_NAME_PATTERN = rf"^{_QUALIFIED_NAME}$"
# A Secret or ConfigMap name (DNS-1123 subdomain) and a key in it (not `.`, not `..`-led).
OBJECT_NAME_PATTERN = rf"^{_DNS_SUBDOMAIN}$"
DATA_KEY_PATTERN = r"^\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$"

# A label or annotation key in a fieldRef, as the API server checks it: a name part of at most 63.
_KEY = rf"({_DNS_SUBDOMAIN}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{{0,61}}[A-Za-z0-9])?"
FIELD_PATH_PATTERN = (
    rf"^(metadata\.(name|namespace|uid)|metadata\.(labels|annotations)\['{_KEY}'\]"
    r"|spec\.(nodeName|serviceAccountName)|status\.(hostIP|hostIPs|podIP|podIPs))$"
)
NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A profile's name: a DNS label, as a namespace's, spelled apart for its own message.
PROFILE_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
LABEL_KEY_PATTERN = rf"^{_KEY}$"
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
IMAGE_PATTERN = r"^[^\s]+$"
# A Gateway API Duration (HTTPRoute timeouts), as its CRD checks it: 300s, 5m, 1h30m.
DURATION_PATTERN = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"
# A host name a Gateway listener matches (HTTPRoute hostnames), with a domain: lower case, no
# wildcard (the status names one URL).
HOSTNAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$"
# A Gateway's name or one of its listeners' (parentRefs): lower case letters, digits, - and .
GATEWAY_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
# The most proxy replicas any ModelAPI may ask for; a platform bounds it lower (proxyReplicas.max).
MAX_REPLICAS = 100
ModelName = Annotated[str, StringConstraints(pattern=MODEL_PATTERN, max_length=256)]


def _parsable_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError as e:
        raise ValueError(f"not a valid URL: {e}") from None
    if not parts.hostname:
        raise ValueError("not a valid URL: no host")
    return url


ApiBase = Annotated[
    str, StringConstraints(pattern=API_BASE_PATTERN, max_length=2048), pydantic.AfterValidator(_parsable_url)
]
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME_PATTERN, max_length=256)]
ObjectName = Annotated[str, StringConstraints(pattern=OBJECT_NAME_PATTERN, max_length=253)]
NamespaceName = Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN, max_length=63)]
# A scheduling profile's name (serverConfig.profile), as the platform names it in the input.
ProfileName = Annotated[str, StringConstraints(pattern=PROFILE_PATTERN, max_length=63)]
LabelKey = Annotated[str, StringConstraints(pattern=LABEL_KEY_PATTERN, max_length=316)]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE_PATTERN, max_length=63)]
DataKey = Annotated[str, StringConstraints(pattern=DATA_KEY_PATTERN, max_length=253)]
Quantity = Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN, max_length=64)]
ResourceName = Annotated[str, StringConstraints(pattern=RESOURCE_NAME_PATTERN, max_length=316)]
ImageRef = Annotated[str, StringConstraints(pattern=IMAGE_PATTERN, max_length=512)]
# A resource quantity as Kubernetes takes it: a string (`500m`, `2Gi`) or a number.
QuantityValue = Quantity | int | float

# What a team reads when a value does not match its pattern: what was expected, with an
# example, instead of the regex. hack/xrd-schema.yaml gives admission the same sentences.
EXPECTED = {
    API_BASE_PATTERN: "must be an http(s) URL such as http://ollama.ollama.svc:11434",
    MODEL_PATTERN: (
        "must be a model name such as smollm2:135m or ollama/smollm2:135m "
        "(letters, digits and ._:/@+-, starting with a letter or digit)"
    ),
    ENV_NAME_PATTERN: (
        "must be an environment variable name such as OPENAI_API_KEY "
        "(letters, digits and ._-, not starting with a digit)"
    ),
    ENV_RULE_PATTERN: (
        "must be an environment variable name or a pattern with *, such as HTTPS_PROXY, *_PROXY or OTEL_* "
        "(letters, digits, ._- and *, not starting with a digit)"
    ),
    QUANTITY_PATTERN: "must be a quantity such as 500m, 2Gi or 1",
    RESOURCE_NAME_PATTERN: "must be a resource name such as memory, cpu or nvidia.com/gpu",
    OBJECT_NAME_PATTERN: "must be a Secret or ConfigMap name such as llm-secrets (lower case letters, digits, - and .)",
    DATA_KEY_PATTERN: "must be a key in the Secret or ConfigMap such as api-key (letters, digits and ._-)",
    FIELD_PATH_PATTERN: (
        "must be a pod field a container's env can read, such as metadata.name, metadata.labels['app'] or status.podIP"
    ),
    NAMESPACE_PATTERN: "must be a namespace name such as team-a",
    IMAGE_PATTERN: "must be an image reference without spaces, such as litellm/litellm:latest",
    PROFILE_PATTERN: "must be a profile name such as gpu (lower case letters, digits and -)",
    LABEL_KEY_PATTERN: "must be a label key such as cloud.google.com/gke-accelerator",
    LABEL_VALUE_PATTERN: "must be a label value such as nvidia-l4 (letters, digits and ._-, at most 63)",
    DURATION_PATTERN: "must be a duration such as 300s, 5m or 1h30m",
    HOSTNAME_PATTERN: "must be a host name such as llm.example.com (lower case letters, digits, - and .)",
    GATEWAY_NAME_PATTERN: "must be a Gateway or listener name such as public or https (lower case, digits, - and .)",
}
# Values of a union type: each member's error would be printed otherwise (three for a quantity).
_EXPECTED_VALUE = {QuantityValue: EXPECTED[QUANTITY_PATTERN]}


class SpecError(ValueError):
    """A spec that cannot work; the message names the field."""


class BelowError(ValueError):
    """A model validator's error about a field below its model, with that field's location."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class KeyRef(_Model):
    name: ObjectName
    key: DataKey
    optional: bool | None = None


class FieldRef(_Model):
    # The paths the API server accepts for a container's env.
    fieldPath: Annotated[str, StringConstraints(pattern=FIELD_PATH_PATTERN, max_length=256)]
    apiVersion: Literal["v1"] | None = None


class EnvSource(_Model):
    secretKeyRef: KeyRef | None = None
    configMapKeyRef: KeyRef | None = None
    fieldRef: FieldRef | None = None

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> "EnvSource":
        if sum(s is not None for s in (self.secretKeyRef, self.configMapKeyRef, self.fieldRef)) != 1:
            raise ValueError("set exactly one of secretKeyRef, configMapKeyRef, fieldRef")
        return self


class EnvVar(_Model):
    name: EnvName
    value: Annotated[str, StringConstraints(max_length=MAX_ENV_VALUE)] | None = None
    valueFrom: EnvSource | None = None

    @pydantic.model_validator(mode="after")
    def _value_or_source(self) -> "EnvVar":
        if self.value is not None and self.valueFrom is not None:
            raise ValueError("set value or valueFrom, not both")
        if self.value is not None and "\x00" in self.value:
            raise ValueError("value must not contain NUL characters")
        if self.name == names.MASTER_KEY_ENV and (self.valueFrom is None or self.valueFrom.secretKeyRef is None):
            raise ValueError(f"{names.MASTER_KEY_ENV} must come from valueFrom.secretKeyRef, never a literal value")
        return self

    def to_k8s(self) -> dict:
        return self.model_dump(exclude_none=True)


def _unique_names(env: list[EnvVar]) -> list[EnvVar]:
    seen: set[str] = set()
    for i, e in enumerate(env):
        if e.name in seen:
            raise ValueError(f"duplicate name {e.name} at [{i}]")
        seen.add(e.name)
    return env


Env = Annotated[list[EnvVar], Field(max_length=MAX_ENV), pydantic.AfterValidator(_unique_names)]


# Resource names the API server takes without a domain prefix.
_UNQUALIFIED = re.compile(r"^(cpu|memory|ephemeral-storage|storage|hugepages-.+)$")


class Resources(_Model):
    requests: dict[ResourceName, QuantityValue] | None = None
    limits: dict[ResourceName, QuantityValue] | None = None

    @pydantic.model_validator(mode="after")
    def _as_the_api_server_takes_them(self) -> "Resources":
        """What the API server would refuse in the Deployment, refused here, naming it."""
        requests, limits = self.requests or {}, self.limits or {}
        for kind, values in (("requests", requests), ("limits", limits)):
            for name, q in values.items():
                try:
                    amount = quantity.value(q)
                except ValueError as e:
                    raise BelowError((kind, name), str(e)) from None
                if amount < 0:
                    raise BelowError((kind, name), "must not be negative")
                if "/" not in name and not _UNQUALIFIED.match(name):
                    raise BelowError((kind, name), "a resource other than cpu/memory/storage needs a domain")
                if any(len(part) > 63 for part in name.split("/")[-1:]):
                    raise BelowError((kind, name), "the name part must be at most 63 characters")
                if len(name.rpartition("/")[0]) > 253:
                    raise BelowError((kind, name), "the prefix must be at most 253 characters")
                extended = "/" in name and not name.startswith(("kubernetes.io/", "requests."))
                if name.startswith("requests."):
                    raise BelowError((kind, name), "the requests. prefix is for quotas, not containers")
                if extended and not quantity.is_whole(amount):
                    raise BelowError((kind, name), "an extended resource takes whole numbers")
        for name, q in requests.items():
            extended = "/" in name and not name.startswith("kubernetes.io/")
            if extended and (name not in limits or quantity.value(limits[name]) != quantity.value(q)):
                raise BelowError(("requests", name), "an extended resource needs an equal limit")
            if name in limits and quantity.value(q) > quantity.value(limits[name]):
                raise BelowError(("requests", name), f"more than limits[{name!r}]")
        return self

    def extended(self) -> list[str]:
        """The extended resources asked for (nvidia.com/gpu): a domain, not kubernetes.io's."""
        named = {*(self.requests or {}), *(self.limits or {})}
        return sorted(n for n in named if "/" in n and not n.split("/")[0].endswith("kubernetes.io"))

    def to_k8s(self) -> dict:
        return {
            kind: {k: quantity.text(v) for k, v in sorted(values.items())}
            for kind, values in (("limits", self.limits), ("requests", self.requests))
            if values
        }


def _config_yaml(value: object, info: pydantic.ValidationInfo) -> litellm_config.Config:
    """The text and its facts: from the verdicts the caller brings (read off the event loop,
    in the server), else read here."""
    if not isinstance(value, str):
        raise ValueError("must be a string holding the LiteLLM config")
    verdicts = (info.context or {}).get(VERDICTS_CONTEXT) or {}
    verdict = verdicts.get(value) or litellm_config.verdict(value)
    if isinstance(verdict, litellm_config.ConfigError):
        raise ValueError(str(verdict))
    return litellm_config.Config(value, verdict)


VERDICTS_CONTEXT = "configs"
ConfigYaml = Annotated[litellm_config.Config, pydantic.PlainValidator(_config_yaml)]


def _whole(value: object) -> object:
    """A number as Crossplane sends it (a protobuf Struct holds doubles: 3 arrives as 3.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Replicas = Annotated[int, pydantic.BeforeValidator(_whole), Field(ge=1, le=MAX_REPLICAS)]
Port = Annotated[int, pydantic.BeforeValidator(_whole), Field(ge=1, le=65535)]


class ProxyConfig(_Model):
    apiBase: ApiBase | None = None
    model: ModelName | None = None
    configYaml: ConfigYaml | None = None
    env: Env = []
    # Unset: the platform's proxyReplicas.default.
    replicas: Replicas | None = None
    # Unset: the platform's proxyResources. Set, they replace those as a whole.
    resources: Resources | None = None

    @property
    def master_key_env(self) -> str:
        """The env var LiteLLM reads its master key from."""
        named = self.configYaml.facts.master_key_env if self.configYaml is not None else None
        return named or names.MASTER_KEY_ENV

    @pydantic.model_validator(mode="after")
    def _master_key_set(self) -> "ProxyConfig":
        name = self.master_key_env
        if name != names.MASTER_KEY_ENV and not any(
            e.name == name and e.valueFrom is not None and e.valueFrom.secretKeyRef is not None for e in self.env
        ):
            raise ValueError(
                f"configYaml's general_settings.master_key reads {name}: set {name} in env from a secretKeyRef"
            )
        return self


def _positive_size(size: str) -> str:
    try:
        amount = quantity.value(size)
    except ValueError as e:
        raise ValueError(str(e)) from None
    if amount <= 0:
        raise ValueError("must be more than 0, e.g. 50Gi")
    return size


Size = Annotated[Quantity, pydantic.AfterValidator(_positive_size)]


class Storage(_Model):
    """A PersistentVolumeClaim for the models: pulled once, kept across restarts and updates."""

    size: Size
    storageClassName: ObjectName | None = None


class ServerConfig(_Model):
    model: ModelName
    env: Env = []
    resources: Resources | None = None
    profile: ProfileName | None = None
    storage: Storage | None = None

    @pydantic.field_validator("env")
    @classmethod
    def _not_reserved(cls, env: list[EnvVar]) -> list[EnvVar]:
        for i, e in enumerate(env):
            if e.name in names.OLLAMA_RESERVED_ENV:
                raise ValueError(f"[{i}] {e.name} is set by the function (it wires the port and model volume)")
        return env


class ModelAPISpec(BaseModel):
    # Unknown top-level keys are Crossplane's own (spec.crossplane, claimRef, ...).
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    mode: Literal["Proxy", "Hosted"]
    proxyConfig: ProxyConfig | None = None
    serverConfig: ServerConfig | None = None

    @pydantic.model_validator(mode="after")
    def _mode_has_config(self) -> "ModelAPISpec":
        if self.mode == "Proxy":
            p = self.proxyConfig
            if p is None or (p.apiBase is None and p.model is None and p.configYaml is None):
                raise ValueError("mode Proxy needs proxyConfig.apiBase, proxyConfig.model or proxyConfig.configYaml")
        elif self.serverConfig is None:
            raise ValueError("mode Hosted needs serverConfig.model")
        return self


class Images(_Model):
    litellm: ImageRef = names.DEFAULT_LITELLM_IMAGE
    ollama: ImageRef = names.DEFAULT_OLLAMA_IMAGE
    # Hosted's front: an nginx that passes only Ollama's inference and read routes.
    hostedFront: ImageRef = names.DEFAULT_HOSTED_FRONT_IMAGE


class NetworkPolicyDefaults(_Model):
    # Namespaces (by name) whose pods may reach the endpoint; the ModelAPI's own is always in.
    allowNamespaces: list[NamespaceName] = []


class Toleration(_Model):
    key: LabelKey | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: LabelValue | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    tolerationSeconds: int | None = None

    def to_k8s(self) -> dict:
        return self.model_dump(exclude_none=True)


class Profile(_Model):
    """Where and how a Hosted model runs (a GPU pool, say): the platform names it, a team picks it."""

    nodeSelector: dict[LabelKey, LabelValue] = {}
    tolerations: list[Toleration] = []
    # A Kubernetes Affinity, passed on as the platform writes it.
    affinity: dict | None = None
    runtimeClassName: ObjectName | None = None
    priorityClassName: ObjectName | None = None
    # The Ollama container's, where the ModelAPI sets none.
    resources: Resources | None = None
    # An Ollama build for this hardware (e.g. ROCm) instead of images.ollama.
    image: ImageRef | None = None


def _host_entry(entry: str) -> str:
    """`api.openai.com`, `*.openai.azure.com`, `10.0.0.0/8`, each with an optional `:port`."""
    name, sep, port = entry.rpartition(":")
    if not sep or not port.isdigit() or (":" in name and not name.endswith("]")):
        name, port = entry, ""
    if port and not 0 < int(port) < 65536:
        raise ValueError(f"{entry}: the port must be 1-65535")
    if "/" in name:
        try:
            ipaddress.ip_network(name, strict=False)
        except ValueError:
            raise ValueError(f"{entry}: not a CIDR such as 10.0.0.0/8") from None
    elif not re.fullmatch(r"(\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]", name):
        raise ValueError(f"{entry}: not a host such as api.openai.com, *.openai.azure.com or 10.0.0.0/8")
    return entry


HostEntry = Annotated[str, StringConstraints(max_length=256), pydantic.AfterValidator(_host_entry)]


class ClusterDNS(_Model):
    """The cluster's DNS pods: the only peers an egress policy admits on port 53 (a proxy
    variable pointing at any host's port 53 would pass a rule open to every address)."""

    namespace: NamespaceName = "kube-system"
    # Every label a DNS pod carries; none selects every pod of the namespace.
    podLabels: dict[LabelKey, LabelValue] = {"k8s-app": "kube-dns"}


class Egress(_Model):
    # Where a Proxy may send traffic: every apiBase and configYaml api_base must match one.
    allowedHosts: list[HostEntry] | None = None
    # An egress NetworkPolicy on the proxy pods: the cluster's DNS and what allowedHosts can say as a policy.
    networkPolicy: bool = False
    dns: ClusterDNS = ClusterDNS()

    @pydantic.model_validator(mode="after")
    def _policy_has_hosts(self) -> "Egress":
        if self.networkPolicy and self.allowedHosts is None:
            raise BelowError(("networkPolicy",), "needs egress.allowedHosts: a policy without them admits only DNS")
        return self


class ModelBounds(_Model):
    # Patterns (`llama3.1:*`, `hf.co/our-org/*`) a Hosted model, and a Proxy's single model, must match.
    allowed: list[Annotated[str, StringConstraints(max_length=256)]] | None = None


class Limits(_Model):
    # The most a Hosted container may request or be limited to, by resource.
    max: dict[ResourceName, QuantityValue] = {}
    # Its resources where neither the ModelAPI nor its profile sets any.
    default: Resources | None = None


EnvRule = Annotated[str, StringConstraints(pattern=ENV_RULE_PATTERN, max_length=256)]


class EnvBounds(_Model):
    # Env var names or `*` patterns (`LITELLM_*`, `*_PROXY`) a team may not set, in any case: they
    # change what the platform guarantees.
    denied: list[EnvRule] = []
    # Names or patterns a guarded proxy may be given beyond the ones the function knows
    # (credentials, proxy and base-URL variables, LiteLLM's log settings); denied wins.
    allowed: list[EnvRule] = []


class ProxyReplicas(_Model):
    # What a Proxy ModelAPI that sets no proxyConfig.replicas gets, and the most one may ask for.
    default: Replicas = 1
    max: Replicas = MAX_REPLICAS

    @pydantic.model_validator(mode="after")
    def _default_within_max(self) -> "ProxyReplicas":
        if self.default > self.max:
            raise BelowError(("default",), f"{self.default} is more than proxyReplicas.max ({self.max})")
        return self


class Metrics(_Model):
    # LiteLLM's Prometheus metrics on the Service's metrics port; off, neither the port nor the callback.
    enabled: bool = True
    # A ServiceMonitor (prometheus-operator) per Proxy ModelAPI: only where its CRD is installed.
    serviceMonitor: bool = False
    interval: Annotated[str, StringConstraints(pattern=DURATION_PATTERN, max_length=32)] = "30s"
    # Namespaces (Prometheus's) admitted to the metrics port where a NetworkPolicy is composed.
    allowNamespaces: list[NamespaceName] = []


class Telemetry(_Model):
    # An OTLP/HTTP (protobuf) collector that every proxy sends its traces to, e.g. http://otel-collector.observability.svc:4318.
    otlpEndpoint: ApiBase


GatewayName = Annotated[str, StringConstraints(pattern=GATEWAY_NAME_PATTERN, max_length=253)]


class ParentRef(_Model):
    """A Gateway (or one listener of it) the route attaches to, as Gateway API names it."""

    name: GatewayName
    namespace: NamespaceName | None = None
    sectionName: GatewayName | None = None
    port: Port | None = None

    def to_k8s(self) -> dict:
        return self.model_dump(exclude_none=True)


class Gateway(_Model):
    """An HTTPRoute per Proxy ModelAPI at https://HOSTNAME/NAMESPACE/NAME (Gateway API)."""

    parentRefs: Annotated[list[ParentRef], Field(min_length=1, max_length=32)]
    hostname: Annotated[str, StringConstraints(pattern=HOSTNAME_PATTERN, max_length=253)]
    # The whole request, streamed answers included: LLM calls take minutes, not a proxy's default seconds.
    timeout: Annotated[str, StringConstraints(pattern=DURATION_PATTERN, max_length=32)] = "300s"
    # How clients reach the Gateway's listener, for the URL in the status.
    scheme: Literal["https", "http"] = "https"


class Input(_Model):
    """Platform defaults, set once in the Composition step's input."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: dict | None = None
    images: Images = Images()
    imagePullPolicy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    imagePullSecrets: list[ObjectName] = []
    proxyResources: Resources | None = None
    proxyReplicas: ProxyReplicas = ProxyReplicas()
    networkPolicy: NetworkPolicyDefaults | None = None
    # Hosted endpoints (Ollama has no key) get a NetworkPolicy even without networkPolicy above.
    hostedNetworkPolicy: bool = True
    profiles: dict[ProfileName, Profile] = {}
    defaultProfile: ProfileName | None = None
    # The models' emptyDir, where a ModelAPI has no serverConfig.storage: a model past it gets
    # the pod evicted rather than filling the node's disk.
    modelsSizeLimit: Size = "64Gi"
    # Guardrails (function/guardrails.py): each off unless set.
    egress: Egress | None = None
    models: ModelBounds | None = None
    limits: Limits | None = None
    env: EnvBounds | None = None
    # Production (README): metrics, traces and a route in; a kind whose CRD a cluster may lack
    # (ServiceMonitor, HTTPRoute) is composed only where the platform turns it on.
    metrics: Metrics = Metrics()
    telemetry: Telemetry | None = None
    gateway: Gateway | None = None

    @pydantic.model_validator(mode="after")
    def _default_profile_exists(self) -> "Input":
        if self.defaultProfile is not None and self.defaultProfile not in self.profiles:
            offered = _listed(self.profiles)
            raise BelowError(("defaultProfile",), f"{self.defaultProfile} is not one of profiles ({offered})")
        return self


def _listed(items: Mapping) -> str:
    return ", ".join(sorted(items)) or "none"


def _path(prefix: str, model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[str, object, object]:
    """The field path of an error's location, walked along the models, the type found there and
    the one above it: a field `.name`, a list item `[0]`, a map key `['nvidia.com/gpu']`. pydantic
    adds the member of a union it tried (`constrained-str`, `int`) and `[key]` where a map key
    failed: not fields, left out."""
    out, at, above = prefix, _bare(model), None
    for part in loc:
        if isinstance(at, type) and issubclass(at, BaseModel):
            out += f".{part}"  # a field, or an unknown one (extra_forbidden)
            info = at.model_fields.get(str(part))
            above, at = at, _bare(info.annotation) if info is not None else None
        elif typing.get_origin(at) is list and isinstance(part, int):
            out, above, at = f"{out}[{part}]", at, _bare(typing.get_args(at)[0])
        elif typing.get_origin(at) is dict and part != "[key]":
            out, above, at = f"{out}[{part!r}]", at, _bare(typing.get_args(at)[1])
    return out, at, above


def _bare(annotation: object) -> object:
    """The type under Annotated[...] and Optional (`X | None`); a union of several stays one."""
    while True:
        if typing.get_origin(annotation) is Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


# What pydantic's type errors want, in a team's words.
_WANTED = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}


def _given(value: object) -> str:
    """What a value is, as YAML writes it; numbers and booleans as they are (never a string's text,
    which may hold a key)."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    for kind, words in ((str, "a string"), (dict, "a mapping"), (list, "a list")):
        if isinstance(value, kind):
            return words
    return type(value).__name__


def closest(word: str, known: typing.Iterable[str]) -> str:
    """ "; did you mean X?" for the known word WORD is likely a slip of (case, a letter or two), or ""."""
    known = list(known)
    same = [k for k in known if k.lower() == word.lower()]
    near = same or difflib.get_close_matches(word, known, n=1, cutoff=0.75)
    return f"; did you mean {near[0]}?" if near else ""


def _message(e: dict, at: object, above: object = None) -> str:
    kind, ctx = e["type"], e.get("ctx") or {}
    pattern = ctx.get("pattern")
    if kind == "string_pattern_mismatch" and pattern in EXPECTED:
        return EXPECTED[pattern]
    # A union member's refusal of a map's value (not its key, nor a validator's verdict on it).
    if at in _EXPECTED_VALUE and "[key]" not in e["loc"] and kind != "value_error":
        return _EXPECTED_VALUE[at]
    return (
        _sentence(kind, ctx, e.get("input"), str(e["loc"][-1]) if e["loc"] else "", above)
        or " ".join(e["msg"].removeprefix("Value error, ").split()).replace("Input should be", "must be")[:300]
    )


def _sentence(kind: str, ctx: dict, given: object, key: str, above: object) -> str | None:
    """pydantic's refusals a team meets most, as sentences that say what is wanted."""
    if kind in _WANTED:
        return f"must be {_WANTED[kind]}, not {_given(given)}"
    if kind in ("less_than_equal", "greater_than_equal"):
        return f"must be at {'most' if kind == 'less_than_equal' else 'least'} {ctx.get('le', ctx.get('ge'))}"
    if kind == "missing":
        return "required, and missing"
    if kind == "extra_forbidden":
        fields = sorted(above.model_fields) if isinstance(above, type) and issubclass(above, BaseModel) else []
        return f"not a field here (the fields here: {', '.join(fields)}){closest(key, fields)}"
    if kind == "literal_error":
        values = [v.strip("'") for v in str(ctx.get("expected", "")).replace(" or ", ", ").split(", ")]
        shown = f"{given!r} is" if isinstance(given, str) and len(given) <= 40 else "the value is"
        return f"{shown} not one of {', '.join(values)}{closest(given, values) if isinstance(given, str) else ''}"
    return None


def _errors(prefix: str, model: type[BaseModel], err: pydantic.ValidationError) -> str:
    msgs: list[str] = []
    for e in err.errors(include_url=False):
        below = (e.get("ctx") or {}).get("error")
        loc = (*e["loc"], *below.loc) if isinstance(below, BelowError) else e["loc"]
        path, at, above = _path(prefix, model, loc)
        msg = f"{path}: {_message(e, at, above)}"
        if msg not in msgs:  # a union's members, each refusing the value, say it once
            msgs.append(msg)
    return "; ".join(msgs[:3])


def parse_spec(spec: object, configs: Mapping[str, litellm_config.Verdict] | None = None) -> ModelAPISpec:
    """configs: verdicts on configYaml texts already read (off the event loop, in the server)."""
    if not isinstance(spec, dict):
        raise SpecError("spec: must be an object with a mode")
    try:
        return ModelAPISpec.model_validate(spec, context={VERDICTS_CONTEXT: configs})
    except pydantic.ValidationError as e:
        raise SpecError(_errors("spec", ModelAPISpec, e)) from None


def parse_input(data: object) -> Input:
    if data is None:
        return Input()
    try:
        return Input.model_validate(data)
    except pydantic.ValidationError as e:
        raise SpecError("function input " + _errors("input", Input, e)) from None
