"""Generated ModelAPI XRs, valid and hostile, driven through the gRPC adapter `function.fn.run(req)`.

For every example: no exception escapes `run`. A valid XR composes objects that pass
`kubernetes_validate` (1.34 and 1.30, strict) and the API server's own rules that the OpenAPI
schema cannot express (see `apiserver_problems`). An invalid XR gets exactly one fatal result
whose message starts with the field path, and no desired composed resources.

Profiles (HYPOTHESIS_PROFILE):
    ci (the default)  300 examples for each broad property, 100 for each narrow one (1,400 in
                      all), under a minute for the file when the function passes:
        .venv/bin/python -m pytest tests/test_generated_specs.py
    soak              6,000 and 2,000 (28,000 in all), about ten minutes:
        HYPOTHESIS_PROFILE=soak .venv/bin/python -m pytest tests/test_generated_specs.py --hypothesis-show-statistics
A failing property spends up to five minutes shrinking its example before it reports.
"""

import base64
import copy
import decimal
import functools
import json
import os
import re
from dataclasses import dataclass, field

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from function import fn, litellm_config, names, spec

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("soak", max_examples=6_000, deadline=None, suppress_health_check=_SLOW_OK)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# The narrower properties (one field, one kind of input) get a third of the examples.
NARROW = settings(PROFILE, max_examples=max(PROFILE.max_examples // 3, 10))

K8S_VERSIONS = ("1.34", "1.30")

# kubernetes_validate lists its schema versions and reads and parses its JSON schemas from disk
# on every call (~25 ms a Deployment); they never change, so keep them. Validation is unchanged.
for _name, _size in (("schema_contents", 128), ("all_versions", 1)):
    if not hasattr(getattr(kubernetes_validate.utils, _name), "cache_info"):
        setattr(kubernetes_validate.utils, _name, functools.lru_cache(_size)(getattr(kubernetes_validate.utils, _name)))


# --------------------------------------------------------------------------------------------
# Driving the function
# --------------------------------------------------------------------------------------------


def request(
    xr: dict, fn_input: dict | None = None, observed: dict | None = None, pods: list | None = None
) -> fnv1.RunFunctionRequest:
    req = fnv1.RunFunctionRequest()
    req.meta.tag = "generated"
    req.observed.composite.resource.update(xr)
    if fn_input is not None:
        req.input.update(fn_input)
    for key, obj in (observed or {}).items():
        req.observed.resources[key].resource.update(obj)
    if pods is not None:  # the ModelAPI's pods, as Crossplane fetches them on the function's request
        items = req.required_resources[fn.PODS].items
        for pod in pods:
            items.add().resource.update(pod)
    return req


@dataclass
class Outcome:
    fatals: list[str]
    warnings: list[str]
    normals: list[str]
    resources: dict[str, dict]
    ready: dict[str, int]
    status: dict
    ttl: float


def outcome(rsp: fnv1.RunFunctionResponse) -> Outcome:
    by: dict = {fnv1.SEVERITY_FATAL: [], fnv1.SEVERITY_WARNING: [], fnv1.SEVERITY_NORMAL: []}
    for r in rsp.results:
        by[r.severity].append(r.message)
    composite = resource.struct_to_dict(rsp.desired.composite.resource)
    return Outcome(
        fatals=by[fnv1.SEVERITY_FATAL],
        warnings=by[fnv1.SEVERITY_WARNING],
        normals=by[fnv1.SEVERITY_NORMAL],
        resources={k: resource.struct_to_dict(v.resource) for k, v in rsp.desired.resources.items()},
        ready={k: v.ready for k, v in rsp.desired.resources.items()},
        status=composite.get("status", {}),
        ttl=rsp.meta.ttl.ToTimedelta().total_seconds(),
    )


def run(xr: dict, fn_input: dict | None = None, observed: dict | None = None, pods: list | None = None) -> Outcome:
    """`fn.run` on a request built from plain dicts; any exception fails the test."""
    return outcome(fn.run(request(xr, fn_input, observed, pods)))


FIELD_PATH = re.compile(r"^(spec|metadata|apiVersion|kind)([.\[:])")


def assert_rejected(out: Outcome, prefix: str | None = None) -> None:
    """Exactly one fatal result naming the field, nothing composed."""
    assert len(out.fatals) == 1, out.fatals
    assert not out.warnings
    assert not out.normals
    assert out.resources == {}
    assert out.status == {}
    message = out.fatals[0]
    if prefix is None:
        assert FIELD_PATH.match(message), message
    else:
        assert message.startswith(prefix), f"expected {prefix!r}: {message!r}"
    assert "internal error" not in message


def assert_schema_valid(objects: dict[str, dict]) -> None:
    for key, obj in objects.items():
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                pytest.fail(f"{key} ({obj['kind']}) is invalid for Kubernetes {version}: {path}: {e.message}")


# --------------------------------------------------------------------------------------------
# What the API server checks beyond the OpenAPI schema (k8s.io/kubernetes/pkg/apis/core/validation)
# --------------------------------------------------------------------------------------------

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<num>\d+(\.\d*)?|\.\d+)(?:(?P<bin>[KMGTPE]i)|(?P<dec>[numkMGTPE])|[eE](?P<exp>[+-]?\d+))?"
)
DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BIN_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
# validEnvDownwardAPIFieldPathExpressions, plus subscripted labels and annotations.
ENV_FIELD_PATHS = {
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
}
SUBSCRIPTED_FIELD_PATH = re.compile(r"^metadata\.(labels|annotations)\['(?P<key>[^']+)'\]$")


def secret_key(s: str) -> bool:
    """IsConfigMapKey: these characters, and not `.`, `..` or `..`-led (a path up)."""
    return bool(SECRET_KEY.match(s)) and s != "." and not s.startswith("..")


def dns_subdomain(s: object) -> bool:
    return isinstance(s, str) and len(s) <= 253 and bool(DNS1123_SUBDOMAIN.match(s))


def dns_label(s: object) -> bool:
    return isinstance(s, str) and len(s) <= 63 and bool(DNS1123_LABEL.match(s))


def qualified_name(s: object) -> bool:
    if not isinstance(s, str):
        return False
    prefix, _, name = s.rpartition("/")
    if "/" in s and not dns_subdomain(prefix):
        return False
    return len(name) <= 63 and bool(QUALIFIED_NAME_PART.match(name))


def label_value(s: object) -> bool:
    return isinstance(s, str) and len(s) <= 63 and bool(LABEL_VALUE.match(s))


def parse_quantity(q: object) -> decimal.Decimal | None:
    """The value of a Kubernetes quantity, or None when the API server cannot parse it."""
    if isinstance(q, bool) or not isinstance(q, str | int | float):
        return None
    m = QUANTITY.fullmatch(q if isinstance(q, str) else repr(q))
    if not m:
        return None
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        value = decimal.Decimal(m["num"])
        if m["bin"]:
            value *= 2 ** BIN_SUFFIX[m["bin"]]
        elif m["dec"]:
            value = value.scaleb(DEC_SUFFIX[m["dec"]])
        elif m["exp"]:
            if abs(int(m["exp"])) > 100:
                return None
            value = value.scaleb(int(m["exp"]))
        return -value if m["sign"] == "-" else value


