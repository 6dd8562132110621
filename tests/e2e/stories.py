"""What every e2e story shares: our function served for real (`python -m function`, mTLS, as
Crossplane runs it), a control plane with one flavour of the API installed as shipped (a Stage),
and the steps that apply a ModelAPI, read what Crossplane composed and judge it against golden
files and literal expectations (see test_stories.py for why compose is not the judge)."""

from __future__ import annotations

import base64
import contextlib
import copy
import difflib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from function import litellm, names
from function.compose import Composed, compose
from tests.e2e.controlplane import HOST, REPO, ApiError, ControlPlane, conditions_of, is_true, wait_for
from tests.support import golden
from tests.support.builders import config_key
from tests.support.server import free_port, stop

T = TypeVar("T")

API = names.API_VERSION  # ethical.institute/v1alpha1
XRD_V1 = "apiextensions.crossplane.io/v1"
XRD_V2 = "apiextensions.crossplane.io/v2"
CRD_API = "apiextensions.k8s.io/v1"
FUNCTION = "function-modelapi"
RESOURCE_NAME_ANNOTATION = "crossplane.io/composition-resource-name"
# One round trip (an apply, a watch event, a reconcile, a call, a status write) takes about a
# second, ten at a load of 10 on two cores; a missed event is made up by the next poll (5 s)
# or the function's TTL (20 s for a ModelAPI that is not ready). 60 s covers the TTL twice over.
TIMEOUT = 60

# The ports a team is told, spelt out here (not read from function.names: the code under test).
LITELLM_PORT = 8000
OLLAMA_PORT = 11434

V2_XRD = REPO / "xrds" / "modelapi.yaml"
V2_COMPOSITION = REPO / "compositions" / "modelapi.yaml"
CLAIMS_XRD = REPO / "xrds" / "xmodelapi-claims.yaml"
CLAIMS_COMPOSITION = REPO / "compositions" / "xmodelapi.yaml"
RBAC = REPO / "install" / "rbac.yaml"
EXAMPLES = REPO / "examples"

TEAM_A = "team-a"  # the shipped examples live here
TEAM_B = "team-b"  # the shipped claim
TEAM_C = "team-c"  # update and bad-spec stories


