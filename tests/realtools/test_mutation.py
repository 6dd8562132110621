"""The quick slice of mutation testing (`hack/mutate.sh --quick`, mutmut): every mutant of the
security rules (the master key's places, the pull container's env, env precedence, the pods'
hardening, the spec's rules on env) is killed by the fast tests. A change that weakens one of
these rules without a test failing does not land. Its time is reported, not asserted: a busy
machine once took it past a wall-time budget set at its recorded time.

It runs in a copy of the tree (tests/support/quick_slice.py), beside the other tests."""

import shutil
import subprocess
import time

from tests.support import need_tool, quick_slice

# The stats run, then ~210 mutants: 7 min of CPU (10 min wall here under a load of 14; about 4 on
# two idle cores). Only a guard against a run that hangs: far past any load seen.
HANG_S = 3600


def test_no_mutant_of_a_security_rule_survives():
    need_tool(str(quick_slice.MUTMUT), "mutmut (the test extra: bash hack/venv.sh)")
    run = quick_slice.start()  # started at collection when other tests run with it
    try:
        run.process.wait(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        run.process.kill()
        raise AssertionError(f"hack/mutate.sh --quick hung: no end within {HANG_S} s") from None
    stdout, stderr = run.out.read_text(), run.err.read_text()
    print(stdout, f"(ended {time.strftime('%H:%M:%S')})")
    survivors = run.tree / "mutants" / "survivors.md"
    found = survivors.read_text()[:20_000] if survivors.exists() else ""
    shutil.rmtree(run.tree.parent, ignore_errors=True)
    assert run.process.returncode == 0, stderr + found
    assert "| all |" in stdout
