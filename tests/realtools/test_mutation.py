"""The quick slice of mutation testing (`hack/mutate.sh --quick`, mutmut): every mutant of the
security rules (the master key's places, the pull container's env, env precedence, the pods'
hardening, the spec's rules on env) is killed by the fast tests. A change that weakens one of
these rules without a test failing does not land. Its time is reported, not asserted: a busy
machine once took it past a wall-time budget set at its recorded time.

It runs in a copy of the tree: a developer's mutants/ from a full run is left alone."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT, need_tool

# The stats run, then ~210 mutants: 7 min of CPU (10 min wall here under a load of 14; about 4 on
# two idle cores). Only a guard against a run that hangs: far past any load seen.
HANG_S = 3600
TREE = ("function", "tests", "hack", "examples", "xrds", "compositions", "package", "pyproject.toml", "README.md")


def test_no_mutant_of_a_security_rule_survives(tmp_path):
    mutmut = need_tool(str(Path(sys.executable).parent / "mutmut"), "mutmut (the test extra: bash hack/venv.sh)")
    venv = Path(mutmut).parent.parent
    # hack/venv.sh in the copy would reinstall the package from the copy into this venv otherwise.
    stamp = venv / f".installed-{hashlib.sha256((ROOT / 'pyproject.toml').read_bytes()).hexdigest()[:16]}"
    assert stamp.exists(), f"{venv} is not installed for this pyproject.toml: run bash hack/venv.sh"
    tree = tmp_path / "tree"
    for name in TREE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        else:
            shutil.copy2(source, tree / name)
    # The same venv (hack/venv.sh finds it installed for this pyproject.toml): nothing to install.
    (tree / ".venv").symlink_to(venv)
    try:
        done = subprocess.run(
            ["bash", "hack/mutate.sh", "--quick"],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=HANG_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"hack/mutate.sh --quick hung: no end within {HANG_S} s") from None
    print(done.stdout)
    survivors = tree / "mutants" / "survivors.md"
    assert done.returncode == 0, done.stderr + (survivors.read_text()[:20_000] if survivors.exists() else "")
    assert "| all |" in done.stdout
