"""Tests by what they prove: unit/ (the rules, table by table), properties/ (hypothesis),
realtools/ (the real crossplane CLI, LiteLLM, gRPC server, Kubernetes schemas), e2e/ (a real
control plane); what they share is in support/."""

import os

import pytest

# Master keys derive from this seed until the client Secret exists: pinned so that goldens
# are stable. Set before the function is imported.
os.environ.setdefault("MODELAPI_KEY_SEED", "tests-only-seed")


@pytest.fixture(autouse=True)
def _fresh_answers():
    """Each test computes its own answers: none kept by the function from an earlier test."""
    from function import fn

    fn.reset_caches()
