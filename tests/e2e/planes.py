"""Starting control planes for e2e tests: shared by the conftest's session-wide `cp`
and by tests that need a control plane of their own."""

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.controlplane import CRDS_SCRIPT, ControlPlane, default_bin_dir, default_crds_dir, missing_binaries

# Crossplane's informer resync, its default: a resync wakes every XR, so with one due in the
# first 54 min (1 h less controller-runtime's 10 % jitter) a story that a watch must wake up
# could pass with the watch broken. A session lasts minutes; stories that wait on a timer wait
# on the function's TTL or Crossplane's 5 s poll interval.
SYNC_INTERVAL_SECONDS = 3600
# Stories play minutes of changes in seconds: the update story sends one ModelAPI ~100 watch
# events in two seconds, which trips Crossplane's circuit breaker (100, refilled 1/s); open, it
# leaves the ModelAPI to its TTL, a minute later (seen in the update story: 57 s for one update).
CIRCUIT_BREAKER_BURST = 1000


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
    with ControlPlane(
        controlplane_bin_dir(),
        work_dir,
        crd_dirs=[optional_crds_dir()],
        sync_interval=f"{SYNC_INTERVAL_SECONDS}s",
        circuit_breaker_burst=CIRCUIT_BREAKER_BURST,
    ) as plane:
        took = ", ".join(f"{k} {v:.1f}s" for k, v in plane.startup_seconds.items())
        print(f"\ncontrol plane up in {time.monotonic() - t0:.1f}s ({took}); logs in {plane.logs}")
        yield plane
