"""The gRPC adapter: what Crossplane receives."""

import datetime
import tracemalloc

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import fn, lru, names
from function.fn import run
from tests.support.builders import PROXY, deployment_status, kinds_of_keys, observed_ready, request, with_, xr


def test_the_same_request_gives_the_same_response():
    """Computed twice: the second answer is not the first's bytes read back from the memo."""
    req = request(xr(PROXY))
    first = run(req).SerializeToString(deterministic=True)
    fn.reset_caches()
    assert len(fn.MEMO) == 0
    assert run(req).SerializeToString(deterministic=True) == first


@pytest.mark.parametrize("boom", [False, True], ids=["bad-spec", "internal-error"])
def test_a_fatal_answer_is_never_memoized(monkeypatch, boom):
    """A fatal answer may not hold for the next call (a config read past its budget, a bug
    mended by an upgrade): it is computed again every time."""
    if boom:
        monkeypatch.setattr("function.fn.compose", lambda *_: 1 / 0)
    req = request(xr(PROXY if boom else {"mode": "Proxy", "proxyConfig": {"apiBase": "not a url"}}))
    out = fn.answer(req)
    assert [r.severity for r in fnv1.RunFunctionResponse.FromString(out).results] == [fnv1.SEVERITY_FATAL]
    assert fn.MEMO.get(fn.memo_key(req)) is None
    assert (len(fn.MEMO), fn.MEMO.size) == (0, 0)


def test_a_good_answer_is_memoized():
    req = request(xr(PROXY))
    out = fn.answer(req)
    kept, _since = fn.MEMO.get(fn.memo_key(req))
    assert out.startswith(kept)  # the TTL of a ModelAPI not ready is appended when sent


def test_objects_and_status_reach_the_response():
    rsp = run(request(xr(PROXY)))
    assert kinds_of_keys(rsp.desired.resources) == {
        names.DEPLOYMENT,
        names.SERVICE,
        names.CLIENT_SECRET,
        names.LITELLM_CONFIG,
    }
    status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
    assert status["phase"] == "Pending"
    assert status["endpoint"] == "http://my-modelapi.team-a.svc.cluster.local:8000"
    assert all(r.ready == fnv1.READY_UNSPECIFIED for r in rsp.desired.resources.values())
    assert rsp.meta.ttl.seconds == 20


def test_observed_objects_mark_resources_ready():
    rsp = run(request(xr(PROXY), observed_ready(PROXY)))
    assert all(r.ready == fnv1.READY_TRUE for r in rsp.desired.resources.values())
    assert resource.struct_to_dict(rsp.desired.composite.resource)["status"]["ready"] is True
    assert rsp.meta.ttl.seconds == 60


@pytest.mark.parametrize(
    ("ready_since", "ttl_s"),
    [
        pytest.param(None, 20, id="new-20s"),
        pytest.param(datetime.timedelta(minutes=10), 60, id="not-ready-for-10-minutes-60s"),
        pytest.param(datetime.timedelta(hours=2), 300, id="not-ready-for-hours-5min"),
    ],
)
def test_a_pending_modelapi_is_called_again_sooner_the_newer_its_wait(ready_since, ttl_s):
    """The rule itself: tests/unit/test_requeue.py. Here: it reaches the response, memo hit
    or miss, with the tag of the request."""
    modelapi = xr(PROXY, name=f"pending-{ttl_s}")
    if ready_since is not None:
        when = datetime.datetime.now(datetime.UTC) - ready_since
        modelapi["status"] = {
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": when.isoformat()}]
        }
    req = request(modelapi)
    req.meta.tag = "t"
    for _ in ("miss", "hit"):
        rsp = run(req)
        assert abs(rsp.meta.ttl.seconds - ttl_s) <= 1
        assert rsp.meta.tag == "t"


def test_a_repeated_request_is_answered_alike_with_its_own_tag():
    req = request(xr(PROXY, name="repeated"))
    req.meta.tag = "first"
    first = run(req)
    req.meta.tag = "second"
    second = run(req)
    assert (first.meta.tag, second.meta.tag) == ("first", "second")
    second.meta.tag = "first"
    assert first == second
    assert req.meta.tag == "second"


def test_reading_observed_state_does_not_change_the_request():
    req = request(xr(PROXY))
    run(req)
    assert len(req.observed.resources) == 0


