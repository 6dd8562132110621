"""Serving on several cores: `--workers N` forks N processes that share the port (SO_REUSEPORT),
each with its own gRPC server and event loop, as the SDK serves one. One worker (the default)
is the SDK's own serving, unchanged.

The kernel spreads connections across workers, not requests: Crossplane keeps one connection
to each function pod, so more pods (replicas behind the function's headless Service) spread
one Crossplane's calls; workers spread calls from several connections.

Workers are forked before any of them starts gRPC (gRPC does not survive a fork of a running
server) and after the function is imported, so they share its code pages and its master key
seed (keys derived before the client Secret exists must not depend on the worker)."""

import multiprocessing
import os
import signal
import sys

import click
from crossplane.function import cli as sdkcli
from crossplane.function import logging, runtime
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    envvar="WORKERS",
    help="Worker processes sharing the address (SO_REUSEPORT), each with its own event loop.",
)

# The parent waits for these; workers inherit them blocked and unblock them.
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
_MB = 1024 * 1024


def run(runner: grpcv1.FunctionRunnerServiceServicer, *, workers: int, **options: object) -> None:
    if workers == 1:
        sdkcli.run(runner, **options)  # type: ignore[arg-type]
        return
    if not options["insecure"] and not options["tls_certs_dir"]:
        raise click.UsageError("no credentials: give --tls-server-certs-dir or --insecure")
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    fork = multiprocessing.get_context("fork")
    procs = [fork.Process(target=_worker, args=(runner, options), name=f"worker-{i}") for i in range(workers)]
    for p in procs:
        p.start()
    sys.exit(_supervise(procs))


def _worker(runner: grpcv1.FunctionRunnerServiceServicer, options: dict) -> None:
    # Until the SDK's server handles SIGTERM, nothing is in flight: exit at once, without
    # unwinding a half-started gRPC (that can crash). Ctrl-C reaches the whole process group;
    # the parent turns it into one SIGTERM per worker.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    logging.configure(level=logging.Level.DEBUG if options["debug"] else logging.Level.INFO)
    recv = options["max_recv_message_size"]
    send = options["max_send_message_size"] or recv
    runtime.serve(
        runner,
        options["address"],
        creds=runtime.load_credentials(options["tls_certs_dir"]),
        insecure=options["insecure"],
        options=[
            ("grpc.max_receive_message_length", recv * _MB),
            ("grpc.max_send_message_length", send * _MB),
            ("grpc.so_reuseport", 1),
        ],
    )


def _supervise(procs: list) -> int:
    """Wait for the workers. SIGTERM or SIGINT stops them all gracefully (the SDK's grace
    period); a worker that exits on its own stops the others too, and the exit code says so,
    so that Kubernetes restarts the pod."""
    live, stopped, failed = list(procs), False, False
    while live:
        asked = signal.sigwait(_SIGNALS) != signal.SIGCHLD
        for p in [p for p in live if not p.is_alive()]:
            live.remove(p)
            failed = failed or p.exitcode != 0 or not (stopped or asked)
        if (asked or failed) and not stopped:
            stopped = True
            for p in live:
                p.terminate()  # SIGTERM: the SDK stops its server gracefully
    return 1 if failed else 0
