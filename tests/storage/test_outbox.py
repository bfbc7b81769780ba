"""Outbox claims on SQLite and PostgreSQL: a dispatcher whose lease ran out cannot send or
finish a row another took back."""

from __future__ import annotations

import datetime as dt

from bot.service import Core
from handlers.messages import Outgoing
from storage import outbox, repo
from storage.models import OutboxMessage

NOW = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=60)


async def test_a_lapsed_claim_is_taken_back_and_the_first_holder_is_refused(core: Core) -> None:
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", "42")
        row = await outbox.enqueue(session, user, "alert", [Outgoing("hi")], now=NOW)
        await session.flush()
        row_id = row.id or 0
    async with core.sessions() as session, session.begin():
        assert [r.id for r in await outbox.claim(session, "telegram", NOW, 10, LEASE, "A")] == [
            row_id
        ]
        assert await outbox.claim(session, "telegram", NOW, 10, LEASE, "B") == []  # held
    later = NOW + LEASE + dt.timedelta(seconds=1)
    async with core.sessions() as session, session.begin():
        taken = await outbox.claim(session, "telegram", later, 10, LEASE, "B")
        assert [r.id for r in taken] == [row_id]
        assert not await outbox.renew(session, row_id, "A", later + LEASE)
        await outbox.finish(session, row_id, "sent", now=later, token="A")  # ignored
    async with core.sessions() as session:
        stored = await session.get(OutboxMessage, row_id)
        assert stored is not None and (stored.status, stored.claim_token) == ("sending", "B")
