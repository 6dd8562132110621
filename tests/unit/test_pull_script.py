"""The Hosted init container's pull script, run for real with /bin/sh.

The script and its env come from the rendered Deployment (initContainers[0].command and
env, after the kubelet's `$(VAR)` expansion). `ollama` is a stand-in, written once per module
(before any test runs scripts side by side) and put first on PATH, each run's settings in a file
the env names: `ollama serve` stays up until killed and answers `ollama list` only
after a delay, `ollama pull` parses its arguments as Ollama's CLI (cobra) does and records
them. Every call is logged as one JSON line.
"""

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from function import names, ollama, spec
from function.compose import compose
from tests.support.fake_backend import kube_env, kube_expand

RUN_TIMEOUT = 30.0
CONFIG_ENV = "PULL_STANDIN_CONFIG"

STANDIN = """\
#!{python}
import json, os, signal, sys, time

with open(os.environ["{config_env}"]) as f:
    CONFIG = json.load(f)
ENV_SEEN = ("OLLAMA_HOST", "OLLAMA_MODELS", "MODEL", "PULL_WAIT_SECONDS", "OLLAMA_DEBUG")


def started():
    # The process's start time (clock ticks since boot): with its pid, names this process and no
    # other, once the pid is free for the next one (the harness must never signal a stranger).
    with open("/proc/self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def record(event, **fields):
    line = {{"event": event, "argv": sys.argv[1:], "pid": os.getpid(), "started": started(), "t": time.time()}}
    line.update(fields)
    line["env"] = {{k: os.environ.get(k) for k in ENV_SEEN}}
    with open(CONFIG["log"], "a") as f:
        f.write(json.dumps(line) + "\\n")


def server_up():
    try:
        with open(CONFIG["state"]) as f:
            state = json.load(f)
        os.kill(state["pid"], 0)
    except (OSError, ValueError):
        return False
    return time.time() >= state["ready_at"]


command = sys.argv[1] if len(sys.argv) > 1 else ""
if command == "serve":
    record("serve")
    # As Ollama's server logs its settings at start, proxies (and their credentials) included.
    proxy = os.environ.get("HTTPS_PROXY", "")
    print(f'level=INFO msg="server config" env="map[HTTPS_PROXY:{{proxy}}]"', file=sys.stderr)
    if CONFIG["serve"] == "die":
        print("Error: listen tcp 127.0.0.1:11434: bind: address already in use", file=sys.stderr)
        sys.exit(1)

    def stop(signum, frame):
        record("serve-stopped", signal=signum)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ready_at = time.time() + CONFIG["delay"] if CONFIG["serve"] == "ok" else 1e18
    with open(CONFIG["state"] + ".tmp", "w") as f:
        json.dump({{"pid": os.getpid(), "ready_at": ready_at}}, f)
    os.replace(CONFIG["state"] + ".tmp", CONFIG["state"])
    while True:
        signal.pause()
elif command == "list":
    time.sleep(CONFIG.get("list_delay", 0))  # a server thrashing for memory answers slowly
    up = server_up()
    record("list", up=up)
    if not up:
        print("Error: could not connect to ollama app, is it running?", file=sys.stderr)
        sys.exit(1)
    print("NAME    ID    SIZE    MODIFIED")
elif command == "show":
    # Present when the test put it in the cache; as cobra reads `show -- NAME`.
    name = list(sys.argv[2:])
    if "--" in name:
        name.remove("--")  # the first one only: it ends the flags
    cached = name == [os.environ.get("MODEL")] and CONFIG["cached"]
    record("show", args=name, up=server_up(), cached=cached)
    if not cached:
        print(f"Error: model '{{name[0] if name else ''}}' not found", file=sys.stderr)
        sys.exit(1)
    print("  Model")
elif command == "pull":
    # As cobra/pflag: `--` ends the flags; before it, anything starting with `-` is a flag.
    args, flags, dashdash = [], [], False
    for a in sys.argv[2:]:
        if dashdash:
            args.append(a)
        elif a == "--":
            dashdash = True
        elif a.startswith("-") and a != "-":
            flags.append(a)
        else:
            args.append(a)
    up = server_up()
    record("pull", args=args, flags=flags, up=up)
    unknown = [f for f in flags if f.split("=")[0] not in ("--insecure", "-h", "--help")]
    if unknown:
        print(f"Error: unknown flag: {{unknown[0]}}", file=sys.stderr)
        sys.exit(1)
    if len(args) != 1:
        print(f"Error: accepts 1 arg(s), received {{len(args)}}", file=sys.stderr)
        sys.exit(1)
    if not up:
        print("Error: could not connect to ollama app, is it running?", file=sys.stderr)
        sys.exit(1)
    print(f"pulling manifest\\nsuccess")
    sys.exit(CONFIG["pull_exit"])
else:
    record("unknown")
    sys.exit(2)
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    events: list[dict]

    def of(self, event: str) -> list[dict]:
        return [e for e in self.events if e["event"] == event]


def rendered_init_container(model: str, env: list[dict] | None = None) -> dict:
    server: dict = {"model": model}
    if env:
        server["env"] = env
    xr = {
        "apiVersion": names.API_VERSION,
        "kind": "ModelAPI",
        "metadata": {"name": "ollama", "namespace": "team-a"},
        "spec": {"mode": "Hosted", "serverConfig": server},
    }
    pod = compose(xr, None, observed={}).resources[names.DEPLOYMENT]["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    return init


STANDIN_DIR = Path()  # set by the fixture below


@pytest.fixture(scope="module", autouse=True)
def standin(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Written once, before the tests that run scripts side by side: a file being written while
    another thread forks is held open for writing by that child until it execs, and the kernel
    refuses to run it meanwhile (ETXTBSY: the script then saw no `ollama` at all, under a load
    that forks a lot). Run once here until it answers, so that no test meets that refusal."""
    global STANDIN_DIR  # noqa: PLW0603 (one file for the module's runs)
    STANDIN_DIR = tmp_path_factory.mktemp("standin")
    path = STANDIN_DIR / "ollama"
    path.write_text(STANDIN.format(python=sys.executable, config_env=CONFIG_ENV))
    path.chmod(0o755)
    probe = STANDIN_DIR / "probe.json"
    probe.write_text(json.dumps({"log": os.devnull}))
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        try:
            out = subprocess.run(
                [path, "version"], capture_output=True, text=True, check=False, env={CONFIG_ENV: str(probe)}
            )
        except OSError as e:
            if e.errno != errno.ETXTBSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
            continue
        assert out.returncode == 2, out.stderr  # "unknown": it ran
        return


