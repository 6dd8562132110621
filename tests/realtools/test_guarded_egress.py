"""What the platform's guardrails accept cannot reach a host they do not list, tried with the
real LiteLLM (issue 27).

The guardrails (function input `egress.allowedHosts`, `models.allowed`, `env.denied`) read a
team's proxy positively (function.guardrails, function.litellm_keys). This module tries, with
the real LiteLLM 1.108.7, every way of writing a proxy they accept to reach a host they do not
list:

- The listed host is a `fake_backend.FakeBackend` on loopback, the only entry of
  `egress.allowedHosts`. The unlisted host is a *trap*: a loopback listener that records every
  connection and what came first on it. Each way gets a trap of its own, so a connection names
  the way that made it.
- A way (the `WAYS` table) is a part of a ModelAPI: models with the litellm_params the allow-list
  permits, router/litellm/general settings, `environment_variables`, `proxyConfig.env` entries
  and, for a wildcard proxy, the model names a caller sends. Each writes its trap's address
  wherever the guardrails let it (a header, a tag, a model name, a credential variable, a
  region). First `compose()` must accept it: a way the guardrails refuse is no case here.
- The ways of one proxy are merged into one ModelAPI, composed under its platform, and the
  rendered LiteLLM container is started as the kubelet would (`tests/support/litellm_proxy.launch`:
  env resolved from the rendered Secrets, mounted files written, `$(VAR)` expanded,
  HOST=127.0.0.1, free ports). Four proxies, started at once: the configYaml of a platform with
  all three bounds, a wildcard proxy under egress and env, a configYaml under egress alone, and
  the control.
- One chat completion per model name, with the key from the rendered client Secret. Then the
  way's trap must have received nothing, requests for listed models must carry their nonce to
  the listed backend, and names the proxy does not route must be refused by LiteLLM itself. A
  proxy with background work (health checks) is given time to do it first: three of its
  health-check rounds reach the backend.
- The control: a config the guardrails refuse (`litellm_params.base_url` at a trap) is refused by
  `compose()`, and, rendered under a platform without guardrails and started, carries the
  prompt to its trap. Without it nothing here could fail.

A way that reaches its trap though the guardrails accept it is a finding: it stays in the table
marked xfail(strict=True), its reason naming the setting and what LiteLLM does with it, so the
suite stays green while the finding is visible, and fails the day the guardrails close it. Then
it moves, without the mark, to `CLOSED`: the ways the guardrails once let through (findings, and
ways that reached nothing) and refuse now, each kept with what it did or tried, and asserted to be
refused with a message naming the setting. They start no LiteLLM.

Without the LiteLLM install (`bash hack/install-litellm.sh`) the module skips, except under
CI=true, where it fails.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from function import names
from tests.support import need_tool
from tests.support.fake_backend import FakeBackend
from tests.support.guarded_ways import (
    CASES,
    CLOSED,
    CONTROL_TIMEOUT,
    HEALTH_CHECK_PROMPT,
    QUIET_ROUNDS,
    QUIET_TIMEOUT,
    REFUSED_NAME,
    REQUEST_TIMEOUT,
    WAYS,
    At,
    Case,
    ClosedWay,
    MissedListedBackendError,
    ReachedUnlistedHostError,
    Trap,
    Way,
    control_config,
    platform,
    proxy_config,
    refusal,
    way_params,
)
from tests.support.litellm_proxy import Proxy, Reply, http, launch, litellm_executable
from tests.support.server import free_port


# ---- the proxies ------------------------------------------------------------------------
@dataclass
class World:
    backend: FakeBackend
    traps: dict[str, Trap]
    proxies: dict[str, Proxy]
    refused: dict[str, str]  # way id -> the guardrails' refusal
    _replies: dict[str, list[tuple[str, str, Reply]]] = field(default_factory=dict)

    def at(self, key: str) -> At:
        return At(self.backend.url, self.traps[key].address)

    def exercise(self, way: Way) -> list[tuple[str, str, Reply]]:
        """One chat completion per model name of the way (once), with the client Secret's key."""
        if way.id not in self._replies:
            proxy = self.proxies[way.proxy].wait_ready()
            replies = []
            for name in way.requests:
                model = name.replace("{trap}", self.traps[way.id].address)
                nonce = f"nonce-{way.id}-{len(replies)}-{time.monotonic_ns()}"
                replies.append((model, nonce, ask(proxy, model, nonce)))
            self._replies[way.id] = replies
        return self._replies[way.id]

    def quiet(self, case: Case) -> None:
        """For a proxy with background work: QUIET_ROUNDS of its health checks reached the backend."""
        if not case.heartbeat:
            return
        deadline = time.monotonic() + QUIET_TIMEOUT
        while self._rounds() < QUIET_ROUNDS:
            assert self.proxies[case.name].process.poll() is None, self.proxies[case.name].log_tail()
            assert time.monotonic() < deadline, (
                f"{case.name}: {self._rounds()} health-check rounds within {QUIET_TIMEOUT:.0f} s, "
                f"not {QUIET_ROUNDS}: its background work cannot be said to have run"
            )
            time.sleep(0.5)

    def _rounds(self) -> int:
        return len([r for r in self.backend.carrying(HEALTH_CHECK_PROMPT) if r.model == "mistral"])


def ask(proxy: Proxy, model: str, nonce: str) -> Reply:
    body = {"model": model, "messages": [{"role": "user", "content": f"say hi {nonce}"}]}
    key = proxy.client[names.CLIENT_API_KEY_KEY]
    return http("POST", f"{proxy.base_url}/chat/completions", body, {"Authorization": f"Bearer {key}"}, REQUEST_TIMEOUT)