def resources_problems(res: dict, where: str) -> list[str]:
    """ValidateResourceRequirements for a container (hugepages aside: never generated)."""
    problems = []
    parsed: dict[str, dict[str, decimal.Decimal]] = {"limits": {}, "requests": {}}
    for kind in ("limits", "requests"):
        for rname, q in (res.get(kind) or {}).items():
            at = f"{where}.{kind}[{rname}]"
            extended = "/" in rname and not rname.split("/")[0].endswith("kubernetes.io")
            if "/" not in rname and rname not in STANDARD_CONTAINER_RESOURCES:
                problems.append(f"{at}: must be a standard resource for containers")
            if "/" in rname and (not qualified_name(rname) or rname.startswith("requests.")):
                problems.append(f"{at}: not a valid extended resource name")
            if "/" in rname and not extended:
                problems.append(f"{at}: a kubernetes.io resource must be a standard one")
            value = parse_quantity(q)
            if value is None:
                problems.append(f"{at}: quantities must match the regular expression: {q!r}")
                continue
            if value < 0:
                problems.append(f"{at}: must be greater than or equal to 0")
            if extended and value != value.to_integral_value():
                problems.append(f"{at}: must be an integer")
            parsed[kind][rname] = value
    for rname, req in parsed["requests"].items():
        lim = parsed["limits"].get(rname)
        extended = "/" in rname
        if lim is not None and req > lim:
            problems.append(f"{where}.requests[{rname}]: must be less than or equal to {rname} limit")
        if extended and lim is None:
            problems.append(f"{where}.requests[{rname}]: Limit must be set for non overcommitable resources")
        if extended and lim is not None and req != lim:
            problems.append(f"{where}.requests[{rname}]: must be equal to {rname} limit")
    return problems


def env_problems(env: list[dict], where: str) -> list[str]:
    problems = []
    seen = set()
    for i, e in enumerate(env):
        at = f"{where}.env[{i}]"
        if not ENV_NAME.match(e.get("name", "")):
            problems.append(f"{at}.name: invalid")
        if e.get("name") in seen:
            problems.append(f"{at}.name: duplicate (server-side apply refuses duplicate keys)")
        seen.add(e.get("name"))
        source = e.get("valueFrom")
        if source is None:
            continue
        if "value" in e:
            problems.append(f"{at}: may not have both value and valueFrom")
        if len(source) != 1:
            problems.append(f"{at}.valueFrom: may not have more than one field specified")
        for ref in ("secretKeyRef", "configMapKeyRef"):
            if ref in source and not (dns_subdomain(source[ref]["name"]) and secret_key(source[ref]["key"])):
                problems.append(f"{at}.valueFrom.{ref}: invalid name or key")
        if "fieldRef" in source:
            ref = source["fieldRef"]
            path = ref.get("fieldPath", "")
            sub = SUBSCRIPTED_FIELD_PATH.match(path)
            if path not in ENV_FIELD_PATHS and not (sub and qualified_name(sub["key"])):
                problems.append(f"{at}.valueFrom.fieldRef.fieldPath: {path!r} is not supported")
            if ref.get("apiVersion", "v1") != "v1":
                problems.append(f"{at}.valueFrom.fieldRef.apiVersion: unsupported pod version")
    return problems


