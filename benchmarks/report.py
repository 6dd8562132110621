"""The benchmark's results as the targets of issues 5 and 11 and a markdown table."""

from benchmarks import hostile

NAMES = {"ours": "function-modelapi", "echo": "echo floor", "go": "go-templating"}
P50_FLOOR = 1.25
RSS_MB = 80
COLD_START_MS = 1000
HOSTILE_ANSWER_MS = 1000
HOSTILE_HELD_MS = 50
HOSTILE_SLOWDOWN = 1.5
# A p50 of other calls needs a window that holds some: texts answered at once have none.
HOSTILE_P50_CALLS = 10


def targets(r: dict) -> list[dict]:
    rows = r["cases"].values()
    floor = max(row["p50_ms"]["ours"] / row["p50_ms"]["echo"] for row in rows)
    go = max(row["p50_ms"]["ours"] / row["p50_ms"]["go"] for row in rows)
    rss = r["servers"]["ours"]["peak_rss_mb"]
    cold = r["servers"]["ours"]["cold_start_ms"]
    hostile_rows = r["hostile"].values()
    answered = max(h["answer_ms"] for h in hostile_rows)
    held = max(h["loop_held_ms"] for h in hostile_rows)
    slowed = max(
        (h["p50_during_ms"] / h["p50_normal_ms"] for h in hostile_rows if h["probe_calls_during"] >= HOSTILE_P50_CALLS),
        default=0.0,
    )
    return [
        _target(
            f"hostile configYaml answered within {HOSTILE_ANSWER_MS} ms",
            f"{answered:.0f} ms",
            answered <= HOSTILE_ANSWER_MS,
        ),
        _target(
            f"event loop held at most {HOSTILE_HELD_MS} ms by one request", f"{held:.1f} ms", held <= HOSTILE_HELD_MS
        ),
        _target(f"other calls' p50 within {HOSTILE_SLOWDOWN}x meanwhile", f"{slowed:.2f}x", slowed <= HOSTILE_SLOWDOWN),
        _target(f"p50 within {P50_FLOOR}x the echo floor (worst case)", f"{floor:.2f}x", floor <= P50_FLOOR),
        _target("p50 below the Go peer's (worst case)", f"{go:.2f}x", go < 1),
        _target(f"peak RSS per process < {RSS_MB} MB", f"{rss:.1f} MB", rss < RSS_MB),
        _target(f"cold start < {COLD_START_MS / 1000:g} s", f"{cold:.0f} ms", cold < COLD_START_MS),
    ]


def _target(name: str, measured: str, met: bool) -> dict:
    return {"target": name, "measured": measured, "met": met}


def _ratio(ours: float, ref: float) -> str:
    return f"{ours / ref:.2f}x" if ref else "n/a"


def _row(figure: str, case: str, values: dict, fmt: str) -> str:
    cells = [format(values[s], fmt) for s in NAMES]
    return f"| {figure} | {case} | {' | '.join(cells)} | {_ratio(values['ours'], values['echo'])} | " + (
        f"{_ratio(values['ours'], values['go'])} |"
    )


def markdown(r: dict) -> str:
    m = r["meta"]
    lines = [
        f"# function-modelapi benchmark ({m['mode']})",
        "",
        f"{m['started']}, {m['cpus']} CPUs, load average {m['load_average_before'][0]} before and "
        f"{m['load_average_after'][0]} after; Python {m['python']}, grpcio {m['grpcio']}, "
        f"{m['go_templating']} built with {m['go']}. gRPC over loopback, insecure; a Go client "
        "(benchmarks/loadgen) as Crossplane's, visiting the servers in turn in every round.",
        "",
        "Ratios are function-modelapi / reference: below 1 is better for latency, RSS and cold "
        "start, above 1 for throughput.",
        "",
        f"| figure | case | {' | '.join(NAMES.values())} | / echo | / Go |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for figure, key, fmt in (
        ("p50 latency (ms)", "p50_ms", ".3f"),
        ("p99 latency (ms)", "p99_ms", ".3f"),
        (f"throughput, {m['profile']['connections']} clients (calls/s)", "throughput_rps", ".0f"),
        ("server CPU per call (ms)", "server_cpu_ms_per_call", ".3f"),
    ):
        lines += [_row(figure, case, row[key], fmt) for case, row in r["cases"].items()]
    servers = r["servers"]
    lines.append(_row("peak RSS (MB)", "server process", {s: servers[s]["peak_rss_mb"] for s in NAMES}, ".1f"))
    lines.append(_row("cold start (ms)", "start to 1st answer", {s: servers[s]["cold_start_ms"] for s in NAMES}, ".0f"))
    codes = " | ".join(str(servers[s]["exit_code_on_sigterm"]) for s in NAMES)
    lines.append(f"| exit code on SIGTERM | server process | {codes} | | |")

    lines += [
        "",
        "## The function's own work, in-process",
        "",
        "CPU per call of `fn.answer`, no gRPC (`python -m benchmarks.profile`). A memo hit is the "
        "steady state above: the same request again. A miss is the first request after a change "
        "to the XR or an observed object, with the objects and LiteLLM config still cached.",
        "",
        "| case | memo hit (us) | memo miss (us) |",
        "|---|---:|---:|",
    ]
    for case, row in r["cases"].items():
        own = row["own_cpu_us"]
        lines.append(f"| {case} | {own['memo_hit_us']:.0f} | {own['memo_miss_us']:.0f} |")

    lines += [
        "",
        "## Hostile configYaml texts",
        "",
        "Each sent once to the server above while a probe calls it with a valid request (a memo "
        "hit), one call at a time. The longest probe call while the text was in flight is how "
        "long the event loop was held, near enough. Other calls' p50 counts where the window held "
        f"{HOSTILE_P50_CALLS} probe calls or more.",
        "",
        hostile.markdown(r["hostile"]),
    ]

    lines += [
        "",
        "## Same objects as the Go peer",
        "",
        "| case | same Deployment, Service, Secrets, readiness and XR status |",
        "|---|---|",
    ]
    for case, row in r["cases"].items():
        same = "yes" if row["same_objects_as_go"] else "no: " + ", ".join(row["differences_from_go"])
        lines.append(f"| {case} | {same} |")
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---:|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |" for t in r["targets"]]
    return "\n".join(lines) + "\n"
