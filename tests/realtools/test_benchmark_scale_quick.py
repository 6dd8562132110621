"""The scale benchmark's quick mode (50 ModelAPIs per function through the e2e control plane)
runs and reports every figure. No timing is asserted: the machine is shared and the windows of a
quick run are seconds long."""

import json
import shutil
import subprocess
import sys

import pytest

from benchmarks import scale
from tests.e2e.controlplane import default_bin_dir, missing_binaries
from tests.support import ROOT, need_tool

PHASES = {
    "ours": ("create", "pending", "pending_backed_off", "ready", "steady", "update"),
    "go-templating": ("create", "pending", "ready", "steady", "update"),
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[dict, str]:
    need_tool(shutil.which("go"), "Go (builds function-go-templating)")
    bin_dir = default_bin_dir()
    need_tool(None if missing_binaries(bin_dir) else str(bin_dir), "the control plane (hack/install-controlplane.sh)")
    out = tmp_path_factory.mktemp("scale")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--quick", "--out", str(out)], cwd=ROOT, check=True, timeout=600
    )
    return json.loads((out / "scale.json").read_text()), (out / "scale.md").read_text()


@pytest.mark.parametrize("function", sorted(PHASES))
def test_every_phase_has_wall_time_cpu_per_process_and_peak_rss(quick, function):
    results, table = quick
    assert results["n"] == 50
    for phase in PHASES[function]:
        row = results[function][phase]
        assert row["wall_s"] > 0, (phase, row)
        assert set(row["cpu_s"]) == set(scale.PROCESSES)
        assert row["cpu_s"]["kube-apiserver"] > 0, (phase, row)  # the plane always works a little
        assert row["peak_rss_mb"] > 0
        assert 0 <= row["function_share"] < 1
        assert f"| {function} | {phase} |" in table


def test_every_modelapi_got_its_objects_and_status_and_no_call_failed(quick):
    results, _ = quick
    for function in PHASES:
        assert results[function]["create"]["objects_missing"] == 0
        assert results[function]["create"]["calls"] >= 50
        assert results[function]["status_check"] == {"sampled": 20, "wrong": [], "not_synced": 0}
        assert all(r.get("failed_calls", 0) == 0 for r in results[function].values())


def test_ours_counts_memo_hits_and_the_pending_windows_their_calls(quick):
    results, _ = quick
    ours = results["ours"]
    assert sum(sum(r["memo"].values()) for r in ours.values() if "memo" in r) > 0
    assert ours["create"]["memo"]["computed"] > 0
    assert ours["pending"]["not_ready_for_s"] == 0
    assert ours["pending_backed_off"]["not_ready_for_s"] == scale.BACKED_OFF_AGE.total_seconds()
    assert ours["ready"]["one_deployment_to_ready_s"]["max"] > 0


def test_every_figure_is_in_the_table(quick):
    results, table = quick
    assert list(results["figures"]) == [label for label, _ in scale.figures(results)]
    for label, value in results["figures"].items():
        assert f"| {label} | {value} |" in table
    assert set(results["replay_rss_mb"]) == {"100", "500"}
    assert all(v > 0 for v in results["replay_rss_mb"].values())
