"""The gRPC adapter: a RunFunctionRequest in, the core's objects and status out."""

import datetime
from collections.abc import Iterator, Mapping

import grpc
from crossplane.function import logging, resource, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from function.compose import compose
from function.spec import SpecError

# The ModelAPI's pods, fetched by Crossplane on request: they explain a Pending status.
PODS = "pods"
# Come back sooner while waiting: pods are not watched, so nothing else wakes us.
_PENDING_TTL = datetime.timedelta(seconds=20)


class _Observed(Mapping[str, dict]):
    """Observed composed resources, each converted from protobuf only when the core reads it."""

    def __init__(self, resources: Mapping[str, fnv1.Resource]) -> None:
        self._resources = resources
        self._seen: dict[str, dict] = {}

    def __getitem__(self, key: str) -> dict:
        if key not in self._seen:
            if key not in self._resources:  # reading a protobuf map would add the key
                raise KeyError(key)
            self._seen[key] = resource.struct_to_dict(self._resources[key].resource)
        return self._seen[key]

    def __contains__(self, key: object) -> bool:
        return key in self._resources

    def __iter__(self) -> Iterator[str]:
        return iter(self._resources)

    def __len__(self) -> int:
        return len(self._resources)


class FunctionRunner(grpcv1.FunctionRunnerServiceServicer):
    def __init__(self) -> None:
        self.log = logging.get_logger()

    async def RunFunction(  # noqa: N802 - the gRPC method's name
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        return run(req, self.log)


def run(req: fnv1.RunFunctionRequest, log: object = None) -> fnv1.RunFunctionResponse:
    rsp = response.to(req)
    try:
        xr = resource.struct_to_dict(req.observed.composite.resource)
        fn_input = resource.struct_to_dict(req.input) if req.HasField("input") else None
        pods = (
            [resource.struct_to_dict(item.resource) for item in req.required_resources[PODS].items]
            if PODS in req.required_resources
            else []
        )
        out = compose(xr, fn_input, _Observed(req.observed.resources), pods)
    except SpecError as e:
        response.fatal(rsp, str(e))
        return rsp
    except Exception as e:
        if log is not None:
            log.exception("unexpected error composing a ModelAPI")  # type: ignore[attr-defined]
        response.fatal(rsp, f"internal error in function-modelapi: {type(e).__name__}")
        return rsp

    for key, obj in out.resources.items():
        desired = rsp.desired.resources[key]
        desired.resource.update(obj)
        if out.ready[key]:
            desired.ready = fnv1.READY_TRUE
    rsp.desired.composite.resource.get_or_create_struct("status").update(out.status)
    response.require_resources(rsp, PODS, "v1", "Pod", match_labels=out.pod_labels, namespace=out.pod_namespace)
    for event in out.events:
        severity = fnv1.SEVERITY_WARNING if event.warning else fnv1.SEVERITY_NORMAL
        rsp.results.append(
            fnv1.Result(severity=severity, message=event.message, target=fnv1.TARGET_COMPOSITE_AND_CLAIM)
        )
    if not out.status["ready"]:
        rsp.meta.ttl.FromTimedelta(_PENDING_TTL)
    return rsp
