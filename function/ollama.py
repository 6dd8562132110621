"""Hosted mode: an Ollama Deployment whose init container pulls the model first, where the
platform's scheduling profile puts it (a GPU pool, say), with its models in a claim that lasts
or in a bounded emptyDir, and a NetworkPolicy by default (Ollama takes no key)."""

from collections.abc import Mapping

from function import front, guardrails, names, pods, status
from function.spec import Input, Profile, Resources, ServerConfig, SpecError, Storage
from function.workload import Workload

COMPONENT = "ollama-server"
# The composed resource key of the models' claim (serverConfig.storage).
MODELS_CLAIM = "models-claim"
PULL_CONTAINER = "pull-model"
PULL_TIMEOUT_ENV = "PULL_WAIT_SECONDS"
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"

# Runs in the init container. The model name arrives only in "$MODEL", always quoted:
# never spliced into the script. The server is polled, not waited for with a fixed sleep, until a
# deadline by the clock: a server starved of memory thrashes, and each poll may take seconds.
# The server's own log stays out of the container's (the pull's, which the status quotes
# when it fails): it opens with the server's settings, proxy credentials included.
PULL_SCRIPT = """\
set -u
serve_log=`mktemp`
ollama serve >"$serve_log" 2>&1 &
server=$!
deadline=$((`date +%s` + PULL_WAIT_SECONDS))
until ollama list >/dev/null 2>&1; do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "ollama serve exited before answering" >&2
    grep '^Error' "$serve_log" >&2
    exit 1
  fi
  if [ "`date +%s`" -ge "$deadline" ]; then
    echo "ollama serve did not answer within $PULL_WAIT_SECONDS s" >&2
    kill "$server"
    exit 1
  fi
  sleep 1
done
if ollama show -- "$MODEL" >/dev/null 2>&1; then
  echo "model $MODEL is in the cache already: not pulled again"
  status=0
else
  echo "pulling model: $MODEL"
  ollama pull -- "$MODEL"
  status=$?
fi
kill "$server"
wait "$server" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "pull of model $MODEL failed (exit $status)" >&2
fi
exit "$status"
"""


def workload(
    naming: names.Naming, namespace: str, server: ServerConfig, platform: Input, observed: Mapping[str, Mapping]
) -> Workload:
    """Ollama, its model pulled first. It takes no key: agents send the one OpenAI clients insist on."""
    profile = _profile(server, platform)
    resources = guardrails.bounded(server.resources or (profile.resources if profile else None), platform)
    # A second pod beside the first would wait for a GPU the first holds, or for a claim only one
    # node can mount: the old pod goes first (the endpoint is down until the new one is ready).
    recreate = server.storage is not None or bool(resources and resources.extended())
    objects = {names.DEPLOYMENT: deployment(naming, namespace, server, platform, profile, resources, recreate)}
    ready = {}
    if server.storage is not None:
        objects[MODELS_CLAIM] = models_claim(naming, namespace, server.storage)
        claim = observed.get(MODELS_CLAIM)
        ready[MODELS_CLAIM] = isinstance(claim, Mapping) and _phase(claim) == "Bound"
    notes = [n for n in (pods.empty_env_note("spec.serverConfig.env", server.env),) if n]
    if platform.networkPolicy is None and not platform.hostedNetworkPolicy:
        notes.append(
            "the endpoint takes no key (Ollama has none) and the platform composes no NetworkPolicy: any pod "
            "the cluster's network lets through can call its inference routes"
        )
    return Workload(
        component=COMPONENT,
        port=names.OLLAMA_PORT,
        resources=objects,
        ready=ready,
        notes=notes,
        api_key=names.HOSTED_API_KEY,
        network_policy_by_default=platform.hostedNetworkPolicy,
        status=status.Context(
            name=naming.base,
            hosted=True,
            model=server.model,
            pull_container=PULL_CONTAINER,
            memory_hint="serverConfig.resources.limits.memory",
            recreates=recreate,
            claim=names.models_claim_name(naming.base) if server.storage is not None else None,
        ),
    )


def _profile(server: ServerConfig, platform: Input) -> Profile | None:
    name = server.profile or platform.defaultProfile
    if name is None:
        return None
    if name not in platform.profiles:
        offered = ", ".join(sorted(platform.profiles)) or "none"
        raise SpecError(f"spec.serverConfig.profile: no profile {name}; the platform offers: {offered}")
    return platform.profiles[name]


def _phase(obj: Mapping) -> object:
    observed = obj.get("status")
    return observed.get("phase") if isinstance(observed, Mapping) else None


