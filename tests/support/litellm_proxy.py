"""The real LiteLLM proxy as the rendered Deployment starts it, for the tests that run it
(tests/realtools/test_litellm_real.py, test_guarded_egress.py): where it is installed, a proxy
process started as the kubelet would start the rendered container, and HTTP to it."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from function import names
from function.compose import Composed, compose
from tests.support import ROOT
from tests.support.fake_backend import FakeBackend, kube_env, kube_expand, secret_data
from tests.support.otlp import Receiver
from tests.support.server import free_port

REPO = ROOT
# Per proxy, from its own start: ~30 s, four starting at once on 2 cores; 60-78 s with eight at
# once, and up to 150 s with four while other work kept the load at 12-15.
START_TIMEOUT = float(os.environ.get("LITELLM_START_TIMEOUT", "300"))
MAX_RESTARTS = 2
PARALLEL_STARTS = int(os.environ.get("LITELLM_PARALLEL_STARTS", "4"))
REQUEST_TIMEOUT = 30.0


# ---- finding LiteLLM --------------------------------------------------------------------
def litellm_executable() -> Path:
    """Where hack/install-litellm.sh puts it (without installing: that takes minutes)."""
    if os.environ.get("LITELLM_BIN"):
        return Path(os.environ["LITELLM_BIN"])
    cache = os.environ.get("MODELAPI_TOOLS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "function-modelapi"
    )
    return Path(cache) / f"litellm-{names.LITELLM_VERSION}" / "bin" / "litellm"


# ---- HTTP -------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def content(self) -> str:
        """The assistant's text, from a JSON completion or an SSE stream of chunks."""
        text = self.body.decode()
        if not text.startswith("data:"):
            return self.json()["choices"][0]["message"]["content"]
        out = []
        for line in text.splitlines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            for choice in json.loads(line[len("data:") :])["choices"]:
                out.append(choice.get("delta", {}).get("content") or "")
        return "".join(out)


def refused(reply: Reply) -> bool:
    """The key refused: 401 or 403. LiteLLM 1.108.7 without a database answers a key that is
    not the master key with 400 "No connected db." (type no_db_connection): it would look it
    up there. Never a 500: a proxy that crashes on a request has refused nothing."""
    return reply.status in (401, 403) or (reply.status == 400 and b"no_db_connection" in reply.body)


def http(
    method: str, url: str, body: object = None, headers: dict[str, str] | None = None, timeout: float = REQUEST_TIMEOUT
) -> Reply:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, resp.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.read())


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT does not count
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# ---- one proxy per case -----------------------------------------------------------------
@dataclass
class Proxy:
    case: str
    composed: Composed
    backends: dict[str, FakeBackend]
    argv: list[str]
    env: dict[str, str]
    workdir: Path
    port: int
    metrics_port: int | None = None
    receiver: Receiver | None = None
    restarts: int = 0
    process: subprocess.Popen | None = None
    started: float = 0.0
    ready_after: float | None = None
    _failed: str | None = field(default=None, repr=False)

    @property
    def pod(self) -> dict:
        return self.composed.resources[names.DEPLOYMENT]["spec"]["template"]["spec"]

    @property
    def container(self) -> dict:
        return self.pod["containers"][0]

    @property
    def client(self) -> dict[str, str]:
        """What an agent gets from the client Secret (envFrom)."""
        return secret_data(self.composed.resources[names.CLIENT_SECRET])

    @property
    def base_url(self) -> str:
        """The client Secret's OPENAI_BASE_URL, pointed at this process instead of the Service."""
        return f"http://127.0.0.1:{self.port}{urlparse(self.client[names.CLIENT_BASE_URL_KEY]).path}"

    @property
    def log(self) -> Path:
        return self.workdir / "litellm.log"

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def spawn(self) -> "Proxy":
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = time.monotonic()
        return self

    def _owns_port(self) -> bool:
        """The 200 came from this process, not from another program on the same port."""
        bound = f"Uvicorn running on http://127.0.0.1:{self.port} "
        return self.process.poll() is None and bound in self.log.read_text(errors="replace")

    def settled(self) -> bool:
        """Up (its liveness path answers), gone, or past its start deadline (its own test then
        fails in wait_ready); never fails the test. A LiteLLM that neither answers nor exits must
        not hold its slot, and the starts waiting behind it, to CI's limit."""
        if self.process is None or self.process.poll() is not None:
            return True
        if time.monotonic() - self.started > START_TIMEOUT:
            return True
        try:
            return http("GET", f"http://127.0.0.1:{self.port}{names.LITELLM_LIVENESS_PATH}", timeout=1).status == 200
        except OSError:
            return False

    def _metrics_server_late(self) -> bool:
        """LiteLLM waits a fixed 30 s for its metrics process to answer, then exits: on a starved
        machine (nine proxies starting on two busy cores) it can miss that. The kubelet restarts
        such a container; so does this, MAX_RESTARTS times, and says so."""
        late = "Prometheus metrics server did not answer"
        return self.restarts < MAX_RESTARTS and late in self.log.read_text(errors="replace")

    def _lost_port_race(self) -> bool:
        """8000 was free when checked, then taken (say, by a concurrent run of this suite)."""
        return self.port == names.PROXY_PORT and "address already in use" in self.log.read_text(errors="replace")

    def wait_ready(self) -> "Proxy":
        if self.ready_after is not None:
            return self
        if self._failed:
            pytest.fail(self._failed, pytrace=False)
        deadline = self.started + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None and self._lost_port_race():
                self.port = free_port()
                self.argv[self.argv.index("--port") + 1] = str(self.port)
                self.spawn()
                deadline = self.started + START_TIMEOUT
                continue
            if self.process.poll() is not None and self._metrics_server_late():
                self.restarts += 1
                self.spawn()
                deadline = self.started + START_TIMEOUT
                continue
            if self.process.poll() is not None:
                self._failed = f"{self.case}: litellm exited {self.process.returncode}:\n{self.log_tail()}"
                pytest.fail(self._failed, pytrace=False)
            try:
                url = f"http://127.0.0.1:{self.port}{names.LITELLM_LIVENESS_PATH}"
                if http("GET", url, timeout=2).status == 200 and self._owns_port():
                    self.ready_after = time.monotonic() - self.started
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        self._failed = f"{self.case}: litellm not up within {START_TIMEOUT:.0f} s:\n{self.log_tail()}"
        pytest.fail(self._failed, pytrace=False)
        raise AssertionError  # unreachable: pytest.fail raises

    def chat(self, model: str, nonce: str, key: str | None = "master", stream: bool = False) -> Reply:
        headers = {}
        if key == "master":
            key = self.client[names.CLIENT_API_KEY_KEY]
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        body = {"model": model, "messages": [{"role": "user", "content": f"say hi {nonce}"}], "stream": stream}
        return http("POST", f"{self.base_url}/chat/completions", body, headers)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only what we started
                self.process.wait(timeout=10)


