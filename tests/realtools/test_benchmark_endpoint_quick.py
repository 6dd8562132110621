"""The endpoint benchmark's quick mode runs against the real LiteLLM and reports every figure.
No timing is asserted: CI's machine is shared, and a quick run's figures are few samples."""

import json
import subprocess
import sys

from tests.support import ROOT, need_tool
from tests.support.litellm_proxy import litellm_executable


def test_the_endpoint_benchmark_reports_every_figure_through_the_proxy_and_direct(tmp_path):
    need_tool(str(litellm_executable()) if litellm_executable().exists() else None, "LiteLLM (hack/install-litellm.sh)")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.endpoint", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    (run,) = json.loads((tmp_path / "endpoint.json").read_text())
    assert run["cpus"] == 1
    for target in ("direct", "proxy"):
        assert run[target]["requests"] == run["rate"] * run["seconds"]
        assert 0 < run[target]["p50_ms"] <= run[target]["p99_ms"]
        assert run[f"{target}_most"]["rps"] > 0
        assert run[f"{target}_first_chunk_ms"] > 0
    assert run["proxy_rss_mib"] > 50  # LiteLLM's processes, not an empty tree
    print((tmp_path / "endpoint.md").read_text())
