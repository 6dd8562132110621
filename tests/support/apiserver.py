"""What the API server checks beyond the OpenAPI schema (k8s.io/kubernetes/pkg/apis/core/validation),
as the property tests check composed objects against it."""

import base64
import decimal
import re

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
