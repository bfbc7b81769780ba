"""Outbox claims on SQLite and PostgreSQL: a dispatcher whose lease ran out cannot send or
finish a row another took back."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        assert await outbox.renew_many(session, [row_id], "A", later + LEASE) == set()
        await outbox.finish(session, row_id, "sent", now=later, token="A")  # ignored
    async with core.sessions() as session:
        stored = await session.get(OutboxMessage, row_id)
        assert stored is not None and (stored.status, stored.claim_token) == ("sending", "B")


async def test_replies_and_pushes_are_claimed_on_their_own_lanes_in_chat_order(core: Core) -> None:
    """A reply to a chat is not claimed while an earlier one to that chat is being sent or
    waits for its retry; other chats' replies, and pushes, are not held back by it."""
    later = NOW + dt.timedelta(minutes=5)
    async with core.sessions() as session, session.begin():
        one = await repo.get_or_create_user(session, "telegram", "1")
        two = await repo.get_or_create_user(session, "telegram", "2")
        first = await outbox.enqueue(session, one, "reply", [Outgoing("1a")], now=NOW)
        second = await outbox.enqueue(session, one, "reply", [Outgoing("1b")], now=NOW)
        other = await outbox.enqueue(session, two, "reply", [Outgoing("2a")], now=NOW)
        alert = await outbox.enqueue(session, one, "alert", [Outgoing("alert")], now=NOW)
        await session.flush()
        ids = [row.id for row in (first, second, other, alert)]
    async with core.sessions() as session, session.begin():
        taken = await outbox.claim(session, "telegram", NOW, 10, LEASE, "A", lane="reply")
        assert [r.id for r in taken] == ids[:3]  # due together: claimed together, in order
        pushes = await outbox.claim(session, "telegram", NOW, 10, LEASE, "A", lane="push")
        assert [r.id for r in pushes] == [ids[3]]
        # The first reply failed and waits for its retry; the chat's second is sent back.
        await outbox.finish(session, ids[0], "pending", now=NOW, retry_at=later, token="A")
        await outbox.finish(session, ids[1], "pending", now=NOW, retry_at=NOW, token="A")
        await outbox.finish(session, ids[2], "sent", now=NOW, token="A")
    async with core.sessions() as session, session.begin():
        assert await outbox.claim(session, "telegram", NOW, 10, LEASE, "B", lane="reply") == []
    async with core.sessions() as session, session.begin():
        taken = await outbox.claim(session, "telegram", later, 10, LEASE, "B", lane="reply")
        assert [r.id for r in taken] == ids[:2]


async def test_an_operators_retry_never_takes_a_row_from_under_its_sender(core: Core) -> None:
    """`outbox retry --id N` on a row a dispatcher is sending now would send it twice: it is
    refused until that dispatcher's lease has run out."""
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", "42")
        row = await outbox.enqueue(session, user, "alert", [Outgoing("hi")], now=NOW)
        await session.flush()
        row_id = row.id or 0
    async with core.sessions() as session, session.begin():
        assert await outbox.claim(session, "telegram", NOW, 10, LEASE, "A")
        assert await outbox.requeue(session, NOW, row_id=row_id) == 0  # being sent
    later = NOW + LEASE + dt.timedelta(seconds=1)
    async with core.sessions() as session, session.begin():
        assert await outbox.requeue(session, later, row_id=row_id) == 1  # its sender is gone


async def test_a_row_without_its_content_is_never_sent_again(core: Core) -> None:
    """A failed row whose content the retention job emptied (or an erasure erased) has
    nothing left to send: an operator's "try again" leaves it as it is."""
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", "42")
        rows = [await outbox.enqueue(session, user, "alert", [Outgoing("hi")], now=NOW)
                for _ in range(3)]  # fmt: skip
        for row, payload in zip(rows, (outbox.EMPTIED, outbox.ERASED, None), strict=True):
            row.status = "failed"
            row.payload = payload or row.payload
        await session.flush()
        ids = [row.id or 0 for row in rows]
    async with core.sessions() as session, session.begin():
        assert await outbox.requeue(session, NOW, row_id=ids[0]) == 0
        assert await outbox.requeue(session, NOW, failed=True) == 1  # the one with content
    async with core.sessions() as session:
        found = [await session.get(OutboxMessage, i) for i in ids]
        assert [r.status for r in found if r is not None] == ["failed", "failed", "pending"]


async def test_the_oldest_undelivered_alert_is_one_the_server_delivers(core: Core) -> None:
    """A console user's alert waits for their own chat: it is not the server's oldest alert."""
    async with core.sessions() as session, session.begin():
        console = await repo.get_or_create_user(session, "console", "officer")
        line = await repo.get_or_create_user(session, "line", "Uofficer")
        await outbox.enqueue(session, console, "alert", [Outgoing("hi")], now=NOW)
        waiting = await outbox.enqueue(
            session, line, "alert", [Outgoing("hi")], now=NOW + dt.timedelta(minutes=1)
        )
        await session.flush()
    async with core.sessions() as session:
        oldest = await outbox.oldest_undelivered(session, ["line", "telegram"])
        assert oldest is not None and oldest.id == waiting.id


def test_the_looks_at_the_outbox_read_only_unfinished_rows(sqlite_template: Path) -> None:
    """Sent rows are most of the outbox (replies are kept two days, pushes longer): the claim
    looks and the unsent-reply check must find their rows through an index on the status, not
    read every reply ever sent (which SQLite, without statistics, chose through the index on
    `kind` until the queries said otherwise). Checked on SQLite's query plans; PostgreSQL
    plans from its statistics."""
    from sqlalchemy.dialects import sqlite

    from storage.hot import HotPath

    def plan(sql: str, args: Sequence[object] = ()) -> str:
        connection = sqlite3.connect(sqlite_template)
        try:
            rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", list(args)).fetchall()
        finally:
            connection.close()
        return "\n".join(str(row[-1]) for row in rows)

    def compiled(query: Any) -> str:
        return str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))

    for lane in ("reply", "push"):
        found = plan(compiled(outbox._due("telegram", NOW, None, lane, None)))
        assert "ix_outbox_due (platform=? AND status=?)" in found, found
        assert "ix_outbox_kind" not in found, found
    assert "ix_outbox_chat" in plan(compiled(outbox.waiting_reply("telegram", "42")))
    person = HotPath(f"sqlite+aiosqlite:///{sqlite_template}").statements["person"]
    found = plan(person.sql, person.args({"platform": "telegram", "recipient": "42"}))
    assert "ix_outbox_chat (platform=? AND recipient=? AND status=?)" in found, found


async def test_a_session_knows_whether_it_queued_a_push(core: Core) -> None:
    """The step's caller wakes the push dispatcher only when the step queued a push (a look
    at the outbox for nothing costs a database round trip per platform)."""
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", "42")
        await outbox.enqueue(session, user, outbox.REPLY, [Outgoing("hi")], now=NOW)
        assert not outbox.pushed(session)
        await outbox.enqueue(session, user, "alert", [Outgoing("alert")], now=NOW)
        assert outbox.pushed(session)
    async with core.sessions() as session, session.begin():
        assert not outbox.pushed(session)  # a session of its own
        await outbox.insert_rows(session, [])
        assert not outbox.pushed(session)
