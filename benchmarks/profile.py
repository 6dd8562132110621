"""`python -m benchmarks.profile [--json] [CASE ...]`: where function-modelapi's RunFunction
spends its time, in-process (no gRPC), on the benchmark's requests.

It prints the CPU time per call of the function's own work as served (`fn.answer`): a memo hit,
the steady state, and a memo miss, as after a change to the XR or an observed object (the
objects' Structs and the LiteLLM config are still cached then). Then a cProfile of the served
path per case; `--json` prints only the figures, as JSON (the benchmark reads them).

CASE is a case name or part of one ("observed", "dev-ollama"); all cases by default."""

import cProfile
import json
import pstats
import sys
import time
from collections.abc import Callable

from benchmarks import cases
from function import fn

CALLS = 2000


def cpu_us(call: Callable[[], object], calls: int = CALLS) -> float:
    for _ in range(calls // 10):
        call()
    start = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - start) / calls * 1e6


def own_work(req: object) -> dict[str, float]:
    def miss() -> bytes:
        return fn._run(req, None)[0].SerializeToString()

    return {"memo_hit_us": cpu_us(lambda: fn.answer(req)), "memo_miss_us": cpu_us(miss)}


def main(argv: list[str]) -> None:
    as_json = "--json" in argv
    wanted = [a for a in argv if a != "--json"]
    chosen = [c for c in cases.cases() if not wanted or any(a in c.name for a in wanted)]
    figures = {c.name: own_work(cases.request(c, cases.INPUT)) for c in chosen}
    if as_json:
        print(json.dumps(figures))
        return
    for name, f in figures.items():
        print(f"{name}: {f['memo_hit_us']:.0f} us CPU per call (memo hit), {f['memo_miss_us']:.0f} us (miss)")
    for c in chosen:
        req = cases.request(c, cases.INPUT)
        profile = cProfile.Profile()
        profile.runcall(lambda req=req: [fn.answer(req) for _ in range(CALLS)])
        print(f"\n== {c.name} ==")
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main(sys.argv[1:])
