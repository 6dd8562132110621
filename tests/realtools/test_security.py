"""Security of what the function renders and says.

Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/):
every pod passes "baseline" fully and "restricted" except runAsNonRoot / runAsUser (the LiteLLM
and Ollama images run as root). The checks are a small table below, tested against pods that
break each rule.

The master key: rendered into the client Secret and nowhere else, not in any other object,
result, status or log line of the function.
"""

import base64
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
import structlog
import yaml
from crossplane.function import logging as sdk_logging
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from function import fn, names
from function.compose import compose
from tests.support import EXAMPLE_NAMES, EXAMPLES, SHIPPED_EXAMPLES
from tests.support.builders import request
from tests.support.server import start_server

# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
APPARMOR_TYPES = {"RuntimeDefault", "Localhost"}


def containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod.get("containers", []) + pod.get("ephemeralContainers", [])


def security_contexts(pod: dict) -> Iterator[tuple[str, dict]]:
    """The pod's security context, then each container's."""
    yield "spec.securityContext", pod.get("securityContext") or {}
    for c in containers(pod):
        yield f"container {c['name']}", c.get("securityContext") or {}


def _host_process(pod: dict) -> list[str]:
    return [
        f"{where}: windowsOptions.hostProcess"
        for where, sc in security_contexts(pod)
        if (sc.get("windowsOptions") or {}).get("hostProcess")
    ]


def _host_namespaces(pod: dict) -> list[str]:
    return [f"spec.{f}" for f in ("hostNetwork", "hostPID", "hostIPC") if pod.get(f)]


def _privileged(pod: dict) -> list[str]:
    return [
        f"{w}: privileged" for w, sc in security_contexts(pod) if w != "spec.securityContext" and sc.get("privileged")
    ]


def _added_capabilities(pod: dict, allowed: set[str]) -> list[str]:
    out = []
    for where, sc in security_contexts(pod):
        for cap in (sc.get("capabilities") or {}).get("add", []):
            if cap not in allowed:
                out.append(f"{where}: capabilities.add {cap}")
    return out


def _host_path(pod: dict) -> list[str]:
    return [f"volume {v['name']}: hostPath" for v in pod.get("volumes", []) if "hostPath" in v]


def _host_ports(pod: dict) -> list[str]:
    return [
        f"container {c['name']}: hostPort {p['hostPort']}"
        for c in containers(pod)
        for p in c.get("ports", [])
        if p.get("hostPort")
    ]


def _apparmor(pod: dict, annotations: dict) -> list[str]:
    out = [
        f"{where}: appArmorProfile {sc['appArmorProfile'].get('type')}"
        for where, sc in security_contexts(pod)
        if "appArmorProfile" in sc and sc["appArmorProfile"].get("type") not in APPARMOR_TYPES
    ]
    for key, value in annotations.items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            out.append(f"annotation {key}: {value}")
    return out


def _selinux(pod: dict) -> list[str]:
    out = []
    for where, sc in security_contexts(pod):
        opts = sc.get("seLinuxOptions") or {}
        if opts.get("type", "") not in SELINUX_TYPES or opts.get("user") or opts.get("role"):
            out.append(f"{where}: seLinuxOptions {opts}")
    return out


def _proc_mount(pod: dict) -> list[str]:
    return [
        f"{w}: procMount {sc['procMount']}"
        for w, sc in security_contexts(pod)
        if sc.get("procMount", "Default") != "Default"
    ]


def _seccomp_not_unconfined(pod: dict) -> list[str]:
    return [
        f"{where}: seccompProfile Unconfined"
        for where, sc in security_contexts(pod)
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined"
    ]


def _sysctls(pod: dict) -> list[str]:
    sysctls = (pod.get("securityContext") or {}).get("sysctls", [])
    return [f"sysctl {s['name']}" for s in sysctls if s["name"] not in SAFE_SYSCTLS]


def _volume_types(pod: dict) -> list[str]:
    out = []
    for v in pod.get("volumes", []):
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            out.append(f"volume {v['name']}: {sorted(kinds - RESTRICTED_VOLUME_TYPES)}")
    return out


