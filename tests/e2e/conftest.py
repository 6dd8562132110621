"""The e2e control plane, started once per test session and shared by every e2e test.

Needs the binaries of hack/install-controlplane.sh (a long build the first time).
Without them the tests skip loudly, except under CI=true where they fail.
"""

from collections.abc import Iterator

import pytest

from tests.e2e.controlplane import ControlPlane
from tests.e2e.planes import control_plane


@pytest.fixture(scope="session")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("controlplane")) as plane:
        yield plane
