"""Hosted mode: an Ollama Deployment whose init container pulls the model first."""

from function import names, pods, status
from function.spec import Input, ServerConfig
from function.workload import Workload

COMPONENT = "ollama-server"
PULL_CONTAINER = "pull-model"
PULL_TIMEOUT_ENV = "PULL_WAIT_SECONDS"
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"

# Runs in the init container. The model name arrives only in "$MODEL", always quoted:
# never spliced into the script. The server is polled, not waited for with a fixed sleep.
# The server's own log stays out of the container's (the pull's, which the status quotes
# when it fails): it opens with the server's settings, proxy credentials included.
PULL_SCRIPT = """\
set -u
serve_log=`mktemp`
ollama serve >"$serve_log" 2>&1 &
server=$!
waited=0
until ollama list >/dev/null 2>&1; do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "ollama serve exited before answering" >&2
    grep '^Error' "$serve_log" >&2
    exit 1
  fi
  if [ "$waited" -ge "$PULL_WAIT_SECONDS" ]; then
    echo "ollama serve did not answer within $PULL_WAIT_SECONDS s" >&2
    kill "$server"
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "pulling model: $MODEL"
ollama pull -- "$MODEL"
status=$?
kill "$server"
wait "$server" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "pull of model $MODEL failed (exit $status)" >&2
fi
exit "$status"
"""


def workload(base: str, namespace: str, server: ServerConfig, platform: Input) -> Workload:
    """Ollama, its model pulled first. It takes no key: agents send the one OpenAI clients insist on."""
    return Workload(
        component=COMPONENT,
        port=names.OLLAMA_PORT,
        resources={names.DEPLOYMENT: deployment(base, namespace, server, platform)},
        api_key=names.HOSTED_API_KEY,
        status=status.Context(
            name=base,
            hosted=True,
            model=server.model,
            pull_container=PULL_CONTAINER,
            memory_hint="serverConfig.resources.limits.memory",
        ),
    )


def deployment(base: str, namespace: str, server: ServerConfig, platform: Input) -> dict:
    wiring = [
        {"name": "OLLAMA_HOST", "value": f"0.0.0.0:{names.OLLAMA_PORT}"},
        {"name": "OLLAMA_MODELS", "value": names.OLLAMA_MODELS_DIR},
    ]
    user_env = [e.to_k8s() for e in server.env]
    resources = {"resources": server.resources.to_k8s()} if server.resources else {}
    mounts = [{"name": "models", "mountPath": names.OLLAMA_MODELS_DIR}]
    pull = pods.container(
        PULL_CONTAINER,
        platform.images.ollama,
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
        platform.images.ollama,
        platform,
        args=["serve"],
        env=pods.merge_env(wiring, user_env),
        ports=[{"name": names.PORT_NAME, "containerPort": names.OLLAMA_PORT, "protocol": "TCP"}],
        readinessProbe=pods.http_probe(names.OLLAMA_HEALTH_PATH, period=5, failures=3),
        livenessProbe=pods.http_probe(names.OLLAMA_HEALTH_PATH, period=15, failures=4),
        volumeMounts=mounts,
        **resources,
    )
    pod_spec = {
        "initContainers": [pull],
        "containers": [serve],
        "volumes": [{"name": "models", "emptyDir": {}}],
    }
    # `kubectl logs -l app=N` shows the pull (the spec's way to see whether the model is still
    # downloading) rather than failing while the server container waits for it; `-c ollama`
    # shows the server.
    return pods.deployment(base, namespace, COMPONENT, platform, pod_spec, {DEFAULT_CONTAINER: PULL_CONTAINER})
