"""The scale benchmark: `.venv/bin/python -m benchmarks.scale [--n N] [--quick]` (README in benchmarks/).

N ModelAPIs through a real Crossplane (the e2e control plane: etcd, kube-apiserver, Crossplane
core, our XRD and the function over mTLS), phase by phase, and the same N through
function-go-templating composing the same objects, in the same run on the same control plane.
Per phase and process (function, crossplane, kube-apiserver, etcd): CPU seconds from /proc and
peak RSS; the function's calls as Crossplane counts them, and ours answered from the memo or
computed."""

import argparse
import collections
import concurrent.futures
import contextlib
import datetime
import json
import os
import pathlib
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import yaml

from benchmarks import cases
from benchmarks.run import build_tools, go_template_input
from benchmarks.servers import ROOT, cpu_seconds, free_port
from function import requeue
from tests.e2e.controlplane import ApiError, ControlPlane, default_bin_dir, is_true, missing_binaries

HERE = pathlib.Path(__file__).resolve().parent
API = "ethical.institute/v1alpha1"
NAMESPACES = 50
PROCESSES = ("function", "crossplane", "kube-apiserver", "etcd")
FUNCTIONS = {"ours": "function-modelapi", "go-templating": "function-go-templating"}
COMPOSITIONS = {"ours": "modelapi", "go-templating": "modelapi-go-templating"}
UPDATED_ENV = {"name": "SCALE_UPDATE", "value": "1"}
BACKED_OFF_AGE = datetime.timedelta(hours=1)  # well past the back-off's bound (function/requeue.py)
READY_SAMPLE = 10
STATUS_SAMPLE = 20


@dataclass(frozen=True)
class Windows:
    """Seconds each measured window lasts."""

    settle: float  # no ModelAPI changed for this long before a window opens
    pending: float  # two of today's 20 s requeues
    backed_off: float  # past the back-off's 5 min bound and its jitter: every ModelAPI once
    steady: float  # one 60 s TTL (the SDKs' default) and its jitter: every ModelAPI once


FULL = Windows(settle=5, pending=40, backed_off=330, steady=66)
QUICK = Windows(settle=3, pending=6, backed_off=6, steady=6)


# --- Processes -------------------------------------------------------------------------------


def pids_of(pid: int) -> list[int]:
    """A process and its children (our configYaml sandbox's workers)."""
    out = [pid]
    with contextlib.suppress(OSError):
        for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
            out += [int(p) for p in (task / "children").read_text().split()]
    return out


def peak_rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> None:
    """Peak RSS counts from now (Linux: 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")


class Function:
    """One composition function served over mTLS with the control plane's certificates and
    registered with it, as the e2e tests do."""

    def __init__(self, cp: ControlPlane, key: str, argv: list[str], env: dict[str, str], log: pathlib.Path):
        self.cp, self.key, self.argv, self.env, self.log = cp, key, argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        port = free_port()
        assert self.cp.function_certs is not None
        env = {**self.env, "TLS_SERVER_CERTS_DIR": str(self.cp.function_certs.server_dir)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.argv, "--address", f"127.0.0.1:{port}"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while not _listening(port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.key} did not start; see {self.log}")
            time.sleep(0.05)
        self.cp.register_function(FUNCTIONS[self.key], f"127.0.0.1:{port}")

    def pids(self) -> list[int]:
        assert self.proc is not None
        return pids_of(self.proc.pid)

    def serving_pids(self) -> list[int]:
        """The process that answers calls (its children are our configYaml sandbox's workers)."""
        assert self.proc is not None
        return [self.proc.pid]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


# --- Watching the API server -----------------------------------------------------------------


class Watched:
    """Every object of one kind across all namespaces, kept current by one watch: the waits read
    it instead of listing, which would cost the API server we measure."""

    def __init__(self, cp: ControlPlane, api_version: str, kind: str) -> None:
        self.cp = cp
        self.path = "".join(cp.path(api_version, kind, namespace="x").split("/namespaces/x"))
        self.objects: dict[tuple[str, str], dict] = {}
        self.lock = threading.Lock()
        self.synced = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                body = self.cp.request("GET", self.path)[1]
                with self.lock:
                    self.objects = {_key(o): o for o in body["items"]}
                self.synced.set()
                version = body["metadata"]["resourceVersion"]
                while True:
                    for event in self.cp.watch(self.path, version):
                        obj = event["object"]
                        if event["type"] == "ERROR":
                            raise ApiError(obj.get("code", 0), obj, "watch")
                        version = obj["metadata"]["resourceVersion"]
                        with self.lock:
                            if event["type"] == "DELETED":
                                self.objects.pop(_key(obj), None)
                            elif event["type"] != "BOOKMARK":
                                self.objects[_key(obj)] = obj
            except (OSError, ApiError, ValueError):
                time.sleep(0.5)  # list again

    def snapshot(self, prefix: str) -> dict[tuple[str, str], dict]:
        if not self.synced.wait(60):
            raise RuntimeError(f"cannot list {self.path}")
        with self.lock:
            return {k: v for k, v in self.objects.items() if k[0].startswith(prefix)}


def _key(obj: dict) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def wait(predicate: Callable[[], bool], timeout: float, what: str, cp: ControlPlane) -> float:
    """Seconds until `predicate` holds."""
    t0 = time.monotonic()
    while not predicate():
        cp.assert_running()
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)
    return time.monotonic() - t0


