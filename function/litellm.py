"""Proxy mode: the LiteLLM config and the LiteLLM Deployment."""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import yaml

from function import client, k8s, litellm_keys, names, pods, status
from function.lru import LRU
from function.spec import Input, ProxyConfig
from function.workload import Workload

COMPONENT = "litellm-proxy"
OPENAI_HOST = "api.openai.com"
COST_MAP_ENV = "LITELLM_LOCAL_MODEL_COST_MAP"
CONFIG_VOLUME = "config"
# Where LiteLLM's processes share their metrics samples (prometheus_client's multiprocess mode,
# which --prometheus_metrics_port needs): a directory of the pod's own, not the image's /tmp.
METRICS_VOLUME = "metrics"
METRICS_DIR = "/var/run/litellm-metrics"
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A few memory-mapped files per process; the bound keeps a runaway label set off the node's disk.
METRICS_DIR_LIMIT = "1Gi"
PROMETHEUS_CALLBACK = "prometheus"
OTEL_CALLBACK = "otel"
# Models LiteLLM sends through its OpenAI provider.
_OPENAI_MODEL = re.compile(
    r"^(openai/|gpt-|ft:gpt-|chatgpt-|o[1-9]|text-embedding-|dall-e|whisper-|tts-|omni-moderation)"
)


def workload(
    naming: names.Naming,
    namespace: str,
    proxy: ProxyConfig,
    platform: Input,
    observed: Mapping[str, Mapping],
    live_pods: Sequence[Mapping] | None,
    identity: str,
    *,
    preview: bool,
) -> Workload:
    """The LiteLLM proxy, its config and its master key. observed: the objects as Crossplane
    observed them (the key generated once is kept in the client Secret); live_pods: the ModelAPI's,
    None when not fetched; identity: what a new key derives from; preview: a placeholder
    instead of a new key (render)."""
    observed_client = observed.get(names.CLIENT_SECRET)
    files = config_files(proxy, platform)
    digest = config_digest(files)
    api_key = None if brings_own_key(proxy) else client.master_key(observed_client, identity, preview=preview)
    notes = []
    if proxy.configYaml is not None and (proxy.apiBase or proxy.model):
        notes.append("spec.proxyConfig.apiBase and spec.proxyConfig.model are ignored when configYaml is set")
    notes += [
        n
        for n in (
            model_note(proxy),
            key_note(proxy),
            env_note(proxy),
            *config_model_notes(proxy),
            pods.empty_env_note("spec.proxyConfig.env", proxy.env),
        )
        if n
    ]
    return Workload(
        component=COMPONENT,
        port=names.PROXY_PORT,
        resources={
            names.litellm_config_key(digest): config_secret(naming, namespace, files, digest),
            **previous_configs(observed, live_pods, names.litellm_config_name(naming.base, digest)),
            names.DEPLOYMENT: deployment(naming, namespace, proxy, files, digest, platform, api_key),
        },
        api_key=api_key,
        status=status.Context(
            name=naming.base,
            hosted=False,
            model=None,
            pull_container="",
            memory_hint="spec.proxyConfig.resources, or proxyResources in the function input",
            replicas=replicas(proxy, platform),
        ),
        notes=notes,
        replicas=replicas(proxy, platform),
        metrics_port=names.METRICS_PORT if platform.metrics.enabled else None,
    )


def replicas(proxy: ProxyConfig, platform: Input) -> int:
    return proxy.replicas if proxy.replicas is not None else platform.proxyReplicas.default


def api_base(proxy: ProxyConfig) -> str | None:
    """The backend URL as LiteLLM needs it. OpenAI's API lives under /v1 and LiteLLM's OpenAI
    provider appends only /chat/completions, so a bare host (https://api.openai.com, as the
    spec's example writes it) gets /v1 when it serves OpenAI models."""
    base = proxy.apiBase
    if base is None:
        return None
    url = urlsplit(base)
    openai = url.hostname == OPENAI_HOST or (proxy.model is not None and _OPENAI_MODEL.match(proxy.model))
    if openai and url.path in ("", "/") and not url.query:
        return base.rstrip("/") + "/v1"
    return base


