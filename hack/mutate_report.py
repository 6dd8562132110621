"""The report of a mutmut run (hack/mutate.sh): mutants killed and surviving per module, and each
survivor as a diff of its function, read from mutmut's own files under mutants/.

    python hack/mutate_report.py [--survivors FILE] [--fail-on-survivors] GLOB...

GLOB: mutant names as mutmut spells them (`function.pods.*`, `function.spec.xǁEnvVarǁ*`).
Prints the table; exits 1 with --fail-on-survivors when a mutant of the globs survived or was
not run (no test reaches it, a timeout that may hide a survivor is counted as killed)."""

import argparse
import ast
import collections
import difflib
import fnmatch
import json
import pathlib
import sys

MUTANTS = pathlib.Path("mutants")
# mutmut's exit codes (mutmut/stats.py): a failing test run kills, pytest's own error too.
KILLED = {1, 3}
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


def results(globs: list[str]) -> dict[str, int | None]:
    """Exit code by mutant name, for the mutants the globs name."""
    out: dict[str, int | None] = {}
    for meta in sorted(MUTANTS.glob("function/*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatchcase(name, g) for g in globs):
                out[name] = code
    return out


def verdict(code: int | None) -> str:
    if code in KILLED or code in TIMEOUT:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return "not run" if code is None else "suspicious"


def _functions(module: str) -> dict[str, str]:
    path = MUTANTS / (module.replace(".", "/") + ".py")
    text = path.read_text()
    out = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out[node.name] = ast.get_source_segment(text, node) or ""
    return out


def diff(name: str, sources: dict[str, dict[str, str]]) -> str:
    """The mutant against the original: `function.status.x__short__mutmut_6` is the function
    `x__short__mutmut_6` of mutants/function/status.py beside `x__short__mutmut_orig`. A method
    (`xǁClassǁmethod__mutmut_1`) is found by its name in the class alike."""
    module, _, mutant = name.rpartition(".")
    funcs = sources.setdefault(module, _functions(module) if module not in sources else {})
    original = funcs.get(mutant.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "")
    changed = funcs.get(mutant, "")
    lines = difflib.unified_diff(
        original.splitlines()[1:], changed.splitlines()[1:], lineterm="", n=1, fromfile="original", tofile=mutant
    )
    return "\n".join(list(lines)[2:])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("globs", nargs="+")
    parser.add_argument("--survivors", type=pathlib.Path, help="write each survivor's diff here")
    parser.add_argument("--fail-on-survivors", action="store_true")
    args = parser.parse_args()
    found = results(args.globs)
    if not found:
        print(f"no mutants named {args.globs} under {MUTANTS}/: run hack/mutate.sh first", file=sys.stderr)
        return 1
    by_module: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, code in found.items():
        by_module[name.split(".")[1]][verdict(code)] += 1
    print("| module | mutants | killed | survived | no tests | not run | score |")
    print("|---|---|---|---|---|---|---|")
    total: collections.Counter = collections.Counter()
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        print(_row(f"function/{module}.py", counts))
    print(_row("all", total))
    bad = sorted(n for n, c in found.items() if verdict(c) != "killed")
    if args.survivors is not None:
        sources: dict[str, dict[str, str]] = {}
        args.survivors.write_text(
            "".join(f"## {n} ({verdict(found[n])})\n```diff\n{diff(n, sources)}\n```\n\n" for n in bad)
        )
    if args.fail_on_survivors and bad:
        print(f"\n{len(bad)} mutants not killed:", *bad, sep="\n  ", file=sys.stderr)
        return 1
    return 0


def _row(label: str, counts: collections.Counter) -> str:
    n = sum(counts.values())
    run = n - counts["not run"]
    score = f"{100 * counts['killed'] / run:.1f}%" if run else "-"
    cells = [counts[k] for k in ("killed", "survived", "no tests", "not run")]
    return f"| {label} | {n} | " + " | ".join(map(str, cells)) + f" | {score} |"


if __name__ == "__main__":
    sys.exit(main())