def pod_problems(pod: dict) -> list[str]:
    problems = []
    volumes = [v["name"] for v in pod.get("volumes", [])]
    if len(set(volumes)) != len(volumes) or not all(dns_label(v) for v in volumes):
        problems.append("volumes: names must be unique DNS labels")
    containers = pod.get("initContainers", []) + pod["containers"]
    cnames = [c["name"] for c in containers]
    if len(set(cnames)) != len(cnames) or not all(dns_label(n) for n in cnames):
        problems.append("containers: names must be unique DNS labels")
    for s in pod.get("imagePullSecrets", []):
        if not dns_subdomain(s["name"]):
            problems.append(f"imagePullSecrets: {s['name']!r}")
    for c in containers:
        at = f"containers[{c['name']}]"
        image = c.get("image", "")
        if not image or image != image.strip():
            problems.append(f"{at}.image: required, without surrounding whitespace")
        ports = {}
        for p in c.get("ports", []):
            if not (1 <= p["containerPort"] <= 65535):
                problems.append(f"{at}.ports: containerPort out of range")
            if "name" in p:
                n = p["name"]
                if len(n) > 15 or not IANA_SVC_NAME.match(n) or "--" in n or not re.search("[a-z]", n):
                    problems.append(f"{at}.ports: {n!r} is not an IANA service name")
                ports[n] = p["containerPort"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if isinstance(port, str) and port not in ports:
                problems.append(f"{at}.{probe}: no container port named {port!r}")
        problems += env_problems(c.get("env", []), at)
        mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
        if len(set(mounts)) != len(mounts):
            problems.append(f"{at}.volumeMounts: mountPath must be unique")
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                problems.append(f"{at}.volumeMounts: no volume named {m['name']!r}")
        problems += resources_problems(c.get("resources", {}), f"{at}.resources")
    return problems


def apiserver_problems(obj: dict) -> list[str]:
    """What the API server would refuse in a composed object that the OpenAPI schema lets through."""
    problems = []
    meta = obj["metadata"]
    kind = obj["kind"]
    name = meta.get("name")
    good_name = (
        isinstance(name, str) and len(name) <= 63 and bool(DNS1035_LABEL.match(name))
        if kind == "Service"
        else dns_subdomain(name)
    )
    if not good_name:
        problems.append(f"metadata.name: {name!r} is not a valid {kind} name")
    if not dns_label(meta.get("namespace")):
        problems.append(f"metadata.namespace: {meta.get('namespace')!r}")
    for where in ("labels", "annotations"):
        for k, v in (meta.get(where) or {}).items():
            if not qualified_name(k) or (where == "labels" and not label_value(v)):
                problems.append(f"metadata.{where}: {k!r}: {v!r}")
    if kind == "Secret":
        size = 0
        for k, v in obj.get("data", {}).items():
            if not SECRET_KEY.match(k):
                problems.append(f"data: invalid key {k!r}")
            size += len(base64.b64decode(v, validate=True))
        if size > 1024 * 1024:
            problems.append("data: a Secret holds at most 1 MiB")
    if kind == "Deployment":
        selector = obj["spec"]["selector"]["matchLabels"]
        template = obj["spec"]["template"]
        labels = template["metadata"].get("labels", {})
        if any(labels.get(k) != v for k, v in selector.items()):
            problems.append("spec.selector: does not match template labels")
        for k, v in {**labels, **selector}.items():
            if not qualified_name(k) or not label_value(v):
                problems.append(f"labels: {k!r}: {v!r}")
        for k in template["metadata"].get("annotations", {}):
            if not qualified_name(k):
                problems.append(f"spec.template.metadata.annotations: {k!r}")
        problems += pod_problems(template["spec"])
    if kind == "NetworkPolicy":
        selectors = [obj["spec"]["podSelector"]]
        selectors += [s[k] for rule in obj["spec"].get("ingress", []) for s in rule.get("from", []) for k in s]
        for sel in selectors:
            for k, v in sel.get("matchLabels", {}).items():
                if not qualified_name(k) or not label_value(v):
                    problems.append(f"spec: selector {k!r}: {v!r}")
            for expr in sel.get("matchExpressions", []):
                if not qualified_name(expr["key"]) or not all(label_value(v) for v in expr.get("values", [])):
                    problems.append(f"spec: selector {expr['key']!r}: {expr.get('values')!r}")
    if kind == "Service":
        for p in obj["spec"]["ports"]:
            if len(p["name"]) > 15 or not IANA_SVC_NAME.match(p["name"]):
                problems.append(f"spec.ports: {p['name']!r}")
        for k, v in obj["spec"]["selector"].items():
            if not qualified_name(k) or not label_value(v):
                problems.append(f"spec.selector: {k!r}: {v!r}")
    return problems


# --------------------------------------------------------------------------------------------
# Strategies: valid pieces
# --------------------------------------------------------------------------------------------

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
    return cfg, rendered


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
    return Case(xr, fn_input, mode, name, namespace, scope, server_resources, proxy_resources, ignored)


# --------------------------------------------------------------------------------------------
# Valid XRs compose valid objects
# --------------------------------------------------------------------------------------------


def containers(deployment: dict) -> dict[str, dict]:
    pod = deployment["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod.get("initContainers", []) + pod["containers"]}


def check_composed(case: Case, out: Outcome, validate: bool = True) -> None:
    assert not out.fatals, out.fatals
    # What the function ignores is said in the status message (and in the event, when it changes).
    for note_ in case.ignored:
        assert note_ in out.status["message"]
    hosted = case.mode == "Hosted"
    expected = {names.DEPLOYMENT, names.SERVICE, names.CLIENT_SECRET}
    if not hosted:
        expected.add(names.LITELLM_CONFIG)
    if (case.fn_input or {}).get("networkPolicy") is not None:
        expected.add(names.NETWORK_POLICY)
    assert set(out.resources) == expected

    if validate:
        assert_schema_valid(out.resources)
        for key, obj in out.resources.items():
            assert apiserver_problems(obj) == [], f"{key}: the API server would refuse {obj['kind']}"

    # Everything lands in the target namespace, named after the target.
    base = out.resources[names.SERVICE]["metadata"]["name"]
    assert base == names.base_name(case.name)
    if DNS1035_LABEL.match(case.name) and len(case.name) <= 63:
        assert base == case.name
    for obj in out.resources.values():
        assert obj["metadata"]["namespace"] == case.namespace
        assert obj["metadata"]["name"].startswith(base)

    deployment = out.resources[names.DEPLOYMENT]
    service = out.resources[names.SERVICE]
    pod = deployment["spec"]["template"]["spec"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    port = names.OLLAMA_PORT if hosted else names.PROXY_PORT
    served = [c for c in pod["containers"] if any(p["name"] == names.PORT_NAME for p in c.get("ports", []))]
    assert [p["containerPort"] for p in served[0]["ports"]] == [port]
    assert service["spec"]["ports"][0]["port"] == port

    cs = containers(deployment)
    user_env = [{k: v for k, v in e.items() if v is not None} for e in case.config.get("env", [])]
    image = (case.fn_input or {}).get("images", {})
    if hosted:
        model = case.spec["serverConfig"]["model"]
        assert set(cs) == {"pull-model", "ollama"}
        assert cs["ollama"]["image"] == image.get("ollama", names.DEFAULT_OLLAMA_IMAGE)
        assert cs["ollama"]["env"][2:] == user_env
        pull_env = {e["name"]: e for e in cs["pull-model"]["env"]}
        assert pull_env["MODEL"] == {"name": "MODEL", "value": model}
        # The model reaches the shell only through $MODEL: commands and args do not depend on it.
        other = copy.deepcopy(case.xr)
        other["spec"]["serverConfig"]["model"] = "smollm2:135m" if model != "smollm2:135m" else "mistral"
        reference = containers(run(other, case.fn_input).resources[names.DEPLOYMENT])
        for name, c in cs.items():
            assert (c.get("command"), c.get("args")) == (reference[name].get("command"), reference[name].get("args"))
        if case.server_resources is not None:
            assert cs["ollama"].get("resources", {}) == case.server_resources
            assert cs["pull-model"].get("resources", {}) == case.server_resources
    else:
        litellm = cs["litellm"]
        assert litellm["image"] == image.get("litellm", names.DEFAULT_LITELLM_IMAGE)
        if user_env:
            assert litellm["env"][-len(user_env) :] == user_env
        if case.proxy_resources is not None:
            assert litellm.get("resources", {}) == case.proxy_resources
        secret = out.resources[names.CLIENT_SECRET]["data"]
        own_key = any(e["name"] == names.MASTER_KEY_ENV for e in user_env)
        assert (names.CLIENT_API_KEY_KEY in secret) is not own_key
        if not own_key:
            key = base64.b64decode(secret[names.CLIENT_API_KEY_KEY]).decode()
            assert key.startswith("sk-")
            env = {e["name"]: e for e in litellm["env"]}
            ref = env[names.MASTER_KEY_ENV]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": names.client_secret_name(base), "key": names.CLIENT_API_KEY_KEY}
        config = base64.b64decode(out.resources[names.LITELLM_CONFIG]["data"][names.LITELLM_CONFIG_FILE]).decode()
        if "configYaml" in case.config:
            assert config == case.config["configYaml"]
        else:
            entry = yaml.safe_load(config)["model_list"][0]
            api_base = case.config.get("apiBase")
            # A bare OpenAI host gets its /v1.
            assert entry["litellm_params"].get("api_base") in {api_base, api_base and api_base.rstrip("/") + "/v1"}
            assert entry["model_name"] == entry["litellm_params"]["model"] == case.config.get("model", "*")

    endpoint = f"http://{base}.{case.namespace}.svc.cluster.local:{port}"
    client = out.resources[names.CLIENT_SECRET]["data"]
    assert base64.b64decode(client[names.CLIENT_BASE_URL_KEY]).decode() == endpoint + "/v1"
    assert out.status["endpoint"] == endpoint
    assert out.status["clientSecretName"] == names.client_secret_name(base)


@PROFILE
@given(valid_cases())
def test_a_valid_xr_composes_objects_kubernetes_accepts(case):
    note(json.dumps(case.xr)[:2000])
    out = run(case.xr, case.fn_input)
    check_composed(case, out)
    # Nothing observed yet: pending, nothing ready, come back soon.
    assert out.status["phase"] == "Pending"
    assert out.status["ready"] is False
    assert all(r == fnv1.READY_UNSPECIFIED for r in out.ready.values())
    assert out.ttl == 20

    # Next reconcile, everything exists and the Deployment is available: the same objects
    # (the master key kept), all ready.
    observed = copy.deepcopy(out.resources)
    observed[names.DEPLOYMENT]["status"] = {"availableReplicas": 1, "replicas": 1}
    again = run(case.xr, case.fn_input, observed)
    assert again.resources == out.resources  # so valid as well
    check_composed(case, again, validate=False)
    assert again.status["phase"] == "Ready"
    assert again.status["ready"] is True
    assert all(r == fnv1.READY_TRUE for r in again.ready.values())


# --------------------------------------------------------------------------------------------
# Invalid XRs: one fatal result naming the field, nothing composed
# --------------------------------------------------------------------------------------------

SHELL_HOSTILE = [
    "x; rm -rf /",
    "$(id)",
    "`id`",
    "-rf",
    "--insecure",
    "a\nb",
    "smollm2:135m\n",
    "\nsmollm2:135m",
    "a b",
    "a|b",
    "a&&b",
    "a>b",
    "'a'",
    '"a"',
    "a\\b",
    "${IFS}",
    "a$b",
    "a*",
    "a?",
    "~root",
    ".hidden",
    "",
    " ",
    "模型",
    "smollm2:135m\x00",
    "a\tb",
    "a;b",
    "a(b)",
    "a{b}",
    "a!b",
    "a#b",
    "a%b",
    "a,b",
    "a=b",
]
METACHARACTERS = [*";&|$`()<>\\\"' \t\n*?[]{}!#~,=%\x00", "$(", "${", "\r\n", "\u2028", "\u00a0", "é"]
HOSTILE_MODELS = st.one_of(
    st.sampled_from(SHELL_HOSTILE),
    st.builds(
        lambda m, c, i: m[:i] + c + m[i:],
        st.sampled_from(OLLAMA_MODELS[:-1] + LITELLM_MODELS),
        st.sampled_from(METACHARACTERS),
        st.integers(0, 40),
    ),
    MODELS.map(lambda m: "-" + m),
    repeated(st.sampled_from(["a", "ab:"]), 257, 100_000),
    st.text(min_size=1, max_size=20).filter(lambda s: not re.fullmatch(spec.MODEL_PATTERN, s)),
)
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(0, 9), max_size=3),
)
# For optional fields, where null means "not set".
NON_NULL_WRONG_TYPES = WRONG_TYPES.filter(lambda v: v is not None)
ALIAS_BOMB = (
    "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n"
    "model_list: [{model_name: m, litellm_params: {model: m}}]\n"
)


@st.composite
def alias_bombs(draw) -> str:
    depth, width = draw(st.integers(2, 30)), draw(st.integers(2, 10))  # an anchor alone is harmless
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth)]
    lines.append("model_list: [{model_name: m, litellm_params: {model: m}}]")
    return "\n".join(lines) + "\n"


