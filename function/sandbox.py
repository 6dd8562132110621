"""Untrusted parsing off the server's event loop: a team's configYaml is read in a worker
process, within a CPU budget, so that a slow text costs the team that wrote it and no one else.

One event loop serves every ModelAPI of a platform, and PyYAML's pure-Python parser holds
whatever thread runs it (a thread would still hold the GIL, and could not be stopped). A
worker process runs on another core, stops a reading at its budget (and is killed if it stops
answering), and holds nothing of the server's: it gets no environment (the key seed stays
out) and answers only verdicts.

A short text (most configs) is read in place: it costs milliseconds at worst. Longer ones
from one team (namespace) wait for each other, so a team sending many slow texts keeps
at most one worker busy; at most WORKERS run at once. Verdicts are remembered by digest
(`litellm_config.VERDICTS`): a config is read once, not on every reconcile.

`python -m function.sandbox` is the worker: texts in on stdin (the text's length and the CPU
budget in milliseconds, 4 bytes each, then the text), one JSON line out per text on stdout,
after a first line `ready`."""

import asyncio
import contextlib
import json
import pathlib
import resource
import select
import signal
import subprocess
import sys
import weakref

from function import litellm_config
from function.litellm_config import ConfigError, Facts, Verdict

WORKERS = 2
# CPU seconds a reading may take. Every config within the bounds reads in under ~0.5 s here (the
# benchmark's hostile table); this is a backstop for shapes the bounds do not foresee. CPU time,
# not wall time, so that a busy node does not turn a valid config into a refused one.
CPU_BUDGET = 0.8
# Wall time for an answer, for a worker that hangs or is starved for good: it is killed.
DEADLINE = 10.0
# A text this short reads in a few milliseconds at worst (~300 nodes): here, without a worker.
INLINE_BYTES = 1024
# An overrun may come of a busy machine, not of the text: its refusal is retried after this.
OVERRUN_TTL = 60.0
# Starting a worker (Python and PyYAML) is not the text's fault: it has its own allowance.
START_TIMEOUT = 10.0
# Far more than any admitted config takes to read; a parse past it fails, not the pod.
WORKER_MEMORY = 512 * 1024 * 1024
_READY = b"ready\n"
# An answer is one line: a config's facts can be several times its 64 KiB (asyncio's default).
_LINE_LIMIT = 8 * 1024 * 1024
# The worker imports this package from where it is installed, not from the caller's cwd.
_PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent.parent
_COMMAND = (sys.executable, "-E", "-s", "-m", "function.sandbox")


class OverrunError(ConfigError):
    """A reading past its budget. It may come of a worker starved for CPU, not of the text: its
    verdict is kept for a while only."""


def overrun() -> OverrunError:
    return OverrunError(
        f"could not be read within {CPU_BUDGET} s of CPU: a LiteLLM config of the admitted size reads "
        "in a fraction of that, so this one is shaped to be costly; simplify it"
    )


def stopped(why: str) -> OverrunError:
    """The reader died on a text (its memory, a crash): a verdict like an overrun, kept a while,
    so that the text does not start a worker on every reconcile."""
    return OverrunError(f"could not be read: the reader stopped on it ({why}); simplify it, or try again later")


class _Overrun(Exception):  # noqa: N818 - a signal, not an error of the text
    pass


def _frame(text: str, cpu_budget: float) -> bytes:
    """The text's length, the CPU budget in milliseconds, the text."""
    data = text.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(4, "big") + round(cpu_budget * 1000).to_bytes(4, "big") + data


def _verdict(line: bytes) -> Verdict:
    answer = json.loads(line)
    if "facts" in answer:
        return Facts.from_json(answer["facts"])
    if answer.get("overrun"):
        return overrun()
    return ConfigError(answer["error"])


def _remember(key: bytes, found: Verdict) -> Verdict:
    litellm_config.VERDICTS.put(key, found, ttl=OVERRUN_TTL if isinstance(found, OverrunError) else None)
    return found


