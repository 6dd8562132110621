"""The benchmark: `.venv/bin/python -m benchmarks.run [--quick]` (README in benchmarks/).

Over gRPC on loopback, for each example XR without and with observed resources: p50/p99 of
sequential calls, throughput with concurrent clients; per server: peak RSS and cold start. Every
figure is set beside two references measured in the same run: the echo floor (the same SDK,
answering `response.to(req)`) and function-go-templating composing the same objects. Then the
hostile table (benchmarks/hostile.py): costly configYaml texts, and what they do to other calls."""

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import resource as rusage
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from benchmarks import cases, hostile, report
from benchmarks.servers import Server, machine_busy_seconds, python_server
from function import names

HERE = pathlib.Path(__file__).resolve().parent
TOOLS = pathlib.Path(
    os.environ.get("MODELAPI_TOOLS")
    or pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "function-modelapi"
)
SERVERS = ("ours", "echo", "go")


@dataclass(frozen=True)
class Profile:
    cold_starts: int  # starts per server; the median counts
    warmup: int  # calls per target before measuring
    latency_rounds: int
    latency_calls: int  # per target and round
    throughput_rounds: int
    throughput_seconds: float  # per target and round
    connections: int  # concurrent clients, one connection each


FULL = Profile(5, 300, 10, 200, 3, 1.0, 8)
QUICK = Profile(1, 20, 2, 25, 1, 0.25, 8)


def go_template_input() -> dict:
    return {
        "apiVersion": "gotemplating.fn.crossplane.io/v1beta1",
        "kind": "GoTemplate",
        "source": "Inline",
        "inline": {"template": (HERE / "go-templating.tmpl").read_text()},
    }