BAD_CONFIG_YAMLS = st.one_of(
    st.sampled_from(
        [
            "model_list: [",
            "just text",
            "",
            "   ",
            "# only a comment",
            "null",
            "[]",
            "model_list: []",
            "model_list: {}",
            "model_list: [x]",
            "model_list: [{model_name: x}]",
            "model_list: [{model_name: '', litellm_params: {model: m}}]",
            "model_list: [{model_name: x, litellm_params: {model: ''}}]",
            "model_list: [{model_name: 1, litellm_params: {model: m}}]",
            "model_list: [{model_name: x, litellm_params: {model: [m]}}]",
            "model_list: [{model_name: x, litellm_params: m}]",
            "model_list: [{model_name: x, litellm_params: {model: m}}]\n---\nmodel_list: []\n",
            "!!python/object/apply:os.system ['id']",
            "model_list: !!python/name:os.system",
            "? [a]\n: b\n",
            "model_list:\n\t- x\n",
            "model_list: [{model_name: x, litellm_params: {model: m}}]\nz: \x07\n",
            "model_list: &m [{model_name: x, litellm_params: {model: m}}]\nagain: *m\n",
            "x: *undefined\n",
            ALIAS_BOMB,
            "[" * 5000 + "]" * 5000,
            "model_list: " + "{a: " * 2000 + "1" + "}" * 2000,
            "model_list: [{model_name: x, litellm_params: {model: m}}]\nbig: " + "9" * 5000 + "\n",
            "model_list: [" + "{}," * 100_000 + "]",
        ]
    ),
    alias_bombs(),
    # Just over the limit: a valid config padded with a comment.
    st.integers(1, 4).map(
        lambda n: (
            "model_list: [{model_name: x, litellm_params: {model: m}}]\n#"
            + "x" * (litellm_config.MAX_BYTES - 58 + n)
            + "\n"
        )
    ),
    st.integers(0, 3).map(lambda n: "model_list: [{model_name: x, litellm_params: {model: m}}]\n#" + "é" * 131_072),
)


def _config_key(mode: str) -> str:
    return "proxyConfig" if mode == "Proxy" else "serverConfig"


def _env(draw, case: Case) -> tuple[list, int, str]:
    """The case's env list (created if absent), an index in it, and that entry's path."""
    cfg = case.config
    env = cfg.setdefault("env", [])
    if not env:
        env.append({"name": "SOME_VAR", "value": "x"})
    i = draw(st.integers(0, len(env) - 1))
    return env, i, f"spec.{_config_key(case.mode)}.env[{i}]"


def m_metadata_missing(draw, case):
    if draw(st.booleans()):
        del case.xr["metadata"]
    else:
        case.xr["metadata"] = draw(st.one_of(st.text(max_size=10), st.lists(st.text(max_size=3)), st.floats(0, 9)))
    return "metadata:"


def m_spec_missing(draw, case):
    if draw(st.booleans()):
        del case.xr["spec"]
    else:
        case.xr["spec"] = draw(st.one_of(st.none(), st.text(max_size=10), st.lists(st.text(max_size=3))))
    # Without spec.claimRef, a claim's XR that has no claim labels has no namespace either.
    return "metadata.namespace:" if case.scope == "claim-ref-only" else "spec:"


def m_name(draw, case):
    assume(case.scope == "namespaced")
    meta = case.xr["metadata"]
    if draw(st.booleans()):
        del meta["name"]
    else:
        meta["name"] = draw(st.one_of(st.just(""), st.booleans(), st.integers(0, 9), st.lists(st.integers())))
    return "metadata.name:"


def m_no_namespace(draw, case):
    # Cluster-scoped: a ModelAPI (always namespaced) without one is rendered into "default".
    case.xr["kind"] = "XModelAPI"
    meta = case.xr["metadata"]
    meta.pop("namespace", None)
    meta.get("labels", {}).pop("crossplane.io/claim-namespace", None)
    case.spec.pop("claimRef", None)
    if draw(st.booleans()):
        meta["namespace"] = ""
    return "metadata.namespace:"


