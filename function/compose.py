"""The pure core: a ModelAPI XR (v2 or legacy claim-backed) in, Kubernetes objects and
status out. No gRPC and no I/O: the gRPC runner and the render command both call `compose`."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from function import client, litellm, names, network, ollama, service, status
from function.litellm_config import Verdict
from function.spec import Input, ModelAPISpec, SpecError, parse_input, parse_spec

CLAIM_NAME_LABEL = "crossplane.io/claim-name"
CLAIM_NAMESPACE_LABEL = "crossplane.io/claim-namespace"
# The kind that is always namespaced: the v2 XR, or the claim of the claims flavour.
NAMESPACED_KIND = "ModelAPI"
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Event:
    warning: bool
    message: str


@dataclass
class Composed:
    resources: dict[str, dict]
    ready: dict[str, bool]
    status: dict
    # Where the ModelAPI's pods are, and whether Crossplane should fetch them: while it is
    # not ready, only they tell why. Not asked once ready: each ask costs a second call.
    pod_namespace: str
    pod_labels: dict[str, str]
    needs_pods: bool
    # Whether the status tells of a problem (a Warning event rather than a Normal one).
    problem: bool = False
    # Said once, when the phase or message changes: no noise on every reconcile.
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """Where a ModelAPI's objects go: the XR's own namespace and name (v2), or the claim's."""

    name: str
    namespace: str
    identity: str


def target(xr: dict) -> Target:
    meta = xr.get("metadata")
    if not isinstance(meta, dict):
        raise SpecError("metadata: missing")
    labels = meta.get("labels") or {}
    claim_ref = (xr.get("spec") or {}).get("claimRef") if isinstance(xr.get("spec"), dict) else None
    # A namespaced XR first: its labels are the team's to set, and must not move its objects.
    if meta.get("namespace"):
        name, namespace = meta.get("name"), meta["namespace"]
    elif xr.get("kind") == NAMESPACED_KIND and meta.get("namespace") in (None, ""):
        # Only a file rendered offline (the spec's examples have no namespace): the API server
        # fills it in. Where kubectl would create it.
        name, namespace = meta.get("name"), DEFAULT_NAMESPACE
    elif isinstance(labels, dict) and labels.get(CLAIM_NAME_LABEL) and labels.get(CLAIM_NAMESPACE_LABEL):
        name, namespace = labels[CLAIM_NAME_LABEL], labels[CLAIM_NAMESPACE_LABEL]
    elif isinstance(claim_ref, dict) and claim_ref.get("name") and claim_ref.get("namespace"):
        name, namespace = claim_ref["name"], claim_ref["namespace"]
    else:
        raise SpecError(
            "metadata.namespace: a cluster-scoped XModelAPI without a claim has no namespace "
            "for its objects; create a ModelAPI claim in a namespace instead"
        )
    if not isinstance(namespace, str) or not namespace:
        raise SpecError("metadata.namespace: must be a non-empty string")
    if not isinstance(name, str) or not name:
        raise SpecError("metadata.name: missing")
    uid = meta.get("uid")
    identity = uid if isinstance(uid, str) and uid else f"{namespace}/{name}"
    return Target(name=name, namespace=namespace, identity=identity)


def compose(
    xr: dict,
    fn_input: dict | None,
    observed: Mapping[str, dict],
    pods: list[dict] | None = None,
    configs: Mapping[str, Verdict] | None = None,
) -> Composed:
    """Raises SpecError, naming the field, for a spec that cannot work. configs: verdicts on
    configYaml texts read already (the server reads them off its event loop)."""
    where = target(xr)
    spec = parse_spec(xr.get("spec"), configs)
    platform = parse_input(fn_input)
    out = _compose(where, spec, platform, observed, pods or [])
    previous = xr.get("status") if isinstance(xr.get("status"), dict) else {}
    if (previous.get("phase"), previous.get("message")) != (out.status["phase"], out.status["message"]):
        out.events.append(_event(out))
    return out


def _event(out: Composed) -> Event:
    if out.status["ready"]:
        return Event(False, f"ModelAPI is ready at {out.status['endpoint']}")
    return Event(out.problem, f"{out.status['phase']}: {out.status['message']}")


def _compose(
    where: Target, spec: ModelAPISpec, platform: Input, observed: Mapping[str, dict], pods: list[dict]
) -> Composed:
    base = names.base_name(where.name)
    ns = where.namespace
    hosted = spec.mode == "Hosted"
    port = names.OLLAMA_PORT if hosted else names.PROXY_PORT
    endpoint = names.endpoint(base, ns, port)
    resources: dict[str, dict] = {}
    notes: list[str] = []

    if hosted:
        component = ollama.COMPONENT
        api_key: str | None = names.HOSTED_API_KEY
        resources[names.DEPLOYMENT] = ollama.deployment(base, ns, spec.serverConfig, platform)  # type: ignore[arg-type]
        if spec.proxyConfig is not None:
            notes.append("spec.proxyConfig is ignored in mode Hosted")
    else:
        proxy = spec.proxyConfig
        assert proxy is not None  # the spec model guarantees it for mode Proxy
        component = litellm.COMPONENT
        config = litellm.config_yaml(proxy)
        api_key = None
        if not litellm.brings_own_key(proxy):
            api_key = client.master_key(observed.get(names.CLIENT_SECRET), where.identity)
        resources[names.LITELLM_CONFIG] = litellm.config_secret(base, ns, config)
        resources[names.DEPLOYMENT] = litellm.deployment(base, ns, proxy, config, platform, api_key)
        if spec.serverConfig is not None:
            notes.append("spec.serverConfig is ignored in mode Proxy")
        if proxy.configYaml is not None and (proxy.apiBase or proxy.model):
            notes.append("spec.proxyConfig.apiBase and spec.proxyConfig.model are ignored when configYaml is set")
        notes += [n for n in (litellm.model_note(proxy), litellm.env_note(proxy)) if n]

    resources[names.SERVICE] = service.service(base, ns, component, port)
    resources[names.CLIENT_SECRET] = client.client_secret(base, ns, component, endpoint, api_key)
    if platform.networkPolicy is not None:
        resources[names.NETWORK_POLICY] = network.network_policy(base, ns, component, port, platform.networkPolicy)

    ctx = status.Context(
        name=base,
        hosted=hosted,
        model=spec.serverConfig.model if hosted else None,  # type: ignore[union-attr]
        pull_container=ollama.PULL_CONTAINER if hosted else "",
        memory_hint="serverConfig.resources.limits.memory" if hosted else "proxyResources in the function input",
    )
    state = status.evaluate(observed.get(names.DEPLOYMENT), pods, ctx)
    ready = {key: key in observed for key in resources}
    ready[names.DEPLOYMENT] = state.ready
    xr_status = {
        "phase": state.phase,
        "ready": state.ready,
        "endpoint": endpoint,
        "message": "; ".join(m for m in (state.message, *notes) if m),
        "clientSecretName": names.client_secret_name(base),
    }
    return Composed(
        resources=resources,
        ready=ready,
        status=xr_status,
        pod_namespace=ns,
        pod_labels=names.selector_labels(base),
        needs_pods=not state.ready,
        problem=state.problem,
    )
