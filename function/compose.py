"""The pure core: a ModelAPI XR (v2 or legacy claim-backed) in, Kubernetes objects and
status out. No gRPC and no I/O: the gRPC runner and the render command both call `compose`."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from function import client, disruption, guardrails, litellm, monitoring, names, network, ollama, route, service, status
from function.litellm_config import Verdict
from function.spec import Input, ModelAPISpec, NetworkPolicyDefaults, SpecError, parse_input, parse_spec
from function.workload import Workload

CLAIM_NAME_LABEL = "crossplane.io/claim-name"
CLAIM_NAMESPACE_LABEL = "crossplane.io/claim-namespace"
# The kind that is always namespaced: the v2 XR, or the claim of the claims flavour.
NAMESPACED_KIND = "ModelAPI"
# What we compose: the v2 XR and the claims flavour's cluster-scoped XR.
KINDS = (NAMESPACED_KIND, "XModelAPI")
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


def check_kind(xr: dict) -> None:
    """A present apiVersion or kind must be ours: a Composition bound to the wrong XR type, or a
    file of another kind given to render, would otherwise compose as if it were a ModelAPI. An XR
    without them (hand-written requests, tests) is taken as one: Crossplane always sends both."""
    kind, api_version = xr.get("kind"), xr.get("apiVersion")
    if kind is not None and kind not in KINDS:
        raise SpecError(f"kind: {kind!r} is not composed by {names.FUNCTION}; it composes {' and '.join(KINDS)}")
    if api_version is not None and (not isinstance(api_version, str) or api_version.split("/")[0] != names.GROUP):
        raise SpecError(
            f"apiVersion: {api_version!r} is not composed by {names.FUNCTION}; it composes {names.API_VERSION}"
        )


def target(xr: dict) -> Target:
    meta = xr.get("metadata")
    if not isinstance(meta, dict):
        raise SpecError("metadata: missing")
    labels = meta.get("labels") or {}
    claim_ref = (xr.get("spec") or {}).get("claimRef") if isinstance(xr.get("spec"), dict) else None
    # A namespaced XR first: its labels are the team's to set, and must not move its objects.
    if meta.get("namespace"):
        name, namespace = meta.get("name"), meta["namespace"]
    elif xr.get("kind") == NAMESPACED_KIND:
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
    pods: Sequence[dict] | None = None,
    configs: Mapping[str, Verdict] | None = None,
    *,
    preview: bool = False,
) -> Composed:
    """Raises SpecError, naming the field, for a spec that cannot work. pods: the ModelAPI's, None
    when Crossplane has not fetched them. configs: verdicts on
    configYaml texts read already (the server reads them off its event loop). preview: a
    placeholder where a new master key would be (render: the same bytes on every run)."""
    check_kind(xr)
    where = target(xr)
    spec = parse_spec(xr.get("spec"), configs)
    platform = parse_input(fn_input)
    guardrails.check(spec, platform)
    out = _compose(where, spec, platform, observed, pods, preview)
    previous = xr.get("status") if isinstance(xr.get("status"), dict) else {}
    if (previous.get("phase"), previous.get("message")) != (out.status["phase"], out.status["message"]):
        out.events.append(_event(out))
    return out


def _renamed(name: str, base: str) -> str | None:
    """Where a ModelAPI's objects cannot take its name (a Service name is a DNS label), say what
    they are called: a person looks for a Secret named after the ModelAPI."""
    if base == name:
        return None
    return (
        f"its objects are named {base}, as {name} is no Service name (lower case letters, digits and '-', "
        f"at most 63): the client Secret is {names.client_secret_name(base)}"
    )


def _event(out: Composed) -> Event:
    if out.status["phase"] == "Ready":
        return Event(False, f"ModelAPI is ready at {out.status['endpoint']}")
    return Event(out.problem, f"{out.status['phase']}: {out.status['message']}")


def _compose(
    where: Target,
    spec: ModelAPISpec,
    platform: Input,
    observed: Mapping[str, dict],
    pods: Sequence[dict] | None,
    preview: bool,
) -> Composed:
    naming = names.naming(where.name, observed.get(names.DEPLOYMENT))
    base = naming.base
    ns = where.namespace
    work, ignored = _workload(naming, ns, spec, platform, observed, pods, where.identity, preview)
    endpoint = names.endpoint(base, ns, work.port)
    resources = dict(work.resources)
    resources[names.SERVICE] = service.service(naming, ns, work.component, work.port, work.metrics_port)
    resources[names.CLIENT_SECRET] = client.client_secret(naming, ns, work.component, endpoint, work.api_key)
    if platform.networkPolicy is not None or work.network_policy_by_default:
        policy = platform.networkPolicy or NetworkPolicyDefaults()
        resources[names.NETWORK_POLICY] = network.network_policy(
            naming, ns, work.component, work.port, policy, work.metrics_port, platform.metrics.allowNamespaces
        )
    egress = platform.egress
    if spec.mode == "Proxy" and egress is not None and egress.networkPolicy and egress.allowedHosts is not None:
        policy = resources[names.EGRESS_POLICY] = network.egress_policy(
            naming, ns, work.component, egress.allowedHosts, egress.dns
        )
        before = observed.get(names.EGRESS_POLICY_BEFORE)
        if before is not None and names.EGRESS_POLICY not in observed:
            # Upgraded from the N-egress name: kept until N.egress exists, or the pods' egress
            # would be open between Crossplane's deleting the one and creating the other.
            resources[names.EGRESS_POLICY_BEFORE] = network.renamed(policy, before)
    if work.replicas > 1:
        resources[names.DISRUPTION_BUDGET] = disruption.disruption_budget(naming, ns, work.component)
    # Kinds of optional CRDs, only where the platform turns them on: a cluster without
    # prometheus-operator or Gateway API never sees them.
    if work.metrics_port is not None and platform.metrics.serviceMonitor:
        resources[names.SERVICE_MONITOR] = monitoring.service_monitor(naming, ns, work.component, platform.metrics)
    # Only a proxy: it asks for a key. Ollama takes none, so a route would open it to the world.
    gateway = platform.gateway if spec.mode == "Proxy" else None
    if gateway is not None:
        resources[names.HTTP_ROUTE] = route.http_route(naming, ns, work.component, work.port, gateway)

    state = status.evaluate(observed.get(names.DEPLOYMENT), pods or [], work.status)
    ready = {key: key in observed for key in resources}
    ready.update(work.ready)
    ready[names.DEPLOYMENT] = state.ready
    xr_status = {
        "phase": state.phase,
        "ready": state.ready,
        "endpoint": endpoint,
        "message": "; ".join(m for m in (state.message, *ignored, *work.notes, _renamed(where.name, base)) if m),
        "clientSecretName": names.client_secret_name(base),
    }
    if gateway is not None:
        xr_status["externalEndpoint"] = route.external_endpoint(base, ns, gateway)
    return Composed(
        resources=resources,
        ready=ready,
        status=xr_status,
        pod_namespace=ns,
        pod_labels=naming.selector(),
        needs_pods=not state.ready or state.rolling,
        problem=state.problem,
    )


def _workload(
    naming: names.Naming,
    ns: str,
    spec: ModelAPISpec,
    platform: Input,
    observed: Mapping[str, dict],
    pods: Sequence[dict] | None,
    identity: str,
    preview: bool,
) -> tuple[Workload, list[str]]:
    """The mode's workload, and the other mode's config if it is set (ignored, noted)."""
    if spec.mode == "Hosted" and spec.serverConfig is not None:
        ignored = ["spec.proxyConfig is ignored in mode Hosted"] if spec.proxyConfig is not None else []
        return ollama.workload(naming, ns, spec.serverConfig, platform, observed), ignored
    if spec.mode == "Proxy" and spec.proxyConfig is not None:
        ignored = ["spec.serverConfig is ignored in mode Proxy"] if spec.serverConfig is not None else []
        work = litellm.workload(naming, ns, spec.proxyConfig, platform, observed, pods, identity, preview=preview)
        return work, ignored
    raise SpecError(f"spec.mode: {spec.mode} without its config")  # the spec model refuses this first
