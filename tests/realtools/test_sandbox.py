"""A configYaml is read off the server's event loop: in worker processes, within a deadline, one
team at a time. In-process with the Sandbox itself, and over gRPC with the real server while
costly configs are in flight."""

import asyncio
import contextlib
import pathlib
import sys
import time

import grpc
import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import fn, litellm_config, sandbox
from tests.support.builders import HOSTED, PROXY, request, xr
from tests.support.server import start_server

MODELS = "model_list: [{model_name: m, litellm_params: {model: m}}]\n"
# Longer than the sandbox reads in place.
BIG = MODELS + "x: os.environ/KEY\n" + "# a comment\n" * 100
METHOD = "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction"


def costly(i: int, refused: bool = False) -> str:
    """A config within the bounds that still takes PyYAML a good part of a second: as many list
    items as the bounds allow. Refused ones end in a tab, which only PyYAML refuses, at the end."""
    items = "1," * (litellm_config.MAX_NODES - 20)
    return f"{MODELS}# {i}\nx: [{items}{chr(9) if refused else ''}1]\n"


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_short_config_is_read_in_place():
    async def go():
        box = sandbox.Sandbox()
        return await box.verdict(MODELS, "team-a"), box._idle

    verdict, workers = run(go())
    assert verdict == litellm_config.read(MODELS)
    assert verdict.models == ((0, "m", "m", ""),)
    assert workers == []


def test_a_config_is_read_in_a_worker_and_remembered():
    async def go():
        box = sandbox.Sandbox()
        try:
            first = await box.verdict(BIG, "team-a")
            workers = list(box._idle)
            again = await box.verdict(BIG, "team-b")
            return first, again, workers, list(box._idle)
        finally:
            await box.close()

    first, again, workers, idle = run(go())
    assert len(BIG.encode()) > sandbox.INLINE_BYTES
    assert first == again == litellm_config.read(BIG)
    assert (first.env_refs, first.models) == (("KEY",), ((0, "m", "m", ""),))
    assert len(workers) == 1
    assert idle == workers  # the second answer came from the verdicts, not from a worker


def test_a_worker_gets_no_environment(monkeypatch):
    """The server's environment holds the key seed; the worker needs nothing of it."""
    monkeypatch.setenv("MODELAPI_KEY_SEED", "a-seed-the-worker-must-not-see")

    async def go():
        box = sandbox.Sandbox()
        try:
            await box.verdict(BIG, "team-a")
            with open(f"/proc/{box._idle[0].pid}/environ", "rb") as f:
                return f.read()
        finally:
            await box.close()

    assert run(go()) == b""


def test_a_reading_past_its_cpu_budget_is_refused_and_the_worker_reads_the_next():
    async def go():
        box = sandbox.Sandbox(cpu_budget=0.001)
        try:
            late = await box.verdict(costly(0), "team-a")
            workers = list(box._idle)
            box.cpu_budget = sandbox.CPU_BUDGET
            return late, workers, await box.verdict(BIG, "team-a"), list(box._idle)
        finally:
            await box.close()

    late, workers, next_one, after = run(go())
    assert isinstance(late, litellm_config.ConfigError)
    assert str(late).startswith("could not be read within 0.8 s of CPU")
    assert isinstance(next_one, litellm_config.Facts)
    assert after == workers and len(workers) == 1  # the worker stopped the reading and went on


def test_a_reader_that_cannot_start_refuses_for_now_and_the_next_call_tries_again(monkeypatch):
    monkeypatch.setattr(sandbox, "_COMMAND", ("/nonexistent/python",))

    async def go():
        box = sandbox.Sandbox()
        return await box.verdict(BIG, "team-a")

    verdict = run(go())
    assert isinstance(verdict, litellm_config.ConfigError)
    assert str(verdict).startswith("could not be read: the reader did not start")
    assert litellm_config.VERDICTS.get(litellm_config.digest(BIG)) is None