def condition_of(obj: dict, kind: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})


# --- Crossplane's own counts -----------------------------------------------------------------


def function_calls(cp: ControlPlane) -> dict[str, dict[str, float]]:
    """Per function: calls sent, and answers that failed (a gRPC error or a fatal result)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no HTTP(S)_PROXY for 127.0.0.1
    with opener.open(f"http://127.0.0.1:{cp.metrics_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line.startswith(("function_run_function_request_total{", "function_run_function_response_total{")):
            continue
        labels, value = line.rsplit(" ", 1)
        name = labels.split('function_name="', 1)[1].split('"', 1)[0]
        row = out.setdefault(name, {"calls": 0.0, "failed": 0.0})
        if labels.startswith("function_run_function_request_total"):
            row["calls"] += float(value)
        elif 'grpc_code="OK"' not in labels or 'result_severity="Fatal"' in labels:
            row["failed"] += float(value)
    return out


# --- One measured phase ----------------------------------------------------------------------


@dataclass
class Meter:
    """CPU seconds and peak RSS of the four processes over a phase, and the function's calls."""

    cp: ControlPlane
    function: Function
    counts_dir: pathlib.Path
    result: dict = field(default_factory=dict)

    def _pids(self) -> dict[str, list[int]]:
        procs = {name: [p.pid] for name, p in self.cp._procs}
        return {"function": self.function.pids(), **{n: procs[n] for n in PROCESSES[1:]}}

    def _cpu(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in pids) for name, pids in self._pids().items()}

    def memo(self) -> dict[str, int]:
        """Our memo's counts so far (empty for go-templating, which has none)."""
        if self.function.key != "ours":
            return {}
        pids = self.function.serving_pids()
        for p in pids:
            with contextlib.suppress(FileNotFoundError):
                (self.counts_dir / f"{p}.json").unlink()
            os.kill(p, signal.SIGUSR1)
        total = {"memo_hits": 0, "computed": 0}
        for p in pids:
            path = self.counts_dir / f"{p}.json"
            deadline = time.monotonic() + 10
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            for k, v in json.loads(path.read_text()).items():
                total[k] += v
        return total

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[dict]:
        for pids in self._pids().values():
            for p in pids:
                reset_peak_rss(p)
        cpu0, calls0, memo0, t0 = self._cpu(), function_calls(self.cp), self.memo(), time.monotonic()
        row: dict = {}
        yield row
        wall = time.monotonic() - t0
        cpu1, calls1, memo1 = self._cpu(), function_calls(self.cp), self.memo()
        fn_name = FUNCTIONS[self.function.key]
        before, after = calls0.get(fn_name, {}), calls1.get(fn_name, {})
        cpu = {n: round(cpu1[n] - cpu0[n], 2) for n in PROCESSES}
        total = sum(cpu.values())
        pids = self._pids()
        row.update(
            wall_s=round(row.pop("wall_s", wall), 2),
            window_s=round(wall, 2),
            cpu_s=cpu,
            cpu_per_s={n: round(v / wall, 3) for n, v in cpu.items()},
            control_plane_cpu_s=round(total, 2),
            function_share=round(cpu["function"] / total, 4) if total else 0.0,
            peak_rss_mb=round(max(peak_rss_mb(p) for p in self.function.serving_pids()), 1),
            peak_rss_mb_by_process={n: round(sum(peak_rss_mb(p) for p in pids[n]), 1) for n in PROCESSES},
            calls=int(after.get("calls", 0) - before.get("calls", 0)),
            failed_calls=int(after.get("failed", 0) - before.get("failed", 0)),
        )
        if memo1:
            row["memo"] = {k: memo1[k] - memo0[k] for k in memo1}
        self.result[name] = row