def build_tools() -> tuple[str, str]:
    """The load generator and function-go-templating; both need Go, both are cached."""
    if not shutil.which("go"):
        sys.exit("benchmark: Go is needed (the load generator and the Go reference are built with it)")
    loadgen = TOOLS / "loadgen" / "loadgen"
    subprocess.run(["go", "build", "-o", str(loadgen), "."], cwd=HERE / "loadgen", check=True)
    out = subprocess.run(
        ["bash", str(HERE / "install-go-templating.sh")], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return str(loadgen), out.strip().splitlines()[-1]


def loadgen(tool: str, args: list[str], targets: dict[str, tuple[str, pathlib.Path]]) -> dict:
    specs = [f"{name}={addr}={path}" for name, (addr, path) in targets.items()]
    out = subprocess.run([tool, *args, *specs], check=True, stdout=subprocess.PIPE, text=True).stdout
    results = json.loads(out)
    for name, r in results.items():
        if r["errors"]:
            raise RuntimeError(f"{name}: {r['errors']} failed calls, first: {r.get('first_error')}")
    return results


def client_cpu_seconds() -> float:
    """CPU time of this process's children that have exited: the load generator's runs."""
    r = rusage.getrusage(rusage.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


Client = Callable[[str, str, pathlib.Path], dict]


def go_client(tool: str, args: list[str]) -> Client:
    """The load generator, one round against one target."""
    return lambda name, address, path: loadgen(tool, [*args, "-rounds=1"], {name: (address, path)})[name]


def throughput(client: Client, targets: dict[str, tuple[Server, pathlib.Path]], rounds: int) -> dict:
    """Closed-loop throughput, one client run per target and round, the targets in turn; with
    the CPU time each side used: the server's is the cost of a call whatever the neighbours
    do, and the machine's total shows what the neighbours took."""
    out = {
        name: {
            **dict.fromkeys(
                ("calls", "warmup_calls", "seconds", "wall_s", "server_cpu_s", "client_cpu_s", "busy_cpu_s"), 0.0
            ),
            "rounds_rps": [],
        }
        for name in targets
    }
    for _ in range(rounds):
        for name, (server, path) in targets.items():
            before = server.cpu_seconds(), client_cpu_seconds(), machine_busy_seconds(), time.perf_counter()
            r = client(name, server.address, path)
            after = server.cpu_seconds(), client_cpu_seconds(), machine_busy_seconds(), time.perf_counter()
            acc = out[name]
            acc["calls"] += r["calls"]
            acc["warmup_calls"] += r["warmup_calls"]
            acc["seconds"] += r["seconds"]
            acc["server_cpu_s"] += after[0] - before[0]
            acc["client_cpu_s"] += after[1] - before[1]
            acc["busy_cpu_s"] += after[2] - before[2]
            acc["wall_s"] += after[3] - before[3]
            acc["rounds_rps"].append(r["calls"] / r["seconds"])
    for acc in out.values():
        acc["rps"] = acc["calls"] / acc["seconds"]
        acc["server_cpu_ms_per_call"] = acc["server_cpu_s"] * 1e3 / (acc["calls"] + acc["warmup_calls"])
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def objects(rsp: fnv1.RunFunctionResponse, mask_key: bool) -> dict:
    """What a response composes: each resource with its readiness, and the XR's status."""
    fatal = [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    if fatal:
        return {"fatal": fatal}
    out: dict = {"xr status": resource.struct_to_dict(rsp.desired.composite.resource).get("status")}
    for key, r in rsp.desired.resources.items():
        obj = resource.struct_to_dict(r.resource)
        if not obj["metadata"].get("annotations", True):
            del obj["metadata"]["annotations"]  # go-templating leaves its emptied annotations
        if mask_key and "OPENAI_API_KEY" in obj.get("data", {}) and key == "client-secret":
            obj["data"]["OPENAI_API_KEY"] = "<random until the Secret exists>"
        pod_annotations = obj.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
        if mask_key and names.MASTER_KEY_CHECKSUM_ANNOTATION in pod_annotations:
            pod_annotations[names.MASTER_KEY_CHECKSUM_ANNOTATION] = "<random until the Secret exists>"
        out[key] = {"ready": fnv1.Ready.Name(r.ready), "resource": obj}
    return out


def differences(a: object, b: object, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(a.keys() | b.keys()) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path.lstrip(".")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few samples (< 60 s): proves the benchmark works")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "results", help="where results.md/.json go")
    parser.add_argument(
        "--ours-pythonpath",
        help="serve function-modelapi from this directory's `function` package (an experiment's copy)",
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    args.out.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    tool, go_templating = build_tools()

    all_cases = cases.cases()
    requests = tempfile.TemporaryDirectory(prefix="modelapi-bench-")
    inputs = {"ours": cases.INPUT, "echo": cases.INPUT, "go": go_template_input()}
    files: dict[tuple[str, str], pathlib.Path] = {}
    for c in all_cases:
        for server in SERVERS:
            path = pathlib.Path(requests.name) / f"{server}-{c.example}-{c.observed}.bin"
            path.write_bytes(cases.request(c, inputs[server], required=server != "go").SerializeToString())
            files[server, c.name] = path

    logs = args.out / "logs"
    logs.mkdir(exist_ok=True)
    argv_env = {
        "ours": python_server("function", args.ours_pythonpath),
        "echo": python_server("benchmarks.echo"),
        "go": ([go_templating], dict(os.environ), HERE),
    }
    servers = {name: Server(name, *argv_env[name], logs / f"{name}.log") for name in SERVERS}
    first = {name: cases.request(all_cases[0], inputs[name], required=name != "go") for name in SERVERS}
    results: dict = {"cases": {}, "servers": {}}
    try:
        # Cold start: process start to first answered call; the last start stays up.
        for name, server in servers.items():
            starts = []
            for i in range(profile.cold_starts):
                server.start(first[name])
                starts.append(server.cold_start_ms)
                if i < profile.cold_starts - 1:
                    server.stop()
            results["servers"][name] = {"cold_start_ms": statistics.median(starts), "cold_starts_ms": starts}

        for c in all_cases:
            ours = objects(servers["ours"].call(cases.request(c, inputs["ours"])), mask_key=not c.observed)
            go = objects(servers["go"].call(cases.request(c, inputs["go"], required=False)), mask_key=not c.observed)
            for name, composed in (("function-modelapi", ours), ("go-templating", go)):
                if "fatal" in composed:
                    raise RuntimeError(f"{name} refuses {c.name}: {composed['fatal']}")
            results["cases"][c.name] = {
                "example": c.example,
                "observed": c.observed,
                "same_objects_as_go": not differences(ours, go),
                "differences_from_go": differences(ours, go)[:10],
            }

        targets = {f"{s}/{c.name}": (servers[s].address, files[s, c.name]) for c in all_cases for s in SERVERS}
        p = profile
        lat = loadgen(
            tool,
            ["-mode", "latency", f"-rounds={p.latency_rounds}", f"-n={p.latency_calls}", f"-warmup={p.warmup}"],
            targets,
        )
        tput = throughput(
            go_client(
                tool,
                ["-mode=throughput", f"-duration={p.throughput_seconds}s", f"-conns={p.connections}", "-warmup=16"],
            ),
            {f"{s}/{c.name}": (servers[s], files[s, c.name]) for c in all_cases for s in SERVERS},
            p.throughput_rounds,
        )
        for c in all_cases:
            row = results["cases"][c.name]
            for s in SERVERS:
                samples = lat[f"{s}/{c.name}"]["latency_us"]
                t = tput[f"{s}/{c.name}"]
                row.setdefault("p50_ms", {})[s] = percentile(samples, 0.50) / 1e3
                row.setdefault("p99_ms", {})[s] = percentile(samples, 0.99) / 1e3
                row.setdefault("throughput_rps", {})[s] = t["rps"]
                row.setdefault("server_cpu_ms_per_call", {})[s] = t["server_cpu_ms_per_call"]
                row.setdefault("latency_samples", {})[s] = len(samples)
        for name, server in servers.items():
            results["servers"][name]["peak_rss_mb"] = max(server.peak_rss_mb().values())
        for name, figures in own_work(args.ours_pythonpath).items():
            results["cases"][name]["own_cpu_us"] = figures
        results["hostile"] = hostile.measure(servers["ours"], args.quick)
    finally:
        for name, server in servers.items():
            code = server.stop()
            results["servers"].setdefault(name, {})["exit_code_on_sigterm"] = code
        requests.cleanup()

    results["meta"] = {
        "mode": "quick" if args.quick else "full",
        "started": started.isoformat(timespec="seconds"),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "go_templating": pathlib.Path(go_templating).parent.name,
        "go": subprocess.run(["go", "env", "GOVERSION"], stdout=subprocess.PIPE, text=True, check=True).stdout.strip(),
        "profile": profile.__dict__,
        "ours_pythonpath": args.ours_pythonpath,
    }
    results["targets"] = report.targets(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (args.out / "results.md").write_text(table)
    print(table)
    print(f"written: {args.out / 'results.md'}, {args.out / 'results.json'}")
    return 0


def own_work(pythonpath: str | None) -> dict:
    """The function's own CPU per call, in-process, memo hit and miss (benchmarks/profile.py),
    in a process of its own: it imports the function that is served."""
    argv, env, cwd = python_server("benchmarks.profile", pythonpath)
    out = subprocess.run([*argv, "--json"], env=env, cwd=cwd, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
