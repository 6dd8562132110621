"""Serving: one process, one gRPC server and event loop, as the SDK's runtime.serve serves (the
v1 and v1beta1 services, reflection), but stopping more gently on SIGTERM: the SDK's stop
cancels calls that had arrived but waited behind a busy event loop, so this first answers
every call that arrived, then stops.

Crossplane keeps one connection to each function pod and sends every call on it, so to spread
one Crossplane's calls run more function pods (replicas behind the function's headless
Service): processes sharing a port would see one connection (the scale benchmark measured it,
benchmarks/README.md)."""

import asyncio
import os
import pathlib
import signal
import time
from collections.abc import Callable
from typing import Protocol

import click
import grpc
from crossplane.function import logging, runtime
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from crossplane.function.proto.v1beta1 import run_function_pb2_grpc as grpcv1beta1
from grpc_reflection.v1alpha import reflection

_MB = 1024 * 1024
_V1 = "apiextensions.fn.proto.v1.FunctionRunnerService"
# What Crossplane mounts in TLS_SERVER_CERTS_DIR, and why each is needed.
TLS_FILES = {
    "tls.crt": "the function's certificate, which Crossplane verifies",
    "tls.key": "the private key of tls.crt",
    "ca.crt": "the CA that signed Crossplane's client certificate: only Crossplane may call",
}


class Runner(Protocol):
    """What serving needs of a runner: its response serialized (the memo keeps answers as
    bytes, sent as they are)."""

    async def run_serialized(self, req: fnv1.RunFunctionRequest, context: grpc.aio.ServicerContext) -> bytes: ...


def run(runner: Runner, **options: object) -> None:
    if not options["insecure"] and not options["tls_certs_dir"]:
        raise click.UsageError("no credentials: give --tls-server-certs-dir or --insecure")
    if not options["insecure"]:
        _check_tls_dir(str(options["tls_certs_dir"]))
    _serve(runner, options)


def _check_tls_dir(path: str) -> None:
    """Before serving: a missing file would end in a traceback from deep in the SDK."""
    for name, why in TLS_FILES.items():
        file = pathlib.Path(path, name)
        try:
            file.read_bytes()
        except OSError as e:
            raise click.ClickException(
                f"--tls-server-certs-dir {path}: cannot read {name} ({e.strerror}); it is {why}. "
                "Crossplane mounts all three; to serve without mTLS give --insecure"
            ) from None


def _serve(runner: Runner, options: dict) -> None:
    logging.configure(level=logging.Level.DEBUG if options["debug"] else logging.Level.INFO)
    recv = options["max_recv_message_size"]
    send = options["max_send_message_size"] or recv
    grpc_options = [
        ("grpc.max_receive_message_length", recv * _MB),
        ("grpc.max_send_message_length", send * _MB),
        # gRPC shares ports by default; a second server on a taken port should fail.
        ("grpc.so_reuseport", 0),
    ]
    creds = None if options["insecure"] else runtime.load_credentials(options["tls_certs_dir"])
    log = logging.get_logger()
    where = {
        "address": options["address"],
        "tls": creds is not None,
        "pid": os.getpid(),
    }
    asyncio.run(_serve_until_sigterm(_Counting(runner), options["address"], creds, grpc_options, log, where))
    log.info("stopped", **where)


class _Counting(grpcv1.FunctionRunnerServiceServicer):
    """The runner, counting calls in progress and noting when the last one started or ended."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.active = 0
        self.last_change = time.monotonic()

    async def RunFunction(  # noqa: N802 - the gRPC method's name (v1beta1, through the SDK's wrapper)
        self, req: fnv1.RunFunctionRequest, context: grpc.aio.ServicerContext
    ) -> fnv1.RunFunctionResponse:
        return fnv1.RunFunctionResponse.FromString(await self.v1(req, context))

    async def v1(self, req: fnv1.RunFunctionRequest, context: grpc.aio.ServicerContext) -> bytes:
        return await self._counted(self.runner.run_serialized, req, context)

    async def _counted(self, call: Callable, req: fnv1.RunFunctionRequest, context: grpc.aio.ServicerContext) -> object:
        self.active += 1
        self.last_change = time.monotonic()
        try:
            return await call(req, context)
        finally:
            self.active -= 1
            # From the end too: a call that waited behind this one starts only once it ends.
            self.last_change = time.monotonic()

    async def quiet(self, settle: float, limit: float) -> None:
        """Until no call is in progress and none started or ended for `settle` seconds (at most `limit`)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and (self.active or time.monotonic() - self.last_change < settle):
            await asyncio.sleep(settle / 4)


async def _serve_until_sigterm(
    runner: _Counting,
    address: str,
    creds: grpc.ServerCredentials | None,
    grpc_options: list,
    log: object,
    where: dict,
) -> None:
    server = grpc.aio.server(options=grpc_options)
    _add_v1(runner, server)
    grpcv1beta1.add_FunctionRunnerServiceServicer_to_server(runtime.BetaFunctionRunner(wrapped=runner), server)
    reflection.enable_server_reflection(runtime.SERVICE_NAMES, server)
    if creds is None:
        server.add_insecure_port(address)
    else:
        server.add_secure_port(address, creds)
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stopping.set)
    await server.start()
    log.info("serving" + ("" if creds else " without mTLS (--insecure)"), **where)  # type: ignore[attr-defined]
    await stopping.wait()
    log.info("stopping: answering the calls that arrived", in_flight=runner.active, **where)  # type: ignore[attr-defined]
    grace = runtime.SHUTDOWN_GRACE_PERIOD_SECONDS
    await runner.quiet(settle=0.2, limit=grace)
    await server.stop(grace=grace)


def _add_v1(runner: _Counting, server: grpc.aio.Server) -> None:
    """The v1 service, as grpcv1.add_FunctionRunnerServiceServicer_to_server adds it, except
    that the response comes serialized already."""
    handlers = {
        "RunFunction": grpc.unary_unary_rpc_method_handler(
            runner.v1,
            request_deserializer=fnv1.RunFunctionRequest.FromString,
            response_serializer=bytes,  # serialized already
        )
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_V1, handlers),))
    server.add_registered_method_handlers(_V1, handlers)