def m_mode(draw, case):
    if draw(st.booleans()):
        del case.spec["mode"]
    else:
        case.spec["mode"] = draw(
            st.one_of(st.sampled_from(["proxy", "hosted", "PROXY", "Proxy ", "", "Serverless"]), WRONG_TYPES)
        )
    return "spec.mode:"


def m_config_missing(draw, case):
    key = _config_key(case.mode)
    if case.mode == "Proxy" and draw(st.booleans()):
        case.spec[key] = draw(st.sampled_from([{}, {"env": []}]))
    else:
        case.spec.pop(key, None)
    return "spec:"


def m_config_type(draw, case):
    key = _config_key(case.mode)
    case.spec[key] = draw(NON_NULL_WRONG_TYPES.filter(lambda v: not isinstance(v, dict)))
    return f"spec.{key}:"


def m_model(draw, case):
    key = _config_key(case.mode)
    case.spec.setdefault(key, {})["model"] = draw(st.one_of(HOSTILE_MODELS, NON_NULL_WRONG_TYPES))
    return f"spec.{key}.model:"


def m_model_missing(draw, case):
    assume(case.mode == "Hosted")
    del case.spec["serverConfig"]["model"]
    return "spec.serverConfig.model:"


def m_api_base(draw, case):
    assume(case.mode == "Proxy")
    case.spec["proxyConfig"]["apiBase"] = draw(
        st.one_of(
            st.sampled_from(
                [
                    "",
                    "ftp://x",
                    "http://",
                    "http://a b",
                    "http://x/\n",
                    "http://x/$(id) y",
                    "javascript:alert(1)",
                    "file:///etc/passwd",
                    "http://x/<script>",
                    '"http://x"',
                    "http:/x",
                    "x",
                    "http://x:1/" + "p" * 2048,
                    "http://\u00a0x",
                ]
            ),
            NON_NULL_WRONG_TYPES,
            st.text(max_size=20).filter(lambda s: not re.fullmatch(spec.API_BASE_PATTERN, s)),
        )
    )
    return "spec.proxyConfig.apiBase:"


def m_config_yaml(draw, case):
    assume(case.mode == "Proxy")
    case.spec["proxyConfig"]["configYaml"] = draw(st.one_of(BAD_CONFIG_YAMLS, NON_NULL_WRONG_TYPES))
    return "spec.proxyConfig.configYaml:"


def m_env_type(draw, case):
    case.config["env"] = draw(
        st.one_of(st.none(), st.text(max_size=5), st.dictionaries(st.text(max_size=3), st.text(max_size=3)))
    )
    return f"spec.{_config_key(case.mode)}.env:"


def m_env_item_type(draw, case):
    env, i, at = _env(draw, case)
    env[i] = draw(st.one_of(st.none(), st.text(max_size=5), st.integers(), st.lists(st.text(max_size=3))))
    return at + ":"


def m_env_name(draw, case):
    env, i, at = _env(draw, case)
    bad = st.one_of(
        st.sampled_from(["", "A B", "1ABC", "A=B", "A\nB", "$(id)", "ÄÖÜ", "A;B", "a/b", "A" * 257]),
        WRONG_TYPES,
        st.text(max_size=10).filter(lambda s: not re.fullmatch(spec.ENV_NAME_PATTERN, s)),
    )
    if draw(chance(SOMETIMES)):
        env[i].pop("name", None)
    else:
        env[i]["name"] = draw(bad)
    return at + ".name:"


def m_env_duplicate(draw, case):
    env, i, _ = _env(draw, case)
    copy_ = copy.deepcopy(env[i])
    copy_.pop("value", None)
    env.insert(draw(st.integers(0, len(env))), copy_)
    return f"spec.{_config_key(case.mode)}.env:"


def m_env_too_many(draw, case):
    n = draw(st.integers(spec.MAX_ENV + 1, spec.MAX_ENV + 50))
    case.config["env"] = [{"name": f"V{i}", "value": ""} for i in range(n)]
    return f"spec.{_config_key(case.mode)}.env:"


def m_env_value(draw, case):
    env, i, at = _env(draw, case)
    env[i].pop("valueFrom", None)
    choice = draw(st.sampled_from(["long", "nul", "type"]))
    if choice == "long":
        env[i]["value"] = draw(repeated(st.sampled_from(["x", "é", "🦙"]), spec.MAX_ENV_VALUE + 1, 200_000))
        return at + ".value:"
    if choice == "nul":
        env[i]["value"] = draw(st.text(max_size=5)) + "\x00" + draw(st.text(max_size=5))
        return at + ":"
    env[i]["value"] = draw(NON_NULL_WRONG_TYPES)
    return at + ".value:"


def m_env_both(draw, case):
    env, i, at = _env(draw, case)
    env[i]["value"] = "x"
    env[i]["valueFrom"] = draw(ENV_SOURCES)
    return at + ":"


def m_env_source(draw, case):
    env, i, at = _env(draw, case)
    env[i].pop("value", None)
    env[i]["valueFrom"] = draw(
        st.one_of(
            st.just({}),
            st.builds(lambda a, b: {**a, **b}, ENV_SOURCES, ENV_SOURCES).filter(lambda s: len(s) > 1),
        )
    )
    return at + ".valueFrom:"


def m_env_key_ref(draw, case):
    env, i, at = _env(draw, case)
    env[i].pop("value", None)
    ref = draw(st.sampled_from(["secretKeyRef", "configMapKeyRef"]))
    part = draw(st.sampled_from(["name", "key"]))
    good = {"name": "s", "key": "k"}
    bad = (
        st.sampled_from(["", "Bad_Name", "a b", "../etc", "a/b", "x" * 254])
        if part == "name"
        else st.sampled_from(["", "a b", "a/b", "x" * 254, "$(id)"])
    )
    good[part] = draw(st.one_of(bad, WRONG_TYPES))
    env[i]["valueFrom"] = {ref: good}
    return f"{at}.valueFrom.{ref}.{part}:"


def m_master_key_literal(draw, case):
    env, i, at = _env(draw, case)
    assume(all(e.get("name") != names.MASTER_KEY_ENV for j, e in enumerate(env) if j != i))
    env[i] = {"name": names.MASTER_KEY_ENV, "value": draw(st.sampled_from(["sk-1234", "", "sk-" + "a" * 40]))}
    return at + ":"


def m_ollama_reserved(draw, case):
    assume(case.mode == "Hosted")
    env, i, _ = _env(draw, case)
    reserved = draw(st.sampled_from(names.OLLAMA_RESERVED_ENV))
    assume(all(e.get("name") != reserved for e in env))
    env[i] = {"name": reserved, "value": "/tmp"}
    return "spec.serverConfig.env:"


