"""Tests by what they prove: unit/ (the rules, table by table), properties/ (hypothesis),
realtools/ (the real crossplane CLI, LiteLLM, gRPC server, Kubernetes schemas), e2e/ (a real
control plane); what they share is in support/."""

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

# hack/mutate.sh runs the fast tests once per mutant: the same few examples every time, and no
# shrinking (a property that fails has killed the mutant; its smallest example is not needed).
settings.register_profile(
    "mutate",
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
if os.environ.get("HYPOTHESIS_PROFILE") == "mutate":
    settings.load_profile("mutate")

# Master keys derive from this seed until the client Secret exists: pinned so that goldens
# are stable. Set before the function is imported.
os.environ.setdefault("MODELAPI_KEY_SEED", "tests-only-seed")


def pytest_collection_finish(session: pytest.Session) -> None:
    """The mutation slice, CPU work at a low priority, starts now when other tests run with it:
    the stories that mostly wait (cluster, control plane) run beside it."""
    ours = [i for i in session.items if i.nodeid.startswith("tests/realtools/test_mutation.py")]
    if ours and len(session.items) > len(ours) and not os.environ.get("MUTANT_UNDER_TEST"):
        from tests.support import quick_slice

        if quick_slice.MUTMUT.exists():
            quick_slice.start()


@pytest.fixture(autouse=True)
def _fresh_answers():
    """Each test computes its own answers: none kept by the function from an earlier test."""
    from function import fn

    fn.reset_caches()
