#!/usr/bin/env bash
# Makes .venv/ at the repository root: a Python 3.11+ virtual environment with sdks/python installed
# editable and its dev tools (pytest, mypy, pydantic, datamodel-code-generator), which
# tests/python and examples/python-pod.test.ts run through, and `podline codegen --python` finds
# there. A fast no-op when .venv/ was made from the same sdks/python/pyproject.toml, Python and
# script (a stamp file holds their hash). `npm test` runs it (pretest), so .ci/run does too.
# Installs Debian's python3 and python3-venv when no Python 3.11+ with venv is found.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
stamp="$venv/.podline-stamp"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if ! python=$(find_python); then
  if ! command -v apt-get >/dev/null; then
    echo "error: no Python 3.11 or later with venv on PATH; install one (python3.11 and its venv module) and run this again." >&2
    exit 1
  fi
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then as_root=(sudo -E); fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q python3 python3-venv
  python=$(find_python) || {
    echo "error: Debian's python3 is older than 3.11; install Python 3.11 or later and run this again." >&2
    exit 1
  }
fi

want=$(cat "$root/sdks/python/pyproject.toml" "$0" <("$python" -VV) | sha256sum | cut -d ' ' -f 1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

# One maker at a time: two test runs in one checkout would otherwise build the same folder at once.
exec 9>"${TMPDIR:-/tmp}/podline-python-env-$(printf '%s' "$root" | sha256sum | cut -c 1-16).lock"
flock 9
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

# A .venv of the same Python is kept and updated in place; another one is made anew.
if [ ! -x "$venv/bin/python" ] || [ "$("$venv/bin/python" -VV 2>/dev/null)" != "$("$python" -VV)" ]; then
  echo "making $venv with $("$python" -V)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
echo "installing sdks/python[dev] into $venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet --timeout 60 \
  --editable "$root/sdks/python[dev]"
printf '%s\n' "$want" >"$stamp"
echo "$venv is ready: . .venv/bin/activate puts python, pytest, mypy and datamodel-codegen on PATH"