# --- The ModelAPIs ---------------------------------------------------------------------------


def modelapis(n: int, prefix: str, composition: str) -> list[dict]:
    """N ModelAPIs, the four spec examples in turn (wildcard, Hosted, one model, configYaml),
    spread over 50 namespaces."""
    out = []
    for i in range(n):
        example = cases.EXAMPLES[i % len(cases.EXAMPLES)]
        doc = cases.load(example)
        doc["metadata"] = {"name": f"{example}-{i:05d}", "namespace": f"{prefix}-{i % NAMESPACES:02d}"}
        doc["spec"]["crossplane"] = {"compositionRef": {"name": composition}}
        out.append(doc)
    return out


def updated(doc: dict) -> dict:
    """The same ModelAPI with one more environment variable for its server."""
    config = "serverConfig" if doc["spec"]["mode"] == "Hosted" else "proxyConfig"
    out = json.loads(json.dumps(doc))
    section = out["spec"].setdefault(config, {})
    section["env"] = [*section.get("env", []), UPDATED_ENV]
    return out


def in_parallel(fn: Callable, items: list, threads: int = 8) -> None:
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(fn, i) for i in items]:
            f.result()


def synced(xr: dict) -> bool:
    c = condition_of(xr, "Synced")
    return c.get("status") == "True" and c.get("observedGeneration") == xr["metadata"].get("generation")