@pytest.fixture(scope="module")
def litellm_bin() -> Path:
    """A loud skip without it (a failure under CI=true)."""
    return Path(need_tool(str(litellm_executable()), "LiteLLM (bash hack/install-litellm.sh, ~2 min, ~750 MB)"))


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, litellm_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    backend = FakeBackend("listed").start()
    traps = {w.id: Trap() for w in WAYS} | {"control": Trap()}
    world = World(backend, traps, {}, {})
    try:
        for case in CASES.values():
            parts = []
            for way in (w for w in WAYS if w.proxy == case.name):
                part = way.part(world.at(way.id))
                why = refusal(case, proxy_config(case, backend.url, [part]), backend.url)
                if why is not None:
                    world.refused[way.id] = why
                else:
                    parts.append(part)
            if not parts:
                continue
            world.proxies[case.name] = launch(
                case.name,
                proxy_config(case, backend.url, parts),
                {},
                {"listed": backend},
                litellm_bin,
                tmp_path_factory.mktemp(case.name),
                free_port(),
                platform(case.platform, backend.url),
            )
        world.proxies["control"] = launch(
            "control",
            control_config(world.at("control")),
            {},
            {"listed": backend},
            litellm_bin,
            tmp_path_factory.mktemp("control"),
            free_port(),
            platform("none", backend.url),
        )
        # All at once: four on two cores start within LiteLLM's 30 s for its metrics process.
        for proxy in world.proxies.values():
            proxy.spawn()
        yield world
    finally:
        for proxy in world.proxies.values():
            proxy.stop()
        for trap in traps.values():
            trap.close()
        backend.stop()
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line("")
                for name, proxy in world.proxies.items():
                    if proxy.ready_after is not None:
                        state = f"up after {proxy.ready_after:.1f} s"
                    else:
                        state = f"never up (exit code {proxy.process.returncode if proxy.process else None})"
                    reporter.write_line(f"litellm {name}: {state} (log: {proxy.log})")


# ---- the tests --------------------------------------------------------------------------
PLACEHOLDER = At("http://127.0.0.1:18080", "127.0.0.1:18081")


@pytest.mark.parametrize("way", [pytest.param(w, id=w.id) for w in WAYS])
def test_the_guardrails_accept_each_way(way: Way) -> None:
    case = CASES[way.proxy]
    assert refusal(case, proxy_config(case, PLACEHOLDER.listed, [way.part(PLACEHOLDER)]), PLACEHOLDER.listed) is None


@pytest.mark.parametrize("way", [pytest.param(w, id=w.id) for w in CLOSED])
def test_a_way_the_guardrails_once_let_through_is_refused(way: ClosedWay) -> None:
    case = CASES[way.proxy]
    why = refusal(case, proxy_config(case, PLACEHOLDER.listed, [way.part(PLACEHOLDER)]), PLACEHOLDER.listed)
    assert why is not None and why.startswith(way.setting), f"{way.id} ({way.why}): {why}"


def accepted(world: World, way: Way) -> None:
    assert way.id not in world.refused, f"the guardrails refuse it: it belongs in CLOSED ({world.refused[way.id]})"


@pytest.mark.parametrize("way", way_params(WAYS, lambda w: w.reaches_trap, ReachedUnlistedHostError))
def test_a_way_the_guardrails_accept_reaches_no_unlisted_host(world: World, way: Way) -> None:
    accepted(world, way)
    world.exercise(way)
    case = CASES[way.proxy]
    assert world.proxies[case.name].process.poll() is None, world.proxies[case.name].log_tail()
    world.quiet(case)
    trap = world.traps[way.id]
    if trap.received:
        raise ReachedUnlistedHostError(f"{way.id}: {trap.describe()}")


@pytest.mark.parametrize(
    "way",
    way_params([w for w in WAYS if w.requests and w.served], lambda w: w.misses_backend, MissedListedBackendError),
)
def test_requests_for_listed_models_reach_the_listed_backend(world: World, way: Way) -> None:
    accepted(world, way)
    for model, nonce, reply in world.exercise(way):
        if not world.backend.carrying(nonce):
            raise MissedListedBackendError(f"{model}: LiteLLM said {reply.status} {reply.body[:300]!r}")


@pytest.mark.parametrize("way", [pytest.param(w, id=w.id) for w in WAYS if w.requests and not w.served])
def test_names_the_proxy_does_not_serve_are_refused_by_litellm(world: World, way: Way) -> None:
    accepted(world, way)
    for model, nonce, reply in world.exercise(way):
        said = f"{model}: LiteLLM said {reply.status} {reply.body[:300]!r}"
        assert reply.status == 400 and any(r in reply.body for r in REFUSED_NAME), said
        assert not world.backend.carrying(nonce), said


@pytest.mark.parametrize("kind", ["egress", "egress+env", "all"])
def test_the_control_config_is_refused_by_the_guardrails(kind: str) -> None:
    case = Case("control", kind)
    why = refusal(case, control_config(PLACEHOLDER), PLACEHOLDER.listed)
    assert why is not None and "litellm_params.base_url" in why, why


def test_the_control_config_started_anyway_reaches_the_trap(world: World) -> None:
    proxy = world.proxies["control"].wait_ready()
    nonce = f"nonce-control-{time.monotonic_ns()}"
    reply = ask(proxy, "leak", nonce)
    trap = world.traps["control"]
    deadline = time.monotonic() + CONTROL_TIMEOUT
    while not any(nonce.encode() in data for data in trap.received):
        assert time.monotonic() < deadline, (
            f"the prompt never reached the trap ({trap.describe()}); {reply.body[:300]!r}"
        )
        time.sleep(0.25)
    assert world.backend.carrying(nonce) == []
