"""Broadcast and reminder benchmark (issue 5).

`broadcast`: 100,000 generated users (50,000 on LINE, 50,000 on Telegram) get one broadcast.
The fake LINE and Telegram APIs run in a process of their own, with no rate limits (ours are
lifted too: TELEGRAM_MAX_PER_SECOND). Measured from the confirm (the broadcast is due) to the
last row recorded as sent: wall time, recipients per second, recipients per CPU-second of the
fieldbot process (its own overhead, whatever the fakes cost), and the process's peak memory.

`reminders`: the weekly-reminder selection over 100,000 users and 1,000,000 activity reports
(20,000 villages, reports spread over two years), then the whole job (selection, the
once-per-period records and the outbox rows).

    uv run python -m bench.broadcast_load broadcast --database-url sqlite+aiosqlite:////tmp/b.db
    uv run python -m bench.broadcast_load reminders --database-url sqlite+aiosqlite:////tmp/r.db
    (PostgreSQL: --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import multiprocessing
import random
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, insert, select, text

from bot.channels import registry
from bot.config import Settings
from bot.outbox import Dispatcher
from bot.scheduler import weekly_reminder
from bot.service import build_core, queue_broadcasts
from domain import broadcasts
from storage import broadcasts as store
from storage import reminders
from storage.models import OutboxMessage, Report, User

TOKEN = "1:bench"
NOW = dt.datetime(2026, 3, 23, 2, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in Bangkok


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fakes(line_port: int, tg_port: int) -> None:
    """The fake platforms, in their own process: they count what arrives and keep nothing."""
    from tests.support.fake_line import FakeLine
    from tests.support.fake_telegram import FakeTelegram

    async def run() -> None:
        line, telegram = FakeLine(), FakeTelegram(TOKEN)
        line_app, tg_app = line.app(), telegram.app()

        async def forget(_app: web.Application) -> None:
            while True:  # memory stays flat over 100,000 calls
                await asyncio.sleep(1)
                line.calls.clear(), line.delivered.clear(), line.accepted_keys.clear()
                telegram.calls.clear(), telegram.delivered.clear()

        for app, port in ((line_app, line_port), (tg_app, tg_port)):
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        await forget(line_app)

    asyncio.run(run())


def _settings(url: str, media: Path, line_port: int = 1, tg_port: int = 1) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=url, FIELDBOT_MEDIA_DIR=media, FIELDBOT_QUIET_HOURS="off",
        FIELDBOT_LOG_LEVEL="WARNING",
        LINE_CHANNEL_SECRET="s", LINE_CHANNEL_ACCESS_TOKEN="t",
        LINE_API_BASE_URL=f"http://127.0.0.1:{line_port}",
        LINE_DATA_API_BASE_URL=f"http://127.0.0.1:{line_port}",
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET="s",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{tg_port}",
        TELEGRAM_MAX_PER_SECOND=1_000_000,
    )  # fmt: skip


async def _users(core: Any, per_platform: int) -> None:
    """Village heads in 500 subdistricts of province 50, 40 villages each (20,000 villages)."""
    rows = []
    for n in range(per_platform * 2):
        platform = "line" if n % 2 == 0 else "telegram"
        village = n % 20_000
        district = f"50{village // 800 + 1:02d}"
        subdistrict = f"{district}{village // 40 % 20 + 1:02d}"
        rows.append({
            "platform": platform,
            "platform_user_id": f"U{n:032d}" if platform == "line" else str(10_000_000 + n),
            "role": "village_head", "consent_at": NOW, "language": "th", "active": True,
            "province_code": "50", "district_code": district, "subdistrict_code": subdistrict,
            "village_no": village % 40 + 1, "join_failures": 0, "created_at": NOW,
            "updated_at": NOW,
        })  # fmt: skip
    async with core.sessions() as session, session.begin():
        for start in range(0, len(rows), 10_000):
            await session.execute(insert(User), rows[start : start + 10_000])


async def _reports(core: Any, count: int) -> None:
    rng = random.Random(5)
    async with core.sessions() as session:
        reporter = (await session.execute(select(func.min(User.id)))).scalar_one()
    for start in range(0, count, 20_000):
        rows = []
        for n in range(start, min(count, start + 20_000)):
            village = rng.randrange(20_000)
            district = f"50{village // 800 + 1:02d}"
            at = NOW - dt.timedelta(days=rng.uniform(0, 730))
            rows.append({
                "reference": f"ACT-B-{n:09d}", "kind": "activity", "reporter_id": reporter,
                "province_code": "50", "district_code": district,
                "subdistrict_code": f"{district}{village // 40 % 20 + 1:02d}",
                "village_no": village % 40 + 1, "answers": {}, "status": "received",
                "reopen_count": 0, "escalation_level": 0, "form_id": "activity",
                "form_version": 1, "created_at": at, "updated_at": at,
            })  # fmt: skip
        async with core.sessions() as session, session.begin():
            await session.execute(insert(Report), rows)
        print(f"\r  reports: {min(count, start + 20_000):,}", end="", file=sys.stderr)
    print(file=sys.stderr)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _fresh(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)  # noqa: ASYNC240 - set-up
        return
    import asyncpg

    dsn = url.replace("postgresql+asyncpg", "postgresql")
    name = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def broadcast(args: argparse.Namespace) -> None:
    await _fresh(args.database_url)
    line_port, tg_port = _free_port(), _free_port()
    fakes = multiprocessing.get_context("spawn").Process(
        target=_fakes, args=(line_port, tg_port), daemon=True
    )
    fakes.start()
    core = await build_core(_settings(args.database_url, Path(args.media), line_port, tg_port))
    core.clock = lambda: NOW
    try:
        await _users(core, args.users_per_platform)
        async with core.sessions() as session, session.begin():
            item = await broadcasts.create(
                session, creator=None, roles=["reporter"], area="50", text="ทดสอบประกาศ",
                image=None, send_at=NOW, status="scheduled", now=NOW,
            )  # fmt: skip
            broadcast_id = item.id
        await asyncio.sleep(1)  # the fakes are up
        async with registry.senders(core) as senders:
            dispatcher = Dispatcher(core, senders)
            profile = cProfile.Profile(time.process_time) if args.profile else None
            if profile is not None:
                profile.enable()
            cpu, started = _cpu(), time.perf_counter()
            queued = await queue_broadcasts(core)
            queued_at = time.perf_counter()
            dispatcher.start()
            while True:
                await asyncio.sleep(0.25)
                async with core.sessions() as session:
                    left = (await session.execute(
                        select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.broadcast_id == broadcast_id,
                               OutboxMessage.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
                    )).scalar_one()  # fmt: skip
                if left == 0:
                    break
            elapsed, cpu_used = time.perf_counter() - started, _cpu() - cpu
            if profile is not None:
                profile.disable()
                profile.dump_stats(args.profile)
            await dispatcher.stop()
        async with core.sessions() as session:
            broadcast_row = await session.get(store.Broadcast, broadcast_id)
            assert broadcast_row is not None
            progress = await store.progress(session, broadcast_row)
        print(f"database: {core.engine.dialect.name}")
        print(f"recipients: {queued:,} (sent {progress.sent:,}, failed {progress.failed})")
        print(f"queueing the rows: {queued_at - started:.2f} s")
        print(f"confirm to all sent: {elapsed:.2f} s -> {queued / elapsed:,.0f} recipients/s")
        print(f"fieldbot CPU: {cpu_used:.2f} s -> {queued / cpu_used:,.0f} recipients per CPU-s")
        print(f"peak memory (RSS): {_peak_mb():.0f} MB")
    finally:
        await core.close()
        fakes.kill()


async def reminder_selection(args: argparse.Namespace) -> None:
    await _fresh(args.database_url)
    core = await build_core(_settings(args.database_url, Path(args.media)))
    core.clock = lambda: NOW
    try:
        print("generating…", file=sys.stderr)
        await _users(core, args.users_per_platform)
        await _reports(core, args.reports)
        if core.engine.dialect.name == "postgresql":
            async with core.engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
                await conn.commit()
        rss_before = _peak_mb()
        started = time.perf_counter()
        async with core.sessions() as session:
            due = await reminders.weekly_due(session, NOW - dt.timedelta(days=7))
        selected = time.perf_counter() - started
        started = time.perf_counter()
        sent = await weekly_reminder(core, NOW)
        job = time.perf_counter() - started
        print(f"database: {core.engine.dialect.name}")
        print(f"users: {args.users_per_platform * 2:,}; reports: {args.reports:,}")
        print(f"selection: {len(due):,} reporters due in {selected:.2f} s")
        print(f"whole job (selection, records, outbox rows): {sent:,} in {job:.2f} s")
        print(f"peak memory (RSS): {_peak_mb():.0f} MB (before the selection: {rss_before:.0f})")
    finally:
        await core.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("broadcast", "reminders"))
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--users-per-platform", type=int, default=50_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the sending into FILE")
    parser.add_argument("--media", default=str(Path.cwd() / ".bench-media"))
    args = parser.parse_args()
    run = broadcast if args.what == "broadcast" else reminder_selection
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