def _privilege_escalation(pod: dict) -> list[str]:
    return [
        f"container {c['name']}: allowPrivilegeEscalation is not false"
        for c in containers(pod)
        if (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False
    ]


def _seccomp_set(pod: dict) -> list[str]:
    pod_type = ((pod.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    out = []
    for c in containers(pod):
        own = ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        if (own or pod_type) not in {"RuntimeDefault", "Localhost"}:
            out.append(f"container {c['name']}: seccompProfile {own or pod_type}")
    return out


def _capabilities_restricted(pod: dict) -> list[str]:
    out = []
    for c in containers(pod):
        caps = (c.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in caps.get("drop", []):
            out.append(f"container {c['name']}: capabilities.drop lacks ALL")
    return out + _added_capabilities(pod, {"NET_BIND_SERVICE"})


def _service_account_token(pod: dict) -> list[str]:
    return [] if pod.get("automountServiceAccountToken") is False else ["automountServiceAccountToken is not false"]


@dataclass(frozen=True)
class Rule:
    name: str
    level: str  # baseline, restricted, or project (this project's own rule)
    check: Callable[[dict, dict], list[str]]  # (pod spec, pod annotations) -> violations


RULES = [
    Rule("HostProcess", "baseline", lambda p, a: _host_process(p)),
    Rule("Host Namespaces", "baseline", lambda p, a: _host_namespaces(p)),
    Rule("Privileged Containers", "baseline", lambda p, a: _privileged(p)),
    Rule("Capabilities (baseline)", "baseline", lambda p, a: _added_capabilities(p, BASELINE_CAPABILITIES)),
    Rule("HostPath Volumes", "baseline", lambda p, a: _host_path(p)),
    Rule("Host Ports", "baseline", lambda p, a: _host_ports(p)),
    Rule("AppArmor", "baseline", _apparmor),
    Rule("SELinux", "baseline", lambda p, a: _selinux(p)),
    Rule("/proc Mount Type", "baseline", lambda p, a: _proc_mount(p)),
    Rule("Seccomp (baseline)", "baseline", lambda p, a: _seccomp_not_unconfined(p)),
    Rule("Sysctls", "baseline", lambda p, a: _sysctls(p)),
    Rule("Volume Types", "restricted", lambda p, a: _volume_types(p)),
    Rule("Privilege Escalation", "restricted", lambda p, a: _privilege_escalation(p)),
    # Running as Non-root and Running as Non-root user: not checked, both images run as root.
    Rule("Seccomp (restricted)", "restricted", lambda p, a: _seccomp_set(p)),
    Rule("Capabilities (restricted)", "restricted", lambda p, a: _capabilities_restricted(p)),
    Rule("No service account token", "project", lambda p, a: _service_account_token(p)),
]


def violations(template: dict) -> dict[str, list[str]]:
    pod = template["spec"]
    annotations = template.get("metadata", {}).get("annotations", {})
    found = {rule.name: rule.check(pod, annotations) for rule in RULES}
    return {name: v for name, v in found.items() if v}


# --------------------------------------------------------------------------------------------
# Every rendered pod
# --------------------------------------------------------------------------------------------

ENV = [
    {"name": "PLAIN", "value": "v"},
    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
]
RESOURCES = {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "8Gi", "nvidia.com/gpu": "1"}}
INPUT = {
    "images": {"litellm": "ghcr.io/berriai/litellm:main-stable", "ollama": "ollama/ollama:0.5.7"},
    "imagePullPolicy": "Always",
    "imagePullSecrets": ["registry"],
    "proxyResources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
    "networkPolicy": {"allowNamespaces": ["agents"]},
}


def example(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name / "xr.yaml").read_text())


def variants(xr: dict) -> Iterator[tuple[str, dict, dict | None]]:
    """The example as it is, then in each mode with env, resources and the platform's input."""
    yield "as-is", xr, None
    for mode in ("Proxy", "Hosted"):
        v = copy.deepcopy(xr)
        spec = v["spec"]
        spec["mode"] = mode
        if mode == "Proxy":
            proxy = spec.setdefault("proxyConfig", {"apiBase": "http://ollama.ollama.svc:11434"})
            proxy["env"] = [*proxy.get("env", []), *ENV]
        else:
            server = spec.setdefault("serverConfig", {"model": "smollm2:135m"})
            server["env"] = [*server.get("env", []), *ENV]
            server["resources"] = RESOURCES
        yield f"{mode}-with-env-and-resources", v, INPUT


RENDERED = [
    pytest.param(xr, fn_input, id=f"{name}-{label}")
    for name in EXAMPLE_NAMES
    for label, xr, fn_input in variants(example(name))
]


def pod_templates(objects: dict[str, dict]) -> list[dict]:
    return [o["spec"]["template"] for o in objects.values() if o["kind"] in {"Deployment", "StatefulSet", "Job"}]


def test_every_example_is_rendered():
    assert EXAMPLE_NAMES == SHIPPED_EXAMPLES


@pytest.mark.parametrize(("xr", "fn_input"), RENDERED)
def test_every_rendered_pod_meets_baseline_and_restricted_but_for_running_as_root(xr, fn_input):
    out = compose(xr, fn_input, {})
    templates = pod_templates(out.resources)
    assert templates, "nothing to check"
    for template in templates:
        assert violations(template) == {}
        # The documented exception, so that it is noticed if the images ever change.
        for c in containers(template["spec"]):
            sc = c.get("securityContext", {})
            assert sc.get("runAsUser") != 0
            assert "runAsNonRoot" not in sc or sc["runAsNonRoot"] is True


def _good_template() -> dict:
    return pod_templates(compose(example("in-cluster-ollama"), None, {}).resources)[0]


def _set(path: str, value: object) -> Callable[[dict], None]:
    """A mutation of the pod spec at a dotted path (`containers.0.ports.0.hostPort`)."""

    def mutate(pod: dict) -> None:
        *parents, last = path.split(".")
        node: object = pod
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})  # type: ignore[index,union-attr]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value  # type: ignore[index]

    return mutate


