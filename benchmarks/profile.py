"""`python -m benchmarks.profile [CASE ...]`: where function-modelapi's RunFunction (as served: `fn.answer`) spends its
time, in-process (no gRPC), with cProfile, on the benchmark's requests; CPU time per call first.

CASE is a case name or part of one ("observed", "dev-ollama"); all cases by default."""

import cProfile
import pstats
import sys
import time

from benchmarks import cases
from function.fn import answer as run

CALLS = 2000


def main(argv: list[str]) -> None:
    chosen = [c for c in cases.cases() if not argv or any(a in c.name for a in argv)]
    for c in chosen:
        req = cases.request(c, cases.INPUT)
        for _ in range(200):
            run(req)
        start = time.process_time()
        for _ in range(CALLS):
            run(req)
        print(f"{c.name}: {(time.process_time() - start) / CALLS * 1e6:.0f} us CPU per call")
    for c in chosen:
        req = cases.request(c, cases.INPUT)
        profile = cProfile.Profile()
        profile.runcall(lambda req=req: [run(req) for _ in range(CALLS)])
        print(f"\n== {c.name} ==")
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main(sys.argv[1:])
