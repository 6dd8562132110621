"""Hosted's front (function/front.py) with a real nginx (Debian's, hack/install-nginx.sh): the
rendered container's command and config, run on loopback with the ports and /tmp moved to the
test's own, in front of a fake Ollama. Inference and reads pass; every administration route,
however it is spelt, is refused before it reaches Ollama. Without nginx the module skips loudly,
except under CI=true, where it fails."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from function import front, names
from function.compose import compose
from tests.support import ROOT, need_tool
from tests.support.builders import HOSTED, xr
from tests.support.fake_backend import FakeBackend
from tests.support.server import free_port


def _nginx() -> str:
    out = subprocess.run(["bash", str(ROOT / "hack" / "install-nginx.sh")], capture_output=True, text=True, check=False)
    return need_tool(out.stdout.strip() if out.returncode == 0 else None, "nginx (hack/install-nginx.sh)")


@dataclass
class Front:
    url: str
    ollama: FakeBackend
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    nginx = _nginx()
    pod = compose(xr(HOSTED), None, {}).resources[names.DEPLOYMENT]["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == front.CONTAINER]
    env = {e["name"]: e["value"] for e in container["env"]}
    tmp = tmp_path_factory.mktemp("front")
    port = free_port()
    ollama = FakeBackend("ollama", port=free_port()).start()
    config = (
        env["FRONT_CONFIG"]
        .replace(f"listen {names.OLLAMA_PORT};", f"listen 127.0.0.1:{port};")
        .replace(f"127.0.0.1:{names.OLLAMA_SERVER_PORT}", f"127.0.0.1:{ollama.port}")
        .replace("/tmp/", f"{tmp}/")
    )
    assert config.count(str(tmp)) == 6 and f"127.0.0.1:{ollama.port}" in config, "the rendered config moved"
    command = [c.replace("/tmp/", f"{tmp}/") for c in container["command"]]
    log = tmp / "nginx.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env={"FRONT_CONFIG": config, "PATH": f"{Path(nginx).parent}:/usr/bin:/bin"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"nginx did not answer: {log.read_text()}") from None
                time.sleep(0.1)
        yield Front(url, ollama, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        ollama.stop()


def call(front_: Front, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(front_.url + path, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


PASSED = [
    ("GET", "/", None),
    ("HEAD", "/", None),
    ("GET", "/api/version", None),
    ("GET", "/api/tags", None),
    ("GET", "/api/ps", None),
    ("POST", "/api/show", {"model": "smollm2:135m"}),
    ("POST", "/api/generate", {"model": "smollm2:135m", "prompt": "hi", "stream": False}),
    ("POST", "/api/chat", {"model": "smollm2:135m", "messages": [{"role": "user", "content": "hi"}], "stream": False}),
    ("POST", "/v1/chat/completions", {"model": "smollm2:135m", "messages": [{"role": "user", "content": "hi"}]}),
    ("GET", "/v1/models", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PASSED, ids=[f"{m} {p}" for m, p, _ in PASSED])
def test_inference_and_reads_reach_ollama_as_localhost(served: Front, method: str, path: str, body: dict | None):
    served.ollama.clear()
    status, text = call(served, method, path, body)
    seen = [r for r in served.ollama.requests if r.path == path]
    assert seen, f"{method} {path} did not reach Ollama ({status}: {text[:200]})"
    assert seen[-1].method == method
    # Ollama on loopback refuses Host names it does not know.
    assert seen[-1].headers["host"] == "localhost"


REFUSED = [
    ("POST", "/api/pull", {"model": "a-400-gb-model"}),
    ("DELETE", "/api/delete", {"model": "smollm2:135m"}),
    ("POST", "/api/create", {"model": "mine", "from": "smollm2:135m"}),
    ("POST", "/api/copy", {"source": "smollm2:135m", "destination": "other"}),
    ("POST", "/api/push", {"model": "smollm2:135m"}),
    ("HEAD", "/api/blobs/sha256:00", None),
    ("POST", "/api/blobs/sha256:00", {}),
    ("POST", "/api/generate/../pull", {"model": "x"}),
    ("POST", "/api/%70ull", {"model": "x"}),
    ("POST", "//api/pull", {"model": "x"}),
    ("POST", "/api/pull?x=/api/generate", {"model": "x"}),
    ("POST", "/API/PULL", {"model": "x"}),
    ("POST", "/v1/models/../../api/pull", {"model": "x"}),
    ("PUT", "/api/generate", {"model": "x"}),
    ("DELETE", "/v1/models/smollm2", None),
    ("GET", "/api/generate/x", None),
]


@pytest.mark.parametrize(("method", "path", "body"), REFUSED, ids=[f"{m} {p}" for m, p, _ in REFUSED])
def test_administration_routes_are_refused_before_ollama(served: Front, method: str, path: str, body: dict | None):
    served.ollama.clear()
    status, _ = call(served, method, path, body)
    assert status == 403, (method, path, status)
    assert served.ollama.requests == [], "reached Ollama"


def test_a_streamed_answer_passes_as_it_comes(served: Front):
    body = {"model": "smollm2:135m", "prompt": "hi", "stream": True}
    status, text = call(served, "POST", "/api/generate", body)
    assert status == 200
    chunks = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(chunks) > 1 and chunks[-1]["done"] is True, chunks
