"""When Crossplane calls again for a ModelAPI that is not ready: the back-off rule."""

import datetime

import pytest

from function import requeue

NOW = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.UTC)


def ago(**kw: float) -> datetime.datetime:
    return NOW - datetime.timedelta(**kw)


@pytest.mark.parametrize(
    ("since", "ttl_s"),
    [
        pytest.param(None, 20, id="not-known-20s"),
        pytest.param(NOW, 20, id="just-now-20s"),
        pytest.param(ago(minutes=3), 20, id="three-minutes-still-20s"),
        pytest.param(ago(seconds=200), 20, id="at-200s-the-tenth-reaches-20s"),
        pytest.param(ago(minutes=10), 60, id="ten-minutes-a-tenth-60s"),
        pytest.param(ago(minutes=30), 180, id="half-an-hour-3min"),
        pytest.param(ago(minutes=50), 300, id="fifty-minutes-reaches-5min"),
        pytest.param(ago(days=3), 300, id="days-stays-5min"),
        pytest.param(NOW + datetime.timedelta(hours=1), 20, id="a-clock-behind-the-condition-20s"),
    ],
)
def test_the_wait_grows_with_the_time_not_ready_within_bounds(since, ttl_s):
    assert requeue.pending_ttl(since, NOW) == datetime.timedelta(seconds=ttl_s)


def ready(status: str, when: object = "2026-05-01T11:00:00Z") -> dict:
    return {
        "status": {
            "conditions": [
                {"type": "Synced", "status": "True"},
                {"type": "Ready", "status": status, "lastTransitionTime": when},
            ]
        }
    }


@pytest.mark.parametrize(
    ("xr", "since"),
    [
        pytest.param(ready("False"), ago(hours=1), id="ready-false-since-its-transition"),
        pytest.param(ready("Unknown"), ago(hours=1), id="ready-unknown-counts-as-not-ready"),
        pytest.param(ready("True"), None, id="ready-true-was-ready-until-now"),
        pytest.param({}, None, id="no-status-a-new-xr"),
        pytest.param(
            {"status": {"conditions": [{"type": "Synced", "status": "False"}]}}, None, id="no-ready-condition"
        ),
        pytest.param({"status": {"conditions": "x"}}, None, id="conditions-not-a-list"),
        # Found by tests/properties/test_anything: an XR's status need not be a mapping.
        pytest.param({"status": True}, None, id="status-not-a-mapping"),
        pytest.param(ready("False", "yesterday"), None, id="unreadable-time"),
        pytest.param(ready("False", 5), None, id="time-not-a-string"),
        pytest.param(ready("False", "2026-05-01T11:00:00"), None, id="time-without-a-zone"),
        pytest.param(ready("False", "2026-05-01T13:00:00+02:00"), ago(hours=1), id="time-with-an-offset"),
    ],
)
def test_not_ready_since_reads_the_ready_conditions_transition(xr, since):
    assert requeue.not_ready_since(xr) == since
