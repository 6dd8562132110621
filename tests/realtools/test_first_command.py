"""The README's first command, as a newcomer runs it: in a copy of the project without a .venv,
`hack/render.sh` makes one with the function alone (no test tools), from PyPI with no pip cache,
and renders the bundled example. Its time is printed (the README states it), never asserted."""

import re
import shutil
import subprocess
import time

import yaml

from tests.support import ROOT
from tests.support.commands import render


def first_command() -> list[str]:
    """The first command of the README's first bash block."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "the README has no bash block"
    return block[1].strip().splitlines()[0].split()


def test_the_readmes_first_command_renders_the_example_from_a_fresh_copy(tmp_path):
    command = first_command()
    assert command[:2] == ["bash", "hack/render.sh"], command
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    copy = tmp_path / "function-modelapi"
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    start = time.monotonic()
    out = subprocess.run(
        command,
        cwd=copy,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": "/usr/bin:/bin", "PIP_NO_CACHE_DIR": "1"},
    )
    took = time.monotonic() - start
    print(f"the README's first command on a fresh copy: {took:.0f} s")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout == render(*command[2:]).stdout  # what the project renders, from its own venv
    assert "Deployment" in [d["kind"] for d in yaml.safe_load_all(out.stdout)], out.stdout[:300]
    installed = subprocess.run(
        [str(copy / ".venv/bin/python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    for tool in ("pytest", "hypothesis", "mutmut", "gguf", "ruff"):
        assert f"{tool}==" not in installed, f"render installed the test tool {tool}"
