"""What the server logs: at info its start and stop and every fatal result (the message the
status shows, nothing more); at debug one line per RunFunction. Never a configYaml, never a
key. A memo hit without --debug does no log work at all."""

import asyncio
import base64
import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from function import fn, names
from tests.support import ROOT
from tests.support.builders import PROXY, xr
from tests.support.server import free_port

# Markers that must never reach a log line: inside a configYaml, and a master key.
CONFIG_MARKER = "config-text-never-logged"
KEY = "sk-observed-master-key-never-logged"
GOOD_CONFIG = {
    "mode": "Proxy",
    "proxyConfig": {
        "configYaml": f"# {CONFIG_MARKER}\nmodel_list:\n  - model_name: a\n    litellm_params: {{model: ollama/a}}\n"
    },
}
BAD_CONFIG = {"mode": "Proxy", "proxyConfig": {"configYaml": f"# {CONFIG_MARKER}\nmodel_list: [\n"}}
CLIENT_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "data": {names.CLIENT_API_KEY_KEY: base64.b64encode(KEY.encode()).decode()},
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Server:
    address: str
    lines: list[str] = field(default_factory=list)
    returncode: int | None = None


@contextlib.contextmanager
def server(*args: str) -> Iterator[Server]:
    """A server as tests/server.py starts one, stopped by SIGTERM, its output kept in .lines."""
    s = Server(f"127.0.0.1:{free_port()}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "function", "--address", s.address, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(s.address.split(":"), timeout=1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"function server did not start: {proc.communicate()[0]}")
            time.sleep(0.05)
        yield s
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        s.lines, s.returncode = [ANSI.sub("", line) for line in out.splitlines()], proc.returncode


def call(address: str, composite: dict, observed: dict | None = None) -> fnv1.RunFunctionResponse:
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.update(composite)
    for key, obj in (observed or {}).items():
        req.observed.resources[key].resource.update(obj)
    with grpc.insecure_channel(address) as channel:
        return grpcv1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=30)


def debug_fields(line: str) -> dict[str, str]:
    """A debug line's key=value pairs (the SDK renders debug logs for people, not as JSON)."""
    return dict(re.findall(r"(\w+)=(\S+)", line))


def debug_calls(s: Server) -> list[dict[str, str]]:
    return [debug_fields(line) for line in s.lines if "] RunFunction " in line]


def test_at_debug_each_call_is_one_line_with_what_a_platform_engineer_needs():
    with server("--insecure", "--debug") as s:
        call(s.address, xr(PROXY, name="chat"))
        call(s.address, xr(PROXY, name="chat"))
        call(s.address, {**xr(PROXY, name="srv"), "kind": "XModelAPI", "metadata": {"name": "srv"}})
        call(s.address, xr({"mode": "Proxy"}, name="broken"))
    want = [
        {"kind": "ModelAPI", "xr": "team-a/chat", "mode": "Proxy", "phase": "Pending", "memo": "False"},
        {"kind": "ModelAPI", "xr": "team-a/chat", "mode": "Proxy", "phase": "Pending", "memo": "True"},
        {"kind": "XModelAPI", "xr": "srv", "mode": "Proxy", "phase": "fatal", "memo": "False"},
        {"kind": "ModelAPI", "xr": "team-a/broken", "mode": "Proxy", "phase": "fatal", "memo": "False"},
    ]
    calls = debug_calls(s)
    assert [{k: c.get(k) for k in want[0]} for c in calls] == want, s.lines
    assert all(float(c["ms"]) > 0 for c in calls), calls