def model_note(proxy: ProxyConfig) -> str | None:
    """A single model the proxy starts with but cannot serve: a bare name LiteLLM does not know
    (`smollm2:135m`: no model to serve, every call refused), or Ollama without an apiBase."""
    model = proxy.model
    if proxy.configYaml is not None or model is None:
        return None
    if proxy.apiBase is None and model.startswith(("ollama/", "ollama_chat/")):
        # LiteLLM's default for Ollama: the proxy's own pod, where nothing listens.
        return (
            f"spec.proxyConfig.model: {model} without spec.proxyConfig.apiBase goes to localhost:11434 "
            "in the proxy's own pod; set apiBase to the Ollama server"
        )
    # Without an apiBase a bare name is a hosted provider's (`claude-3-5-sonnet-20241022`),
    # which LiteLLM knows; with one, it is most likely a self-hosted server's.
    if proxy.apiBase is None or "/" in model or _OPENAI_MODEL.match(model):
        return None
    return (
        f"spec.proxyConfig.model: {model} names no provider; LiteLLM serves a bare name only if it "
        f"knows it (for Ollama: ollama/{model})"
    )


# The variable LiteLLM reads a provider's key from when a model gives none of its own.
PROVIDER_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "cohere": "COHERE_API_KEY",
    "cohere_chat": "COHERE_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}


def key_note(proxy: ProxyConfig) -> str | None:
    """A single model at its provider's own service (no apiBase, or the provider's host) without
    the variable LiteLLM takes the provider's key from: every call fails."""
    model = proxy.model
    if proxy.configYaml is not None or model is None:
        return None
    provider = model.split("/", 1)[0] if "/" in model else ("openai" if _OPENAI_MODEL.match(model) else "")
    wanted = PROVIDER_KEY_ENV.get(provider)
    host = urlsplit(proxy.apiBase).hostname if proxy.apiBase else None
    at_provider = host is None or host == litellm_keys.PROVIDER_HOSTS.get(provider)
    if wanted is None or not at_provider or any(e.name.upper() == wanted for e in proxy.env):
        return None
    return (
        f"spec.proxyConfig.model: {model} is served by {provider}, which LiteLLM calls with the key in {wanted}: "
        f"add {wanted} to spec.proxyConfig.env from a Secret (valueFrom.secretKeyRef), or every call fails"
    )


# At most this many entries named in one note: a config may hold thousands of models.
NOTED_ENTRIES = 3


def config_model_notes(proxy: ProxyConfig) -> list[str]:
    """configYaml entries LiteLLM lists but cannot route, as model_note says of a single model:
    an Ollama model without its api_base (LiteLLM 1.108.7: 500 "Cannot connect to host
    localhost:11434"), a bare name without a provider (the spec's claude-3-sonnet-20240229:
    400 "no healthy deployments" on every call)."""
    if proxy.configYaml is None:
        return []
    facts = proxy.configYaml.facts
    based = {i for i, _ in facts.api_bases}
    local, bare = [], []
    for i, name, model, provider in facts.models:
        entry = f"model_list[{i}] ({_clip(name)}: {_clip(model)})"
        if model.startswith(("ollama/", "ollama_chat/")) and i not in based:
            local.append(entry)
        elif not provider and "/" not in model and not _OPENAI_MODEL.match(model):
            bare.append(entry)
    notes = []
    if local:
        notes.append(
            f"spec.proxyConfig.configYaml: no litellm_params.api_base for {_entries(local)}: LiteLLM calls "
            "localhost:11434 in the proxy's own pod; set api_base to the Ollama server"
        )
    if bare:
        notes.append(
            f"spec.proxyConfig.configYaml: no provider for {_entries(bare)}: LiteLLM serves a bare name only "
            "if its own model list knows it; write provider/model (anthropic/claude-3-sonnet-20240229)"
        )
    return notes


def _clip(text: str, most: int = 80) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def _entries(found: list[str]) -> str:
    more = len(found) - NOTED_ENTRIES
    return ", ".join(found[:NOTED_ENTRIES]) + (f" and {more} more" if more > 0 else "")


def env_note(proxy: ProxyConfig) -> str | None:
    """A config that reads an env var the container does not have: LiteLLM starts and lists
    the model, and every call to it fails (no key, or no backend at localhost)."""
    if proxy.configYaml is None:
        return None
    have = {e.name for e in proxy.env} | {COST_MAP_ENV}
    if not brings_own_key(proxy):
        have.add(names.MASTER_KEY_ENV)
    unset = [name for name in proxy.configYaml.facts.env_refs if name not in have]
    if not unset:
        return None
    refs = ", ".join(f"os.environ/{name}" for name in unset)
    return f"spec.proxyConfig.configYaml: reads {refs}, not set in spec.proxyConfig.env"


