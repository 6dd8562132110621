"""When Crossplane should call again for a ModelAPI that is not ready (the response's TTL).

Crossplane watches the objects it composed (realtime compositions, on by default in v2), so a
Deployment that becomes available wakes its ModelAPI at once, whatever the TTL. Only what the
Pods say (a pull in progress, an image that cannot be pulled) is not watched: they are required
resources, read when the function runs. So a ModelAPI that has just become not ready is called
again every 20 s, and one that stays not ready backs off, a tenth of the time it has waited, up
to 5 min: a thousand stuck ModelAPIs cost ~3 reconciles/s, not ~50 (benchmarks/README.md, the
scale benchmark's pending phase).

Stateless, as the function is: how long the ModelAPI has waited is read from its Ready
condition, whose lastTransitionTime Crossplane keeps while the condition does not change."""

import datetime

FIRST = datetime.timedelta(seconds=20)
LONGEST = datetime.timedelta(minutes=5)
# The wait grows with the time waited: each call comes a tenth later than the one before.
FRACTION = 10


def pending_ttl(since: datetime.datetime | None, now: datetime.datetime) -> datetime.timedelta:
    """How long Crossplane should wait before calling again, for a ModelAPI not ready since
    `since` (None: not known, or it was ready until now)."""
    if since is None:
        return FIRST
    return min(LONGEST, max(FIRST, (now - since) / FRACTION))


def not_ready_since(xr: dict) -> datetime.datetime | None:
    """When the XR's Ready condition last became other than True; None where it is True,
    absent, or its time unreadable."""
    status = xr.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    for c in conditions if isinstance(conditions, list) else ():
        if isinstance(c, dict) and c.get("type") == "Ready":
            if c.get("status") == "True" or not isinstance(c.get("lastTransitionTime"), str):
                return None
            try:
                since = datetime.datetime.fromisoformat(c["lastTransitionTime"])
            except ValueError:
                return None
            return since if since.tzinfo is not None else None
    return None
