"""The benchmark's quick mode runs and reports every figure. No timing is asserted: CI's machine
is shared, and the figures of a quick run are few samples."""

import json
import shutil
import subprocess
import sys

import pytest

from benchmarks import cases, hostile, report
from tests.support import ROOT, need_tool

SERVERS = ("ours", "echo", "go")
CASE_FIGURES = ("p50_ms", "p99_ms", "throughput_rps", "server_cpu_ms_per_call")


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[dict, str]:
    need_tool(shutil.which("go"), "Go (builds the load generator and function-go-templating)")
    out = tmp_path_factory.mktemp("benchmark")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)], cwd=ROOT, check=True, timeout=900
    )
    return json.loads((out / "results.json").read_text()), (out / "results.md").read_text()


def test_every_case_has_every_figure_for_every_server(quick):
    results, table = quick
    names = {f"{e} ({s})" for e in cases.EXAMPLES for s in ("first call", "observed")}
    assert set(results["cases"]) == names
    for name, row in results["cases"].items():
        for figure in CASE_FIGURES:
            assert all(row[figure][s] > 0 for s in SERVERS), (name, figure, row[figure])
        assert row["own_cpu_us"]["memo_hit_us"] > 0
        assert row["own_cpu_us"]["memo_miss_us"] > 0
        assert table.count(f"| {name} |") == len(CASE_FIGURES) + 2  # + own work and the same-objects rows


def test_every_server_has_memory_and_cold_start_and_ours_stops_cleanly(quick):
    results, table = quick
    for s in SERVERS:
        server = results["servers"][s]
        assert server["peak_rss_mb"] > 0
        assert server["cold_start_ms"] > 0
        assert "exit_code_on_sigterm" in server
    assert results["servers"]["ours"]["exit_code_on_sigterm"] == 0  # go-templating's SDK does not trap SIGTERM
    assert "| peak RSS (MB) | server process |" in table
    assert "| cold start (ms) | start to 1st answer |" in table


def test_every_hostile_class_of_the_quick_mode_is_measured_and_answered(quick):
    results, table = quick
    assert set(results["hostile"]) == set(hostile.QUICK)
    for name, row in results["hostile"].items():
        assert row["answer_ms"] > 0
        assert row["p50_normal_ms"] > 0
        assert row["answer"].startswith(("spec.proxyConfig.configYaml: ", "composed")), row
        assert f"| {name} |" in table
    assert results["hostile"]["the largest valid config (64 KiB)"]["answer"] == "composed"
    assert {"hostile configYaml answered within 1000 ms", "event loop held at most 50 ms by one request"} <= {
        t["target"] for t in results["targets"]
    }


def test_every_target_is_reported(quick):
    results, table = quick
    assert [t["target"] for t in results["targets"]] == [t["target"] for t in report.targets(results)]
    assert len(results["targets"]) == 7  # issue 5 and issue 11 (hostile configYaml)
    for t in results["targets"]:
        assert f"| {t['target']} | {t['measured']} |" in table


def test_the_go_reference_composes_the_same_objects(quick):
    """Else the comparison with Go is not fair: mend benchmarks/go-templating.tmpl."""
    results, _ = quick
    differ = {
        name: row["differences_from_go"] for name, row in results["cases"].items() if not row["same_objects_as_go"]
    }
    assert not differ