def callbacks(platform: Input) -> tuple[str, ...]:
    """LiteLLM's callbacks the platform turns on: Prometheus metrics, OpenTelemetry traces."""
    on = ((platform.metrics.enabled, PROMETHEUS_CALLBACK), (platform.telemetry is not None, OTEL_CALLBACK))
    return tuple(name for wanted, name in on if wanted)


def config_files(proxy: ProxyConfig, platform: Input) -> dict[str, str]:
    """The files of the config Secret, by name. The user's config verbatim in config.yaml; else
    one model, or a wildcard that forwards any `provider/model` name to the backend (LiteLLM
    strips the provider prefix). The platform's callbacks join a user's config through LiteLLM's
    `include`, which replaces a section whole: so platform.yaml carries the user's own
    litellm_settings with the callbacks added."""
    ours = callbacks(platform)
    if proxy.configYaml is None:
        # Under egress.allowedHosts a wildcard routes only the providers that send to api_base: the
        # others reach hosts of their own, whatever api_base says.
        bound = platform.egress is not None and platform.egress.allowedHosts is not None
        providers = litellm_keys.API_BASE_PROVIDERS if bound and proxy.model is None else ()
        return {names.LITELLM_CONFIG_FILE: _generated_config(proxy.model, api_base(proxy), ours, providers)}
    text = proxy.configYaml.text
    if not ours:
        return {names.LITELLM_CONFIG_FILE: text}
    key = (hashlib.sha256(text.encode()).digest(), ours)
    found = _PLATFORM_FILES.get(key)
    if found is None:
        found = _platform_files(proxy.configYaml.facts.settings, ours)
        _PLATFORM_FILES.put(key, found)
    entry, platform_file = found
    return {
        names.LITELLM_ENTRY_FILE: entry,
        names.LITELLM_CONFIG_FILE: text,
        names.LITELLM_PLATFORM_FILE: platform_file,
    }


# The platform's callbacks are on by default (metrics): PyYAML would dump a configYaml proxy's
# two files of ours (~0.4 ms) on every call the memo does not answer. By the config's digest.
_PLATFORM_FILES: LRU[tuple[bytes, tuple[str, ...]], tuple[str, str]] = LRU(256)


def _platform_files(their_settings: Mapping | None, ours: tuple[str, ...]) -> tuple[str, str]:
    """The entry file (config.yaml, then platform.yaml) and platform.yaml: the team's own
    litellm_settings with the platform's callbacks added."""
    settings = dict(their_settings or {})
    theirs = list(settings.get("callbacks") or [])
    settings["callbacks"] = theirs + [c for c in ours if c not in theirs]
    entry = yaml.safe_dump({"include": [names.LITELLM_CONFIG_FILE, names.LITELLM_PLATFORM_FILE]})
    return entry, yaml.safe_dump({"litellm_settings": settings})


def config_path(files: Mapping[str, str]) -> str:
    """The file LiteLLM starts with."""
    entry = names.LITELLM_ENTRY_FILE if names.LITELLM_ENTRY_FILE in files else names.LITELLM_CONFIG_FILE
    return f"{names.LITELLM_CONFIG_DIR}/{entry}"


def config_digest(files: Mapping[str, str]) -> str:
    """Of the config alone where it is one file, as before the platform's files existed (its
    Secret keeps its name); else of every file, each by name."""
    if list(files) == [names.LITELLM_CONFIG_FILE]:
        return hashlib.sha256(files[names.LITELLM_CONFIG_FILE].encode()).hexdigest()
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


# PyYAML's pure-Python dumper takes ~0.3 ms, and the same config comes back on every reconcile.
_GENERATED: LRU[tuple[str | None, str | None, tuple[str, ...], tuple[str, ...]], str] = LRU(256)


def _generated_config(model: str | None, base: str | None, ours: tuple[str, ...], providers: tuple[str, ...]) -> str:
    key = (model, base, ours, providers)
    found = _GENERATED.get(key)
    if found is None:
        found = _generate_config(*key)
        _GENERATED.put(key, found)
    return found


