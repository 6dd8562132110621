#!/usr/bin/env bash
# Mutation testing with mutmut: each mutant of function/'s rule modules (a condition flipped, a
# string or number changed, an argument dropped) run against the fast tests (tests/unit and
# tests/properties, hypothesis derandomized) until one fails. A mutant no test kills is a rule
# no test guards. See tests/README.md for the scores and the survivors accepted.
#   bash hack/mutate.sh            the rule modules (about an hour on two cores)
#   bash hack/mutate.sh --quick    the security rules only, a few minutes (the test command runs it)
#   bash hack/mutate.sh GLOB...    mutants by mutmut's names, e.g. 'function.status.*'
# Writes mutants/report.md (killed and surviving per module) and mutants/survivors.md (each
# survivor's diff) under mutants/ (gitignored). Exits 1 if a mutant of the security rules survives.
set -euo pipefail
source "$(dirname "$0")/venv.sh"
cd "$root"

# The quick slice: the master key's places (the client Secret, who brings a key), the Secret
# builder, the pods' hardening and env precedence (pods.merge_env: the pull's own MODEL wins),
# and the spec's rules on env. Small enough for the test command (a few minutes on two cores):
# the Deployments' builders, which hold much more than security, are left to the full run.
security=(
  'function.client.*'
  'function.k8s.*'
  'function.pods.*'
  'function.litellm.x_brings_own_key__*'
  'function.spec.xǁEnvVarǁ*'
)
rules=()
for module in spec litellm ollama status names compose client k8s pods service; do
  rules+=("function.$module.*")
done

check=yes
case "${1:-}" in
  # The unit tests alone: the property tests kill nothing more here and take most of the time.
  --quick) globs=("${security[@]}") && export PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-} --ignore=tests/properties" ;;
  "") globs=("${rules[@]}") ;;
  *) globs=("$@") check=no ;;
esac

# Derandomized, few examples and no shrinking: the same verdict on every run (tests/conftest.py).
export HYPOTHESIS_PROFILE=mutate
start=$SECONDS
# mutmut prints a progress line per mutant: only its summary is kept.
log=$(mktemp)
if ! nice -n 10 "$venv/bin/mutmut" run --max-children "${MUTATE_JOBS:-$(nproc)}" "${globs[@]}" >"$log" 2>&1; then
  tr '\r' '\n' <"$log" | tail -n 40 >&2
  echo "mutmut failed (whole log: $log)" >&2
  exit 1
fi
mv "$log" mutants/run.log
echo "mutmut: ${#globs[@]} selections in $((SECONDS - start)) s"
"$venv/bin/python" hack/mutate_report.py --survivors mutants/survivors.md "${globs[@]}" | tee mutants/report.md
echo "survivors' diffs: mutants/survivors.md"
if [ "$check" = yes ]; then
  "$venv/bin/python" hack/mutate_report.py --fail-on-survivors "${security[@]}" >/dev/null
fi
