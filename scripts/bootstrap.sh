#!/usr/bin/env bash
# Installs everything fieldbot needs from the lock file into ./.venv.
# Needs only python3 (3.11+); uv is installed into ./.uv-bootstrap when it is not on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v uv >/dev/null 2>&1; then
  UV=$(command -v uv)
elif [ -x .uv-bootstrap/bin/uv ]; then
  UV=$PWD/.uv-bootstrap/bin/uv
else
  echo "fieldbot: installing uv into .uv-bootstrap/ (one time)" >&2
  python3 -m venv .uv-bootstrap
  .uv-bootstrap/bin/python -m pip install --quiet uv
  UV=$PWD/.uv-bootstrap/bin/uv
fi
export UV
# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (as on CI), every start of
# `fieldbot` would otherwise compile its libraries from source again (a few seconds each).
"$UV" sync --frozen --quiet --compile-bytecode
