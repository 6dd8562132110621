# Sourced by the other scripts: makes .venv with the function and, unless the script sourcing it
# sets venv_extras= (empty, as hack/render.sh does: render needs the function alone), its test
# tools. Re-installs only when pyproject.toml changed.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
digest=$(sha256sum "$root/pyproject.toml" | cut -c1-16)
stamp="$venv/.installed-$digest"  # the function and its test tools
if [ -z "${venv_extras-test}" ]; then
  [ -f "$stamp" ] || stamp="$venv/.installed-runtime-$digest"
  target="$root"
else
  target="$root[test]"
fi
if [ ! -f "$stamp" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -e "$target" >&2
  touch "$stamp"
fi