# A worker that starts, takes a text and dies on it, as one killed for its memory would.
DIES = (sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.buffer.read(8); sys.exit(1)")


def test_a_reader_that_dies_on_a_text_is_a_verdict_remembered_for_a_while(monkeypatch):
    """Not "try again" and a new worker on every reconcile: the text's verdict, kept as an overrun is."""
    monkeypatch.setattr(sandbox, "_COMMAND", DIES)
    text = BIG + "# dies\n"
    started = []

    async def go():
        box = sandbox.Sandbox()
        start = box._start

        async def counted():
            started.append(1)
            return await start()

        box._start = counted
        try:
            return [await box.verdict(text, "team-a") for _ in range(3)]
        finally:
            await box.close()

    verdicts = run(go())
    assert len(started) == 1
    assert all(isinstance(v, sandbox.OverrunError) for v in verdicts), verdicts
    assert str(verdicts[0]).startswith("could not be read: the reader stopped on it"), verdicts[0]
    assert litellm_config.VERDICTS.get(litellm_config.digest(text)) is verdicts[0]


def test_render_s_reader_dying_on_a_text_is_a_verdict(monkeypatch):
    monkeypatch.setattr(sandbox, "_COMMAND", DIES)
    verdict = sandbox.verdict_now(BIG + "# dies in render\n")
    assert str(verdict).startswith("could not be read: the reader stopped on it"), verdict


def test_one_text_asked_for_twice_at_once_is_read_once(monkeypatch):
    asked = []

    async def go():
        box = sandbox.Sandbox()
        ask = box._ask
        monkeypatch.setattr(box, "_ask", lambda worker, text, budget: asked.append(text) or ask(worker, text, budget))
        try:
            return await asyncio.gather(*(box.verdict(costly(1), f"team-{i}") for i in range(3)))
        finally:
            await box.close()

    verdicts = run(go())
    assert len(asked) == 1
    assert len(set(verdicts)) == 1
    assert isinstance(verdicts[0], litellm_config.Facts)


async def until(seen, what: str, timeout: float = 60) -> None:
    """Waits, without blocking the loop, until SEEN() is true."""
    deadline = time.monotonic() + timeout
    while not seen():
        assert time.monotonic() < deadline, f"not seen within {timeout} s: {what}"
        await asyncio.sleep(0.001)


def test_a_team_keeps_at_most_one_worker_busy_and_others_go_past_it():
    """Four costly texts from one team, then one from another: the other team's is answered
    second, not fifth."""

    async def go():
        box = sandbox.Sandbox(workers=2)
        done: list[str] = []

        async def ask(text: str, team: str, label: str) -> None:
            await box.verdict(text, team)
            done.append(label)

        try:
            # Both workers started first: starting one on a busy machine takes longer than a reading.
            await asyncio.gather(box.verdict(BIG, "warm-a"), box.verdict(BIG + "#\n", "warm-b"))
            assert len(box._idle) == 2
            slow = [asyncio.create_task(ask(costly(10 + i), "team-slow", f"slow-{i}")) for i in range(4)]
            # All four asked, the first one in a worker, the others waiting for their team.
            await until(lambda: len(box._pending) == 4 and box._slots._value == 1, "slow-0 read, the rest queued")
            await ask(costly(20), "team-b", "other")
            await asyncio.gather(*slow)
            return done
        finally:
            await box.close()

    done = run(go())
    # The slow team's four are read one after another; the other team's beside the first.
    assert done.index("other") < done.index("slow-3"), done


# --------------------------------------------------------------------------------------------
# Over gRPC: valid calls while costly ones are in flight
# --------------------------------------------------------------------------------------------


def fatals(rsp: bytes) -> list[str]:
    out = fnv1.RunFunctionResponse.FromString(rsp)
    return [r.message for r in out.results if r.severity == fnv1.SEVERITY_FATAL]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("function"), "--insecure")
    yield server
    server.stop()


def reading_workers(server) -> int:
    """The server's worker processes that are running (a worker waiting for a text sleeps)."""
    pid = server.proc.pid
    children = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    states = []
    for child in children:
        with contextlib.suppress(FileNotFoundError):  # a worker that ended meanwhile
            states.append(pathlib.Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0])
    return states.count("R")


def test_valid_calls_are_answered_correctly_while_costly_configs_are_read(server):
    """Several teams' costly configs in flight (read in the sandbox, a good part of a second
    each), then valid calls: each valid call gets the answer the function computes in
    process, and all of them before any costly one is answered."""
    costly_xrs = [
        xr({"mode": "Proxy", "proxyConfig": {"configYaml": costly(100 + i, refused=i % 2 == 1)}}, namespace=f"bad-{i}")
        for i in range(4)
    ]
    valid_xrs = [xr(PROXY, name=f"proxy-{i}") if i % 3 == 0 else xr(HOSTED, name=f"hosted-{i}") for i in range(9)] + [
        xr({"mode": "Proxy", "proxyConfig": {"configYaml": MODELS}}, name="small-config")
    ]

    async def go():
        finished: dict[str, float] = {}
        async with grpc.aio.insecure_channel(server.address) as channel:
            call = channel.unary_unary(METHOD, request_serializer=fnv1.RunFunctionRequest.SerializeToString)

            async def send(label: str, composite: dict) -> bytes:
                rsp = await call(request(composite), timeout=60)
                finished[label] = time.monotonic()
                return rsp

            slow = [asyncio.create_task(send(f"costly-{i}", c)) for i, c in enumerate(costly_xrs)]
            await until(lambda: reading_workers(server) == sandbox.WORKERS, "both workers reading")
            valid = [await send(f"valid-{i}", c) for i, c in enumerate(valid_xrs)]
            return valid, await asyncio.gather(*slow), finished

    valid, slow, finished = run(go())
    for composite, rsp in zip(valid_xrs, valid, strict=True):
        # Equal messages (map order in the bytes differs between processes).
        assert fnv1.RunFunctionResponse.FromString(rsp) == fn.run(request(composite)), composite["metadata"]["name"]
        assert not fatals(rsp)
    for i, rsp in enumerate(slow):
        if i % 2:
            assert [m[:40] for m in fatals(rsp)] == ["spec.proxyConfig.configYaml: not valid Y"]
        else:
            assert not fatals(rsp)
    last_valid = max(t for label, t in finished.items() if label.startswith("valid"))
    first_costly = min(t for label, t in finished.items() if label.startswith("costly"))
    assert last_valid < first_costly, finished
