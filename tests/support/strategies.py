"""Strategies for generated ModelAPI XRs (the property tests in tests/properties/), driven through
the gRPC adapter `function.fn.run(req)`.

For every example: no exception escapes `run`. A valid XR composes objects that pass
`kubernetes_validate` (1.34 and 1.30, strict) and the API server's own rules that the OpenAPI
schema cannot express (see `apiserver_problems`). An invalid XR gets exactly one fatal result
whose message starts with the field path, and no desired composed resources.

Profiles (HYPOTHESIS_PROFILE):
    ci (the default)  300 examples for each broad property, 100 for each narrow one (1,400 in
                      all), under a minute for the file when the function passes:
        .venv/bin/python -m pytest tests/properties
    soak              6,000 and 2,000 (28,000 in all), about ten minutes:
        HYPOTHESIS_PROFILE=soak .venv/bin/python -m pytest tests/properties --hypothesis-show-statistics
A failing property spends up to five minutes shrinking its example before it reports.
"""

import decimal
import os
from dataclasses import dataclass, field

import yaml
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from function import litellm_config, names, spec
from tests.support.apiserver import ENV_FIELD_PATHS, secret_key

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("soak", max_examples=6_000, deadline=None, suppress_health_check=_SLOW_OK)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# The narrower properties (one field, one kind of input) get a third of the examples.
NARROW = settings(PROFILE, max_examples=max(PROFILE.max_examples // 3, 10))


OFTEN, SOMETIMES, RARELY = 0.5, 0.2, 0.05


def chance(p: float) -> st.SearchStrategy[bool]:
    """True about p of the time. Not floats(0, 1) < p nor integers: beside other draws Hypothesis
    favours 0 so much that such a "5 %" comes true half the time."""
    hits = round(p * 100)
    return st.sampled_from([False] * (100 - hits) + [True] * hits)


def repeated(alphabet: st.SearchStrategy[str], low: int, high: int) -> st.SearchStrategy[str]:
    """A long string without drawing each character: fast to generate and to shrink."""
    return st.builds(lambda chunk, n: (chunk * n)[:high], alphabet, st.integers(low, high))


# Any character a protobuf string can carry (no lone surrogates), but NUL.
TEXT_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")

DNS_LABELS = st.one_of(
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["team-a", "default", "0", "a" * 63, "x-" * 31 + "y"]),
)
DNS_SUBDOMAINS = st.one_of(
    DNS_LABELS,
    st.lists(DNS_LABELS, min_size=2, max_size=5).map(".".join).filter(lambda s: len(s) <= 253),
    st.sampled_from(["llama3.1-8b", "my.model.api", ("a" * 63 + ".") * 3 + "a" * 61, "9lives", "a"]),
)
LABEL_KEYS = st.one_of(
    st.from_regex(r"[a-z]([-a-z0-9_.]{0,10}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["app", "team", "example.com/owner", "app.kubernetes.io/part-of"]),
)
LABEL_VALUES = st.one_of(st.from_regex(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,12})?[A-Za-z0-9])?", fullmatch=True))

OLLAMA_MODELS = [
    "smollm2:135m",
    "llama3.1:8b-instruct-q4_K_M",
    "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
    "mistral",
    "qwen2.5-coder:1.5b",
    "library/llama2@sha256:abc",
    "a" * 256,
]
LITELLM_MODELS = ["ollama/smollm2:135m", "gpt-4o-mini", "azure/gpt-4", "ollama_chat/llama3.1:8b", "openai/o3+x"]
MODELS = st.one_of(
    st.sampled_from(OLLAMA_MODELS + LITELLM_MODELS),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,40}", fullmatch=True),
)

API_BASES = st.one_of(
    st.sampled_from(
        [
            "http://host.docker.internal:11434",
            "http://ollama.ollama.svc:11434",
            "https://api.openai.com",
            "https://my-azure.openai.azure.com/openai/deployments/x?api-version=2024-06-01",
            "http://[::1]:11434",
            "http://10.0.0.1",
            "https://ünïcödé.example/v1",
            "http://h/" + "p" * 2030,
        ]
    ),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
        st.sampled_from(["http", "https"]),
        DNS_SUBDOMAINS,
        st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")),
        st.one_of(st.just(""), st.from_regex(r"[/?#][A-Za-z0-9._~/=&%-]{0,30}", fullmatch=True)),
    ),
)

