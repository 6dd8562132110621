"""What the tests share: paths, the rule for tools a machine may lack, and (in its modules)
builders, servers, certificates, observed pods and the property tests' strategies."""

import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = sorted(p.parent.name for p in EXAMPLES.glob("*/xr.yaml"))
# The examples with a ModelAPI, written out: tests that take every example compare what they
# found with this, so that a glob gone wrong (or an example left out) cannot pass unseen.
SHIPPED_EXAMPLES = ["claim", "dev-ollama", "gpu-ollama", "in-cluster-ollama", "multi-model", "openai", "production"]
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