def load(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def load_one(path: Path) -> dict:
    (doc,) = load(path)
    return doc


def composition_input(path: Path) -> dict:
    """The function input the shipped Composition gives its one step."""
    (step,) = load_one(path)["spec"]["pipeline"]
    return step["input"]


def decoded(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def without_noise(obj: dict | None) -> dict | None:
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.get("metadata", {}).pop("managedFields", None)
    return out


def mismatches(want: Any, got: Any, path: str = "") -> list[str]:
    """Where `got` (what the API server holds) lacks what `want` (the render) says.

    The API server adds defaults (terminationMessagePath, clusterIP...), so `want` must be
    contained in `got`: every key of a mapping, every item of a list in order, equal scalars.
    """
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: want a mapping, got {got!r}"]
        out = []
        for k, v in want.items():
            if k not in got:
                out.append(f"{path}.{k}: missing, want {v!r}")
            else:
                out += mismatches(v, got[k], f"{path}.{k}")
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: want {want!r}, got {got!r}"]
        return [m for i, (w, g) in enumerate(zip(want, got, strict=True)) for m in mismatches(w, g, f"{path}[{i}]")]
    return [] if want == got else [f"{path}: want {want!r}, got {got!r}"]


# --- Serving our function ------------------------------------------------------------


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


class FunctionProcess:
    """`python -m function` serving mTLS with the certificates the control plane trusts,
    as Crossplane runs it, and registered with the control plane as function-modelapi.

    Its environment has no MODELAPI_KEY_SEED (tests/conftest.py pins one for the unit
    tests), as in a cluster that pins none: each process draws its own seed, so a master
    key that survives a restart can only have been read back from the client Secret.

    Each process logs to a file of its own, one line per call (--debug): `calls` counts them."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self.log = cp.logs / f"{FUNCTION}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.cp.function_certs is not None
        port = free_port()
        args = [sys.executable, "-m", "function", "--debug", "--address", f"{HOST}:{port}"]
        args += ["--tls-server-certs-dir", str(self.cp.function_certs.server_dir)]
        env = {k: v for k, v in os.environ.items() if k != "MODELAPI_KEY_SEED"}
        self.starts += 1
        self.log = self.cp.logs / f"{FUNCTION}-{self.starts}.log"
        with self.log.open("ab") as out:
            out.write(f"=== start {self.starts}: {' '.join(args)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO, env=env
            )

        def up() -> bool:
            self.assert_running()
            return _listening(port)

        wait_for(up, timeout=30, what="the function to listen")
        self.cp.register_function(FUNCTION, f"{HOST}:{port}")

    def assert_running(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise RuntimeError(f"the function exited with {code}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def calls(self, xr: str, phase: str | None = None) -> int:
        """The RunFunction calls this process has answered for `xr` (namespace/name), those
        that answered `phase` (Pending, Ready, fatal...) if given: its own log's lines."""
        words = [w.split() for w in ANSI.sub("", self.log.read_text(errors="replace")).splitlines()]
        wanted = {"RunFunction", f"xr={xr}"} | ({f"phase={phase}"} if phase else set())
        return sum(wanted <= set(line) for line in words)

    def stop(self) -> None:
        stop(self.proc, grace=10)

    def restart(self) -> None:
        """A new process, registered before the old one stops: Crossplane never finds the
        function away (a refused call backs the ModelAPI off, up to 30 s a retry)."""
        old = self.proc
        self.start()
        stop(old, grace=10)


ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the function's log is coloured


# --- A control plane with one flavour of the API installed --------------------------


@dataclass
class Stage:
    cp: ControlPlane
    function: FunctionProcess
    flavour: str  # "v2" or "claims"
    fn_input: dict
    watching: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    # -- diagnostics

    def diagnostics(self) -> str:
        parts = []
        for api_version, kind, name, namespace in self.watching:
            try:
                obj = self.cp.get(api_version, kind, name, namespace)
            except (ApiError, KeyError) as e:
                obj = f"cannot read: {e}"
            shown = yaml.safe_dump(without_noise(obj), sort_keys=False) if isinstance(obj, dict) else str(obj)
            parts.append(f"--- {kind} {namespace or ''}/{name}:\n{shown}")
        parts.append(f"--- function log tail ({self.function.log}):\n{self.function.log_tail()}")
        parts.append(
            f"--- crossplane log tail ({self.cp.logs / 'crossplane.log'}):\n{self.cp.log_tail('crossplane', 40)}"
        )
        return "\n".join(parts)

    def watch(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        """Show this object when a wait fails."""
        ref = (api_version, kind, name, namespace)
        if ref not in self.watching:
            self.watching.append(ref)

    def eventually(self, predicate: Callable[[], T], what: str, timeout: float = TIMEOUT) -> T:
        """Polls; on a timeout fails with the watched objects and the logs' tails."""

        def check() -> T:
            self.function.assert_running()
            return predicate()

        try:
            return self.cp.wait_for(check, timeout=timeout, what=what)
        except (TimeoutError, RuntimeError) as e:
            pytest.fail(f"{e}\n{self.diagnostics()}", pytrace=False)

    # -- the API

    def namespace(self, name: str) -> None:
        self.cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def modelapi(self, name: str, namespace: str) -> dict | None:
        return self.cp.get(API, "ModelAPI", name, namespace)

    def xr_of(self, modelapi: dict) -> dict | None:
        """The XR behind a ModelAPI: itself (v2) or the XModelAPI its claim is bound to."""
        if self.flavour == "v2":
            return modelapi
        ref = (modelapi.get("spec") or {}).get("resourceRef")
        return self.cp.get(API, "XModelAPI", ref["name"]) if ref else None

    def render(self, xr: dict, observed: dict[str, dict] | None = None) -> Composed:
        """What the function renders for this XR, given what is observed: which objects to
        look for, and a cross-check, never the only expectation (the code under test)."""
        return compose(xr, self.fn_input, observed or {})

    def live(self, rendered: Composed) -> dict[str, dict | None]:
        """The object in the cluster for each composed resource, by its resource name."""
        return {
            key: self.cp.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"])
            for key, obj in rendered.resources.items()
        }


def install(cp: ControlPlane, xrd: Path, composition: Path) -> dict:
    """Applies RBAC, the XRD and the Composition as shipped; waits for the XRD and its
    CRDs to be Established. Returns the function input of the Composition."""
    for doc in load(RBAC) + load(xrd) + load(composition):
        cp.apply(doc)
    xrd_doc = load_one(xrd)
    xrd_name = xrd_doc["metadata"]["name"]
    api = xrd_doc["apiVersion"]

    def refused() -> str | None:
        """Crossplane's Warning event when the API server refuses the CRD it renders."""
        for event in cp.list("v1", "Event"):
            involved = event.get("involvedObject") or {}
            if (
                (involved.get("kind"), involved.get("name")) == ("CompositeResourceDefinition", xrd_name)
                and event.get("reason") == "EstablishComposite"
                and " is invalid" in (event.get("message") or "")
            ):
                return event["message"]
        return None

    def established() -> bool:
        message = refused()
        if message:
            raise AssertionError(
                f"{xrd.relative_to(REPO)} as shipped: the API server refuses the CRD that Crossplane renders "
                f"from it, so XRD {xrd_name} never becomes Established. Crossplane says:\n{message}"
            )
        return is_true(cp.get(api, "CompositeResourceDefinition", xrd_name), "Established")

    try:
        cp.wait_for(established, timeout=TIMEOUT, what=f"XRD {xrd_name} Established")
    except TimeoutError as e:
        tail = cp.log_tail("crossplane", 20)
        raise AssertionError(f"{e}; crossplane log tail ({cp.logs / 'crossplane.log'}):\n{tail}") from None
    crds = [xrd_name]
    if "claimNames" in xrd_doc["spec"]:
        crds.append(f"{xrd_doc['spec']['claimNames']['plural']}.{xrd_doc['spec']['group']}")
    for crd in crds:
        cp.wait_for(
            lambda c=crd: is_true(cp.get(CRD_API, "CustomResourceDefinition", c), "Established"),
            timeout=TIMEOUT,
            what=f"CRD {crd} Established",
            seen=lambda c=crd: conditions_of(cp.get(CRD_API, "CustomResourceDefinition", c)),
        )
    return composition_input(composition)


@contextlib.contextmanager
def stage(cp: ControlPlane, flavour: str, xrd: Path, composition: Path, namespaces: list[str]) -> Iterator[Stage]:
    function = FunctionProcess(cp)
    try:
        function.start()
        fn_input = install(cp, xrd, composition)
        s = Stage(cp, function, flavour, fn_input)
        for ns in namespaces:
            s.namespace(ns)
        yield s
    finally:
        function.stop()


# --- Steps every story shares -----------------------------------------------------------


def apply_modelapi(s: Stage, doc: dict) -> dict:
    meta = doc["metadata"]
    s.watch(API, "ModelAPI", meta["name"], meta["namespace"])
    return s.cp.apply(doc)


def modelapi_doc(name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": API, "kind": "ModelAPI", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def composed(s: Stage, name: str, namespace: str) -> tuple[dict, dict, Composed, dict[str, dict]]:
    """Waits until every object the function renders for the ModelAPI exists; returns the
    ModelAPI, its XR, the render (given the live objects as observed) and the live objects."""

    def all_there() -> tuple[dict, dict, Composed, dict[str, dict]] | None:
        modelapi = s.modelapi(name, namespace)
        xr = s.xr_of(modelapi) if modelapi else None
        if not xr:
            return None
        live = s.live(s.render(xr))
        if any(obj is None for obj in live.values()):
            return None
        return modelapi, xr, s.render(xr, live), live  # type: ignore[arg-type]

    found = s.eventually(all_there, f"the objects of ModelAPI {namespace}/{name}")
    for obj in found[3].values():
        s.watch(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"])
    return found


def assert_live_matches_render(xr: dict, rendered: Composed, live: dict[str, dict]) -> None:
    """Every field the function renders is what the API server holds (plus its defaults),
    and each object is controlled by the XR."""
    problems = []
    for key, want in rendered.resources.items():
        got = live[key]
        problems += [f"{key}: {m}" for m in mismatches(want, got)]
        assert got["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] == key
        owners = [o for o in got["metadata"].get("ownerReferences", []) if o.get("controller")]
        assert [(o["kind"], o["uid"]) for o in owners] == [(xr["kind"], xr["metadata"]["uid"])], key
    assert not problems, "the API server holds something else than the function renders:\n" + "\n".join(problems)


def endpoint(name: str, namespace: str, port: int) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local:{port}"


def want_status(name: str, namespace: str, phase: str, port: int, message: str = "", **more: str) -> dict:
    """A ModelAPI's status as the README promises it, but its conditions."""
    return {
        "phase": phase,
        "ready": phase == "Ready",
        "endpoint": endpoint(name, namespace, port),
        "message": message,
        "clientSecretName": f"{name}-client",
        **more,
    }


# What chance decides: the master key (random for each ModelAPI) and its checksum on the pod template.
MASTER_KEY_KEY = "OPENAI_API_KEY"
MASTER_KEY_CHECKSUM = "modelapi.ethical.institute/master-key-checksum"
# What the API server decides, not the function.
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "ownerReferences")
SERVICE_ADDRESSES = ("clusterIP", "clusterIPs")


def applied(live: dict[str, dict], aliases: dict[str, str] | None = None) -> str:
    """What Crossplane applied, by resource name, as a golden file under tests/golden/e2e/
    holds it: every field of each object (the API server's defaults included), Secrets
    decoded; not what the API server or chance decides (uids, versions, Service addresses,
    status, the master key). `aliases` names what Crossplane generates (a claim's XR)."""
    out = {}
    for key, found in sorted(live.items()):
        obj = copy.deepcopy(found)
        obj.pop("status", None)
        for k in SERVER_METADATA:
            obj["metadata"].pop(k, None)
        if obj["kind"] == "Service":
            for k in SERVICE_ADDRESSES:
                obj["spec"].pop(k, None)
        template = obj.get("spec", {}).get("template", {}).get("metadata", {})
        if MASTER_KEY_CHECKSUM in template.get("annotations", {}):
            template["annotations"][MASTER_KEY_CHECKSUM] = "<the master key's checksum>"
        if obj["kind"] == "Secret":
            obj["data"] = decoded(obj)
            if MASTER_KEY_KEY in obj["data"] and obj["data"][MASTER_KEY_KEY] != "ollama":
                obj["data"][MASTER_KEY_KEY] = "<the master key>"
        out[key] = obj
    text = yaml.safe_dump(out, sort_keys=True)
    for generated, alias in (aliases or {}).items():
        text = text.replace(generated, alias)
    return text


def check_golden(name: str, text: str) -> None:
    """golden.check, failing with the lines that differ."""
    try:
        golden.check(name, text)
    except AssertionError as e:
        path = golden.GOLDEN / name
        old = path.read_text().splitlines() if path.exists() else []
        diff = difflib.unified_diff(old, text.splitlines(), str(path), "what Crossplane applied", lineterm="")
        raise AssertionError(f"{e}\n" + "\n".join(diff)) from None


def assert_important_fields(live: dict[str, dict], url: str, hosted: bool) -> None:
    """How the objects fit together, spelt out (the golden file holds each field)."""
    deployment, svc = live[names.DEPLOYMENT], live[names.SERVICE]
    pod = deployment["spec"]["template"]["spec"]
    ports = [(OLLAMA_PORT, "http")] if hosted else [(LITELLM_PORT, "http"), (9090, "metrics")]
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == ports
    assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    client = decoded(live[names.CLIENT_SECRET])
    assert sorted(client) == ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
    assert client["OPENAI_BASE_URL"] == url + "/v1"
    if hosted:
        assert client["OPENAI_API_KEY"] == "ollama"
        assert not [k for k in live if names.is_litellm_config_key(k)]
    else:
        assert re.fullmatch(r"sk-[A-Za-z0-9_-]{43}", client["OPENAI_API_KEY"]), "a master key, not a placeholder"
        files = decoded(live[config_key(live)])
        checksum = deployment["spec"]["template"]["metadata"]["annotations"][names.CONFIG_CHECKSUM_ANNOTATION]
        assert checksum == litellm.config_digest(files)
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["config"]["secret"]["secretName"] == live[config_key(live)]["metadata"]["name"]
        master = next(e for e in pod["containers"][0]["env"] if e["name"] == "LITELLM_MASTER_KEY")
        ref = master["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == (live[names.CLIENT_SECRET]["metadata"]["name"], "OPENAI_API_KEY")


def status_of(obj: dict | None) -> dict:
    return {k: v for k, v in ((obj or {}).get("status") or {}).items() if k != "conditions"}


def wait_status(s: Stage, name: str, namespace: str, want: dict, timeout: float = TIMEOUT) -> dict:
    """Waits until the ModelAPI's status, and its XR's, is `want` (its conditions aside);
    returns the ModelAPI. A timeout shows the ModelAPI as last seen."""

    def settled() -> dict | None:
        modelapi = s.modelapi(name, namespace)
        xr = s.xr_of(modelapi) if modelapi else None
        return modelapi if xr and status_of(modelapi) == want and status_of(xr) == want else None

    return s.eventually(settled, f"ModelAPI {namespace}/{name} with status {want}", timeout)


def stand_in_for_the_deployment_controller(s: Stage, deployment: dict, available: int | None = None) -> None:
    """No kube-controller-manager runs here: the test plays its Deployment controller and
    reports the rollout done, every replica (or `available` of them) available."""
    s.cp.deployment_available(deployment, available)


def ready_story(s: Stage, doc: dict, golden_name: str) -> None:
    """Applied: the objects appear as the golden file e2e/GOLDEN_NAME.yaml holds them, Pending
    with the endpoint; the Deployment has an available replica: Ready, `ready: true`, the Ready
    condition True."""
    name, namespace = doc["metadata"]["name"], doc["metadata"]["namespace"]
    apply_modelapi(s, doc)
    _, xr, rendered, live = composed(s, name, namespace)
    hosted = doc["spec"]["mode"] == "Hosted"
    port = OLLAMA_PORT if hosted else LITELLM_PORT
    assert {obj["metadata"]["namespace"] for obj in live.values()} == {namespace}
    generated = xr["metadata"]["name"]
    check_golden(f"e2e/{golden_name}.yaml", applied(live, {generated: "XR"} if generated != name else None))
    assert_important_fields(live, endpoint(name, namespace, port), hosted)
    assert_live_matches_render(xr, rendered, live)

    waiting = f"Waiting for Deployment {name} to have an available replica"
    if hosted:
        waiting += " (the model is pulled before the server starts; large models take minutes)"
    pending = wait_status(s, name, namespace, want_status(name, namespace, "Pending", port, waiting))
    assert not is_true(pending, "Ready")

    stand_in_for_the_deployment_controller(s, live[names.DEPLOYMENT])
    wait_status(s, name, namespace, want_status(name, namespace, "Ready", port))
    s.eventually(lambda: is_true(s.modelapi(name, namespace), "Ready"), f"ModelAPI {namespace}/{name} condition Ready")
    assert is_true(s.modelapi(name, namespace), "Synced")
