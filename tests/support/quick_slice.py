"""The quick slice of mutation testing (`hack/mutate.sh --quick`), run in a copy of the tree (a
developer's mutants/ is left alone) as a process of its own. A session that runs it with other
tests starts it as soon as the tests are collected (tests/conftest.py): it is CPU work at a low
priority (`nice`), and the cluster's and the control plane's stories, which mostly wait, run
beside it; tests/realtools/test_mutation.py then takes its result."""

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

TREE = ("function", "tests", "hack", "examples", "xrds", "compositions", "package", "pyproject.toml", "README.md")
MUTMUT = Path(sys.executable).parent / "mutmut"


@dataclass
class Slice:
    tree: Path
    process: subprocess.Popen
    out: Path
    err: Path


_running: Slice | None = None


def start() -> Slice:
    """The slice's run, started once a session."""
    global _running  # noqa: PLW0603 (one run a session)
    if _running is not None:
        return _running
    venv = MUTMUT.parent.parent
    # hack/venv.sh in the copy would reinstall the package from the copy into this venv otherwise.
    stamp = venv / f".installed-{hashlib.sha256((ROOT / 'pyproject.toml').read_bytes()).hexdigest()[:16]}"
    assert stamp.exists(), f"{venv} is not installed for this pyproject.toml: run bash hack/venv.sh"
    work = Path(tempfile.mkdtemp(prefix="quick-slice-"))
    tree = work / "tree"
    for name in TREE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        else:
            shutil.copy2(source, tree / name)
    # The same venv (hack/venv.sh finds it installed for this pyproject.toml): nothing to install.
    (tree / ".venv").symlink_to(venv)
    out, err = work / "stdout", work / "stderr"
    with out.open("wb") as o, err.open("wb") as e:
        process = subprocess.Popen(
            ["bash", "hack/mutate.sh", "--quick"], cwd=tree, stdout=o, stderr=e, stdin=subprocess.DEVNULL
        )
    _running = Slice(tree, process, out, err)
    return _running