def _generate_config(model: str | None, base: str | None, ours: tuple[str, ...], providers: tuple[str, ...]) -> str:
    """One model, a wildcard (`*`), or a wildcard per provider (`openai/*`) where providers are named."""
    names_ = [f"{p}/*" for p in providers] or [model or "*"]
    entries = []
    for name in names_:
        params: dict[str, str] = {"model": name}
        if base is not None:
            params["api_base"] = base
        entries.append({"model_name": name, "litellm_params": params})
    config: dict = {"model_list": entries}
    if ours:
        config["litellm_settings"] = {"callbacks": list(ours)}
    return yaml.safe_dump(config)


def config_secret(naming: names.Naming, namespace: str, files: Mapping[str, str], digest: str) -> dict:
    # A Secret, not a ConfigMap: a user's configYaml may carry credentials. Named for its
    # content: a pod of the previous revision, restarted while a bad change rolls out, still
    # finds the config it was started with (an update in place would give it the bad one).
    return k8s.secret(names.litellm_config_name(naming.base, digest), namespace, naming.labels(COMPONENT), dict(files))


def previous_configs(observed: Mapping[str, Mapping], live_pods: Sequence[Mapping] | None, current: str) -> dict:
    """The earlier revisions of the config that a pod may still start with, kept as observed;
    the others are left out, and Crossplane deletes them. In use: the one the observed
    Deployment's template names (until Crossplane applies the new one), and those the
    ModelAPI's pods mount; while a rollout runs and its pods are not known yet, every one."""
    deployment = observed.get(names.DEPLOYMENT)
    in_use = {_config_of(_get(deployment, "spec", "template"))}
    rolling = _rolling(deployment) or current not in in_use
    if live_pods is not None:
        in_use |= {_config_of(pod) for pod in live_pods}
    kept = {}
    for key in observed:
        if not names.is_litellm_config_key(key):
            continue
        secret = observed[key]
        name = _get(secret, "metadata", "name")
        if name != current and (name in in_use or (rolling and live_pods is None)):
            kept[key] = _as_observed(secret)
    return kept


def _get(obj: object, *path: str) -> object:
    for part in path:
        obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj


def _config_of(pod_template: object) -> str | None:
    for volume in _get(pod_template, "spec", "volumes") or []:
        if isinstance(volume, Mapping) and volume.get("name") == CONFIG_VOLUME:
            return _get(volume, "secret", "secretName")  # type: ignore[return-value]
    return None


def _rolling(deployment: object) -> bool:
    """A rollout not seen to its end: the controller has not caught up with the template yet, or
    not every replica runs it."""
    generation, seen = _get(deployment, "metadata", "generation"), _get(deployment, "status", "observedGeneration")
    if not isinstance(seen, (int, float)) or (isinstance(generation, (int, float)) and seen < generation):
        return True
    replicas, updated = _get(deployment, "status", "replicas"), _get(deployment, "status", "updatedReplicas")
    return isinstance(replicas, (int, float)) and (not isinstance(updated, (int, float)) or updated < replicas)


def _as_observed(secret: Mapping) -> dict:
    """An earlier revision, desired as it is: its own data, not a new render."""
    meta = secret.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {k: meta[k] for k in ("name", "namespace", "labels") if k in meta},
        "type": "Opaque",
        "data": dict(secret.get("data") or {}),
    }


def brings_own_key(proxy: ProxyConfig) -> bool:
    """The team's key: LITELLM_MASTER_KEY in env, or another env var the config reads it from."""
    return proxy.master_key_env != names.MASTER_KEY_ENV or any(e.name == names.MASTER_KEY_ENV for e in proxy.env)