class Sandbox:
    """Reads configs in worker processes for an asyncio server."""

    def __init__(self, workers: int = WORKERS, cpu_budget: float = CPU_BUDGET) -> None:
        self.cpu_budget = cpu_budget
        self._slots = asyncio.Semaphore(workers)
        self._idle: list[asyncio.subprocess.Process] = []
        self._teams: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._pending: dict[bytes, asyncio.Future[Verdict]] = {}

    async def verdict(self, text: str, team: str) -> Verdict:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size <= INLINE_BYTES or size > litellm_config.MAX_BYTES:  # cheap either way
            return litellm_config.verdict(text)
        key = litellm_config.digest(text)
        found = litellm_config.VERDICTS.get(key)
        if found is not None:
            return found
        pending = self._pending.get(key)
        if pending is not None:  # the same text, asked for twice at once: read once
            return await asyncio.shield(pending)
        future = self._pending[key] = asyncio.get_running_loop().create_future()
        try:
            found = await self._read(key, text, team)
            future.set_result(found)
            return found
        finally:
            del self._pending[key]
            if not future.done():
                future.cancel()

    async def _read(self, key: bytes, text: str, team: str) -> Verdict:
        lock = self._teams.get(team)
        if lock is None:
            lock = self._teams[team] = asyncio.Lock()
        async with lock, self._slots:
            try:
                worker = self._idle.pop() if self._idle else await self._start()
            except (OSError, TimeoutError) as e:
                return ConfigError(f"could not be read: the reader did not start ({type(e).__name__}); try again")
            try:
                found = await asyncio.wait_for(self._ask(worker, text, self.cpu_budget), DEADLINE)
            except TimeoutError:
                await _kill(worker)
                return _remember(key, overrun())
            except (OSError, ValueError, KeyError) as e:  # the worker died: its memory, a crash
                await _kill(worker)
                return _remember(key, stopped(type(e).__name__))
            self._idle.append(worker)
            return _remember(key, found)

    @staticmethod
    async def _ask(worker: asyncio.subprocess.Process, text: str, cpu_budget: float) -> Verdict:
        worker.stdin.write(_frame(text, cpu_budget))  # type: ignore[union-attr]
        await worker.stdin.drain()  # type: ignore[union-attr]
        return _verdict(await worker.stdout.readline())  # type: ignore[union-attr]

    async def _start(self) -> asyncio.subprocess.Process:
        worker = await asyncio.create_subprocess_exec(
            *_COMMAND,
            cwd=_PACKAGE_ROOT,
            env={},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            limit=_LINE_LIMIT,
        )
        try:
            if await asyncio.wait_for(worker.stdout.readline(), START_TIMEOUT) != _READY:  # type: ignore[union-attr]
                raise OSError("the config reader did not start")
        except (TimeoutError, OSError):
            await _kill(worker)
            raise
        return worker

    async def close(self) -> None:
        while self._idle:
            await _kill(self._idle.pop())


async def _kill(worker: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.kill()
    await worker.wait()


def verdict_now(text: str, cpu_budget: float = CPU_BUDGET) -> Verdict:
    """The same bound for a command (render): a worker of its own, within the CPU budget."""
    key = litellm_config.digest(text)
    found = litellm_config.VERDICTS.get(key)
    if found is not None:
        return found
    with subprocess.Popen(
        _COMMAND, cwd=_PACKAGE_ROOT, env={}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as worker:
        try:
            if not _readable(worker, START_TIMEOUT) or worker.stdout.readline() != _READY:  # type: ignore[union-attr]
                raise OSError("the config reader did not start")
            worker.stdin.write(_frame(text, cpu_budget))  # type: ignore[union-attr]
            worker.stdin.flush()  # type: ignore[union-attr]
            if not _readable(worker, DEADLINE):
                return _remember(key, overrun())
            try:
                found = _verdict(worker.stdout.readline())  # type: ignore[union-attr]
            except (ValueError, KeyError) as e:  # it died on the text
                found = stopped(type(e).__name__)
        finally:
            worker.kill()
    return _remember(key, found)


def _readable(worker: subprocess.Popen, timeout: float) -> bool:
    return bool(select.select([worker.stdout], [], [], timeout)[0])


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = WORKER_MEMORY if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.signal(signal.SIGPROF, _overran)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(_READY)
    stdout.flush()
    while header := stdin.read(8):
        size, budget_ms = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")
        text = stdin.read(size).decode("utf-8", "surrogatepass")
        stdout.write(json.dumps(_read(text, budget_ms / 1000)).encode() + b"\n")
        stdout.flush()


def _read(text: str, cpu_budget: float) -> dict:
    # ITIMER_PROF counts this process's CPU time (user and system), not the machine's load.
    signal.setitimer(signal.ITIMER_PROF, cpu_budget)
    try:
        return {"facts": litellm_config.read(text).to_json()}
    except ConfigError as e:
        return {"error": str(e)}
    except _Overrun:
        return {"overrun": True}
    except MemoryError:
        return {"error": "took more memory to read than any LiteLLM config needs; simplify it"}
    except Exception as e:  # noqa: BLE001 - a verdict, not a dead worker started again on every call
        return {"error": f"could not be read as a LiteLLM config ({type(e).__name__})"}
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _overran(*_: object) -> None:
    raise _Overrun


if __name__ == "__main__":
    main()