# Env values: anything but NUL, empty, unicode, up to the 32 KiB limit.
ENV_VALUES = st.one_of(
    st.text(TEXT_CHARS, max_size=30),
    st.sampled_from(["", " ", "$(id)", "`id`", "; rm -rf /", "line1\nline2", "日本語", "\u202e", "🦙" * 10]),
    repeated(st.sampled_from(["x", "é", "🦙", "ab\n"]), 1000, spec.MAX_ENV_VALUE),
    st.just("z" * spec.MAX_ENV_VALUE),
)
ENV_NAMES = st.one_of(
    st.from_regex(r"[-._a-zA-Z][-._a-zA-Z0-9]{0,20}", fullmatch=True),
    st.sampled_from(["OPENAI_API_KEY", "HTTPS_PROXY", "OLLAMA_DEBUG", "MODEL", "PULL_WAIT_SECONDS", "_", "-", "."]),
    st.sampled_from(["LITELLM_LOCAL_MODEL_COST_MAP", "A" * 256]),
)
FIELD_PATHS = st.one_of(
    st.sampled_from(sorted(ENV_FIELD_PATHS)),
    LABEL_KEYS.map(lambda k: f"metadata.labels['{k}']"),
    LABEL_KEYS.map(lambda k: f"metadata.annotations['{k}']"),
)
KEY_REFS = st.fixed_dictionaries(
    {"name": DNS_SUBDOMAINS, "key": st.from_regex(r"[-._a-zA-Z0-9]{1,20}", fullmatch=True).filter(secret_key)},
    optional={"optional": st.booleans()},
)
ENV_SOURCES = st.one_of(
    st.builds(lambda r: {"secretKeyRef": r}, KEY_REFS),
    st.builds(lambda r: {"configMapKeyRef": r}, KEY_REFS),
    st.builds(
        lambda p, v: {"fieldRef": {"fieldPath": p, **v}},
        FIELD_PATHS,
        st.one_of(st.just({}), st.just({"apiVersion": "v1"})),
    ),
)


def env_var(reserved: frozenset[str]) -> st.SearchStrategy[dict]:
    name = ENV_NAMES.filter(lambda n: n not in reserved)
    return st.one_of(
        st.builds(lambda n, v: {"name": n, "value": v}, name, ENV_VALUES),
        st.builds(lambda n, s: {"name": n, "valueFrom": s}, name, ENV_SOURCES),
        st.builds(lambda n: {"name": n}, name),
    )


@st.composite
def env_lists(draw, reserved: frozenset[str], master_key: bool) -> list[dict]:
    reserved = reserved | {names.MASTER_KEY_ENV}
    env = draw(st.lists(env_var(reserved), max_size=6, unique_by=lambda e: e["name"]))
    if draw(chance(RARELY)):  # the most the spec allows
        env = [{"name": f"VAR_{i}", "value": str(i)} for i in range(spec.MAX_ENV)]
    if master_key and draw(chance(SOMETIMES)):
        ref = {"secretKeyRef": {"name": "litellm-master", "key": "key"}}
        env.insert(draw(st.integers(0, len(env))), {"name": names.MASTER_KEY_ENV, "valueFrom": ref})
        env = env[: spec.MAX_ENV]
    return env