def models_claim(naming: names.Naming, namespace: str, storage: Storage) -> dict:
    """Pulled once, kept across restarts and updates; deleted with the ModelAPI (it is composed)."""
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage.size}}}
    if storage.storageClassName is not None:
        spec["storageClassName"] = storage.storageClassName
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": names.models_claim_name(naming.base),
            "namespace": namespace,
            "labels": naming.labels(COMPONENT),
        },
        "spec": spec,
    }


def _tolerations(profile: Profile | None, resources: Resources | None) -> list[dict]:
    """The profile's, and, for each extended resource asked for (nvidia.com/gpu), its taint's, as
    the ExtendedResourceToleration admission plugin adds them: GPU pools are tainted so."""
    given = [t.to_k8s() for t in profile.tolerations] if profile else []
    keys = {t.get("key") for t in given}
    extended = sorted(set(resources.extended()) - keys) if resources else []
    return given + [{"key": name, "operator": "Exists", "effect": "NoSchedule"} for name in extended]


def deployment(
    naming: names.Naming,
    namespace: str,
    server: ServerConfig,
    platform: Input,
    profile: Profile | None,
    resources_: Resources | None,
    recreate: bool,
) -> dict:
    image = profile.image if profile and profile.image else platform.images.ollama
    wiring = [
        # The pod's loopback only: agents reach it through the front, which passes inference alone.
        {"name": "OLLAMA_HOST", "value": f"127.0.0.1:{names.OLLAMA_SERVER_PORT}"},
        {"name": "OLLAMA_MODELS", "value": names.OLLAMA_MODELS_DIR},
    ]
    user_env = [e.to_k8s() for e in server.env]
    resources = {"resources": resources_.to_k8s()} if resources_ else {}
    mounts = [{"name": "models", "mountPath": names.OLLAMA_MODELS_DIR}]
    pull = pods.container(
        PULL_CONTAINER,
        image,
        platform,
        command=["/bin/sh", "-c", PULL_SCRIPT],
        # The user's env too (proxies, OLLAMA_DEBUG), but the pull's own settings win.
        env=pods.merge_env(
            user_env,
            [
                {"name": "OLLAMA_HOST", "value": f"127.0.0.1:{names.OLLAMA_PORT}"},
                {"name": "OLLAMA_MODELS", "value": names.OLLAMA_MODELS_DIR},
                {"name": "MODEL", "value": server.model},
                {"name": PULL_TIMEOUT_ENV, "value": "120"},
            ],
        ),
        volumeMounts=mounts,
        # The pull's last output lines become the status message when it fails.
        terminationMessagePolicy="FallbackToLogsOnError",
        **resources,
    )
    serve = pods.container(
        "ollama",
        image,
        platform,
        args=["serve"],
        env=pods.merge_env(wiring, user_env),
        # On loopback, out of the kubelet's reach over HTTP: its own client asks it. Readiness is
        # the front's, whose probe passes through to Ollama.
        livenessProbe={
            "exec": {"command": ["ollama", "list"]},
            "periodSeconds": 15,
            "timeoutSeconds": 10,
            "failureThreshold": 4,
        },
        volumeMounts=mounts,
        **resources,
    )
    if server.storage is not None:
        models: dict = {"persistentVolumeClaim": {"claimName": names.models_claim_name(naming.base)}}
    else:
        models = {"emptyDir": {"sizeLimit": platform.modelsSizeLimit}}
    pod_spec: dict = {
        "initContainers": [pull],
        "containers": [serve, front.container(platform)],
        "volumes": [{"name": "models", **models}, front.volume()],
    }
    tolerations = _tolerations(profile, resources_)
    if tolerations:
        pod_spec["tolerations"] = tolerations
    if profile is not None:
        if profile.nodeSelector:
            pod_spec["nodeSelector"] = dict(sorted(profile.nodeSelector.items()))
        for field in ("affinity", "runtimeClassName", "priorityClassName"):
            if getattr(profile, field) is not None:
                pod_spec[field] = getattr(profile, field)
    # `kubectl logs -l app=N` shows the pull (the spec's way to see whether the model is still
    # downloading) rather than failing while the server container waits for it; `-c ollama`
    # shows the server.
    out = pods.deployment(naming, namespace, COMPONENT, platform, pod_spec, {DEFAULT_CONTAINER: PULL_CONTAINER})
    if recreate:
        out["spec"]["strategy"] = {"type": "Recreate"}
    return out
