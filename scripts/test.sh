#!/usr/bin/env bash
# Install everything, then run the whole suite: lint, format check, strict types, tests.
# PostgreSQL storage tests run when FIELDBOT_TEST_POSTGRES_URL is set (see README), else they skip.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
# The tests start `fieldbot` as a process dozens of times: let Python keep the bytecode of the
# project's own modules (in __pycache__, ignored by git) instead of compiling them every time.
unset PYTHONDONTWRITEBYTECODE
run() { "$UV" run --frozen --no-sync "$@"; }
echo "== ruff check";   run ruff check .
echo "== ruff format";  run ruff format --check .
echo "== mypy --strict"; run mypy --strict bot domain handlers storage
# The suite runs on every core (pytest-xdist; each worker has its own databases). Set
# FIELDBOT_TEST_WORKERS=0 to run it in one process.
echo "== pytest";       run pytest -n "${FIELDBOT_TEST_WORKERS:-auto}" "$@"
