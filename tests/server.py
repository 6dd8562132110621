"""Start `python -m function` as Crossplane's Development runtime would reach it."""

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(*args: str) -> Iterator[str]:
    """Yields the address of a function server started with --insecure plus args."""
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "function", "--insecure", "--address", address, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(address.split(":"), timeout=1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"function server did not start: {proc.stdout.read().decode()}")
            time.sleep(0.05)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