def deployment(
    naming: names.Naming,
    namespace: str,
    proxy: ProxyConfig,
    files: Mapping[str, str],
    digest: str,
    platform: Input,
    api_key: str | None,
) -> dict:
    """api_key: the master key in the client Secret, None when the team brings its own."""
    ours: list[dict] = [{"name": COST_MAP_ENV, "value": "True"}]
    if api_key is not None:
        ours.append(
            {
                "name": names.MASTER_KEY_ENV,
                "valueFrom": {
                    "secretKeyRef": {"name": names.client_secret_name(naming.base), "key": names.CLIENT_API_KEY_KEY}
                },
            }
        )
    # The image's entrypoint runs litellm with these args.
    args = ["--port", str(names.PROXY_PORT), "--config", config_path(files)]
    ports = [{"name": names.PORT_NAME, "containerPort": names.PROXY_PORT, "protocol": "TCP"}]
    mounts = [{"name": CONFIG_VOLUME, "mountPath": names.LITELLM_CONFIG_DIR, "readOnly": True}]
    config_secret_name = names.litellm_config_name(naming.base, digest)
    volumes: list[dict] = [{"name": CONFIG_VOLUME, "secret": {"secretName": config_secret_name}}]
    if platform.metrics.enabled:
        # Served by a process of LiteLLM's own, without a key: the main port's /metrics wants one.
        args += ["--prometheus_metrics_port", str(names.METRICS_PORT)]
        ports.append({"name": names.METRICS_PORT_NAME, "containerPort": names.METRICS_PORT, "protocol": "TCP"})
        ours.append({"name": METRICS_DIR_ENV, "value": METRICS_DIR})
        mounts.append({"name": METRICS_VOLUME, "mountPath": METRICS_DIR})
        volumes.append({"name": METRICS_VOLUME, "emptyDir": {"sizeLimit": METRICS_DIR_LIMIT}})
    if platform.telemetry is not None:
        ours += telemetry_env(naming.base, namespace, platform.telemetry.otlpEndpoint)
    fields: dict = {
        "args": args,
        "env": pods.merge_env(ours, [e.to_k8s() for e in proxy.env]),
        "ports": ports,
        "startupProbe": pods.http_probe(names.LITELLM_LIVENESS_PATH, period=2, failures=90),
        "livenessProbe": pods.http_probe(names.LITELLM_LIVENESS_PATH, period=15, failures=4),
        "readinessProbe": pods.http_probe(names.LITELLM_READINESS_PATH, period=5, failures=3),
        "volumeMounts": mounts,
    }
    resources = proxy.resources if proxy.resources is not None else platform.proxyResources
    if resources is not None:
        fields["resources"] = resources.to_k8s()
    count = replicas(proxy, platform)
    pod_spec: dict = {
        "containers": [pods.container("litellm", platform.images.litellm, platform, **fields)],
        "volumes": volumes,
    }
    if count > 1:
        pod_spec["topologySpreadConstraints"] = [pods.spread_across_nodes(naming)]
    # The config and the key live in Secrets, which do not roll the pods by themselves, and
    # LiteLLM reads both only when it starts: a key changed in the client Secret (edited, or
    # deleted and derived again from another seed) would leave the proxy refusing it.
    annotations = {names.CONFIG_CHECKSUM_ANNOTATION: digest}
    if api_key is not None:
        annotations[names.MASTER_KEY_CHECKSUM_ANNOTATION] = hashlib.sha256(api_key.encode()).hexdigest()
    out = pods.deployment(naming, namespace, COMPONENT, platform, pod_spec, annotations, replicas=count)
    # A new pod first, the old one stopped once it is ready: never fewer serving than asked.
    out["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    return out


def platform_env(platform: Input) -> dict[str, str]:
    """The variables of the proxy's container that are the platform's, by name or `*` pattern, each
    with what it serves: a team's entry may not replace them (guardrails). Under telemetry every
    OTEL_* is the platform's: LiteLLM and the OpenTelemetry SDK read more than the four set here
    (OTEL_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_HEADERS...), each able to send the
    traces elsewhere. Not the platform's: the cost map's default, and the master key, which a team
    may bring from its own Secret."""
    ours = {}
    if platform.metrics.enabled:
        ours[METRICS_DIR_ENV] = "metrics"
    if platform.telemetry is not None:
        ours["OTEL_*"] = "telemetry"
    return ours


def telemetry_env(base: str, namespace: str, endpoint: str) -> list[dict]:
    """LiteLLM's otel callback reads the standard OTLP variables; its exporter speaks OTLP/HTTP
    in protobuf and appends /v1/traces to the endpoint."""
    return [
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "http/protobuf"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": endpoint},
        {"name": "OTEL_SERVICE_NAME", "value": base},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": f"service.namespace={namespace},k8s.namespace.name={namespace}"},
    ]
