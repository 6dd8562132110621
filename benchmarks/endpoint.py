"""`python -m benchmarks.endpoint [--quick] [--out DIR]`: what the endpoint we compose costs an
agent on every LLM request. The real LiteLLM we pin, started exactly as the rendered Deployment
starts it (tests/support/litellm_proxy.launch: the args, env and config `compose` renders), in
front of a local OpenAI-compatible backend (tests/support/fake_backend, in a process of its own);
in the same run, the backend called directly: the floor. The proxy is pinned to CPUS cores.

Figures, reported and never asserted (the machines are shared: compare within a run):
latency p50/p99 at a fixed moderate rate, through the proxy and direct, and the difference (what
the proxy adds); the most requests per second CLIENTS closed-loop clients get, with their p99;
the time to the first streamed chunk; the proxy's memory (its processes' RSS) after the load.

Needs LiteLLM (bash hack/install-litellm.sh)."""

import argparse
import concurrent.futures
import http.client
import json
import multiprocessing
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fake_backend import FakeBackend  # noqa: E402
from tests.support.litellm_proxy import launch, litellm_executable  # noqa: E402
from tests.support.server import free_port  # noqa: E402

MODEL = "openai/gpt-4o-mini"  # a wildcard proxy routes it to the backend as gpt-4o-mini


def _serve_backend(port: int) -> None:
    FakeBackend("bench", port=port).start()
    while True:
        time.sleep(3600)


def _wait_backend(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v1/models")
            if conn.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def _request(port: int, path: str, key: str | None, model: str, stream: bool = False) -> tuple[float, float]:
    """One chat completion: (seconds to the whole answer, seconds to its first chunk)."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream})
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body, headers)
        rsp = conn.getresponse()
        first = rsp.read(1)
        at_first = time.perf_counter() - start
        rest = rsp.read()
        if rsp.status != 200:
            raise RuntimeError(f"{path} on {port}: {rsp.status} {(first + rest)[:300]!r}")
    finally:
        conn.close()
    return time.perf_counter() - start, at_first


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def paced(port: int, path: str, key: str | None, model: str, rate: float, seconds: float) -> dict:
    """Requests sent at RATE per second for SECONDS, each on its own schedule (an open loop)."""
    count = int(rate * seconds)
    start = time.perf_counter() + 0.05
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:

        def at(i: int) -> float:
            time.sleep(max(0.0, start + i / rate - time.perf_counter()))
            return _request(port, path, key, model)[0]

        took = list(pool.map(at, range(count)))
    return {"p50_ms": 1000 * statistics.median(took), "p99_ms": 1000 * _pct(took, 99), "requests": count}


def closed_loop(port: int, path: str, key: str | None, model: str, clients: int, seconds: float) -> dict:
    """CLIENTS clients, each sending its next request when the last is answered."""
    end = time.perf_counter() + seconds

    def client() -> list[float]:
        took = []
        while time.perf_counter() < end:
            took.append(_request(port, path, key, model)[0])
        return took

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        took = [t for ts in pool.map(lambda _: client(), range(clients)) for t in ts]
    return {"rps": len(took) / seconds, "p99_ms": 1000 * _pct(took, 99)}


def first_chunk(port: int, path: str, key: str | None, model: str, count: int) -> float:
    return 1000 * statistics.median(_request(port, path, key, model, stream=True)[1] for _ in range(count))


def rss_mib(pid: int) -> float:
    """The RSS of PID and every process under it."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = pathlib.Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in pathlib.Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return total / 1024


def pin(pid: int, cpus: set[int]) -> None:
    """PID and its processes to CPUS (the ones it forks later inherit it)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            os.sched_setaffinity(p, cpus)
            for task in pathlib.Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue


def measure(quick: bool, cpus: int) -> dict:
    rate, seconds, clients, streams = (10, 5, 4, 10) if quick else (20, 30, 8, 50)
    backend_port = free_port()
    backend = multiprocessing.get_context("fork").Process(target=_serve_backend, args=(backend_port,), daemon=True)
    backend.start()
    _wait_backend(backend_port)
    with tempfile.TemporaryDirectory(prefix="endpoint-") as work:
        proxy = launch(
            "endpoint",
            # A backend that takes no key: LiteLLM's OpenAI provider still wants one.
            {"apiBase": f"http://127.0.0.1:{backend_port}", "env": [{"name": "OPENAI_API_KEY", "value": "none"}]},
            {},
            {},
            litellm_executable(),
            pathlib.Path(work),
            free_port(),
        )
        proxy.spawn()
        pin(proxy.process.pid, set(range(cpus)))
        try:
            proxy.wait_ready()
            pin(proxy.process.pid, set(range(cpus)))
            key = proxy.client["OPENAI_API_KEY"]
            via = (proxy.port, "/chat/completions", key, MODEL)
            direct = (backend_port, "/v1/chat/completions", None, MODEL.split("/", 1)[1])
            for target in (via, direct):  # warm: imports, connection pools
                paced(*target, rate=rate, seconds=1)
            out = {"cpus": cpus, "rate": rate, "seconds": seconds, "clients": clients}
            out["direct"] = paced(*direct, rate=rate, seconds=seconds)
            out["proxy"] = paced(*via, rate=rate, seconds=seconds)
            out["added_p50_ms"] = out["proxy"]["p50_ms"] - out["direct"]["p50_ms"]
            out["added_p99_ms"] = out["proxy"]["p99_ms"] - out["direct"]["p99_ms"]
            out["direct_most"] = closed_loop(*direct, clients=clients, seconds=seconds)
            out["proxy_most"] = closed_loop(*via, clients=clients, seconds=seconds)
            out["direct_first_chunk_ms"] = first_chunk(*direct, count=streams)
            out["proxy_first_chunk_ms"] = first_chunk(*via, count=streams)
            out["proxy_rss_mib"] = rss_mib(proxy.process.pid)
        finally:
            proxy.stop()
            backend.terminate()
    return out


def table(runs: list[dict]) -> str:
    lines = [
        "| CPUs | p50 direct / proxy (ms) | added p50 / p99 (ms) | most rps direct / proxy (p99 ms) "
        "| first chunk direct / proxy (ms) | proxy RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['cpus']} | {r['direct']['p50_ms']:.1f} / {r['proxy']['p50_ms']:.1f} "
            f"| {r['added_p50_ms']:.1f} / {r['added_p99_ms']:.1f} "
            f"| {r['direct_most']['rps']:.0f} / {r['proxy_most']['rps']:.0f} ({r['proxy_most']['p99_ms']:.0f}) "
            f"| {r['direct_first_chunk_ms']:.1f} / {r['proxy_first_chunk_ms']:.1f} | {r['proxy_rss_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per figure, one CPU (CI)")
    parser.add_argument("--out", type=pathlib.Path, help="write endpoint.json and endpoint.md there")
    args = parser.parse_args(argv)
    cpu_counts = [1] if args.quick else sorted({1, min(2, os.cpu_count() or 1)})
    runs = [measure(args.quick, cpus) for cpus in cpu_counts]
    text = table(runs)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "endpoint.json").write_text(json.dumps(runs, indent=2))
        (args.out / "endpoint.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
