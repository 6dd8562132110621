"""The hostile table: configYaml texts shaped to be costly, each sent while a probe keeps
calling the same server with a valid request (a memo hit, as a ready ModelAPI's reconcile is).

Per class: the time to the hostile call's answer, the longest a probe call took while it was in
flight (the longest the event loop was held, near enough: a probe is answered in well under a
millisecond when the loop is free), the p50 of the probe calls meanwhile, and the probe's p50
just before, in the same run. Part of `python -m benchmarks.run`; alone, to compare another copy
of the function (`--ours-pythonpath`, e.g. a worktree of an older commit):

    .venv/bin/python -m benchmarks.hostile [--quick] [--ours-pythonpath DIR] [--before DIR]

`--before DIR` measures DIR's function first, then ours, in one run.
"""

import argparse
import asyncio
import itertools
import json
import pathlib
import statistics
import time

import grpc
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from benchmarks import cases
from benchmarks.servers import Server, python_server

METHOD = "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction"
MODELS = "model_list: [{model_name: m, litellm_params: {model: m}}]\n"
# A realistic entry: ~180 bytes, 15 YAML nodes.
_ENTRY = (
    "- model_name: model-{i}\n  litellm_params:\n    model: openai/gpt-4o-mini\n"
    "    api_base: https://api.example.com/v1\n    api_key: os.environ/OPENAI_API_KEY\n    rpm: 100\n"
)
_ENV = [{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "openai", "key": "key"}}}]


def realistic(size: int) -> str:
    entries = itertools.count()
    text = "model_list:\n"
    while len(text) + len(_ENTRY) + 8 < size:
        text += _ENTRY.format(i=next(entries))
    return text


CLASSES = {
    "unclosed flow sequences (20 KB)": "[" * 20_000,
    "nested flow sequences (4 KB)": "[" * 2000 + "]" * 2000,
    "nested block mappings": "".join(" " * i + "a:\n" for i in range(300)),
    "wide flow list (60 KB)": MODELS + "x: [" + "1," * 30_000 + "1]\n",
    "many keys (60 KB)": MODELS + "".join(f"k{i}: v\n" for i in range(7_500)),
    "complex keys": MODELS + "? [a, b]\n: c\n" * 4_000,
    "deep indentation": MODELS + "x:\n" + " " * 30_000 + "a:\n" * 10_000,
    "long escapes": MODELS + 'x: "' + "\\x41" * 15_000 + '"\n',
    "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}' if i else '*a'] * 9)}]\n" for i in range(12))
    + MODELS,
    "within the bounds, refused at its end": MODELS + "x: [" + "1," * 7_980 + "\t1]\n",
    "the largest valid config (64 KiB)": realistic(64 * 1024),
    "a config at the old limit (256 KiB)": realistic(256 * 1024),
}
QUICK = (
    "unclosed flow sequences (20 KB)",
    "within the bounds, refused at its end",
    "the largest valid config (64 KiB)",
)


def _request(text: str, run: int) -> fnv1.RunFunctionRequest:
    """A ModelAPI of its own namespace with the text, made new (a verdict is kept by digest)."""
    xr = {
        "apiVersion": "ethical.institute/v1alpha1",
        "kind": "ModelAPI",
        "metadata": {"name": "hostile", "namespace": f"hostile-{run}"},
        "spec": {"mode": "Proxy", "proxyConfig": {"configYaml": f"# run {run}\n{text}", "env": _ENV}},
    }
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.update(xr)
    req.input.update(cases.INPUT)
    return req


def _probe_request() -> fnv1.RunFunctionRequest:
    ready = next(c for c in cases.cases() if c.observed)
    return cases.request(ready, cases.INPUT)


async def _measure(address: str, text: str, run: int, before_s: float) -> dict:
    probe = _probe_request().SerializeToString()
    hostile = _request(text, run).SerializeToString()
    samples: list[tuple[float, float]] = []  # (start, seconds)
    window: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary(METHOD, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        stop = asyncio.Event()

        async def probing() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                await call(probe, timeout=120)
                samples.append((t0, time.perf_counter() - t0))

        prober = asyncio.create_task(probing())
        await asyncio.sleep(before_s)
        t0 = time.perf_counter()
        answer = fnv1.RunFunctionResponse.FromString(await call(hostile, timeout=120))
        window = [t0, time.perf_counter()]
        await asyncio.sleep(0.02)
        stop.set()
        await prober
    normal = [s for start, s in samples if start < window[0]]
    during = [s for start, s in samples if start + s > window[0] and start < window[1]]
    fatal = [r.message for r in answer.results if r.severity == fnv1.SEVERITY_FATAL]
    return {
        "bytes": len(text.encode()),
        "answer_ms": (window[1] - window[0]) * 1e3,
        "loop_held_ms": max(during) * 1e3 if during else 0.0,
        "p50_during_ms": statistics.median(during) * 1e3 if during else 0.0,
        "probe_calls_during": len(during),
        "p50_normal_ms": statistics.median(normal) * 1e3,
        "answer": fatal[0][:120] if fatal else "composed",
    }


def measure(server: Server, quick: bool) -> dict:
    """The hostile table against a running server of ours."""
    chosen = {name: text for name, text in CLASSES.items() if not quick or name in QUICK}
    out = {}
    for run, (name, text) in enumerate(chosen.items()):
        out[name] = asyncio.run(_measure(server.address, text, run + int(time.time()), 0.2 if quick else 0.5))
    return out


def markdown(table: dict) -> str:
    lines = [
        "| configYaml | bytes | answered in (ms) | loop held at most (ms) | p50 of other calls meanwhile (ms) "
        "| p50 before (ms) | answer |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in table.items():
        during = f"{r['p50_during_ms']:.3f} ({r['probe_calls_during']} calls)"
        lines.append(
            f"| {name} | {r['bytes']} | {r['answer_ms']:.0f} | {r['loop_held_ms']:.1f} | {during} "
            f"| {r['p50_normal_ms']:.3f} | {r['answer'].replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ours-pythonpath", help="serve the function from this directory's `function` package")
    parser.add_argument("--before", help="first measure the function of this directory (an older worktree)")
    parser.add_argument("--out", type=pathlib.Path, help="write the table's JSON here")
    args = parser.parse_args(argv)
    runs = {"before": args.before, "after": args.ours_pythonpath} if args.before else {"": args.ours_pythonpath}
    tables = {}
    for label, pythonpath in runs.items():
        log = pathlib.Path(f"/tmp/modelapi-hostile-server{label}.log")
        server = Server("ours", *python_server("function", pythonpath), log)
        server.start(_probe_request())
        try:
            tables[label] = measure(server, args.quick)
        finally:
            server.stop()
        print(f"{label or 'ours'} ({pythonpath or 'this tree'}):\n\n{markdown(tables[label])}")
    if args.out:
        args.out.write_text(json.dumps(tables if args.before else tables[""], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