def _add_volume(volume: dict) -> Callable[[dict], None]:
    return lambda pod: pod["volumes"].append(volume)


# Each a pod the checker must refuse, and the rule that refuses it.
BROKEN = [
    (_set("securityContext.windowsOptions", {"hostProcess": True}), "HostProcess"),
    (_set("hostNetwork", True), "Host Namespaces"),
    (_set("hostPID", True), "Host Namespaces"),
    (_set("hostIPC", True), "Host Namespaces"),
    (_set("containers.0.securityContext", {"privileged": True}), "Privileged Containers"),
    (
        _set("initContainers.0.securityContext.capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        "Capabilities (baseline)",
    ),
    (_add_volume({"name": "host", "hostPath": {"path": "/"}}), "HostPath Volumes"),
    (_set("containers.1.ports.0.hostPort", 11434), "Host Ports"),  # the front: Ollama has no port
    (_set("securityContext.appArmorProfile", {"type": "Unconfined"}), "AppArmor"),
    (_set("securityContext.seLinuxOptions", {"type": "spc_t"}), "SELinux"),
    (_set("containers.0.securityContext.procMount", "Unmasked"), "/proc Mount Type"),
    (_set("securityContext.seccompProfile", {"type": "Unconfined"}), "Seccomp (baseline)"),
    (_set("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}]), "Sysctls"),
    (_add_volume({"name": "nfs", "nfs": {"server": "x", "path": "/"}}), "Volume Types"),
    (_set("initContainers.0.securityContext.allowPrivilegeEscalation", True), "Privilege Escalation"),
    (lambda pod: pod["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"), "Privilege Escalation"),
    (
        lambda pod: ([sc.pop("seccompProfile", None) for _, sc in security_contexts(pod)]),
        "Seccomp (restricted)",
    ),
    (_set("containers.0.securityContext.capabilities", {"drop": ["NET_RAW"]}), "Capabilities (restricted)"),
    (
        _set("containers.0.securityContext.capabilities", {"drop": ["ALL"], "add": ["CHOWN"]}),
        "Capabilities (restricted)",
    ),
    (_set("automountServiceAccountToken", True), "No service account token"),
    (lambda pod: pod.pop("automountServiceAccountToken"), "No service account token"),
]


@pytest.mark.parametrize(("mutate", "rule"), BROKEN, ids=[f"{r}-{i}" for i, (_, r) in enumerate(BROKEN)])
def test_the_checker_refuses_a_pod_that_breaks_the_rule(mutate, rule):
    template = copy.deepcopy(_good_template())
    assert violations(template) == {}
    mutate(template["spec"])
    assert rule in violations(template)


def test_the_checker_refuses_an_apparmor_annotation_that_unconfines():
    template = copy.deepcopy(_good_template())
    template.setdefault("metadata", {}).setdefault("annotations", {})[
        "container.apparmor.security.beta.kubernetes.io/ollama"
    ] = "unconfined"
    assert "AppArmor" in violations(template)


def test_every_rule_of_the_table_is_exercised():
    assert {rule for _, rule in BROKEN} | {"AppArmor"} == {r.name for r in RULES}


# --------------------------------------------------------------------------------------------
# The master key stays in the client Secret
# --------------------------------------------------------------------------------------------

PROXY_XR = {
    "apiVersion": names.API_VERSION,
    "kind": "ModelAPI",
    "metadata": {"name": "secret-scan", "namespace": "team-a", "uid": "0b9c3b1e-7a4d-4c59-9f55-6f1a2c3d4e5f"},
    "spec": {
        "mode": "Proxy",
        "proxyConfig": {"apiBase": "http://ollama.ollama.svc:11434", "env": [{"name": "PLAIN", "value": "v"}]},
    },
}


def forms(key: str) -> list[str]:
    """The key as text and in every base64 alphabet, padded or not."""
    raw = key.encode()
    out = {key}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        out.add(encode(raw).decode())
        out.add(encode(raw).decode().rstrip("="))
    return sorted(out)


def key_of(client_secret: dict) -> str:
    key = base64.b64decode(client_secret["data"][names.CLIENT_API_KEY_KEY]).decode()
    assert key.startswith("sk-")
    assert len(key) >= 32
    return key


def everywhere_but_the_client_secret(objects: dict[str, dict]) -> str:
    """Every other object as JSON, with Secret and ConfigMap data decoded too."""
    parts = []
    for key, obj in objects.items():
        if key == names.CLIENT_SECRET:
            continue
        parts.append(json.dumps(obj))
        for value in (obj.get("data") or {}).values():
            try:
                parts.append(base64.b64decode(value).decode(errors="replace"))
            except ValueError:
                parts.append(value)
    return "\n".join(parts)


def test_the_master_key_appears_only_in_the_client_secret():
    rsp = fn.run(request(PROXY_XR))
    objects = {k: resource.struct_to_dict(v.resource) for k, v in rsp.desired.resources.items()}
    key = key_of(objects[names.CLIENT_SECRET])
    deployment = objects[names.DEPLOYMENT]
    pod = deployment["spec"]["template"]["spec"]
    literal_env = [e.get("value", "") for c in containers(pod) for e in c.get("env", [])]
    command_lines = [part for c in containers(pod) for part in c.get("command", []) + c.get("args", [])]
    configmaps = [json.dumps(o) for o in objects.values() if o["kind"] == "ConfigMap"]
    status = json.dumps(resource.struct_to_dict(rsp.desired.composite.resource))
    results = [r.message for r in rsp.results]
    # The pod reads it from the Secret by reference only.
    master = next(e for c in containers(pod) for e in c.get("env", []) if e["name"] == names.MASTER_KEY_ENV)
    assert master == {
        "name": names.MASTER_KEY_ENV,
        "valueFrom": {"secretKeyRef": {"name": names.client_secret_name("secret-scan"), "key": "OPENAI_API_KEY"}},
    }
    for form in forms(key):
        assert not any(form in v for v in literal_env)
        assert not any(form in part for part in command_lines)
        assert not any(form in cm for cm in configmaps)
        assert form not in everywhere_but_the_client_secret(objects)
        assert form not in status
        assert not any(form in m for m in results)


def test_a_kept_master_key_appears_only_in_the_client_secret():
    """Once the Secret exists its key is kept: the observed key must not leak either."""
    kept = "sk-" + "k3pt" * 10
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "data": {names.CLIENT_API_KEY_KEY: base64.b64encode(kept.encode()).decode()},
    }
    rsp = fn.run(request(PROXY_XR, {names.CLIENT_SECRET: secret}))
    objects = {k: resource.struct_to_dict(v.resource) for k, v in rsp.desired.resources.items()}
    assert key_of(objects[names.CLIENT_SECRET]) == kept
    for form in forms(kept):
        assert form not in everywhere_but_the_client_secret(objects)
        assert form not in json.dumps(resource.struct_to_dict(rsp.desired.composite.resource))
        assert not any(form in r.message for r in rsp.results)


@pytest.fixture
def production_logging() -> Iterator[None]:
    """The SDK's logger as `python -m function` configures it without --debug (JSON lines)."""
    sdk_logging.configure(sdk_logging.Level.INFO)
    yield
    structlog.reset_defaults()


def test_an_internal_error_logs_no_master_key(production_logging, monkeypatch, capsys):
    """An unexpected error after the key is derived is logged; the log must not carry the key
    (the SDK's JSON logger renders every frame's locals with log.exception)."""
    from function import compose as compose_module

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in the status rules")

    monkeypatch.setattr(compose_module.status, "evaluate", broken)
    monkeypatch.setattr(compose_module.status, "from_deployment", broken, raising=False)
    # A version of the XR not seen before: fn.run answers a request it has seen from memory.
    fresh = {**PROXY_XR, "metadata": {**PROXY_XR["metadata"], "resourceVersion": "fault-injected"}}
    rsp = fn.run(request(fresh), sdk_logging.get_logger())
    assert [r.message for r in rsp.results] == ["internal error in function-modelapi: RuntimeError"]
    monkeypatch.undo()
    key = key_of(resource.struct_to_dict(fn.run(request(PROXY_XR)).desired.resources[names.CLIENT_SECRET].resource))
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "unexpected error" in text
    for form in forms(key):
        assert form not in text, "the master key is in the log"


# Requests that reach every path of the function: a new key, a kept key, an invalid spec, an
# observed Deployment the status rules may not expect, a ready one.
KEPT_KEY = "sk-" + "0bs3rv3d" * 5
OBSERVED_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "data": {names.CLIENT_API_KEY_KEY: base64.b64encode(KEPT_KEY.encode()).decode()},
}
SCAN_REQUESTS = [
    request(PROXY_XR),
    request(PROXY_XR, {names.CLIENT_SECRET: OBSERVED_SECRET}),
    request({**PROXY_XR, "spec": {"mode": "Proxy", "proxyConfig": {"model": "$(cat key)"}}}),
    request(PROXY_XR, {names.DEPLOYMENT: {"apiVersion": "apps/v1", "kind": "Deployment", "status": None}}),
    request(PROXY_XR, {names.DEPLOYMENT: {"apiVersion": "apps/v1", "kind": "Deployment", "status": {"replicas": 1}}}),
]
LOG_MODES = pytest.mark.parametrize("flags", [["--debug"], []], ids=["debug-logs", "json-logs"])


def derived_key() -> str:
    """The key the function derives for PROXY_XR (the served function shares the test's seed)."""
    return key_of(resource.struct_to_dict(fn.run(request(PROXY_XR)).desired.resources[names.CLIENT_SECRET].resource))


def scan(logs: str, keys: set[str]) -> None:
    leaks = [form for key in keys for form in forms(key) if form in logs]
    assert leaks == [], f"the master key is in the function's log:\n{_around(logs, leaks)}"


def _around(text: str, needles: list[str]) -> str:
    i = min(text.find(n) for n in needles)
    return text[max(0, i - 400) : i + 100]


@LOG_MODES
def test_the_served_function_logs_no_master_key(tmp_path, flags):
    server = start_server(tmp_path, "--insecure", *flags)
    keys = set()
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = grpcv1.FunctionRunnerServiceStub(channel)
            for _ in range(3):
                for req in SCAN_REQUESTS:
                    rsp = stub.RunFunction(req, timeout=30)
                    if names.CLIENT_SECRET in rsp.desired.resources:
                        keys.add(key_of(resource.struct_to_dict(rsp.desired.resources[names.CLIENT_SECRET].resource)))
    finally:
        server.stop()
    assert keys == {derived_key(), KEPT_KEY}
    scan(server.logs(), keys)


# The served function with a fault injected after the key is derived: its error path is logged.
FAULTY = """\
import sys
from function import status

def evaluate(*args, **kwargs):
    raise RuntimeError("injected fault in the status rules")

status.evaluate = evaluate
sys.argv[0] = "function"
from function.main import main

main()
"""


@LOG_MODES
def test_an_internal_error_in_the_served_function_logs_no_master_key(tmp_path, flags):
    script = tmp_path / "faulty_function.py"
    script.write_text(FAULTY)
    server = start_server(tmp_path, "--insecure", *flags, program=(str(script),))
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = grpcv1.FunctionRunnerServiceStub(channel)
            for req in (request(PROXY_XR), request(PROXY_XR, {names.CLIENT_SECRET: OBSERVED_SECRET})):
                rsp = stub.RunFunction(req, timeout=30)
                assert [r.message for r in rsp.results] == ["internal error in function-modelapi: RuntimeError"]
    finally:
        server.stop()
    logs = server.logs()
    assert "unexpected error composing a ModelAPI" in logs  # the error path was taken, and logged
    scan(logs, {derived_key(), KEPT_KEY})
