"""An acknowledged event is never lost: a signed LINE event is posted to `fieldbot serve` while
the database is locked, the server is killed with SIGKILL, the lock is let go and the server
started again. The platform sends an event again only when it got no 200 for it (which is what
the test does too). Either way the event is handled exactly once and the user gets the answer.

On SQLite the whole database is locked, so the event cannot even be stored: the webhook must
not answer 200 before it is. On PostgreSQL only the users table is locked: an event alone in its
webhook is handled in the transaction that stores it (bot.intake), so it is not acknowledged
either; two events in one webhook are stored first and acknowledged, and their handling is what
the kill interrupts."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from aiohttp import ClientError, ClientSession, ClientTimeout
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.service import build_core
from storage.models import Conversation, InboxEvent, User
from tests.support.fake_line import FakeLine, LineEvents, sign, text_of, webhook_body
from tests.support.processes import free_port, kill, serve, server_env, stop
from tests.support.settings import make_settings

SECRET = "crash-secret"


@asynccontextmanager
async def locked(database_url: str) -> AsyncIterator[None]:
    """Another client holds a lock: on SQLite the database's write lock, on PostgreSQL an
    exclusive lock on the users table (which handling a message needs and storing it not)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database), isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    pg = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    transaction = pg.transaction()
    await transaction.start()
    await pg.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        await transaction.rollback()
        await pg.close()


async def _post(port: int, body: bytes) -> int | None:
    """Post a signed webhook; the status, or None when the server died before answering."""
    headers = {"X-Line-Signature": sign(SECRET, body), "Content-Type": "application/json"}
    try:
        async with (
            ClientSession(timeout=ClientTimeout(total=60)) as http,
            http.post(f"http://127.0.0.1:{port}/webhooks/line", data=body, headers=headers) as r,
        ):
            return r.status
    except (TimeoutError, ClientError):
        return None


@pytest.mark.parametrize("people", [1, 2])
async def test_an_event_posted_while_the_database_is_locked_survives_kill_nine(
    database_url: str, tmp_path: Path, people: int
) -> None:
    fake = FakeLine()
    villagers = [LineEvents(fake, f"Ucrash{n:012d}") for n in range(people)]
    events = [villager.text("สวัสดีครับ") for villager in villagers]
    body = webhook_body(*events)

    def welcomes() -> int:
        return sum("ยินดีต้อนรับ" in text_of(m) for m in fake.messages())

    async with TestServer(fake.app()) as api:
        base = str(api.make_url("")).rstrip("/")
        env = server_env(
            database_url, tmp_path, LINE_CHANNEL_SECRET=SECRET,
            LINE_CHANNEL_ACCESS_TOKEN="token", LINE_API_BASE_URL=base,
            LINE_DATA_API_BASE_URL=base, FIELDBOT_INBOX_GRACE_SECONDS="0.5",
        )  # fmt: skip
        port = free_port()
        process = await serve(env, port)
        async with locked(database_url):
            posted = asyncio.create_task(_post(port, body))
            await asyncio.sleep(1.5)
            await kill(process)
            acknowledged = await posted
        assert welcomes() == 0
        if people > 1 and not database_url.startswith("sqlite"):
            assert acknowledged == 200  # stored, then killed in the middle of handling
        process = await serve(env, port)
        try:
            if acknowledged != 200:
                assert await _post(port, body) == 200  # LINE sends what it got no 200 for
            for _ in range(300):
                if welcomes() == people:
                    break
                await asyncio.sleep(0.1)
            assert welcomes() == people, "an acknowledged event was lost"
            # A late redelivery of the same event is stored once and handled once.
            assert await _post(port, body) == 200
            await asyncio.sleep(1.0)
        finally:
            await stop(process)
    assert welcomes() == people

    core = await build_core(make_settings(database_url, tmp_path / "media"), migrate=False)
    try:
        async with core.sessions() as session:
            rows = (await session.execute(select(InboxEvent))).scalars().all()
            users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
            states = (
                await session.execute(select(func.count()).select_from(Conversation))
            ).scalar_one()
    finally:
        await core.close()
    assert sorted((r.event_id, r.status) for r in rows) == sorted(
        (event["webhookEventId"], "done") for event in events
    )
    assert (users, states) == (people, people)