def launch(
    case: str,
    proxy_config: dict,
    test_secrets: dict[str, dict[str, str]],
    backends: dict[str, FakeBackend],
    litellm: Path,
    workdir: Path,
    port: int | None,
    fn_input: dict | None = None,
) -> Proxy:
    xr = {
        "apiVersion": names.API_VERSION,
        "kind": "ModelAPI",
        "metadata": {"name": case, "namespace": "team-a", "uid": str(uuid.uuid4())},
        "spec": {"mode": "Proxy", "proxyConfig": proxy_config},
    }
    composed = compose(xr, fn_input, observed={})
    pod = composed.resources[names.DEPLOYMENT]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "command" not in container, "the image's entrypoint runs litellm; command must stay unset"

    # The kubelet's part: Secrets by name, env, mounted files, $(VAR) expansion.
    rendered = {r["metadata"]["name"]: r for r in composed.resources.values() if r["kind"] == "Secret"}
    objects = {name: secret_data(s) for name, s in rendered.items()} | test_secrets
    env = kube_env(container["env"], secrets=objects)
    mounts: dict[str, Path] = {}
    for mount in container.get("volumeMounts", []):
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        target = workdir / mount["name"]
        target.mkdir()
        if "secret" in volume:
            for key, value in objects[volume["secret"]["secretName"]].items():
                (target / key).write_text(value)
        else:
            assert set(volume) == {"name", "emptyDir"}, volume
        mounts[mount["mountPath"]] = target

    def remount(arg: str) -> str:
        for path, target in mounts.items():
            if arg == path or arg.startswith(path + "/"):
                return str(target) + arg[len(path) :]
        return arg

    env = {k: remount(v) for k, v in env.items()}
    args = [remount(kube_expand(a, env)) for a in container["args"]]
    metrics_port = None
    if "--prometheus_metrics_port" in args:
        (declared_metrics,) = [p["containerPort"] for p in container["ports"] if p["name"] == names.METRICS_PORT_NAME]
        at = args.index("--prometheus_metrics_port") + 1
        assert args[at] == str(declared_metrics), "the metrics server must listen on the declared metrics port"
        metrics_port = free_port()
        args[at] = str(metrics_port)
    (declared,) = [p["containerPort"] for p in container["ports"] if p["name"] == names.PORT_NAME]
    assert args[args.index("--port") + 1] == str(declared), "LiteLLM must listen on the declared containerPort"
    if port is None:
        port = declared
    else:
        # Only where the rendered port (8000) is taken, by another case or another program.
        args[args.index("--port") + 1] = str(port)

    process_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "HOST": "127.0.0.1", **env}
    argv = [str(litellm), *args]
    return Proxy(case, composed, backends, argv, process_env, workdir, port, metrics_port)