def run_pull(
    tmp: Path,
    container: dict,
    delay: float = 0.0,
    serve: str = "ok",
    pull_exit: int = 0,
    env_overrides: dict[str, str] | None = None,
    cached: bool = False,
    list_delay: float = 0.0,
) -> Run:
    log, state = tmp / "calls.jsonl", tmp / "server.json"
    config = {
        "log": str(log),
        "state": str(state),
        "delay": delay,
        "serve": serve,
        "pull_exit": pull_exit,
        "cached": cached,
        "list_delay": list_delay,
    }
    (tmp / "standin.json").write_text(json.dumps(config))

    env = kube_env(container["env"])
    env.update(env_overrides or {})
    command = [kube_expand(c, env) for c in container["command"]]
    env["PATH"] = f"{STANDIN_DIR}:/usr/bin:/bin"
    env[CONFIG_ENV] = str(tmp / "standin.json")
    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=tmp,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this test started
        proc.communicate()
        raise
    finally:
        _stop_leftover_servers(log)
    elapsed = time.monotonic() - start
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return Run(proc.returncode, stdout, stderr, elapsed, events)


def _stop_leftover_servers(log: Path) -> None:
    """A server the script failed to stop would outlive the test: wait a moment, then kill it."""
    if not log.exists():
        return
    events = [json.loads(line) for line in log.read_text().splitlines()]
    for server in {(e["pid"], e["started"]) for e in events if e["event"] == "serve"}:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and _alive(*server):
            time.sleep(0.05)
        if _alive(*server):
            os.kill(server[0], signal.SIGKILL)


