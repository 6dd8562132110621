"""Start, probe and stop the servers the benchmark measures, each as its own process on loopback."""

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import grpc
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_server(module: str, pythonpath: str | None = None) -> tuple[list[str], dict[str, str], pathlib.Path]:
    """argv, environment and working directory: `python -m` imports from the latter first."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (pythonpath, str(ROOT)) if p)}
    return [sys.executable, "-m", module], env, pathlib.Path(pythonpath or ROOT)


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def machine_busy_seconds() -> float:
    """CPU time all processes on the machine have used (not idle, not waiting for I/O)."""
    ticks = [int(x) for x in pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: pathlib.Path
    log: pathlib.Path
    address: str = ""
    proc: subprocess.Popen | None = None
    cold_start_ms: float = 0.0
    listen_ms: float = 0.0
    _channel: grpc.Channel | None = field(default=None, repr=False)

    def start(self, first: fnv1.RunFunctionRequest) -> None:
        """Start the process and time it to its first answered call (the cold start)."""
        self.address = f"127.0.0.1:{free_port()}"
        out = self.log.open("ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [*self.argv, "--insecure", "--address", self.address],
            env=self.env,
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C on the benchmark reaches us, not the servers
        )
        out.close()
        deadline = t0 + 30
        host, port = self.address.split(":")
        while True:
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=0.05):
                break
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} did not start; its log:\n{self.log_tail()}")
            time.sleep(0.002)
        self.listen_ms = (time.perf_counter() - t0) * 1e3
        self.call(first)
        self.cold_start_ms = (time.perf_counter() - t0) * 1e3

    def call(self, req: fnv1.RunFunctionRequest) -> fnv1.RunFunctionResponse:
        if self._channel is None:
            self._channel = grpc.insecure_channel(self.address)
        return grpcv1.FunctionRunnerServiceStub(self._channel).RunFunction(req, timeout=30)

    def pids(self) -> list[int]:
        """The server process and its children (workers)."""
        assert self.proc is not None
        pids = [self.proc.pid]
        for task in pathlib.Path(f"/proc/{self.proc.pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def peak_rss_mb(self) -> dict[int, float]:
        """Peak resident memory (VmHWM) of each process, in MB."""
        out = {}
        for pid in self.pids():
            for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[pid] = int(line.split()[1]) / 1024
        return out

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (all their threads)."""
        return sum(cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> int:
        """SIGTERM, as Kubernetes stops a pod; returns the exit code."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.proc is None:
            return 0
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its workers too: it leads its own session
            code = self.proc.wait()
        self.proc = None
        return code

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