# Quantities: (as written in the spec, its value). Numbers arrive as protobuf doubles.
_MEMORY_UNITS = [("", 1), ("k", 10**3), ("M", 10**6), ("G", 10**9), ("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30)]
_CPU_UNITS = [("", 1), ("m", decimal.Decimal("0.001"))]


@st.composite
def quantities(draw, resource_name: str) -> tuple[str | int, decimal.Decimal]:
    units = _CPU_UNITS if resource_name == "cpu" else _MEMORY_UNITS
    unit, mult = draw(st.sampled_from(units))
    n = draw(st.integers(0, 10**6))
    form = draw(st.sampled_from(["int", "str", "decimal", "exponent", "plus"]))
    if form == "int":
        return n, decimal.Decimal(n)
    if form == "decimal":
        frac = draw(st.integers(0, 999))
        text = f"{n}.{frac:03d}"
        return text + unit, decimal.Decimal(text) * mult
    if form == "exponent":
        e = draw(st.integers(0, 6))
        return f"{n}e{e}", decimal.Decimal(n).scaleb(e)
    return ("+" if form == "plus" else "") + f"{n}{unit}", n * mult


@st.composite
def resource_requirements(draw) -> tuple[dict, dict]:
    """Requirements the API server accepts: (spec as written, as rendered)."""
    written: dict = {}
    rendered: dict = {}
    for rname in draw(st.sets(st.sampled_from(["cpu", "memory", "ephemeral-storage"]))):
        kinds = draw(st.sampled_from([("requests",), ("limits",), ("requests", "limits")]))
        values = sorted((draw(quantities(rname)) for _ in kinds), key=lambda q: q[1])
        for kind, (q, _) in zip(kinds, values, strict=True):
            written.setdefault(kind, {})[rname] = q
            rendered.setdefault(kind, {})[rname] = str(q)
    for rname in draw(st.sets(st.sampled_from(["nvidia.com/gpu", "amd.com/gpu", "example.com/fpga"]), max_size=2)):
        n = draw(st.integers(0, 8))
        forms = draw(st.sampled_from([("limits",), ("limits", "requests")]))
        for kind in forms:
            q = draw(st.sampled_from([n, str(n)]))
            written.setdefault(kind, {})[rname] = q
            rendered.setdefault(kind, {})[rname] = str(q)
    if draw(chance(RARELY)):
        written.setdefault("requests", {})
    return written, rendered


def _litellm_entry(model_name: str, model: str, extra: dict) -> dict:
    return {"model_name": model_name, "litellm_params": {"model": model, **extra}}


NONEMPTY_TEXT = st.text(TEXT_CHARS, min_size=1, max_size=20)
LITELLM_EXTRA = st.fixed_dictionaries(
    {},
    optional={
        "api_base": API_BASES,
        "api_key": ENV_NAMES.map(lambda n: f"os.environ/{n}"),
        "rpm": st.integers(1, 10_000),
        "timeout": st.floats(0.1, 600),
    },
)


@st.composite
def config_yamls(draw, enormous: bool = True) -> str:
    """A LiteLLM config that LiteLLM can start with, in any YAML style, up to the size limit."""
    entries = draw(
        st.lists(
            st.builds(_litellm_entry, st.one_of(NONEMPTY_TEXT, st.just("*"), MODELS), MODELS, LITELLM_EXTRA),
            min_size=1,
            max_size=4,
        )
    )
    config: dict = {"model_list": entries}
    if draw(st.booleans()):
        config["litellm_settings"] = {"drop_params": True, "num_retries": draw(st.integers(0, 5))}
    if draw(st.booleans()):
        config["general_settings"] = {"master_key": "os.environ/LITELLM_MASTER_KEY"}
    text = yaml.dump(
        config,
        Dumper=yaml.CSafeDumper,
        default_flow_style=draw(st.sampled_from([False, True, None])),
        allow_unicode=draw(st.booleans()),
        sort_keys=draw(st.booleans()),
        width=draw(st.sampled_from([80, 10**6])),
    )
    if enormous and draw(chance(RARELY / 5)):  # as many models as fit in the size limit
        items = yaml.dump(entries, Dumper=yaml.CSafeDumper, default_flow_style=False, allow_unicode=True)
        nodes = sum(isinstance(e, yaml.NodeEvent) for e in yaml.parse(items, Loader=yaml.CSafeLoader))
        fit = min((litellm_config.MAX_BYTES - 4096) // len(items.encode()), (litellm_config.MAX_NODES - 64) // nodes)
        copies = min(draw(st.integers(100, 2500)), fit)
        text = "model_list:\n" + items * copies
    if draw(st.booleans()):
        text = "# LiteLLM config, by hand\n" + text + "\n# end\n"
    if draw(chance(RARELY)):  # exactly at the limit
        pad = litellm_config.MAX_BYTES - len(text.encode()) - 2
        assume(pad >= 0)
        text += "#" + "x" * pad + "\n"
    assume(len(text.encode()) <= litellm_config.MAX_BYTES)
    return text


PROXY_RESERVED = frozenset()
OLLAMA_RESERVED = frozenset(names.OLLAMA_RESERVED_ENV)


@st.composite
def proxy_configs(draw) -> dict:
    cfg = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "apiBase": API_BASES,
                "model": MODELS,
                "configYaml": config_yamls(),
                "env": env_lists(PROXY_RESERVED, master_key=True),
            },
        )
    )
    if not {"apiBase", "model", "configYaml"} & cfg.keys():
        cfg["apiBase"] = draw(API_BASES)
    return cfg