def _alive(pid: int, started: int) -> bool:
    """Whether the process that logged (pid, started) still runs. A pid alone is not enough: the
    kernel hands a freed pid to the next process (every few seconds under a load that forks a
    lot), and a test once killed another test's server that way."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z" and int(fields[19]) == started


def assert_pulled_once(run: Run, model: str) -> None:
    assert run.returncode == 0, run.stderr
    (pull,) = run.of("pull")
    assert pull["args"] == [model], pull["argv"]
    assert pull["flags"] == []
    assert pull["up"], "pulled before the server answered"
    assert pull["env"]["MODEL"] == model
    assert [e["event"] for e in run.events if e["event"] not in ("list",)] == ["serve", "show", "pull", "serve-stopped"]
    (serve,) = run.of("serve")
    assert not _alive(serve["pid"], serve["started"]), "ollama serve still running after the script exited"


# ---- the rendered script ----------------------------------------------------------------
def test_the_init_container_runs_the_script_with_sh_and_passes_the_model_in_env() -> None:
    init = rendered_init_container("smollm2:135m")
    assert init["command"] == ["/bin/sh", "-c", ollama.PULL_SCRIPT]
    assert "smollm2" not in init["command"][2], "the model name must never be part of the script"
    env = kube_env(init["env"])
    assert env["MODEL"] == "smollm2:135m"
    assert env["OLLAMA_HOST"] == f"127.0.0.1:{names.OLLAMA_PORT}"
    assert env["OLLAMA_MODELS"] == names.OLLAMA_MODELS_DIR
    assert int(env[ollama.PULL_TIMEOUT_ENV]) > 0


def test_it_waits_for_the_server_then_pulls(tmp_path: Path) -> None:
    delay = 1.5
    init = rendered_init_container("smollm2:135m", env=[{"name": "OLLAMA_DEBUG", "value": "false"}])
    run = run_pull(tmp_path, init, delay=delay)
    assert_pulled_once(run, "smollm2:135m")
    lists = run.of("list")
    assert not lists[0]["up"] and lists[-1]["up"], "it polled until the server answered"
    (serve,), (pull,) = run.of("serve"), run.of("pull")
    assert pull["t"] >= serve["t"] + delay
    # Polled (about 1 s apart), not a fixed sleep: done within ~1 s of the server answering.
    assert run.elapsed < delay + 2.5, run.elapsed
    # The pull talks to the init container's own server, on loopback, into the shared volume.
    for e in run.events:
        assert e["env"]["OLLAMA_HOST"] == f"127.0.0.1:{names.OLLAMA_PORT}"
        assert e["env"]["OLLAMA_MODELS"] == names.OLLAMA_MODELS_DIR
        assert e["env"]["OLLAMA_DEBUG"] == "false"


MODELS = [
    "smollm2:135m",
    "llama2",
    "hf.co/org/repo:Q4_K_M",
    "llama3.1:8b-instruct-q4_K_M",
    "registry.example.com:5000/team/model.v2:latest",
    "qwen2.5-coder:0.5b",
]


def run_all(tmp_path_factory: pytest.TempPathFactory, cases: list[str], one: Callable[[Path, str], Run]) -> dict:
    """Runs the cases at once (each mostly waits on the script's 1 s poll); a test then
    asserts on its own case's result, or re-raises its error."""
    dirs = {c: tmp_path_factory.mktemp("pull") for c in cases}
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {c: pool.submit(one, dirs[c], c) for c in cases}
        return {c: (dirs[c], f.exception() or f.result()) for c, f in futures.items()}


def result(runs: dict, case: str) -> tuple[Path, Run]:
    tmp, run = runs[case]
    if isinstance(run, BaseException):
        raise run
    return tmp, run


@pytest.fixture(scope="module")
def model_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_all(tmp_path_factory, MODELS, lambda tmp, model: run_pull(tmp, rendered_init_container(model)))


@pytest.mark.parametrize("model", MODELS)
def test_it_pulls_exactly_the_model_named(model_runs: dict, model: str) -> None:
    _, run = result(model_runs, model)
    assert_pulled_once(run, model)
    assert model in run.stdout  # the log names the model


def test_a_model_in_the_cache_is_not_pulled_again_and_the_step_says_so(tmp_path: Path) -> None:
    """With serverConfig.storage the models outlive the pod: a restart starts in seconds."""
    run = run_pull(tmp_path, rendered_init_container("smollm2:135m"), cached=True)
    assert run.returncode == 0, run.stderr
    assert run.of("pull") == []
    (show,) = run.of("show")
    assert show["args"] == ["smollm2:135m"]
    assert show["up"], "asked before the server answered"
    assert "model smollm2:135m is in the cache already: not pulled again" in run.stdout


def test_a_failed_pull_fails_the_init_container(tmp_path: Path) -> None:
    run = run_pull(tmp_path, rendered_init_container("smollm2:135m"), pull_exit=1)
    assert run.returncode != 0
    assert "failed" in run.stderr
    assert len(run.of("pull")) == 1
    assert len(run.of("serve-stopped")) == 1


def test_no_env_var_a_user_may_name_is_expanded_into_the_script() -> None:
    # The kubelet replaces `$(NAME)` in a command with that env var's value, and the user's
    # env reaches this container: a `$(mktemp)` would run whatever a `mktemp` entry holds.
    for name in re.findall(r"\$\(([^)]*)\)", ollama.PULL_SCRIPT):
        assert not re.fullmatch(spec.ENV_NAME_PATTERN, name), name


PROXY_ENV = [{"name": "HTTPS_PROXY", "value": "http://team:s3cret@proxy.example.com:3128"}]


@pytest.mark.parametrize("pull_exit", [0, 1])
def test_the_servers_own_log_stays_out_of_the_pull_log(tmp_path: Path, pull_exit: int) -> None:
    # The pull log is what `kubectl logs` shows and, when the pull fails, the termination
    # message that the ModelAPI's status quotes: the server's settings have no place there.
    run = run_pull(tmp_path, rendered_init_container("smollm2:135m", env=PROXY_ENV), pull_exit=pull_exit)
    assert run.returncode == pull_exit
    assert "s3cret" not in run.stdout + run.stderr
    assert "server config" not in run.stdout + run.stderr


def test_a_server_that_never_answers_fails_it_in_time(tmp_path: Path) -> None:
    run = run_pull(
        tmp_path, rendered_init_container("smollm2:135m"), serve="never", env_overrides={ollama.PULL_TIMEOUT_ENV: "2"}
    )
    assert run.returncode != 0
    assert run.of("pull") == []
    assert "did not answer" in run.stderr
    assert run.elapsed < 2 + 3, run.elapsed
    # It stops the server it started (the stand-in records the SIGTERM).
    (stopped,) = run.of("serve-stopped")
    assert stopped["signal"] == signal.SIGTERM


def test_the_wait_for_the_server_is_bounded_by_the_clock_not_by_polls(tmp_path: Path) -> None:
    """Starved of memory, a server thrashes and each poll takes seconds: polls counted as seconds
    waited minutes on the real node. Each `ollama list` here takes 3 s against a 3 s deadline."""
    run = run_pull(
        tmp_path,
        rendered_init_container("smollm2:135m"),
        serve="never",
        env_overrides={ollama.PULL_TIMEOUT_ENV: "3"},
        list_delay=3,
    )
    assert run.returncode != 0
    assert "did not answer within 3 s" in run.stderr
    assert len(run.of("list")) <= 2, f"{len(run.of('list'))} polls of 3 s against a deadline of 3 s"


def test_a_server_that_dies_fails_it_at_once(tmp_path: Path) -> None:
    run = run_pull(tmp_path, rendered_init_container("smollm2:135m"), serve="die")
    assert run.returncode != 0
    assert run.of("pull") == []
    assert "exited" in run.stderr
    assert "Error: listen tcp 127.0.0.1:11434: bind: address already in use" in run.stderr, "says why"
    assert run.elapsed < 5, run.elapsed


# Straight into the MODEL env, past the spec's validation: the script alone must hold.
HOSTILE = [
    "x; touch {pwned}",
    "$(touch {pwned})",
    "`touch {pwned}`",
    "a\ntouch {pwned}",
    "x && touch {pwned} || touch {pwned}",
    "x | touch {pwned}",
    "> {pwned}",
    "x; ollama pull evil #",
    "$(id)",
    "`id`",
    "${{PATH}}",
    "$MODEL$HOME",
    "-rf",
    "--insecure",
    "--",
    "a b  c",
    "*",
    "'\"\\",
]


def _hostile(tmp: Path, template: str) -> Run:
    model = template.format(pwned=tmp / "pwned")
    return run_pull(tmp, rendered_init_container("smollm2:135m"), env_overrides={"MODEL": model})


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_all(tmp_path_factory, HOSTILE, _hostile)


@pytest.mark.parametrize("template", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_a_hostile_name_is_one_literal_argument(hostile_runs: dict, template: str) -> None:
    tmp, run = result(hostile_runs, template)
    pwned = tmp / "pwned"
    model = template.format(pwned=pwned)
    assert not pwned.exists(), "the model name was executed"
    assert {e["event"] for e in run.events} <= {"serve", "list", "show", "pull", "serve-stopped"}
    # Asked about, as one literal argument too.
    assert [e["args"] for e in run.of("show")] == [[model]], (run.returncode, run.stderr, run.events)
    assert_pulled_once(run, model)