def not_ready_for(cp: ControlPlane, xr: dict, age: datetime.timedelta) -> None:
    """Sets when the XR's Ready condition last changed, as if it had been not ready for `age`:
    the signal the back-off reads. Crossplane keeps a condition's time while it is unchanged."""
    conditions = (xr.get("status") or {}).get("conditions") or []
    when = (datetime.datetime.now(datetime.UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    new = [{**c, "lastTransitionTime": when} if c.get("type") == "Ready" else c for c in conditions]
    cp.patch_status(API, "ModelAPI", xr["metadata"]["name"], {"conditions": new}, xr["metadata"]["namespace"])


def reads_not_ready_for(xr: dict, age: datetime.timedelta) -> bool:
    """Whether the function reads the XR as not ready for `age` (its Ready condition's time)."""
    since = requeue.not_ready_since(xr)
    return since is not None and datetime.datetime.now(datetime.UTC) - since >= age * 0.9


# --- The phases ------------------------------------------------------------------------------


@dataclass
class Run:
    cp: ControlPlane
    xrs: Watched
    deployments: Watched
    windows: Windows
    n: int
    counts_dir: pathlib.Path

    def settle(self, meter: Meter, prefix: str, timeout: float = 600) -> None:
        """Until no ModelAPI here has changed, and our function has computed no answer, for a
        while: a write to a ModelAPI (ours, or Crossplane's answer to it) sets off a few
        reconciles, each with a new request, before the requests come back the same. The
        reconciles it queued may run well after the last write: each computes its answer."""
        last: tuple = ()
        still = time.monotonic()

        def quiet() -> bool:
            nonlocal last, still
            versions = {k: x["metadata"]["resourceVersion"] for k, x in self.xrs.snapshot(prefix).items()}
            now = (versions, meter.memo().get("computed"))
            if now != last:
                last, still = now, time.monotonic()
            return time.monotonic() - still >= self.windows.settle

        with contextlib.suppress(TimeoutError):
            wait(quiet, timeout, "the ModelAPIs to settle", self.cp)

    def create(self, meter: Meter, docs: list[dict], prefix: str, phase: str = "create") -> None:
        for ns in sorted({d["metadata"]["namespace"] for d in docs}):
            self.cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        names = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs}
        with meter.phase(phase) as row:
            t0 = time.monotonic()
            in_parallel(self.cp.apply, docs)

            shown = [time.monotonic()]

            def all_synced() -> bool:
                snap = self.xrs.snapshot(prefix)
                done = sum(k in snap and synced(snap[k]) for k in names)
                if time.monotonic() - shown[0] > 30:  # a long run says how far it is, and why not
                    shown[0] = time.monotonic()
                    why = collections.Counter(
                        condition_of(x, "Synced").get("message", "")[:200]
                        for x in snap.values()
                        if condition_of(x, "Synced").get("status") == "False"
                    )
                    print(f"{phase} {prefix}: {done}/{len(names)} Synced; not: {why.most_common(2)}", file=sys.stderr)
                return done == len(names)

            try:
                wait(all_synced, 60 + self.n, f"{len(docs)} ModelAPIs Synced", self.cp)
            except TimeoutError as e:
                snap = self.xrs.snapshot(prefix)
                late = [k for k in sorted(names) if k not in snap or not synced(snap[k])]
                shown = yaml.safe_dump((snap.get(late[0]) or {}).get("status"))
                raise TimeoutError(f"{e}: {len(late)} not, {late[0]}'s status:\n{shown}") from None
            row["wall_s"] = time.monotonic() - t0
        meter.result[phase]["objects_missing"] = self.missing_objects(prefix, names)

    def missing_objects(self, prefix: str, names: set[tuple[str, str]]) -> int:
        """Composed objects that every XR references and the API server lacks."""
        have: set[tuple[str, str, str]] = set()
        for kind, api in (("Deployment", "apps/v1"), ("Service", "v1"), ("Secret", "v1")):
            have |= {(kind, o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.cp.list(api, kind)}
        missing = 0
        for key, xr in self.xrs.snapshot(prefix).items():
            if key not in names:
                continue
            refs = ((xr.get("spec") or {}).get("crossplane") or {}).get("resourceRefs") or []
            kinds = {r["kind"] for r in refs}
            missing += int(not {"Deployment", "Service", "Secret"} <= kinds)
            missing += sum(
                (r["kind"], key[0], r["name"]) not in have
                for r in refs
                if r["kind"] in ("Deployment", "Service", "Secret")
            )
        return missing

    def pending(self, meter: Meter, prefix: str, phase: str, age: datetime.timedelta) -> None:
        """N ModelAPIs not ready for `age`, measured over a window once the change settles."""
        snap = list(self.xrs.snapshot(prefix).values())
        rounds = 0
        while snap and rounds < 5:
            in_parallel(lambda xr: not_ready_for(self.cp, xr, age), snap)
            self.settle(meter, prefix)
            rounds += 1
            # A status Crossplane was writing as the time was set may put the old time back (seen
            # for ~10% of 1,000): those would back off from their real wait, not from `age`.
            snap = [xr for xr in self.xrs.snapshot(prefix).values() if not reads_not_ready_for(xr, age)]
        window = self.windows.backed_off if age else self.windows.pending
        with meter.phase(phase) as row:
            time.sleep(window)
        row["not_ready_for_s"] = age.total_seconds()
        row["times_set_in_rounds"] = rounds
        row["calls_per_s"] = round(row["calls"] / row["window_s"], 2)

    def ready(self, meter: Meter, prefix: str) -> None:
        """A sample's Deployments become available one by one: how soon each ModelAPI is Ready
        (only Crossplane's watch on the Deployment can tell it before the TTL); then all."""
        latencies = []
        deployments = self.deployments.snapshot(prefix)
        for key in random.Random(1).sample(sorted(deployments), min(READY_SAMPLE, len(deployments))):
            self.cp.deployment_available(deployments.pop(key))
            latencies.append(
                wait(lambda k=key: is_true(self.xrs.snapshot(prefix).get(k, {}), "Ready"), 120, f"{key} Ready", self.cp)
            )
        with meter.phase("ready") as row:
            in_parallel(self.cp.deployment_available, list(deployments.values()))

            def all_ready() -> bool:
                snap = self.xrs.snapshot(prefix)
                return len(snap) == self.n and all(is_true(x, "Ready") for x in snap.values())

            wait(all_ready, 120 + self.n, "every ModelAPI Ready", self.cp)
        row["one_deployment_to_ready_s"] = {
            "max": round(max(latencies), 2),
            "median": round(sorted(latencies)[len(latencies) // 2], 2),
        }

    def steady(self, meter: Meter, prefix: str) -> None:
        self.settle(meter, prefix)
        with meter.phase("steady") as row:
            time.sleep(self.windows.steady)
        row["calls_per_s"] = round(row["calls"] / row["window_s"], 2)
        row["calls_per_modelapi"] = round(row["calls"] / self.n, 2)

    def update(self, meter: Meter, docs: list[dict], prefix: str) -> None:
        changed = [updated(d) for d in docs[::10]]
        names = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in changed}
        with meter.phase("update") as row:
            in_parallel(self.cp.apply, changed)

            def in_place() -> bool:
                snap = self.deployments.snapshot(prefix)
                return all(
                    k in snap and UPDATED_ENV in snap[k]["spec"]["template"]["spec"]["containers"][0].get("env", [])
                    for k in names
                )

            wait(in_place, 60 + self.n, f"{len(changed)} Deployments updated", self.cp)
        row["changed"] = len(changed)

    def check_status(self, prefix: str, docs: list[dict]) -> dict:
        """A sample of the ModelAPIs that were not changed: Ready, status as the function says."""
        snap = self.xrs.snapshot(prefix)
        unchanged = [d for i, d in enumerate(docs) if i % 10]
        wrong = []
        for d in random.Random(2).sample(unchanged, min(STATUS_SAMPLE, len(unchanged))):
            key = (d["metadata"]["namespace"], d["metadata"]["name"])
            status = snap[key].get("status") or {}
            port = 11434 if d["spec"]["mode"] == "Hosted" else 8000
            want = {"phase": "Ready", "ready": True, "endpoint": f"http://{key[1]}.{key[0]}.svc.cluster.local:{port}"}
            if any(status.get(k) != v for k, v in want.items()) or not is_true(snap[key], "Ready"):
                wrong.append(f"{key}: { ({k: status.get(k) for k in want}) }")
        not_synced = sum(not is_true(x, "Synced") for x in snap.values())
        return {"sampled": min(STATUS_SAMPLE, len(unchanged)), "wrong": wrong, "not_synced": not_synced}

    def pause(self, prefix: str) -> None:
        """Stops Crossplane reconciling these ModelAPIs, so that they cost the next function nothing."""
        merge = "application/merge-patch+json"
        body = {"metadata": {"annotations": {"crossplane.io/paused": "true"}}}
        keys = list(self.xrs.snapshot(prefix))
        in_parallel(
            lambda k: self.cp.request("PATCH", self.cp.path(API, "ModelAPI", k[1], k[0]), body, content_type=merge),
            keys,
        )
        time.sleep(3)


def measure(run: Run, function: Function, prefix: str, *, backoff: bool) -> dict:
    """Every phase for one function on its own namespaces."""
    meter = Meter(run.cp, function, run.counts_dir)
    # Each example once first, unmeasured: Crossplane starts its watches of each composed kind,
    # and our function its configYaml sandbox, on first use; the first function measured
    # would pay for them.
    warm = f"warm-{prefix}"
    run.create(meter, modelapis(len(cases.EXAMPLES), warm, COMPOSITIONS[function.key]), warm, phase="warm-up")
    run.pause(warm)
    del meter.result["warm-up"]
    docs = modelapis(run.n, prefix, COMPOSITIONS[function.key])
    run.create(meter, docs, prefix)
    run.pending(meter, prefix, "pending", datetime.timedelta(0))
    if backoff:
        run.pending(meter, prefix, "pending_backed_off", BACKED_OFF_AGE)
    run.ready(meter, prefix)
    run.steady(meter, prefix)
    run.update(meter, docs, prefix)
    meter.result["status_check"] = run.check_status(prefix, docs)
    run.pause(prefix)
    return meter.result


# --- The 10,000 memory check, replayed -------------------------------------------------------


def replay_rss(counts: tuple[int, ...]) -> dict[str, float]:
    """Our function's peak RSS after answering the steady-state requests of `counts` distinct
    ModelAPIs over gRPC (Crossplane's requests, as benchmarks/cases.py builds them, renamed): the
    control plane here cannot hold 10,000."""
    from benchmarks.servers import Server, python_server

    base = [c for c in cases.cases() if c.observed]
    argv, env, cwd = python_server("function")
    with tempfile.TemporaryDirectory() as tmp:
        server = Server("ours", argv, env, cwd, pathlib.Path(tmp) / "replay.log")
        first = cases.request(base[0], cases.INPUT)
        server.start(first)
        out, sent = {}, 0
        try:
            for count in counts:
                for i in range(sent, count):
                    req = cases.request(base[i % len(base)], cases.INPUT)
                    meta = req.observed.composite.resource.fields["metadata"].struct_value.fields
                    meta["name"].string_value = f"m-{i:05d}"
                    meta["uid"].string_value = f"uid-{i:05d}"
                    server.call(req)
                sent = count
                out[str(count)] = round(max(server.peak_rss_mb().values()), 1)
        finally:
            server.stop()
    return out


# --- Report ----------------------------------------------------------------------------------


def table(results: dict) -> str:
    lines = [
        f"N = {results['n']} ModelAPIs, Crossplane {results['crossplane']}, {results['machine']}; "
        "CPU seconds per phase (per second of window for the windows)",
        "",
        "| function | phase | wall (s) | function | crossplane | kube-apiserver | etcd | function share | "
        "fn peak RSS (MB) | calls | memo hits / computed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for fn in ("ours", "go-templating"):
        for phase, row in results[fn].items():
            if "cpu_s" not in row:
                continue
            windowed = phase.startswith(("pending", "steady"))
            cpu = row["cpu_per_s"] if windowed else row["cpu_s"]
            unit = "/s" if windowed else ""
            memo = row.get("memo")
            lines.append(
                f"| {fn} | {phase} | {row['wall_s']} | "
                + " | ".join(f"{cpu[p]}{unit}" for p in PROCESSES)
                + f" | {row['function_share']:.1%} | {row['peak_rss_mb']} | {row['calls']} | "
                + (f"{memo['memo_hits']} / {memo['computed']} |" if memo else "- |")
            )
    lines += ["", "| figure | measured |", "|---|---|"]
    for label, value in figures(results):
        lines.append(f"| {label} | {value} |")
    return "\n".join(lines) + "\n"


def figures(results: dict) -> list[tuple[str, str]]:
    ours, go = results["ours"], results["go-templating"]
    before, after = ours["pending"], ours.get("pending_backed_off", {})
    out = [
        ("create: ours / go-templating wall", f"{ours['create']['wall_s'] / go['create']['wall_s']:.2f}"),
        ("update: ours / go-templating wall", f"{ours['update']['wall_s'] / go['update']['wall_s']:.2f}"),
        (
            "create: function CPU ours / go-templating",
            f"{ours['create']['cpu_s']['function'] / max(go['create']['cpu_s']['function'], 0.01):.2f}",
        ),
        (
            "function share of the control plane's CPU, worst phase (ours)",
            f"{max(r['function_share'] for r in ours.values() if 'function_share' in r):.1%}",
        ),
        (
            "pending: control-plane CPU/s, 20 s requeue -> backed off (ours)",
            f"{before['control_plane_cpu_s'] / before['window_s']:.3f} -> "
            f"{after.get('control_plane_cpu_s', 0) / max(after.get('window_s', 1), 1e-9):.3f}"
            f" (calls/s {before['calls_per_s']} -> {after.get('calls_per_s', '-')})",
        ),
        (
            f"a Deployment available -> its ModelAPI Ready, backed off (ours, max / median of {READY_SAMPLE})",
            "{max} / {median} s".format(**ours["ready"]["one_deployment_to_ready_s"]),
        ),
        (
            "function peak RSS, any phase (ours)",
            f"{max(r['peak_rss_mb'] for r in ours.values() if 'peak_rss_mb' in r)} MB",
        ),
        (
            "peak RSS replayed over gRPC, by distinct ModelAPIs (ours)",
            ", ".join(f"{k}: {v} MB" for k, v in results["replay_rss_mb"].items()),
        ),
        (
            "failed calls / ModelAPIs not Synced / sampled status wrong",
            " ; ".join(
                f"{fn}: {sum(r.get('failed_calls', 0) for r in results[fn].values() if isinstance(r, dict))} / "
                f"{results[fn]['status_check']['not_synced']} / {len(results[fn]['status_check']['wrong'])}"
                for fn in ("ours", "go-templating")
            ),
        ),
    ]
    return out


# --- Main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="ModelAPIs per function (default 1000)")
    parser.add_argument("--quick", action="store_true", help="N = 50 and short windows: proves it works (CI)")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "results", help="where scale.md/.json go")
    args = parser.parse_args(argv)
    n = 50 if args.quick else args.n
    windows = QUICK if args.quick else FULL
    bin_dir = default_bin_dir()
    if missing_binaries(bin_dir):
        sys.exit(f"benchmark: the control plane is not built ({bin_dir}): run hack/install-controlplane.sh")
    _, go_templating = build_tools()
    args.out.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.UTC)
    # The control plane's data and every process's log (work/plane/logs), kept for a look after.
    work = args.out / "scale-work"
    shutil.rmtree(work, ignore_errors=True)
    counts = work / "counts"
    counts.mkdir(parents=True)
    if True:
        # The functions' TTLs drive requeues (Crossplane v2 with realtime compositions), not
        # the poll interval; no informer resync within the run.
        plane = ControlPlane(bin_dir, work / "plane", crossplane_debug=False, poll_interval="1m", sync_interval="1h")
        with plane as cp:
            env = {k: v for k, v in os.environ.items() if k != "MODELAPI_KEY_SEED"}
            ours = Function(
                cp,
                "ours",
                [sys.executable, "-m", "benchmarks.counted"],
                {**env, "COUNTS_DIR": str(counts), "PYTHONPATH": str(ROOT)},
                cp.logs / "ours.log",
            )
            go = Function(cp, "go-templating", [go_templating], env, cp.logs / "go-templating.log")
            try:
                ours.start()
                go.start()
                install(cp)
                run = Run(cp, Watched(cp, API, "ModelAPI"), Watched(cp, "apps/v1", "Deployment"), windows, n, counts)
                results: dict = {
                    "n": n,
                    "quick": args.quick,
                    "crossplane": crossplane_version(bin_dir),
                    "machine": f"{os.cpu_count()} cores, {platform.machine()}",
                    "started": started.isoformat(timespec="seconds"),
                    "load_before": [round(x, 2) for x in os.getloadavg()],
                    "windows_s": windows.__dict__,
                }
                results["ours"] = measure(run, ours, "ours", backoff=True)
                results["go-templating"] = measure(run, go, "go", backoff=False)
            finally:
                ours.stop()
                go.stop()
    results["replay_rss_mb"] = replay_rss((1000, 10000) if not args.quick else (100, 500))
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["figures"] = dict(figures(results))
    (args.out / "scale.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    (args.out / "scale.md").write_text(text)
    print(text)
    return 0


def install(cp: ControlPlane) -> None:
    """RBAC, the XRD and our Composition as shipped, and the go-templating Composition for the
    same XRD; waits for the XRD to serve ModelAPIs."""
    docs = [
        d
        for f in ("install/rbac.yaml", "xrds/modelapi.yaml", "compositions/modelapi.yaml")
        for d in yaml.safe_load_all((ROOT / f).read_text())
        if d
    ]
    go = json.loads(json.dumps(next(d for d in docs if d["kind"] == "Composition")))
    go["metadata"]["name"] = COMPOSITIONS["go-templating"]
    go["spec"]["pipeline"] = [
        {"step": "go-templating", "functionRef": {"name": FUNCTIONS["go-templating"]}, "input": go_template_input()}
    ]
    for d in [*docs, go]:
        cp.apply(d)
    xrd = next(d for d in docs if d["kind"] == "CompositeResourceDefinition")
    cp.wait_for(
        lambda: is_true(cp.get(xrd["apiVersion"], xrd["kind"], xrd["metadata"]["name"]), "Established"),
        timeout=120,
        what="the XRD Established",
    )
    cp.wait_for(lambda: _serves(cp), timeout=60, what="ModelAPIs served")


def _serves(cp: ControlPlane) -> bool:
    try:
        cp._resources.pop(API, None)
        cp.path(API, "ModelAPI", namespace="x")
    except (KeyError, ApiError):
        return False
    return True


def crossplane_version(bin_dir: pathlib.Path) -> str:
    out = subprocess.run([str(bin_dir / "crossplane"), "--version"], capture_output=True, text=True, check=False)
    return (out.stdout.strip() or out.stderr.strip() or "unknown").splitlines()[-1]


if __name__ == "__main__":
    sys.exit(main())
