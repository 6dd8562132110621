"""Starting control planes for e2e tests: shared by the conftest's session-wide `cp`
and by tests that need a control plane of their own."""

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.controlplane import CRDS_SCRIPT, ControlPlane, default_bin_dir, default_crds_dir, missing_binaries


def controlplane_bin_dir() -> Path:
    """The built binaries; a loud skip (a failure under CI=true) when they are missing."""
    bin_dir = default_bin_dir()
    missing = missing_binaries(bin_dir)
    if missing:
        reason = f"CONTROL PLANE NOT BUILT: {bin_dir} lacks {missing}; run hack/install-controlplane.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return bin_dir


def optional_crds_dir() -> Path:
    """The optional kinds' CRDs (HTTPRoute, ServiceMonitor); a loud skip (a failure under CI=true) without them."""
    crds = default_crds_dir()
    if not (crds / ".complete").exists():
        reason = f"OPTIONAL CRDS NOT INSTALLED: {crds} is empty; run {CRDS_SCRIPT.relative_to(CRDS_SCRIPT.parents[1])}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return crds


@contextlib.contextmanager
def control_plane(work_dir: Path) -> Iterator[ControlPlane]:
    """A started control plane; says how long it took to start and where its logs are."""
    t0 = time.monotonic()
    with ControlPlane(controlplane_bin_dir(), work_dir, crd_dirs=[optional_crds_dir()]) as plane:
        took = ", ".join(f"{k} {v:.1f}s" for k, v in plane.startup_seconds.items())
        print(f"\ncontrol plane up in {time.monotonic() - t0:.1f}s ({took}); logs in {plane.logs}")
        yield plane
