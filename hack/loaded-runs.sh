#!/usr/bin/env bash
# The cluster and e2e suites N times in a row (default 3) at a load of about 10: six busy loops
# and the mutation slice in a loop beside them, as issue 33 asks the waits to hold. Each run's
# log and a summary line go to DIR (default /tmp/loaded-runs).
#   bash hack/loaded-runs.sh [N [DIR]]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=${2:-/tmp/loaded-runs}
mkdir -p "$out"
busy=()
for _ in 1 2 3 4 5 6; do (while :; do :; done) & busy+=($!); done
(while :; do bash hack/mutate.sh --quick >"$out/mutate.log" 2>&1; done) & mutation=$!
trap 'kill "${busy[@]}" 2>/dev/null; pkill -P $mutation 2>/dev/null; kill $mutation 2>/dev/null; pkill -f mutmut' EXIT
for run in $(seq "$runs"); do
  start=$SECONDS
  CI=true .venv/bin/python -m pytest -q -ra -p no:cacheprovider tests/cluster tests/e2e >"$out/run$run.log" 2>&1
  echo "run $run: rc=$? $((SECONDS - start)) s $(tail -1 "$out/run$run.log")" | tee -a "$out/summary"
done