def m_extra_field(draw, case):
    key = _config_key(case.mode)
    extra = draw(st.sampled_from(["typo", "apibase", "Model", "envs", "image", "command", "replicas"]))
    where = draw(st.sampled_from(["config", "env", "valueFrom"]))
    if where == "config":
        assume(extra not in case.config)
        case.config[extra] = draw(st.one_of(st.text(max_size=5), st.integers()))
        return f"spec.{key}.{extra}:"
    env, i, at = _env(draw, case)
    if where == "env":
        env[i][extra] = "x"
        return f"{at}.{extra}:"
    env[i].pop("value", None)
    env[i]["valueFrom"] = {"secretKeyRef": {"name": "s", "key": "k"}, extra: "x"}
    return f"{at}.valueFrom.{extra}:"


def m_resources(draw, case):
    assume(case.mode == "Hosted")
    kind = draw(st.sampled_from(["limits", "requests"]))
    res = draw(st.sampled_from(["cpu", "memory", "nvidia.com/gpu"]))
    choice = draw(st.sampled_from(["quantity", "name", "type", "extra"]))
    at = "spec.serverConfig.resources"
    if choice == "quantity":
        q = draw(
            st.one_of(
                st.sampled_from(["lots", "", "1 Gi", "1gi", "1GB", "-1", "1e", "Gi", "1.2.3", "0x10", "∞", "1Gi\n"]),
                st.booleans(),
                st.lists(st.integers(), max_size=2),
            )
        )
        case.config["resources"] = {kind: {res: q}}
        return f"{at}.{kind}['{res}']:"
    if choice == "name":
        name = draw(st.sampled_from(["bad name!", "", "-cpu", "a/b/c", "UPPER.example.com/gpu", "x" * 400]))
        case.config["resources"] = {kind: {name: "1"}}
        return f"{at}.{kind}"
    if choice == "type":
        case.config["resources"] = {kind: draw(st.one_of(st.text(max_size=3), st.lists(st.integers(), max_size=2)))}
        return f"{at}.{kind}:"
    case.config["resources"] = {kind: {res: "1"}, "claims": [{"name": "x"}]}
    return f"{at}.claims:"


MUTATIONS = [
    m_metadata_missing,
    m_spec_missing,
    m_name,
    m_no_namespace,
    m_mode,
    m_config_missing,
    m_config_type,
    m_model,
    m_model_missing,
    m_api_base,
    m_config_yaml,
    m_env_type,
    m_env_item_type,
    m_env_name,
    m_env_duplicate,
    m_env_too_many,
    m_env_value,
    m_env_both,
    m_env_source,
    m_env_key_ref,
    m_master_key_literal,
    m_ollama_reserved,
    m_extra_field,
    m_resources,
]


@st.composite
def invalid_cases(draw) -> tuple[Case, str, str]:
    case = copy.deepcopy(draw(valid_cases()))
    mutation = draw(st.sampled_from(MUTATIONS))
    prefix = mutation(draw, case)
    return case, prefix, mutation.__name__


@PROFILE
@given(invalid_cases())
def test_an_invalid_xr_gets_one_fatal_result_naming_the_field(example):
    case, prefix, mutation = example
    note(f"{mutation}: {json.dumps(case.xr, default=str)[:2000]}")
    assert_rejected(run(case.xr, case.fn_input), prefix)


BAD_INPUTS = st.one_of(
    st.builds(
        lambda v: ({"imagePullPolicy": v}, "input.imagePullPolicy"),
        st.one_of(st.text(max_size=8).filter(lambda v: v not in {"Always", "IfNotPresent", "Never"}), WRONG_TYPES),
    ),
    st.builds(
        lambda v: ({"images": {"ollama": v}}, "input.images.ollama"),
        st.one_of(st.sampled_from(["", "a b", "x\n", "x" * 513]), WRONG_TYPES),
    ),
    st.builds(lambda v: ({"images": v}, "input.images"), st.one_of(st.text(max_size=3), st.integers())),
    st.builds(lambda v: ({"imagePullSecrets": [v]}, "input.imagePullSecrets[0]"), st.sampled_from(["", "A", "a b"])),
    st.builds(lambda k: ({k: 1}, f"input.{k}"), st.sampled_from(["typo", "replicas", "image"])),
    st.builds(
        lambda q: ({"proxyResources": {"limits": {"cpu": q}}}, "input.proxyResources.limits['cpu']"),
        st.sampled_from(["lots", "", "1 Gi"]),
    ),
)


@NARROW
@given(valid_cases(), BAD_INPUTS)
def test_a_bad_function_input_gets_one_fatal_result_naming_the_input_field(case, bad):
    fn_input, path = bad
    out = run(case.xr, fn_input)
    assert len(out.fatals) == 1
    assert out.fatals[0].startswith(f"function input {path}:"), out.fatals[0]
    assert out.resources == {}


# --------------------------------------------------------------------------------------------
# Anything at all: random values anywhere in a valid XR, random configYaml text
# --------------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(-(2**53), 2**53),
        st.text(max_size=20),
        st.sampled_from([*SHELL_HOSTILE, "Proxy", "Hosted", "smollm2:135m", "http://x", "1Gi", "-1", "team-a"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def fuzzed_xrs(draw) -> dict:
    case = draw(valid_cases())
    xr = copy.deepcopy(case.xr)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(xr)))
        value = draw(JSON_VALUES)
        if not path:
            xr = value if isinstance(value, dict) else {"spec": value}
            continue
        *parents, last = path
        node = xr
        for p in parents:
            node = node[p]
        if isinstance(node, dict) and draw(chance(SOMETIMES)):
            node[draw(st.text(max_size=12))] = value  # a new key beside it
        elif isinstance(node, dict) and draw(chance(SOMETIMES)):
            del node[last]
        else:
            node[last] = value
    return xr


@PROFILE
@given(fuzzed_xrs())
def test_any_xr_is_composed_validly_or_rejected_naming_a_field(xr):
    note(json.dumps(xr, default=str)[:2000])
    out = run(xr)
    if out.fatals:
        assert_rejected(out)
    else:
        assert out.resources
        assert_schema_valid(out.resources)


YAML_TOKENS = st.sampled_from(
    [
        "model_list",
        "model_name",
        "litellm_params",
        "model",
        "api_base",
        ":",
        ": ",
        "- ",
        "\n",
        "\n  ",
        "\n    ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "!!str ",
        "!!binary ",
        "!custom ",
        "'",
        '"',
        "#",
        "? ",
        "|\n",
        ">\n",
        "---\n",
        "...\n",
        "x",
        "ollama/smollm2:135m",
        "*",
        "~",
        "null",
        "1",
        "\t",
        "%YAML 1.1\n",
        "<<: ",
        "\\",
        "é",
        "\x85",
        "\ufeff",
    ]
)
CONFIG_TEXTS = st.one_of(
    st.lists(YAML_TOKENS, max_size=40).map("".join),
    st.text(max_size=200),
    st.builds(
        lambda head, junk, i: head[:i] + junk + head[i:],
        config_yamls(enormous=False),
        st.text(max_size=5),
        st.integers(0, 200),
    ),
    BAD_CONFIG_YAMLS,
)