@st.composite
def server_configs(draw) -> tuple[dict, dict | None]:
    cfg = {"model": draw(MODELS)}
    if draw(st.booleans()):
        cfg["env"] = draw(env_lists(OLLAMA_RESERVED, master_key=False))
    rendered = None
    if draw(st.booleans()):
        cfg["resources"], rendered = draw(resource_requirements())
    if draw(chance(SOMETIMES)):
        cfg["storage"] = {"size": draw(st.sampled_from(["50Gi", "1Ti", "500M", "1"]))}
        if draw(st.booleans()):
            cfg["storage"]["storageClassName"] = draw(DNS_SUBDOMAINS)
    if draw(chance(SOMETIMES)):
        cfg["profile"] = draw(st.sampled_from(PROFILE_NAMES))
    return cfg, rendered


PROFILE_NAMES = ["gpu", "cpu-pool"]
TOLERATIONS = st.lists(
    st.fixed_dictionaries(
        {"key": LABEL_KEYS},
        optional={
            "operator": st.just("Exists"),
            "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
        },
    ),
    max_size=2,
)
PROFILES = st.fixed_dictionaries(
    {},
    optional={
        "nodeSelector": st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=2),
        "tolerations": TOLERATIONS,
        "runtimeClassName": DNS_SUBDOMAINS,
        "priorityClassName": DNS_SUBDOMAINS,
        "image": st.sampled_from(["ollama/ollama:0.5.7-rocm", "mirror.local/ollama:1"]),
    },
)


IMAGES = st.sampled_from(
    [
        "litellm/litellm:latest",
        "ghcr.io/berriai/litellm:main-v1.50.0",
        "registry.example.com:5000/ollama/ollama@sha256:" + "a" * 64,
        "ollama/ollama:0.5.7-rocm",
    ]
)


@st.composite
def function_inputs(draw) -> tuple[dict | None, dict | None]:
    """The Composition step's input: (input, rendered proxy resources)."""
    if draw(st.booleans()):
        return None, None
    data: dict = {"apiVersion": "modelapi.fn.ethical.institute/v1beta1", "kind": "Input"}
    if draw(st.booleans()):
        data["images"] = draw(st.fixed_dictionaries({}, optional={"litellm": IMAGES, "ollama": IMAGES}))
    if draw(st.booleans()):
        data["imagePullPolicy"] = draw(st.sampled_from(["Always", "IfNotPresent", "Never"]))
    if draw(st.booleans()):
        data["imagePullSecrets"] = draw(st.lists(DNS_SUBDOMAINS, max_size=3, unique=True))
    rendered = None
    if draw(st.booleans()):
        data["proxyResources"], rendered = draw(resource_requirements())
    if draw(chance(SOMETIMES)):
        data["networkPolicy"] = {"allowNamespaces": draw(st.lists(DNS_LABELS, max_size=3))}
    if draw(chance(SOMETIMES)):
        data["hostedNetworkPolicy"] = draw(st.booleans())
    # Every profile a generated serverConfig may name, so that the case stays valid.
    data["profiles"] = {name: draw(PROFILES) for name in PROFILE_NAMES}
    if draw(chance(SOMETIMES)):
        data["defaultProfile"] = draw(st.sampled_from(PROFILE_NAMES))
    if draw(chance(SOMETIMES)):
        data["modelsSizeLimit"] = draw(st.sampled_from(["10Gi", "200G"]))
    if draw(chance(SOMETIMES)):
        data["proxyReplicas"] = {"default": draw(st.integers(1, 3)), "max": 5}
    if draw(chance(SOMETIMES)):
        data["metrics"] = draw(
            st.fixed_dictionaries({}, optional={"enabled": st.booleans(), "serviceMonitor": st.booleans()})
        )
    if draw(chance(SOMETIMES)):
        data["telemetry"] = {"otlpEndpoint": draw(API_BASES)}
    if draw(chance(SOMETIMES)):
        data["gateway"] = {
            "parentRefs": [{"name": draw(DNS_SUBDOMAINS), "namespace": draw(DNS_LABELS)}],
            "hostname": "llm.example.com",
            "timeout": draw(st.sampled_from(["300s", "10m", "1h30m"])),
        }
    return data, rendered


@dataclass
class Case:
    xr: dict
    fn_input: dict | None
    mode: str
    name: str  # where the objects go: the XR's (v2) or the claim's name and namespace
    namespace: str
    scope: str
    server_resources: dict | None = None
    proxy_resources: dict | None = None
    ignored: list[str] = field(default_factory=list)  # what the status message says is ignored

    @property
    def spec(self) -> dict:
        return self.xr["spec"]

    @property
    def config(self) -> dict:
        return self.spec["proxyConfig" if self.mode == "Proxy" else "serverConfig"]


