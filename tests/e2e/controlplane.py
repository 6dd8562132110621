"""A real Crossplane control plane for end-to-end tests, run as local processes.

etcd, kube-apiserver and `crossplane core start` (built by
hack/install-controlplane.sh from Go modules) listen on 127.0.0.1 only. There is
no kube-controller-manager: no garbage collection, no Deployment status, no
ClusterRole aggregation. Tests patch status themselves and tear down by
stopping the processes. Crossplane runs with an admin token, so RBAC does not
limit what it composes.

No pytest here: tests import this module and decide themselves how to skip.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.conditions import condition, is_true  # noqa: F401 - used by the tests through this module
from tests.support.server import free_port, stop
from tests.support.tls import FunctionCerts, issue, make_ca, make_function_certs, write_tls_dir

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / "hack" / "install-controlplane.sh"
# The CRDs of the kinds the function composes only where the platform turns them on.
CRDS_SCRIPT = REPO / "hack" / "install-crds.sh"
BINARIES = ("etcd", "kube-apiserver", "crossplane")
HOST = "127.0.0.1"
CROSSPLANE_NAMESPACE = "crossplane-system"
PACKAGE_LABEL = "pkg.crossplane.io/package"
PAUSED_ANNOTATION = "crossplane.io/paused"
# A bound on each step of a start. The whole start took 100-140 s at a load of 20 on two cores
# (about 10 s idle): a step holds well under this unless something is wrong.
START_TIMEOUT = 240

T = TypeVar("T")


# --- Binaries ----------------------------------------------------------------


def default_bin_dir() -> Path:
    """The cache directory that hack/install-controlplane.sh builds into."""
    out = subprocess.run(
        ["bash", str(INSTALL_SCRIPT), "--dir"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def default_crds_dir() -> Path:
    """The cache directory that hack/install-crds.sh copies the optional kinds' CRDs into."""
    out = subprocess.run(["bash", str(CRDS_SCRIPT), "--dir"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def missing_binaries(bin_dir: Path) -> list[str]:
    """What hack/install-controlplane.sh has not built yet into `bin_dir`."""
    missing = [b for b in BINARIES if not os.access(bin_dir / b, os.X_OK)]
    if not (bin_dir / "crds" / ".complete").exists():
        missing.append("crds")
    return missing


# --- Small helpers -----------------------------------------------------------


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 60,
    interval: float = 0.25,
    what: str = "",
    seen: Callable[[], object] | None = None,
) -> T:
    """Polls `predicate` until it returns something truthy, and returns that. On a timeout the
    error says what `seen` shows then (the state the predicate was waiting on to change)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            saw = f"; saw {seen()!r}" if seen is not None else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}{saw}")
        time.sleep(interval)


class ApiError(Exception):
    def __init__(self, status: int, body: Any, what: str):
        super().__init__(f"{what}: HTTP {status}: {body}")
        self.status = status
        self.body = body


# --- The control plane -------------------------------------------------------


class ControlPlane:
    """Starts etcd, kube-apiserver and crossplane core; use as a context manager.

    `work_dir` holds certificates, data, the kubeconfig and one log per process
    (logs/<name>.log), which is where to look when something fails.
    """

    def __init__(
        self,
        bin_dir: Path,
        work_dir: Path,
        *,
        crossplane_debug: bool = True,
        crd_dirs: Sequence[Path] = (),
        poll_interval: str = "5s",
        sync_interval: str = "30s",
        circuit_breaker_burst: int | None = None,
    ):
        self.bin_dir = Path(bin_dir)
        # CRDs installed beside Crossplane's own (bin_dir/crds): the optional kinds' (Gateway API...).
        self.crd_dirs = [Path(d) for d in crd_dirs]
        self.work_dir = Path(work_dir)
        self.crossplane_debug = crossplane_debug
        # Tests want reconciles in seconds, not minutes; a benchmark sets what it measures.
        self.poll_interval = poll_interval
        self.sync_interval = sync_interval
        self.circuit_breaker_burst = circuit_breaker_burst  # None: Crossplane's own (100)
        self.logs = self.work_dir / "logs"
        self.kubeconfig = self.work_dir / "kubeconfig"
        self.token = secrets.token_hex(16)
        self.api_port = free_port()
        self.server = f"https://{HOST}:{self.api_port}"
        self.health_port = free_port()
        self.metrics_port = free_port()
        self.etcd_url = ""
        self.ca_file = self.work_dir / "pki" / "apiserver" / "ca.crt"
        self.crd_names: list[str] = []
        self.function_certs: FunctionCerts | None = None  # made when crossplane starts
        self.startup_seconds: dict[str, float] = {}
        # When crossplane core answered ready (time.monotonic()): its informers resync `sync_interval` later.
        self.crossplane_started = 0.0
        self._procs: list[tuple[str, subprocess.Popen]] = []
        self._api: urllib.request.OpenerDirector | None = None
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle

    def start(self) -> None:
        missing = missing_binaries(self.bin_dir)
        if missing:
            raise FileNotFoundError(f"{self.bin_dir} lacks {missing}: run {INSTALL_SCRIPT}")
        self.logs.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self._start_etcd()
        self.startup_seconds["etcd"] = time.monotonic() - t0
        self._start_apiserver()
        self.startup_seconds["kube-apiserver"] = time.monotonic() - t0
        self._install_crds()
        self.startup_seconds["crds"] = time.monotonic() - t0
        self._start_crossplane()
        self.startup_seconds["crossplane"] = time.monotonic() - t0

    def stop(self) -> None:
        # One at a time, last started first: each goes while what it needs is up.
        for _, proc in reversed(self._procs):
            stop(proc)
        self._procs.clear()

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        # The child keeps its own descriptor of the log once started.
        with (self.logs / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=self.work_dir,
            )
        self._procs.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _wait_process(
        self,
        name: str,
        proc: subprocess.Popen,
        probe: Callable[[], bool],
        timeout: float,
    ) -> None:
        """Waits for `probe`, failing early (with the log) if the process exits."""

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            return probe()

        try:
            wait_for(ready, timeout=timeout, what=f"{name} to become ready")
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n{self.log_tail(name)}") from None

    def assert_running(self) -> None:
        for name, proc in self._procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    # -- etcd

    def _start_etcd(self) -> None:
        client, peer = f"http://{HOST}:{free_port()}", f"http://{HOST}:{free_port()}"
        self.etcd_url = client
        proc = self._spawn(
            "etcd",
            [
                str(self.bin_dir / "etcd"),
                "--name=e2e",
                f"--data-dir={self.work_dir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=e2e={peer}",
                "--unsafe-no-fsync",  # a throw-away store: durability only costs time
                "--log-level=warn",
            ],
        )
        self._wait_process("etcd", proc, lambda: _http_ok(f"{client}/health"), timeout=START_TIMEOUT)

    # -- kube-apiserver

    def _start_apiserver(self) -> None:
        pki = self.work_dir / "pki"
        ca = make_ca("e2e-apiserver-ca")
        serving = write_tls_dir(pki / "apiserver", ca, issue(ca, "kube-apiserver", server=True))
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (pki / "sa.key").write_bytes(
            sa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (pki / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        )
        # One admin token: system:masters passes every RBAC check.
        (pki / "tokens.csv").write_text(f'{self.token},admin,admin,"system:masters"\n')
        proc = self._spawn(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                f"--secure-port={self.api_port}",
                f"--tls-cert-file={serving / 'tls.crt'}",
                f"--tls-private-key-file={serving / 'tls.key'}",
                f"--token-auth-file={pki / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={self.server}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                # Only allocated on paper: nothing routes to Service IPs here. A /16: the
                # scale benchmark makes thousands of Services (a /24 holds 254).
                "--service-cluster-ip-range=10.0.0.0/16",
                # No controller-manager makes ServiceAccount tokens: Pods would be
                # refused.
                "--disable-admission-plugins=ServiceAccount",
                # No endpoints for the 'kubernetes' Service: none are needed, and
                # 127.0.0.1 is not a valid one.
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
            ],
        )
        self._api = _opener(ssl.create_default_context(cafile=str(self.ca_file)))
        self._wait_process("kube-apiserver", proc, self._readyz, timeout=START_TIMEOUT)
        self._write_kubeconfig()
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": CROSSPLANE_NAMESPACE},
            }
        )

    def _readyz(self) -> bool:
        try:
            return self.request("GET", "/readyz")[0] == 200
        except (OSError, ApiError):
            return False

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "e2e",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(self.ca_file),
                    },
                }
            ],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
            "current-context": "e2e",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    # -- Crossplane

    def _install_crds(self) -> None:
        names: list[str] = []
        for path in [p for d in (self.bin_dir / "crds", *self.crd_dirs) for p in sorted(d.glob("*.yaml"))]:
            for doc in yaml.safe_load_all(path.read_text()):
                if doc:
                    # Server-side apply: one CRD is ~690 KB, too big for the
                    # last-applied annotation of a client-side apply.
                    self.apply(doc)
                    names.append(doc["metadata"]["name"])
        for name in names:
            self.wait_for(
                lambda n=name: is_true(
                    self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", n),
                    "Established",
                ),
                timeout=START_TIMEOUT,
                what=f"CRD {name} Established",
                seen=lambda n=name: conditions_of(self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", n)),
            )
        self.crd_names = names

    def _start_crossplane(self) -> None:
        self.function_certs = make_function_certs(self.work_dir / "function-certs")
        args = [str(self.bin_dir / "crossplane")]
        if self.crossplane_debug:
            args.append("--debug")
        args += [
            "core",
            "start",
            # Functions are run by the tests, not deployed by the package manager.
            "--package-runtime=External",
            f"--tls-client-certs-dir={self.function_certs.client_dir}",
            f"--xpkg-cache-dir={self.work_dir / 'xpkg-cache'}",
            f"--metrics-port={self.metrics_port}",
            f"--health-probe-port={self.health_port}",
            f"--poll-interval={self.poll_interval}",
            f"--sync-interval={self.sync_interval}",
        ]
        if self.circuit_breaker_burst is not None:
            args.append(f"--circuit-breaker-burst={self.circuit_breaker_burst}")
        (self.work_dir / "xpkg-cache").mkdir(exist_ok=True)
        proc = self._spawn(
            "crossplane",
            args,
            env={
                "KUBECONFIG": str(self.kubeconfig),
                "ENABLE_WEBHOOKS": "false",
                "POD_NAMESPACE": CROSSPLANE_NAMESPACE,
            },
        )
        self._wait_process(
            "crossplane",
            proc,
            lambda: _http_ok(f"http://{HOST}:{self.health_port}/readyz"),
            timeout=START_TIMEOUT,
        )
        self.crossplane_started = time.monotonic()

    def crossplane_healthy(self) -> bool:
        return _http_ok(f"http://{HOST}:{self.health_port}/healthz")

    # -- API client

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One call with the admin token: (status, decoded body); ApiError on >= 400."""
        url = self.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                **({"Content-Type": content_type} if data is not None else {}),
            },
        )
        try:
            with self._api.open(req, timeout=30) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, _decode(e.read()), f"{method} {path}") from None

    def watch(self, path: str, resource_version: str, timeout_s: int = 60) -> Iterator[dict]:
        """The events of a watch on `path` from `resource_version`, until the API server
        ends it (after about `timeout_s`)."""
        query = {"watch": "1", "resourceVersion": resource_version, "timeoutSeconds": str(timeout_s)}
        req = urllib.request.Request(
            f"{self.server}{path}?{urllib.parse.urlencode(query)}",
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        with self._api.open(req, timeout=timeout_s + 30) as resp:
            for line in resp:
                yield json.loads(line)

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind, by discovery; re-read for an unknown kind."""
        known = self._resources.get(api_version, {})
        if kind not in known:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                found = self.request("GET", base)[1]["resources"]
            except ApiError as e:
                if e.status != 404:
                    raise
                found = []
            known = {r["kind"]: (r["name"], r["namespaced"]) for r in found if "/" not in r["name"]}
            self._resources[api_version] = known
        if kind not in known:
            raise KeyError(f"the API server does not serve {kind} in {api_version}")
        return known[kind]

    def path(
        self,
        api_version: str,
        kind: str,
        name: str | None = None,
        namespace: str | None = None,
    ) -> str:
        plural, namespaced = self._resource(api_version, kind)
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced:
            path += f"/namespaces/{namespace or 'default'}"
        path += f"/{plural}"
        return f"{path}/{name}" if name else path

    def apply(self, obj: dict, field_manager: str = "e2e-test") -> dict:
        """Server-side apply, like `kubectl apply --server-side --force-conflicts`."""
        meta = obj["metadata"]
        path = self.path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        return self.request(
            "PATCH",
            path,
            obj,
            content_type="application/apply-patch+yaml",
            query={"fieldManager": field_manager, "force": "true"},
        )[1]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The object, or None if it does not exist."""
        try:
            return self.request("GET", self.path(api_version, kind, name, namespace))[1]
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict]:
        """Objects of a kind; namespace None lists across all namespaces."""
        plural, namespaced = self._resource(api_version, kind)
        if namespaced and namespace:
            path = self.path(api_version, kind, namespace=namespace)
        else:
            path = ("/api/v1" if api_version == "v1" else f"/apis/{api_version}") + f"/{plural}"
        query = {"labelSelector": label_selector} if label_selector else None
        return self.request("GET", path, query=query)[1]["items"]

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        """Deletes in the background (no garbage collector: foreground would hang)."""
        try:
            self.request(
                "DELETE",
                self.path(api_version, kind, name, namespace),
                {"propagationPolicy": "Background"},
            )
        except ApiError as e:
            if e.status != 404:
                raise

    def patch_status(
        self,
        api_version: str,
        kind: str,
        name: str,
        status: dict,
        namespace: str | None = None,
    ) -> dict:
        """Merge-patches status, standing in for absent controllers (Deployments...)."""
        path = self.path(api_version, kind, name, namespace) + "/status"
        return self.request(
            "PATCH",
            path,
            {"status": status},
            content_type="application/merge-patch+json",
        )[1]

    def deployment_available(self, deployment: dict, available: int | None = None) -> dict:
        """Stands in for the absent Deployment controller: the rollout done, every replica (or
        `available` of them) available."""
        meta = deployment["metadata"]
        replicas = deployment["spec"]["replicas"]
        available = replicas if available is None else available
        status = {
            "observedGeneration": meta["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "message": f'ReplicaSet "{meta["name"]}-e2e" has successfully progressed.',
                },
            ],
        }
        return self.patch_status("apps/v1", "Deployment", meta["name"], status, meta["namespace"])

    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 60,
        interval: float = 0.25,
        what: str = "",
        seen: Callable[[], object] | None = None,
    ) -> T:
        """wait_for() that also fails fast when a control plane process died."""

        def check() -> T:
            self.assert_running()
            return predicate()

        return wait_for(check, timeout=timeout, interval=interval, what=what, seen=seen)

    def register_function(self, name: str, endpoint: str) -> None:
        """Points Crossplane at a function serving mTLS at `endpoint` (host:port).

        Crossplane's function runner dials the status.endpoint of the Active
        FunctionRevision labelled with the function's name. Both objects are
        paused so the package manager never tries to pull an image; the Function
        itself only keeps the runner from garbage collecting the connection.
        """
        paused = {PAUSED_ANNOTATION: "true"}
        self.apply(
            {
                "apiVersion": "pkg.crossplane.io/v1",
                "kind": "Function",
                "metadata": {"name": name, "annotations": paused},
                "spec": {"package": f"xpkg.invalid/e2e/{name}:v0.0.0"},
            }
        )
        revision = f"{name}-e2e"
        self.apply(
            {
                "apiVersion": "pkg.crossplane.io/v1",
                "kind": "FunctionRevision",
                "metadata": {
                    "name": revision,
                    "annotations": paused,
                    "labels": {PACKAGE_LABEL: name},
                },
                "spec": {
                    "desiredState": "Active",
                    "image": f"xpkg.invalid/e2e/{name}:v0.0.0",
                    "revision": 1,
                },
            }
        )
        self.patch_status(
            "pkg.crossplane.io/v1",
            "FunctionRevision",
            revision,
            {"endpoint": endpoint, "capabilities": ["composition"]},
        )


def _opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """urllib without proxies: an HTTP(S)_PROXY must not catch 127.0.0.1."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))


def _http_ok(url: str) -> bool:
    try:
        with _opener().open(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def conditions_of(obj: dict | None) -> list[tuple[str, str, str]] | None:
    """An object's conditions as (type, status, message): what a wait shows when it times out."""
    if obj is None:
        return None
    found = (obj.get("status") or {}).get("conditions", [])
    return [(c.get("type"), c.get("status"), c.get("message", "")) for c in found]


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