@NARROW
@given(CONFIG_TEXTS)
def test_any_config_yaml_is_used_verbatim_or_rejected_at_its_path(text):
    xr = {
        "apiVersion": names.API_VERSION,
        "kind": "ModelAPI",
        "metadata": {"name": "m", "namespace": "team-a"},
        "spec": {"mode": "Proxy", "proxyConfig": {"configYaml": text}},
    }
    out = run(xr)
    if out.fatals:
        assert_rejected(out, "spec.proxyConfig.configYaml:")
        return
    # Accepted: what LiteLLM will read is a single YAML mapping with a usable model_list,
    # without aliases, passed through byte for byte.
    assert len(text.encode()) <= litellm_config.MAX_BYTES
    # LiteLLM reads it with yaml.safe_load; pure Python is slow on the big ones, libyaml then.
    loader = yaml.SafeLoader if len(text) < 16_384 else yaml.CSafeLoader
    assert not any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=loader))
    config = yaml.load(text, Loader=loader)
    assert isinstance(config["model_list"], list)
    assert config["model_list"]
    for m in config["model_list"]:
        assert isinstance(m["model_name"], str)
        assert m["model_name"]
        assert isinstance(m["litellm_params"]["model"], str)
        assert m["litellm_params"]["model"]
    secret = out.resources[names.LITELLM_CONFIG]
    assert base64.b64decode(secret["data"][names.LITELLM_CONFIG_FILE]).decode() == text
    assert_schema_valid(out.resources)


URL_TOKENS = st.sampled_from(
    [
        "http",
        "https",
        "://",
        ":",
        "/",
        "//",
        "[",
        "]",
        "::1",
        "@",
        "?",
        "#",
        "%",
        "%zz",
        "a",
        "api.openai.com",
        "80",
        "-",
        ".",
        "é",
        " ",
        "\\n",
        "$(id)",
        "`",
        "'",
        '"',
        "<",
        ">",
        "\\",
        "\\x00",
        "99999",
        "v1",
        "=",
        "&",
    ]
)
ANY_STRINGS = st.one_of(
    st.text(max_size=30),
    st.lists(URL_TOKENS, max_size=12).map("".join),
    st.lists(URL_TOKENS, max_size=12).map(lambda t: "http://" + "".join(t)),
    repeated(st.text(min_size=1, max_size=3), 200, 70_000),
)
_BASE_XR = {"metadata": {"name": "m", "namespace": "team-a"}}
# (spec, where the string goes, the path that names it)
STRING_FIELDS = [
    ({"mode": "Proxy", "proxyConfig": {}}, ("proxyConfig", "apiBase"), "spec.proxyConfig.apiBase"),
    ({"mode": "Proxy", "proxyConfig": {"apiBase": "http://x"}}, ("proxyConfig", "model"), "spec.proxyConfig.model"),
    ({"mode": "Proxy", "proxyConfig": {"model": "gpt-4o"}}, ("proxyConfig", "apiBase"), "spec.proxyConfig.apiBase"),
    ({"mode": "Hosted", "serverConfig": {}}, ("serverConfig", "model"), "spec.serverConfig.model"),
    ({"mode": "Proxy", "proxyConfig": {}}, ("proxyConfig", "configYaml"), "spec.proxyConfig.configYaml"),
    (
        {"mode": "Proxy", "proxyConfig": {"apiBase": "http://x", "env": [{"name": "A"}]}},
        ("proxyConfig", "env", 0, "value"),
        "spec.proxyConfig.env[0]",
    ),
    (
        {"mode": "Hosted", "serverConfig": {"model": "m", "env": [{"value": "v"}]}},
        ("serverConfig", "env", 0, "name"),
        "spec.serverConfig.env",
    ),
    (
        {"mode": "Hosted", "serverConfig": {"model": "m", "resources": {"limits": {}}}},
        ("serverConfig", "resources", "limits", "memory"),
        "spec.serverConfig.resources.limits['memory']",
    ),
]


@NARROW
@given(st.sampled_from(STRING_FIELDS), ANY_STRINGS)
def test_any_string_in_a_string_field_is_used_or_rejected_at_its_path(where, text):
    spec_, path, named = copy.deepcopy(where)
    node = spec_
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = text
    out = run({**_BASE_XR, "spec": spec_})
    if out.fatals:
        assert_rejected(out, named)
    else:
        assert_schema_valid(out.resources)


@pytest.mark.parametrize(
    "text",
    [
        # Found by the soak: libyaml (the function's parser) reads `{0?,model: 08}` as a mapping,
        # PyYAML's own parser, which LiteLLM's yaml.safe_load uses, refuses it.
        "model_list:\n- litellm_params: {0?,model: 08}\n  model_name: 08",
    ],
)
def test_a_config_litellm_cannot_parse_is_rejected(text):
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)  # as LiteLLM reads its config file
    xr = {"metadata": {"name": "m", "namespace": "n"}, "spec": {"mode": "Proxy", "proxyConfig": {"configYaml": text}}}
    assert_rejected(run(xr), "spec.proxyConfig.configYaml:")


def test_the_alias_bomb_is_refused_before_it_expands():
    bomb = "\n".join(
        ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
        + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 20)]
        + ["model_list: [{model_name: m, litellm_params: {model: m}}]"]
    )
    spec_ = {"mode": "Proxy", "proxyConfig": {"configYaml": bomb}}
    assert_rejected(run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}), "spec.proxyConfig.configYaml:")


# --------------------------------------------------------------------------------------------
# Bugs found by these tests (each fails until the function is fixed; see the report)
# --------------------------------------------------------------------------------------------

