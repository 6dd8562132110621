"""The e2e control plane, started once per test session and shared by every e2e test.

Needs the binaries of hack/install-controlplane.sh (a long build the first time).
Without them the tests skip loudly, except under CI=true where they fail.
"""

from collections.abc import Iterator

import pytest

from tests.e2e.controlplane import ControlPlane
from tests.e2e.planes import control_plane
from tests.e2e.stories import (
    CLAIMS_COMPOSITION,
    CLAIMS_XRD,
    TEAM_A,
    TEAM_B,
    TEAM_C,
    V2_COMPOSITION,
    V2_XRD,
    Stage,
    stage,
)


@pytest.fixture(scope="session")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("controlplane")) as plane:
        yield plane


@pytest.fixture(scope="session")
def v2(cp: ControlPlane) -> Iterator[Stage]:
    """The session's control plane with the v2 flavour: namespaced ModelAPIs."""
    with stage(cp, "v2", V2_XRD, V2_COMPOSITION, [TEAM_A, TEAM_C]) as s:
        yield s


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """A second control plane with the claims flavour: XModelAPI + ModelAPI claims."""
    with (
        control_plane(tmp_path_factory.mktemp("controlplane-claims")) as plane,
        stage(plane, "claims", CLAIMS_XRD, CLAIMS_COMPOSITION, [TEAM_B]) as s,
    ):
        yield s


@pytest.fixture(autouse=True)
def _forget_watched(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test shows only its own objects when a wait fails."""
    yield
    for value in getattr(request.node, "funcargs", {}).values():
        if isinstance(value, Stage):
            value.watching.clear()
