"""The outbox under fault injection: a slow platform that answers 500 and 429 for a while, and
`fieldbot serve` killed with SIGKILL mid-delivery three times, then restarted. On LINE every push
arrives exactly once (its retry key makes re-sending a delivered push harmless). Telegram has no
such key: every push arrives, and only a push that was in flight at the moment of a kill (sent,
answered, not yet recorded) may arrive twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.service import build_core
from handlers.messages import Outgoing
from storage import outbox, repo
from storage.models import OutboxMessage
from tests.support.fake_line import FakeLine
from tests.support.processes import free_port, kill, serve, server_env, stop
from tests.support.settings import make_settings

ROWS = 120


async def _queue(database_url: str, tmp_path: Path, platform: str = "line") -> None:
    core = await build_core(make_settings(database_url, tmp_path / "media"))
    try:
        async with core.writing(), core.sessions() as session, session.begin():
            for n in range(ROWS):
                user_id = f"U{n:05d}" if platform == "line" else str(1000 + n)
                user = await repo.get_or_create_user(session, platform, user_id)
                await outbox.enqueue(session, user, "alert", [Outgoing(f"push {n}")])
    finally:
        await core.close()


async def _left(database_url: str, tmp_path: Path) -> int:
    core = await build_core(make_settings(database_url, tmp_path / "media"), migrate=False)
    try:
        async with core.sessions() as session:
            query = (
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status.in_(("pending", "sending"))  # type: ignore[attr-defined]
                )
            )
            return int((await session.execute(query)).scalar_one())
    finally:
        await core.close()


async def _kill_three_times_then_finish(
    database_url: str, tmp_path: Path, channel: dict[str, str], pauses: tuple[float, ...]
) -> None:
    """`fieldbot serve` with `channel`'s settings, killed with SIGKILL after each pause while
    it delivers, then run until the outbox is empty."""
    env = server_env(database_url, tmp_path, FIELDBOT_OUTBOX_LEASE_SECONDS="1", **channel)
    port = free_port()
    for pause in pauses:
        process = await serve(env, port)
        await asyncio.sleep(pause)
        await kill(process)
    process = await serve(env, port)
    try:
        for _ in range(600):
            if await _left(database_url, tmp_path) == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await stop(process)
    assert await _left(database_url, tmp_path) == 0


async def test_kill_nine_mid_delivery_loses_nothing_and_sends_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    fake = FakeLine(push_delay=0.02, push_failures=[500, 500, 429, 500, 502])
    await _queue(database_url, tmp_path)
    async with TestServer(fake.app()) as api:
        base = str(api.make_url("")).rstrip("/")
        line = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t",
                "LINE_API_BASE_URL": base, "LINE_DATA_API_BASE_URL": base}  # fmt: skip
        # killed three times while pushes are under way
        await _kill_three_times_then_finish(database_url, tmp_path, line, (0.4, 0.3, 0.5))
    delivered = sorted(body["messages"][0]["text"] for body in fake.delivered)
    assert delivered == sorted(f"push {n}" for n in range(ROWS))  # each exactly once
    retried = [c for c in fake.calls if c.path.endswith("/push")]
    assert len(retried) > ROWS  # failures and kills did make it send some again


async def test_kill_nine_on_telegram_loses_nothing(database_url: str, tmp_path: Path) -> None:
    from bot.outbox import CONCURRENCY
    from tests.support.fake_telegram import FakeTelegram

    token = "555:crash"
    fake = FakeTelegram(token, delay=0.02)
    fake.failures["sendMessage"] = [
        (500, {"error_code": 500, "description": "Internal Server Error"}),
        (429, {"error_code": 429, "description": "Too Many Requests: retry after 1",
               "parameters": {"retry_after": 1}}),
    ]  # fmt: skip
    await _queue(database_url, tmp_path, "telegram")
    async with TestServer(fake.app()) as api:
        telegram = {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": "s",
                    "TELEGRAM_API_BASE_URL": str(api.make_url("")).rstrip("/")}  # fmt: skip
        await _kill_three_times_then_finish(database_url, tmp_path, telegram, (1.0, 0.6, 0.8))
    delivered = [str(call.params["text"]) for call in fake.delivered]
    assert set(delivered) == {f"push {n}" for n in range(ROWS)}  # nothing lost
    # Duplicates only from what was in flight at a kill: at most one batch of concurrent
    # sends per kill, never a re-run of what was recorded as sent.
    assert len(delivered) - ROWS <= 3 * CONCURRENCY
