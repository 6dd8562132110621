"""Start `python -m function` as Crossplane runs it (a free loopback port, insecure or mTLS), and
stop it; the address, its log, its memory."""

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: pathlib.Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def peak_rss_kib(self) -> int:
        return _status_kib(self.proc.pid, "VmHWM")

    def rss_kib(self) -> int:
        return _status_kib(self.proc.pid, "VmRSS")

    def stop(self) -> int | None:
        return stop(self.proc)


def _status_kib(pid: int, field: str) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def start_server(log_dir: pathlib.Path, *args: str, program: tuple[str, ...] = ("-m", "function")) -> Server:
    """`python -m function` on a free loopback port, answering once it listens."""
    port = free_port()
    log = log_dir / f"function-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *program, "--address", f"127.0.0.1:{port}", *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
        )
    server = Server(proc, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the function exited with {proc.returncode} before serving:\n{server.logs()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    pytest.fail(f"the function did not listen on {server.address} within 30 s:\n{server.logs()}")
    raise AssertionError  # unreachable: pytest.fail raises


@contextlib.contextmanager
def serving(*args: str) -> Iterator[str]:
    """Yields the address of a function server started with --insecure plus args."""
    with tempfile.TemporaryDirectory(prefix="function-") as logs:
        server = start_server(pathlib.Path(logs), "--insecure", *args)
        try:
            yield server.address
        finally:
            server.stop()


def stop(proc: subprocess.Popen | None, grace: float = 15) -> int | None:
    """SIGTERM, then SIGKILL after `grace` seconds; the exit code (None: there was no process)."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode if proc is not None else None