def test_a_bad_spec_is_fatal_and_composes_nothing():
    rsp = run(request(xr({"mode": "Proxy", "proxyConfig": {"apiBase": "not a url"}})))
    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert rsp.results[0].message.startswith("spec.proxyConfig.apiBase:")
    assert len(rsp.desired.resources) == 0


def test_an_unexpected_error_is_fatal_not_a_crash(monkeypatch):
    def boom(*_args):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("function.fn.compose", boom)
    rsp = run(request(xr(PROXY, name="never-rendered-before")))  # not an answer kept from another test
    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert "internal error" in rsp.results[0].message


def test_a_new_phase_is_told_once_to_the_composite_and_claim():
    first = run(request(xr(PROXY)))
    assert [(r.severity, r.message, r.target) for r in first.results] == [
        (fnv1.SEVERITY_NORMAL, "Pending: Creating Deployment my-modelapi", fnv1.TARGET_COMPOSITE_AND_CLAIM)
    ]
    status = resource.struct_to_dict(first.desired.composite.resource)["status"]
    again = run(request({**xr(PROXY), "status": status}))
    assert list(again.results) == []


@pytest.mark.parametrize(
    ("observed", "asks"),
    [
        ({}, True),  # a first call: Pending
        (observed_ready(PROXY, **{names.DEPLOYMENT: {"apiVersion": "apps/v1", "kind": "Deployment"}}), True),
        (observed_ready(PROXY, **{names.DEPLOYMENT: {"kind": "Deployment", **deployment_status(available=0)}}), True),
        (observed_ready(PROXY), False),  # Ready: one call per reconcile, not two
    ],
    ids=["first-call", "deployment-without-status", "deployment-unavailable", "ready"],
)
def test_the_pods_are_required_from_crossplane_while_the_deployment_is_not_ready(observed, asks):
    rsp = run(request(xr(PROXY), observed))
    if not asks:
        assert not rsp.HasField("requirements")
        return
    selector = rsp.requirements.resources["pods"]
    assert (selector.api_version, selector.kind, selector.namespace) == ("v1", "Pod", "team-a")
    assert dict(selector.match_labels.labels) == names.Naming("my-modelapi", "my-modelapi").selector()


def test_the_function_input_sets_platform_defaults():
    rsp = run(request(xr(PROXY), fn_input={"images": {"litellm": "mirror.local/litellm:1"}}))
    deployment = resource.struct_to_dict(rsp.desired.resources[names.DEPLOYMENT].resource)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.local/litellm:1"


def test_a_cache_forgets_the_least_recently_used_entry_first():
    cache = lru.LRU(budget=200)
    cache.put(b"a", b"A", cost=100)
    cache.put(b"b", b"B", cost=100)
    assert cache.get(b"a") == b"A"  # a is now the most recently used
    cache.put(b"c", b"C", cost=100)
    assert (cache.get(b"a"), cache.get(b"b"), cache.get(b"c")) == (b"A", None, b"C")
    assert cache.size == 200


def test_a_cache_keeps_within_its_budget():
    cache = lru.LRU(budget=10_000)
    cache.put(b"huge", b"x", cost=10_001)
    assert (len(cache), cache.size) == (0, 0)
    for i in range(100):
        cache.put(str(i).encode(), b"x", cost=500)
        assert cache.size <= cache.budget
    assert len(cache) == 20
    assert cache.size == 10_000
    cache.put(b"99", b"y", cost=500)  # replaced, not counted twice
    assert (cache.get(b"99"), cache.size) == (b"y", 10_000)
    assert cache.get(b"0") is None


def test_every_cache_is_cleared_at_once():
    caches = [lru.LRU(budget=10), lru.LRU(budget=10)]
    for cache in caches:
        cache.put("k", "v")
    lru.clear_all()
    assert [len(c) for c in caches] == [0, 0]


def test_the_memo_counts_each_answer_by_its_size():
    req = request(xr(PROXY, name="memo-cost"))
    out = fn.answer(req)
    assert fn.MEMO.size == len(out) + fn.MEMO_ENTRY_OVERHEAD


def test_answers_to_large_objects_stay_within_the_memos_budget():
    """The memo bounds what repeated requests cost in memory; the caches behind a miss must
    not hold far more (env may carry 4 MiB, a configYaml 256 KiB)."""
    env = [{"name": f"BIG{j}", "value": "x" * 30_000} for j in range(8)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(60):
            run(request(xr(with_(PROXY, "proxyConfig.env", env), name=f"big-{i}")))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < fn.MEMO.size + 16 * 1024 * 1024, (grown, fn.MEMO.size)