def test_at_info_start_stop_and_fatal_results_are_logged_as_json_and_calls_are_not():
    with server("--insecure") as s:
        call(s.address, xr(PROXY, name="fine"))
        call(s.address, xr({"mode": "Proxy"}, name="broken"))
    records = [json.loads(line) for line in s.lines]
    assert [r["msg"] for r in records] == [
        "serving without mTLS (--insecure)",
        "fatal result",
        "stopping: answering the calls that arrived",
        "stopped",
    ], s.lines
    start, fatal = records[0], records[1]
    assert (start["level"], start["address"], start["tls"]) == ("info", s.address, False)
    assert (fatal["kind"], fatal["xr"]) == ("ModelAPI", "team-a/broken")
    assert fatal["message"] == "spec: mode Proxy needs proxyConfig.apiBase, proxyConfig.model or proxyConfig.configYaml"
    assert s.returncode == 0


@pytest.mark.parametrize("flags", [(), ("--debug",)], ids=["info", "debug"])
def test_no_log_line_carries_a_config_yaml_or_a_master_key(flags):
    with server("--insecure", *flags) as s:
        fatal = call(s.address, xr(BAD_CONFIG, name="bad"), {names.CLIENT_SECRET: CLIENT_SECRET})
        call(s.address, xr(GOOD_CONFIG, name="good"), {names.CLIENT_SECRET: CLIENT_SECRET})
    logged = "\n".join(s.lines)
    assert "fatal result" in logged  # the test sees the line it checks
    assert CONFIG_MARKER not in logged and "model_list" not in logged
    assert KEY not in logged and base64.b64encode(KEY.encode()).decode() not in logged
    # A fatal line says what the status says, and names the XR: no other field.
    message = fatal.results[0].message
    assert message.startswith("spec.proxyConfig.configYaml: not valid YAML")
    fatal_lines = [line for line in s.lines if "fatal result" in line]
    assert fatal_lines
    for line in fatal_lines:
        if line.startswith("{"):
            record = json.loads(line)
            assert record["message"] == message
            keys = set(record)
        else:
            assert message in line, line
            keys = set(debug_fields(line.replace(message, "")))
        assert keys <= {"msg", "level", "ts", "filename", "lineno", "kind", "xr", "message"}, line


class _NoLogging:
    """A logger that fails the test on any use."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"log.{name} used")


class _Recording:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict]] = []

    def debug(self, event: str, **kw: object) -> None:
        self.lines.append((event, kw))


def _request(composite: dict) -> fnv1.RunFunctionRequest:
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.update(composite)
    return req


def test_without_debug_a_call_and_a_memo_hit_do_no_log_work():
    runner = fn.FunctionRunner()
    runner.log = _NoLogging()
    req = _request(xr(PROXY))
    first = asyncio.run(runner.run_serialized(req))
    assert asyncio.run(runner.run_serialized(req)) == first


def test_with_debug_a_memo_hit_is_logged_as_one():
    runner = fn.FunctionRunner(debug=True)
    runner.log = _Recording()
    req = _request(xr(PROXY))
    asyncio.run(runner.run_serialized(req))
    asyncio.run(runner.run_serialized(req))
    assert [(event, kw["memo"]) for event, kw in runner.log.lines] == [("RunFunction", False), ("RunFunction", True)]


TLS_CASES = {
    "no-directory": ((), "cannot read tls.crt (No such file or directory); it is the function's certificate"),
    "no-key": (("tls.crt",), "cannot read tls.key (No such file or directory); it is the private key of tls.crt"),
    "no-ca": (("tls.crt", "tls.key"), "cannot read ca.crt (No such file or directory); it is the CA that signed"),
}


@pytest.mark.parametrize("case", list(TLS_CASES))
def test_a_missing_tls_file_is_named_with_why_it_is_needed(tmp_path, case):
    present, says = TLS_CASES[case]
    certs = tmp_path / "certs"
    if present:
        certs.mkdir()
        for name in present:
            (certs / name).write_text("pem")
    out = subprocess.run(
        [sys.executable, "-m", "function", "--tls-server-certs-dir", str(certs), "--address", "127.0.0.1:0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith(f"Error: --tls-server-certs-dir {certs}: {says}"), out.stderr
    assert out.stderr.count("\n") == 1 and "--insecure" in out.stderr, out.stderr
