"""`--workers N`: several processes serve one port, with mTLS or --insecure, and stop together."""

import concurrent.futures
import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap
import time

import grpc
import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from tests.support import ROOT, builders, tls
from tests.support.server import free_port

REQUEST = fnv1.RunFunctionRequest()
REQUEST.observed.composite.resource.update(builders.xr(builders.PROXY))

# A runner that takes its time, to have calls in flight when SIGTERM arrives.
SLOW_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from crossplane.function import response
    from function import serve

    class Slow:
        async def run_serialized(self, req, _=None):
            await asyncio.sleep(1.5)
            return response.to(req).SerializeToString()

    serve.run(Slow(), workers=2, debug=False, address=sys.argv[1], tls_certs_dir=None, insecure=True,
              max_recv_message_size=4, max_send_message_size=None)
    """
)


def start(args: list[str], address: str) -> subprocess.Popen:
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    try:
        while len(workers(proc)) < 2 or not listening(address):
            assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
    except BaseException:
        stop(proc)
        raise
    return proc


def workers(proc: subprocess.Popen) -> list[int]:
    tasks = pathlib.Path(f"/proc/{proc.pid}/task")
    return [int(p) for t in tasks.iterdir() for p in (t / "children").read_text().split()] if tasks.exists() else []


def listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=1):
        return True
    return False


def serve_function(address: str, *args: str) -> subprocess.Popen:
    return start([sys.executable, "-m", "function", "--address", address, "--workers", "2", *args], address)


def call(channel: grpc.Channel, req: fnv1.RunFunctionRequest = REQUEST) -> fnv1.RunFunctionResponse:
    return grpcv1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=10)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the workers too: each test has its own session
        proc.wait()
        raise


def test_insecure_workers_answer_on_one_port_and_stop_on_sigterm():
    address = f"127.0.0.1:{free_port()}"
    proc = serve_function(address, "--insecure")
    pids = workers(proc)
    try:
        # One connection stays with one worker: several connections reach both.
        for _ in range(8):
            with grpc.insecure_channel(address) as channel:
                assert call(channel).desired.resources["deployment"].resource["kind"] == "Deployment"
    finally:
        code = stop(proc)
    assert code == 0
    assert not [p for p in pids if pathlib.Path(f"/proc/{p}").exists()]


def test_each_worker_reads_a_costly_config_off_its_event_loop():
    """The bound holds with workers: each has its own sandbox; a costly config is refused naming
    the field, and the same worker answers other calls meanwhile (one connection, one worker)."""
    address = f"127.0.0.1:{free_port()}"
    proc = serve_function(address, "--insecure")
    costly = builders.xr({"mode": "Proxy", "proxyConfig": {"configYaml": "[" * 20_000}}, namespace="bad")
    try:
        with grpc.insecure_channel(address) as channel:
            stub = grpcv1.FunctionRunnerServiceStub(channel)
            slow = stub.RunFunction.future(builders.request(costly), timeout=30)
            answers = [call(channel) for _ in range(5)]
            refused = slow.result()
    finally:
        assert stop(proc) == 0
    assert all(a.desired.resources["deployment"].resource["kind"] == "Deployment" for a in answers)
    fatal = [r.message for r in refused.results if r.severity == fnv1.SEVERITY_FATAL]
    assert fatal == ["spec.proxyConfig.configYaml: nested too deeply: more than 32 levels"]


def test_workers_from_the_environment():
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "function", "--address", address, "--insecure"],
        cwd=ROOT,
        env={**os.environ, "WORKERS": "3"},
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while len(workers(proc)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers(proc)) == 3
    assert stop(proc) == 0


def test_mtls_workers_require_a_client_certificate(tmp_path):
    ca = tls.make_ca("test-ca")
    client = tls.issue(ca, "crossplane", client=True)
    certs = tls.write_tls_dir(tmp_path / "certs", ca, tls.issue(ca, "function", server=True))

    address = f"127.0.0.1:{free_port()}"
    proc = serve_function(address, "--tls-server-certs-dir", str(certs))
    try:
        for _ in range(4):
            creds = grpc.ssl_channel_credentials(ca.cert_pem(), client.key_pem(), client.cert_pem())
            with grpc.secure_channel(address, creds) as channel:
                assert call(channel).desired.resources["service"].resource["kind"] == "Service"
        no_client_cert = grpc.ssl_channel_credentials(ca.cert_pem())
        with grpc.secure_channel(address, no_client_cert) as channel, pytest.raises(grpc.RpcError):
            call(channel)
        with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError):
            call(channel)
    finally:
        assert stop(proc) == 0


def test_no_credentials_is_refused_once():
    out = subprocess.run(
        [sys.executable, "-m", "function", "--workers", "2", "--address", f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2
    assert "no credentials" in out.stderr


def test_sigterm_lets_calls_in_flight_finish_on_every_worker():
    address = f"127.0.0.1:{free_port()}"
    proc = start([sys.executable, "-c", SLOW_SERVER, address], address)
    channels = [grpc.insecure_channel(address) for _ in range(8)]
    try:
        with concurrent.futures.ThreadPoolExecutor(len(channels)) as pool:
            calls = [pool.submit(call, ch) for ch in channels]
            time.sleep(0.7)  # every call is in flight, spread over both workers
            code = stop(proc)
            answered = [c.result() for c in calls]
    finally:
        for ch in channels:
            ch.close()
        if proc.poll() is None:
            stop(proc)
    assert code == 0
    assert len(answered) == len(channels)


def test_a_worker_that_dies_stops_the_others_and_fails():
    address = f"127.0.0.1:{free_port()}"
    proc = serve_function(address, "--insecure")
    first, second = workers(proc)
    os.kill(first, signal.SIGKILL)
    try:
        assert proc.wait(timeout=15) == 1
    finally:
        if proc.poll() is None:
            stop(proc)
    assert not pathlib.Path(f"/proc/{second}").exists()
