"""Memory of `fieldbot serve`: idle, and with many users' conversations stored.

Fills the database with N users, each in the middle of a form (a conversation row with a few
answers, as a step leaves it), starts `fieldbot serve` with the Telegram channel on
(against a fake API on loopback), lets it settle (start-up, the scheduler's first look), walks
a few users through a step each so that the hot path and the dispatcher have run, and reads
the server's resident memory from /proc (VmRSS now, VmHWM its peak).

    .venv/bin/python -m bench.memory --users 0 --users 100000 \\
        --database-url sqlite+aiosqlite:////tmp/mem.db

Each --users value is a run of its own on a database emptied first.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import delete, insert

from bench.line_load import _free_port
from bench.telegram_compare import SECRET, FakeApi, _start, _update
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Conversation, InboxEvent, OutboxMessage, User

ANSWERS = {"activity_type": "weir", "date": "2026-12-01", "participants": 25,
           "place": {"province_code": "50", "district_code": "5001", "subdistrict_code": "500102",
                     "village_no": 3},
           "sectors": ["government"]}  # fmt: skip
CONTEXT = {"history": ["activity_type", "date", "place", "participants", "sectors"]}


async def fill(url: str, users: int) -> None:
    """N registered users, each with a form in progress."""
    engine = create_engine(url)
    await upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        for table in (OutboxMessage, InboxEvent, Conversation):
            await conn.execute(delete(table))
        await conn.execute(delete(User))
        for start in range(0, users, 5000):
            batch = range(start, min(users, start + 5000))
            ids = await conn.execute(
                insert(User).returning(User.id),  # type: ignore[arg-type]
                [{"platform": "telegram", "platform_user_id": str(900_000_000 + n),
                  "display_name": f"ผู้ใช้ {n}", "role": "village_head", "language": "th",
                  "province_code": "50", "district_code": "5001", "subdistrict_code": "500102",
                  "village_no": 3, "consent_at": now, "active": True, "created_at": now,
                  "updated_at": now} for n in batch],
            )  # fmt: skip
            await conn.execute(
                insert(Conversation),
                [{"user_id": user_id, "form_id": "activity", "form_version": 1,
                  "step_id": "description", "answers": ANSWERS, "context": CONTEXT,
                  "started_at": now, "updated_at": now} for user_id in ids.scalars()],
            )  # fmt: skip
    await engine.dispose()


def _memory(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    found = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024  # MiB
    return found


async def measure(url: str, users: int, settle: float) -> dict[str, Any]:
    await fill(url, users)
    fake = FakeApi()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    api_port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    # fieldbot serve, started as the Telegram bench starts it (with its log level, flood
    # limits and media directory), once its health check answers.
    process, port = await _start("fieldbot", f"http://127.0.0.1:{api_port}", url)
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.sleep(settle)
            idle = _memory(process.pid)
            # A few users answer the question they are at: the hot path and the replies run.
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            for n in range(min(users, 20)):
                body = _update(int(time.time() * 1000) + n, 900_000_000 + n, "ซ่อมฝายกับชาวบ้าน")
                async with http.post(f"http://127.0.0.1:{port}/webhooks/telegram", data=body,
                                     headers=headers) as answer:  # fmt: skip
                    assert answer.status == 200
            await asyncio.sleep(2.0)
            after = _memory(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
        await runner.cleanup()
    return {"users_stored": users, "idle_rss_mib": round(idle["VmRSS"], 1),
            "rss_after_steps_mib": round(after["VmRSS"], 1),
            "peak_rss_mib": round(after["VmHWM"], 1),
            "telegram_messages_sent": sum(fake.sent.values())}  # fmt: skip


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, action="append", required=True,
                        help="users with a form in progress; once per run")  # fmt: skip
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds to let the server settle before reading (10)")  # fmt: skip
    args = parser.parse_args()
    for users in args.users:
        print(json.dumps(await measure(args.database_url, users, args.settle)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
