"""Status and readiness from observed objects."""

import pytest

from function import names
from function.compose import compose
from tests.helpers import HOSTED, PROXY, deployment_status, observed_ready, xr


@pytest.mark.parametrize(
    ("deployment", "phase", "in_message"),
    [
        (None, "Pending", "Creating Deployment my-modelapi"),
        (deployment_status(available=0), "Pending", "Waiting for Deployment my-modelapi"),
        (deployment_status(available=0, progressing=("True", "ReplicaSetUpdated")), "Pending", "Waiting"),
        (deployment_status(available=1), "Ready", ""),
        (deployment_status(available=0, progressing=("False", "ProgressDeadlineExceeded")), "Failed", "failed"),
        (deployment_status(available=1, progressing=("False", "ProgressDeadlineExceeded")), "Failed", "failed"),
    ],
)
def test_phase_follows_the_deployment(deployment, phase, in_message):
    observed = {} if deployment is None else {names.DEPLOYMENT: deployment}
    out = compose(xr(PROXY), None, observed)
    assert out.status["phase"] == phase
    assert out.status["ready"] is (phase == "Ready")
    assert in_message in out.status["message"]
    assert out.ready[names.DEPLOYMENT] is (phase == "Ready")


def test_hosted_pending_says_the_model_is_pulled_first():
    out = compose(xr(HOSTED), None, {names.DEPLOYMENT: deployment_status()})
    assert "model is pulled" in out.status["message"]


@pytest.mark.parametrize("spec", [PROXY, HOSTED])
def test_everything_existing_and_available_makes_every_resource_ready(spec):
    out = compose(xr(spec), None, observed_ready(spec))
    assert out.status == {
        "phase": "Ready",
        "ready": True,
        "endpoint": out.status["endpoint"],
        "message": "",
        "clientSecretName": "my-modelapi-client",
    }
    assert set(out.ready) == set(out.resources)
    assert all(out.ready.values())


def test_a_resource_not_yet_observed_is_not_ready():
    observed = observed_ready(PROXY)
    del observed[names.SERVICE]
    out = compose(xr(PROXY), None, observed)
    assert out.ready[names.SERVICE] is False
    assert out.ready[names.DEPLOYMENT] is True
