"""Where fieldbot's CPU per step goes, piece by piece, from py-spy's samples of a bench run.

`bench.telegram_compare --spy FILE` records the server with py-spy (raw stacks) and prints this
table at the end; it can be made again from the file:

    .venv/bin/python -m bench.pieces /tmp/spy.txt --cpu-ms-per-step 3.0

Each sample goes to the piece of the innermost frame of its stack that belongs to one (a
library's frames count for what called them: aiohttp's client under python-telegram-bot is the
platform call, under the webhook it is the webhook); start-up (imports, migrations) is left
out, and the shares of what remains are scaled by the CPU per step the bench measured:

- platform call: python-telegram-bot building the request and reading the answer, aiohttp's
  client (`Bot.do_api_request` and below)
- database: SQLAlchemy, the drivers (asyncpg, aiosqlite, sqlite3 through storage.hot), and the
  storage modules
- rendering: a message made into Telegram calls (`TelegramChannel.render`, `_sends`)
- core: the pure conversation core (handlers/: the router, the forms, the Thai layer)
- webhook: reading a webhook (`TelegramChannel.read`, python-telegram-bot's Update) and
  aiohttp's server (`web_protocol`)
- intake and service: bot/intake.py, bot/service.py, domain/ (the glue around a step)
- outbox: the dispatcher's own bookkeeping (bot/outbox.py)
- event loop and the rest: asyncio, and what none of the above claims
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

STARTUP = ("_find_and_load", "upgrade (storage/migrate", "build_core", "sync_areas")
PIECES: list[tuple[str, tuple[str, ...]]] = [
    ("platform call", ("Bot.do_api_request", "bot/channels/telegram/http.py")),
    ("database", ("sqlalchemy/", "asyncpg/", "aiosqlite/", "storage/")),
    ("rendering", ("TelegramChannel.render", "TelegramChannel._sends", "TelegramChannel.markup")),
    ("core", ("handlers/",)),
    ("webhook", ("TelegramChannel.read", "web_protocol.py", "web_request.py", "web_response.py",
                 "_update.py", "bot/server.py", "bot/channels/shared.py")),
    ("intake and service", ("bot/intake.py", "bot/service.py", "domain/",
                            "TelegramChannel.handle", "TelegramChannel._")),
    ("outbox", ("bot/outbox.py",)),
]  # fmt: skip
OTHER = "event loop and the rest"


def _piece(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        for name, marks in PIECES:
            if any(mark in frame for mark in marks):
                return name
    return OTHER


def shares(lines: Iterable[str]) -> tuple[Counter[str], int]:
    """Samples per piece (start-up left out), and how many samples that is."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, number = line.rstrip().rpartition(" ")
        if not stack or not number.isdigit():
            continue
        if any(mark in stack for mark in STARTUP):
            continue
        counts[_piece(stack.split(";"))] += int(number)
    return counts, sum(counts.values())


def table(lines: Iterable[str], cpu_ms_per_step: float) -> str:
    counts, total = shares(lines)
    rows = ["| piece | share of CPU | ms per step |", "| --- | --- | --- |"]
    for name in [*(n for n, _ in PIECES), OTHER]:
        share = counts[name] / total if total else 0.0
        rows.append(f"| {name} | {share:.0%} | {share * cpu_ms_per_step:.2f} |")
    rows.append(f"| all | 100% | {cpu_ms_per_step:.2f} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="py-spy record -f raw output")
    parser.add_argument("--cpu-ms-per-step", type=float, required=True,
                        help="the server's CPU per step the bench measured")  # fmt: skip
    args = parser.parse_args()
    print(table(Path(args.file).read_text("utf-8").splitlines(), args.cpu_ms_per_step))
    return 0


if __name__ == "__main__":
    sys.exit(main())
