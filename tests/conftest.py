import os
import pathlib
import shutil

import pytest

# Master keys derive from this seed until the client Secret exists: pinned so that goldens
# are stable. Set before the function is imported.
os.environ.setdefault("MODELAPI_KEY_SEED", "tests-only-seed")

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = sorted(p.parent.name for p in EXAMPLES.glob("*/xr.yaml"))
IN_CI = os.environ.get("CI") == "true"


def need_tool(path: str | None, what: str) -> str:
    """The tool's path; a loud skip when it is missing, a failure under CI=true."""
    if path and (os.path.exists(path) or shutil.which(path)):
        return path
    message = f"{what} is not installed: {path or 'not found'} (see .ci/run for how to install it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
    return ""


@pytest.fixture(autouse=True)
def _fresh_answers():
    """Each test computes its own answers: none kept by the function from an earlier test."""
    from function import fn

    fn.reset_caches()