@st.composite
def xr_metadata(draw, scope: str) -> tuple[dict, dict, str, str]:
    """(metadata, Crossplane's own spec fields, target name, target namespace)."""
    meta: dict = {}
    crossplane: dict = {}
    if draw(st.booleans()):
        meta["uid"] = draw(st.uuids()).hex
    if draw(st.booleans()):
        meta["labels"] = draw(st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=3))
    if draw(chance(SOMETIMES)):
        meta["annotations"] = draw(st.dictionaries(LABEL_KEYS, st.text(max_size=30), max_size=3))
    if draw(chance(SOMETIMES)):
        meta.update(generation=draw(st.integers(1, 10**6)), resourceVersion="12345", finalizers=["composite"])
    if scope == "namespaced":
        name, namespace = draw(DNS_SUBDOMAINS), draw(DNS_LABELS)
        meta.update(name=name, namespace=namespace)
        if draw(st.booleans()):
            crossplane["crossplane"] = {
                "compositionRef": {"name": "modelapi"},
                "resourceRefs": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
            }
        return meta, crossplane, name, namespace
    claim = draw(DNS_SUBDOMAINS.filter(lambda s: len(s) <= 63))
    namespace = draw(DNS_LABELS)
    meta["name"] = f"{claim}-{draw(st.from_regex(r'[a-z0-9]{5}', fullmatch=True))}"
    claim_ref = {"apiVersion": names.API_VERSION, "kind": "ModelAPI", "name": claim, "namespace": namespace}
    crossplane.update(claimRef=claim_ref, compositionRef={"name": "xmodelapi"})
    if draw(st.booleans()):
        crossplane["resourceRefs"] = []
    if scope == "claim":  # what Crossplane sets on a claim's XR
        labels = meta.setdefault("labels", {})
        labels.update({"crossplane.io/claim-name": claim, "crossplane.io/claim-namespace": namespace})
        labels["crossplane.io/composite"] = meta["name"]
    return meta, crossplane, claim, namespace


@st.composite
def valid_cases(draw) -> Case:
    mode = draw(st.sampled_from(["Proxy", "Hosted"]))
    scope = draw(st.sampled_from(["namespaced", "namespaced", "claim", "claim-ref-only"]))
    meta, crossplane_fields, name, namespace = draw(xr_metadata(scope))
    spec_: dict = {"mode": mode}
    ignored = []
    server_resources = None
    if mode == "Proxy" or draw(chance(SOMETIMES)):
        spec_["proxyConfig"] = draw(proxy_configs())
        if mode == "Hosted":
            ignored.append("spec.proxyConfig is ignored in mode Hosted")
    if mode == "Hosted" or draw(chance(SOMETIMES)):
        spec_["serverConfig"], server_resources = draw(server_configs())
        if mode == "Proxy":
            ignored.append("spec.serverConfig is ignored in mode Proxy")
    proxy = spec_.get("proxyConfig", {})
    if mode == "Proxy" and "configYaml" in proxy and ("apiBase" in proxy or "model" in proxy):
        ignored.append("spec.proxyConfig.apiBase and spec.proxyConfig.model are ignored when configYaml is set")
    spec_.update(crossplane_fields)
    xr = {"apiVersion": names.API_VERSION, "kind": "ModelAPI" if scope == "namespaced" else "XModelAPI"}
    xr.update(metadata=meta, spec=spec_)
    if draw(chance(SOMETIMES)):  # what Crossplane observed last time
        xr["status"] = {"phase": "Pending", "ready": False, "conditions": [{"type": "Synced", "status": "True"}]}
    fn_input, proxy_resources = draw(function_inputs())
    if mode == "Proxy" and draw(chance(SOMETIMES)):
        proxy["replicas"] = draw(st.integers(1, 5))
    if mode == "Proxy" and draw(chance(SOMETIMES)):
        proxy["resources"], proxy_resources = draw(resource_requirements())
    if fn_input is None and "profile" in spec_.get("serverConfig", {}):
        del spec_["serverConfig"]["profile"]  # no input, no profiles to pick from
    return Case(xr, fn_input, mode, name, namespace, scope, server_resources, proxy_resources, ignored)
