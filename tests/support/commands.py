"""The project's own commands, run as a user runs them."""

import subprocess
import sys

from tests.support import ROOT


def render(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m function render ARGS` from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "function", "render", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        input=stdin,
        env=env,
    )
