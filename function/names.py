"""Names, labels, ports, images and paths: each defined once."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

GROUP = "ethical.institute"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
# The function as Crossplane knows it (the Compositions' functionRef), and its input's kind.
FUNCTION = "function-modelapi"
# Where the release workflow publishes the function package and the Configuration packages
# (hack/build-configuration.py) beside it, at the project's version; the Crossplane cores the
# packages accept, from the oldest the tests run (tests/e2e, tests/cluster: v2.3.0).
PACKAGE = "xpkg.crossplane.io/ethical-institute/function-modelapi"
CONFIGURATION_PACKAGE = "xpkg.crossplane.io/ethical-institute/configuration-modelapi"
PACKAGE_VERSION = "0.1.0"
CROSSPLANE_VERSIONS = ">=v2.3.0-0"
INPUT_API_VERSION = f"modelapi.fn.{GROUP}/v1beta1"
INPUT_KIND = "Input"

PROXY_PORT = 8000
OLLAMA_PORT = 11434
# Ollama itself, on the pod's loopback behind the front (function.front) that serves OLLAMA_PORT.
OLLAMA_SERVER_PORT = 11435
PORT_NAME = "http"
# LiteLLM's Prometheus metrics, served by a process of their own (--prometheus_metrics_port):
# without the key the main port's /metrics asks for, so never routed out of the cluster.
METRICS_PORT = 9090
METRICS_PORT_NAME = "metrics"
# The metrics server mounts its app at /metrics and redirects /metrics to /metrics/.
METRICS_PATH = "/metrics/"

# The upstream versions the tests run, in one place: hack/install-litellm.sh and
# hack/build-ollama.sh read them here, hack/bump-versions.sh changes them and what follows.
LITELLM_VERSION = "1.108.7"
OLLAMA_VERSION = "0.17.4"
# The tags upstream's release workflows publish for those versions (LiteLLM's ghcr_deploy.yml:
# main-v<version>; Ollama's release: <version> on Docker Hub): a pinned tag, so IfNotPresent holds.
DEFAULT_LITELLM_IMAGE = f"ghcr.io/berriai/litellm:main-v{LITELLM_VERSION}"
DEFAULT_OLLAMA_IMAGE = f"ollama/ollama:{OLLAMA_VERSION}"
# Hosted's front (function.front): nginx, as its unprivileged image runs it (uid 101).
DEFAULT_HOSTED_FRONT_IMAGE = "nginxinc/nginx-unprivileged:1.28-alpine"

LITELLM_CONFIG_DIR = "/etc/litellm"
LITELLM_CONFIG_FILE = "config.yaml"
# Beside a team's configYaml (config.yaml, kept verbatim) where the platform adds callbacks: the
# file LiteLLM starts with includes config.yaml, then the platform's litellm_settings.
LITELLM_PLATFORM_FILE = "platform.yaml"
LITELLM_ENTRY_FILE = "modelapi.yaml"
LITELLM_LIVENESS_PATH = "/health/liveliness"
LITELLM_READINESS_PATH = "/health/readiness"
OLLAMA_HEALTH_PATH = "/"
OLLAMA_MODELS_DIR = "/models"

MASTER_KEY_ENV = "LITELLM_MASTER_KEY"
# Ollama's wiring to its port and model volume: a user env entry may not replace these.
OLLAMA_RESERVED_ENV = ("OLLAMA_HOST", "OLLAMA_MODELS")
CLIENT_BASE_URL_KEY = "OPENAI_BASE_URL"
CLIENT_API_KEY_KEY = "OPENAI_API_KEY"
# OpenAI clients insist on a key; Ollama ignores it.
HOSTED_API_KEY = "ollama"

CONFIG_CHECKSUM_ANNOTATION = "modelapi.ethical.institute/config-checksum"
MASTER_KEY_CHECKSUM_ANNOTATION = "modelapi.ethical.institute/master-key-checksum"
MANAGED_BY = FUNCTION

# Keys of the composed resources in the function's desired state.
DEPLOYMENT = "deployment"
SERVICE = "service"
CLIENT_SECRET = "client-secret"  # noqa: S105 - a resource key, not a password
LITELLM_CONFIG = "litellm-config"
# Of the config's SHA-256 in its Secret's name: 40 bits, no clash among a ModelAPI's revisions.
CONFIG_DIGEST_LENGTH = 10
NETWORK_POLICY = "network-policy"
# Not "egress-policy", the key of the policy named N-egress: Crossplane keeps the name it observed
# under a key, so the renamed policy needs a key of its own. The old one is kept until the new one
# is observed (compose.py): Crossplane deletes what is no longer desired before it applies the rest.
EGRESS_POLICY = "egress-network-policy"
EGRESS_POLICY_BEFORE = "egress-policy"
DISRUPTION_BUDGET = "disruption-budget"
SERVICE_MONITOR = "service-monitor"
HTTP_ROUTE = "http-route"

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_NOT_DNS = re.compile(r"[^-a-z0-9]+")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def base_name(name: str) -> str:
    """The name of every object of a ModelAPI: the ModelAPI's own name when it is a
    valid Service name (DNS-1035 label), else a valid and stable stand-in for it."""
    if _DNS1035_LABEL.match(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    stem = _NOT_DNS.sub("-", name.lower()).strip("-")
    if not stem[:1].isalpha():
        stem = "m-" + stem
    stem = stem[: 63 - len(digest) - 1].rstrip("-")
    return f"{stem}-{digest}"


@dataclass(frozen=True)
class Naming:
    """What a ModelAPI's objects are called and how its pods are labelled."""

    base: str  # every object's name (base_name): a valid Service name
    app: str  # the pods' `app` label: the ModelAPI's own name wherever a label value can hold it

    def selector(self) -> dict[str, str]:
        """Labels that select exactly one ModelAPI's pods (never change: selectors are immutable)."""
        return {
            "app": self.app,
            "app.kubernetes.io/instance": self.base,
            "app.kubernetes.io/name": "modelapi",
        }

    def labels(self, component: str) -> dict[str, str]:
        return {
            **self.selector(),
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }


def naming(name: str, observed_deployment: Mapping | None) -> Naming:
    """`app: NAME`, as `kubectl logs -l app=NAME` expects, for every name a label value can hold
    (`1st-model`, `chat.v2`: not Service names, so base_name stands in for them elsewhere). A
    Deployment's selector is immutable: one that exists keeps the `app` it was created with
    (earlier versions of the function labelled such names with the stand-in)."""
    base = base_name(name)
    if base == name or not _LABEL_VALUE.match(name):
        return Naming(base, base)  # as it always was: nothing observed to read (a Deployment's spec is large)
    try:
        kept = observed_deployment["spec"]["selector"]["matchLabels"]["app"]  # type: ignore[index]
    except (TypeError, KeyError):
        return Naming(base, name)
    return Naming(base, kept if isinstance(kept, str) and kept else name)


def models_claim_name(base: str) -> str:
    return f"{base}-models"


def egress_policy_name(base: str) -> str:
    """A dot, which no base name holds (they are Service names): `a-egress` would be the ingress
    policy of the ModelAPI named `a-egress` in the same namespace."""
    return f"{base}.egress"


def client_secret_name(base: str) -> str:
    return f"{base}-client"


def litellm_config_name(base: str, digest: str) -> str:
    """Each revision of a proxy's config is a Secret of its own, named for its content."""
    return f"{base}-litellm-config-{digest[:CONFIG_DIGEST_LENGTH]}"


def litellm_config_key(digest: str) -> str:
    return f"{LITELLM_CONFIG}-{digest[:CONFIG_DIGEST_LENGTH]}"


def is_litellm_config_key(key: str) -> bool:
    """A config revision's resource key; the bare one is what earlier versions composed."""
    return key == LITELLM_CONFIG or key.startswith(f"{LITELLM_CONFIG}-")


def endpoint(service: str, namespace: str, port: int) -> str:
    return f"http://{service}.{namespace}.svc.cluster.local:{port}"


def route_path(service: str, namespace: str) -> str:
    """A ModelAPI's path on the platform's Gateway: namespace and name are DNS labels (no `/`),
    so no two ModelAPIs of any namespaces share one."""
    return f"/{namespace}/{service}"