# What the API server refuses in a Deployment although the function (and the XRD) accept it.
APISERVER_REFUSES = [
    pytest.param({"limits": {"memory": "512K"}}, "limits['memory']", id="uppercase-K-is-not-a-quantity-suffix"),
    pytest.param({"requests": {"cpu": "1K"}}, "requests['cpu']", id="uppercase-K-in-requests"),
    pytest.param({"limits": {"cpu": -1}}, "limits['cpu']", id="negative-number"),
    pytest.param({"limits": {"memory": -(2**30)}}, "limits['memory']", id="negative-number-memory"),
    pytest.param({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}, "", id="requests-above-limits"),
    pytest.param({"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}, "", id="cpu-requests-above-limits"),
    pytest.param({"limits": {"gpu": "1"}}, "limits['gpu']", id="unqualified-non-standard-resource"),
    pytest.param({"limits": {"requests.cpu": "1"}}, "limits['requests.cpu']", id="requests-prefix"),
    pytest.param({"limits": {"nvidia.com/gpu": "0.5"}}, "limits['nvidia.com/gpu']", id="fractional-gpu"),
    pytest.param({"requests": {"nvidia.com/gpu": "1"}}, "", id="gpu-request-without-limit"),
    pytest.param({"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}}, "", id="gpu-request-not-limit"),
    pytest.param({"limits": {"example.com/" + "g" * 64: "1"}}, "limits", id="resource-name-part-over-63"),
    pytest.param({"limits": {"a" * 254 + "/gpu": "1"}}, "limits", id="resource-prefix-over-253"),
]


@pytest.mark.parametrize(("resources", "at"), APISERVER_REFUSES)
def test_resources_the_apiserver_refuses_are_rejected_naming_the_field(resources, at):
    spec_ = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m", "resources": resources}}
    xr = {"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}
    out = run(xr)
    if not out.fatals:
        problems = apiserver_problems(out.resources[names.DEPLOYMENT])
        assert problems, "the checker should have caught this"
        pytest.fail(f"accepted, but the API server would refuse the Deployment: {problems}")
    assert_rejected(out, "spec.serverConfig.resources")  # at `at`, or at resources naming `at`


@pytest.mark.parametrize(
    "field_ref",
    [
        pytest.param({"fieldPath": "spec.containers[0].image"}, id="unsupported-field-path"),
        pytest.param({"fieldPath": "metadata.labels"}, id="labels-without-a-key"),
        pytest.param({"fieldPath": "status.phase"}, id="status-phase"),
        pytest.param({"fieldPath": "metadata.name", "apiVersion": "v2"}, id="api-version-not-v1"),
        # The API server checks a subscript as a qualified name: its name part is at most 63.
        pytest.param({"fieldPath": "metadata.annotations['" + "a" * 64 + "']"}, id="annotation-key-over-63"),
        pytest.param({"fieldPath": "metadata.labels['example.com/" + "a" * 64 + "']"}, id="label-key-over-63"),
    ],
)
def test_an_env_field_ref_the_apiserver_refuses_is_rejected_naming_the_field(field_ref):
    env = [{"name": "POD", "valueFrom": {"fieldRef": field_ref}}]
    spec_ = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://x", "env": env}}
    out = run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_})
    if not out.fatals:
        problems = apiserver_problems(out.resources[names.DEPLOYMENT])
        assert problems, "the checker should have caught this"
        pytest.fail(f"accepted, but the API server would refuse the Deployment: {problems}")
    assert_rejected(out, "spec.proxyConfig.env[0].valueFrom.fieldRef")


@st.composite
def apiserver_refused_cases(draw) -> tuple[Case, str]:
    """A valid case with one thing in it that only the API server would refuse."""
    case = copy.deepcopy(draw(valid_cases()))
    if case.mode == "Hosted" and draw(st.booleans()):
        resources = draw(st.sampled_from([p.values[0] for p in APISERVER_REFUSES]))
        case.config["resources"] = copy.deepcopy(resources)
        return case, "spec.serverConfig.resources"
    env, i, at = _env(draw, case)
    env[i].pop("value", None)
    path = draw(st.sampled_from(["spec.containers[0].image", "metadata.labels", "status.phase", "spec.hostname"]))
    env[i]["valueFrom"] = {"fieldRef": {"fieldPath": path}}
    return case, f"{at}.valueFrom.fieldRef"


@NARROW
@given(apiserver_refused_cases())
def test_a_spec_the_apiserver_would_refuse_is_rejected_naming_the_field(example):
    case, prefix = example
    out = run(case.xr, case.fn_input)
    if not out.fatals:
        problems = [p for obj in out.resources.values() for p in apiserver_problems(obj)]
        pytest.fail(f"accepted, but the API server would refuse: {problems}")
    assert_rejected(out, prefix)


@pytest.mark.parametrize("namespace", ["n" * 64, "team.a", "Team-A"])
def test_a_network_policy_namespace_the_apiserver_refuses_is_rejected_naming_the_field(namespace):
    """Namespace names are DNS labels, and the policy selects them by label value (<= 63)."""
    fn_input = {"networkPolicy": {"allowNamespaces": [namespace]}}
    spec_ = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://x"}}
    out = run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}, fn_input)
    if not out.fatals:
        problems = [p for obj in out.resources.values() for p in apiserver_problems(obj)]
        pytest.fail(f"accepted {namespace!r}, which names no namespace; the API server would refuse: {problems}")
    assert out.fatals[0].startswith("function input input.networkPolicy.allowNamespaces[0]:"), out.fatals


@pytest.mark.parametrize(
    "api_base", ["http://[", "http://[::1", "http://a]b", "http://[zz]/v1", "http://h:99999", "http://h:port"]
)
def test_an_api_base_that_is_not_a_url_is_rejected_naming_the_field(api_base):
    """The pattern lets these through; urllib (and so LiteLLM's HTTP client) cannot parse them."""
    for spec_ in (
        {"mode": "Proxy", "proxyConfig": {"apiBase": api_base}},
        {"mode": "Proxy", "proxyConfig": {"apiBase": api_base, "model": "gpt-4o-mini"}},
    ):
        assert_rejected(run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_}), "spec.proxyConfig.apiBase:")


def test_a_namespace_of_the_wrong_type_is_named_as_the_namespace():
    for namespace in (5, ["team-a"], {"name": "team-a"}, True):
        out = run({"metadata": {"name": "m", "namespace": namespace}, "spec": {"mode": "Proxy"}})
        assert_rejected(out, "metadata.namespace:")


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_carry_is_rejected_naming_the_field(number):
    """Crossplane never sends these (they come from JSON), but a raw gRPC caller can."""
    spec_ = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m", "resources": {"limits": {"cpu": number}}}}
    out = run({"metadata": {"name": "m", "namespace": "n"}, "spec": spec_})
    assert_rejected(out, "spec.serverConfig.resources.limits")


OBSERVED_SHAPES = st.one_of(
    st.just({"status": None}),
    st.just({"status": []}),
    st.just({"status": "Available"}),
    st.just({"status": {"availableReplicas": "1"}}),
    st.just({"status": {"availableReplicas": None}}),
    st.just({"status": {"conditions": None}}),
    st.just({"status": {"conditions": {"type": "Progressing"}}}),
    st.just({"status": {"conditions": [None, "x", {"type": "Progressing", "status": "False"}]}}),
    st.builds(lambda s: {"status": s}, JSON_VALUES),
    st.builds(lambda s: {"status": {"conditions": s}}, JSON_VALUES),
    st.builds(lambda s: {"status": {"availableReplicas": s}}, JSON_VALUES),
)


@NARROW
@given(valid_cases(), OBSERVED_SHAPES, st.one_of(st.none(), JSON_VALUES))
def test_observed_objects_of_any_shape_never_cause_an_internal_error(case, deployment, secret_data):
    """Crossplane passes on what the API server returned; a surprise there must not fail
    the reconcile with an internal error (nor log the frame's locals, see test_security)."""
    observed = {names.DEPLOYMENT: {"apiVersion": "apps/v1", "kind": "Deployment", **deployment}}
    if secret_data is not None:
        observed[names.CLIENT_SECRET] = {"apiVersion": "v1", "kind": "Secret", "data": secret_data}
    out = run(case.xr, case.fn_input, observed)
    assert not out.fatals, out.fatals
    assert out.status["phase"] in {"Pending", "Ready", "Failed"}
