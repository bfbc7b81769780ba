#!/usr/bin/env bash
# Quick start: install everything, then run the bot server on the embedded default (SQLite ./fieldbot.db).
# Extra arguments go to `fieldbot serve` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec "$UV" run --frozen --no-sync fieldbot serve "$@"
