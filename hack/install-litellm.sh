#!/usr/bin/env bash
# Installs the real LiteLLM proxy in a venv of its own (large; never a dependency of the
# function). Cached: prints the path of the litellm executable.
set -euo pipefail
# The version function/names.py pins (LITELLM_VERSION).
version=$(sed -n 's/^LITELLM_VERSION = "\(.*\)"$/\1/p' "$(dirname "$0")/../function/names.py")
[ "$version" != v ] && [ -n "$version" ] || { echo "no LITELLM_VERSION in function/names.py" >&2; exit 1; }
dir="${MODELAPI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/function-modelapi}/litellm-$version"
# What the image's proxy runs with beyond litellm[proxy], each pinned as LiteLLM's proxy-runtime
# extra pins it: prisma (LiteLLM's auth errors import it: without it a request with no key gets
# 500 instead of 401), prometheus_client (the prometheus callback and --prometheus_metrics_port)
# and OpenTelemetry's SDK with its OTLP/HTTP exporter (the otel callback).
extras=("prisma>=0.11.0,<1.0" "prometheus-client>=0.20.0,<1.0" "opentelemetry-api==1.45.1"
  "opentelemetry-sdk==1.45.1" "opentelemetry-exporter-otlp-proto-http==1.45.1")
# A venv made before a package joined the list gets it added, not made again.
stamp="$dir/.complete-$(printf '%s\n' "${extras[@]}" | sha256sum | cut -c1-12)"
if [ ! -x "$dir/bin/litellm" ] || [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$version" "${extras[@]}" >&2
  touch "$dir/.complete" "$stamp"
elif [ ! -f "$stamp" ]; then
  "$dir/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$version" "${extras[@]}" >&2
  touch "$stamp"
fi
echo "$dir/bin/litellm"
