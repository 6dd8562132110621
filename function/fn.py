"""The gRPC adapter: a RunFunctionRequest in, the core's objects and status out."""

import datetime
import hashlib
import pathlib
import time
import traceback

import grpc
from crossplane.function import logging, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from google.protobuf import duration_pb2, struct_pb2

from function import lru, protobuf, requeue
from function.compose import CLAIM_NAMESPACE_LABEL, compose
from function.litellm_config import Verdict
from function.lru import LRU
from function.sandbox import Sandbox
from function.spec import SpecError

# The ModelAPI's pods, fetched by Crossplane on request while its Deployment is not ready:
# they explain a Pending status. Pods are not watched: the TTL brings Crossplane back
# (function/requeue.py).
PODS = "pods"


class FunctionRunner(grpcv1.FunctionRunnerServiceServicer):
    def __init__(self, sandbox: Sandbox | None = None, *, debug: bool = False) -> None:
        self.log = logging.get_logger()
        self.sandbox = sandbox or Sandbox()
        # Decided once: a memo hit does no log work at all unless debugging.
        self.debug = debug

    async def RunFunction(  # noqa: N802 - the gRPC method's name
        self, req: fnv1.RunFunctionRequest, context: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        return fnv1.RunFunctionResponse.FromString(await self.run_serialized(req, context))

    async def run_serialized(self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None) -> bytes:
        """RunFunction's response as the server sends it, without parsing it from the memo
        and serializing it again (~25 us of a call's ~100 us in the steady state). A new
        configYaml is read in the sandbox first, off the event loop."""
        start = time.perf_counter() if self.debug else 0.0
        key = memo_key(req)
        cached = MEMO.get(key)
        if cached is not None:
            out = _with_ttl(*cached)
            if self.debug:
                _log_call(self.log, req, out, memo=True, start=start)
            return out
        configs = {}
        text = _config_yaml(req.observed.composite.resource)
        if text is not None:
            configs[text] = await self.sandbox.verdict(text, _team(req.observed.composite.resource))
        out = _answer(req, key, self.log, configs)
        if self.debug:
            _log_call(self.log, req, out, memo=False, start=start)
        return out


_MODES = ("Proxy", "Hosted")


def _who(xr: struct_pb2.Struct) -> dict[str, str]:
    """The XR as a log line names it: kind and namespace/name, as the status does; nothing of the spec."""
    kind, name, namespace = (
        protobuf.field(xr, *p) for p in (("kind",), ("metadata", "name"), ("metadata", "namespace"))
    )
    named = "/".join(v.string_value[:253] for v in (namespace, name) if v is not None and v.string_value)
    return {"kind": kind.string_value[:64] if kind is not None else "", "xr": named}


def _log_call(log: object, req: fnv1.RunFunctionRequest, out: bytes, *, memo: bool, start: float) -> None:
    """One line per RunFunction, at debug. The phase is read back from the answer: the memo
    keeps bytes only, and this runs only while debugging."""
    xr = req.observed.composite.resource
    mode = protobuf.field(xr, "spec", "mode")
    rsp = fnv1.RunFunctionResponse.FromString(out)
    fatal = any(r.severity == fnv1.SEVERITY_FATAL for r in rsp.results)
    phase = protobuf.field(rsp.desired.composite.resource, "status", "phase")
    log.debug(  # type: ignore[attr-defined]
        "RunFunction",
        **_who(xr),
        # A mode is logged only if it is one: the field is a team's free text.
        mode=mode.string_value if mode is not None and mode.string_value in _MODES else "",
        phase="fatal" if fatal else (phase.string_value if phase is not None else ""),
        memo=memo,
        ms=round((time.perf_counter() - start) * 1000, 3),
    )


def _config_yaml(xr: struct_pb2.Struct) -> str | None:
    value = protobuf.field(xr, "spec", "proxyConfig", "configYaml")
    return value.string_value if value is not None and value.WhichOneof("kind") == "string_value" else None


def _team(xr: struct_pb2.Struct) -> str:
    """Whose config it is: the namespace of the ModelAPI, or of the claim behind a legacy XR."""
    for path in (("metadata", "namespace"), ("metadata", "labels", CLAIM_NAMESPACE_LABEL)):
        value = protobuf.field(xr, *path)
        if value is not None and value.string_value:
            return value.string_value
    return ""


# Serialized answers by request key, each with when its ModelAPI became not ready (None: the
# answer carries its TTL already; else the TTL is added as it is sent, see _with_ttl). A
# platform keeps an entry per ready ModelAPI live, two per pending one (Crossplane calls again
# with the Pods the first call asked for). When they
# outnumber the memo, calls in the order of a resync pass evict each other before coming back
# and nothing hits: the budget must hold them all. ~5 KB an answer: 16 MiB hold ~3,000 ready
# ModelAPIs.
MEMO: LRU[bytes, tuple[bytes, datetime.datetime | None]] = LRU(16 * 1024 * 1024)
MEMO_ENTRY_OVERHEAD = 200  # the key, two bytes objects, a tuple and a dict slot


def reset_caches() -> None:
    """Forget every answer, verdict and object kept (tests: each computes its own)."""
    lru.clear_all()


def run(req: fnv1.RunFunctionRequest, log: object = None) -> fnv1.RunFunctionResponse:
    """The response, computed in this thread (tests and tools; the server awaits the runner)."""
    return fnv1.RunFunctionResponse.FromString(answer(req, log))


def memo_key(req: fnv1.RunFunctionRequest) -> bytes:
    """The request's deterministic serialization (Go's gRPC marshals maps in random order),
    tag included: Crossplane derives the tag from the rest, so it splits no repeat. SHA-256
    rather than BLAKE2: twice as fast with the CPU's SHA extensions."""
    return hashlib.sha256(req.SerializeToString(deterministic=True)).digest()


def answer(req: fnv1.RunFunctionRequest, log: object = None) -> bytes:
    key = memo_key(req)
    cached = MEMO.get(key)
    return _with_ttl(*cached) if cached is not None else _answer(req, key, log, {})


def _answer(req: fnv1.RunFunctionRequest, key: bytes, log: object, configs: dict[str, Verdict]) -> bytes:
    """The serialized response, memoized: it depends on nothing but the request (and, while
    the ModelAPI is not ready, the clock: its TTL), and in the steady state Crossplane sends
    the same request on every reconcile. Fatal answers are not kept."""
    rsp, since = _run(req, log, configs)
    out = rsp.SerializeToString()
    fatal = [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    if not fatal:
        MEMO.put(key, (out, since), cost=len(out) + MEMO_ENTRY_OVERHEAD)
    elif log is not None:
        # The result's message as the Synced condition shows it, and no more: it names the
        # field and never quotes a configYaml or a key.
        for message in fatal:
            log.info("fatal result", **_who(req.observed.composite.resource), message=message)  # type: ignore[attr-defined]
    return _with_ttl(out, since)


def _with_ttl(out: bytes, since: datetime.datetime | None) -> bytes:
    """The answer with the TTL of a ModelAPI not ready since `since`. Appended: a protobuf
    parser merges a message field given twice, so the meta (tag) stays and gains the TTL,
    computed now from the memoized answer without parsing it."""
    if since is None:
        return out
    ttl = requeue.pending_ttl(since, datetime.datetime.now(datetime.UTC))
    meta = fnv1.RunFunctionResponse(meta=fnv1.ResponseMeta(ttl=duration_pb2.Duration(seconds=int(ttl.total_seconds()))))
    return out + meta.SerializeToString()


def _run(
    req: fnv1.RunFunctionRequest, log: object, configs: dict[str, Verdict] | None = None
) -> tuple[fnv1.RunFunctionResponse, datetime.datetime | None]:
    """The response, and when its ModelAPI became not ready where its TTL depends on that
    (the response then carries no TTL: _with_ttl adds it)."""
    rsp = response.to(req)
    try:
        xr = protobuf.to_dict(req.observed.composite.resource)
        fn_input = protobuf.to_dict(req.input) if req.HasField("input") else None
        # None: not fetched (the function did not ask, or this is the call before the fetch).
        pods = protobuf.Pods(req.required_resources[PODS].items) if PODS in req.required_resources else None
        out = compose(xr, fn_input, protobuf.Observed(req.observed.resources), pods, configs)
    except SpecError as e:
        response.fatal(rsp, str(e))
        return rsp, None
    except Exception as e:  # noqa: BLE001 - one bad request must never take the server down
        if log is not None:
            # Where, not what: a traceback's locals and an error's text can carry the master key.
            frame = traceback.extract_tb(e.__traceback__)[-1]
            log.error(  # type: ignore[attr-defined]
                "unexpected error composing a ModelAPI",
                error=type(e).__name__,
                at=f"{pathlib.Path(frame.filename).name}:{frame.lineno} in {frame.name}",
            )
        response.fatal(rsp, f"internal error in function-modelapi: {type(e).__name__}")
        return rsp, None

    for key, obj in out.resources.items():
        desired = rsp.desired.resources[key]
        protobuf.set_struct(desired.resource, obj)
        if out.ready[key]:
            desired.ready = fnv1.READY_TRUE
    rsp.desired.composite.resource.get_or_create_struct("status").update(out.status)
    if out.needs_pods:
        response.require_resources(rsp, PODS, "v1", "Pod", match_labels=out.pod_labels, namespace=out.pod_namespace)
    for event in out.events:
        severity = fnv1.SEVERITY_WARNING if event.warning else fnv1.SEVERITY_NORMAL
        rsp.results.append(
            fnv1.Result(severity=severity, message=event.message, target=fnv1.TARGET_COMPOSITE_AND_CLAIM)
        )
    if out.status["ready"]:
        return rsp, None
    since = requeue.not_ready_since(xr)
    if since is None:
        rsp.meta.ttl.FromTimedelta(requeue.FIRST)
    else:
        rsp.meta.ClearField("ttl")
    return rsp, since
