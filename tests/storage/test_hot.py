"""The hot path's statements (storage.hot) on SQLite and PostgreSQL: what they write reads back
through the ORM exactly as the ORM's own writes do, and what the ORM wrote reads back through
them; a redelivered event is not handled twice; a busy SQLite database is refused at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from bot.service import Core
from handlers.messages import Outgoing
from storage import hot, inbox, outbox, repo, staff
from storage.inbox import NewEvent
from storage.models import Conversation, InboxEvent, OutboxMessage, User

NOW = dt.datetime(2026, 3, 20, 2, 0, 5, 123456, tzinfo=dt.UTC)
ANSWERS = {"name": "สมศรี ใจดี", "count": 25, "when": "2026-03-19", "pick": {"a": [1, 2]}}


async def _user(core: Core, platform_user_id: str = "42") -> User:
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", platform_user_id, NOW)
        user.language, user.display_name, user.district_code = "th", "สมศรี", "5001"
        user.consent_at = NOW
    return user


def _hot(core: Core) -> hot.HotPath:
    assert core.hot is not None, "both test databases run the hot path"
    return core.hot


async def test_a_person_and_their_conversation_read_as_the_orm_wrote_them(core: Core) -> None:
    user = await _user(core)
    async with core.sessions() as session, session.begin():
        await repo.save_conversation(session, user.id or 0, "activity", 3, "when", ANSWERS,
                                     {"page": 2}, NOW)  # fmt: skip
        await staff.grant(session, await session.merge(user), "officer", "5001", NOW)
    async with _hot(core).transaction() as tx:
        person = await tx.person("telegram", "42")
        assert person is not None
        assert (person.id, person.language, person.display_name, person.district_code) == (
            user.id, "th", "สมศรี", "5001",
        )  # fmt: skip
        assert person.consent_at == NOW and person.active
        assert person.conversation == ("activity", 3, "when", ANSWERS, {"page": 2}, NOW)
        assert not person.reply_waiting
        assert await tx.staff(person.id) == (("officer", "5001"),)
        assert await tx.person("telegram", "nobody") is None


async def test_what_the_hot_path_writes_reads_back_through_the_orm(core: Core) -> None:
    user = await _user(core)
    uid = user.id or 0
    later = NOW + dt.timedelta(minutes=1)
    async with _hot(core).transaction() as tx:
        await tx.save_conversation(uid, None, ("activity", 3, "when", ANSWERS, {}), NOW)
    async with _hot(core).transaction() as tx:
        await tx.save_conversation(uid, "activity", ("activity", 3, "people", ANSWERS, {"x": 1}),
                                   later)  # fmt: skip
        row = await tx.reply("telegram", "42", uid, outbox.REPLY,
                             {"messages": [Outgoing("สวัสดี").as_json()]}, "key-1", later,
                             ("token-1", outbox.REPLY_LEASE))  # fmt: skip
    async with core.sessions() as session:
        stored = await session.get(Conversation, uid)
        assert stored is not None
        assert (stored.form_id, stored.step_id, stored.answers, stored.context) == (
            "activity", "people", ANSWERS, {"x": 1},
        )  # fmt: skip
        assert (stored.started_at, stored.updated_at) == (NOW, later)
        sent = await session.get(OutboxMessage, row.id)
        assert sent is not None
        assert (sent.status, sent.attempts, sent.claim_token, sent.retry_key) == (
            "sending", 1, "token-1", "key-1",
        )  # fmt: skip
        assert sent.claimed_until == later + outbox.REPLY_LEASE and sent.created_at == later
        assert [Outgoing.from_json(m).text for m in sent.payload["messages"]] == ["สวัสดี"]
        assert await outbox.reply_waiting(session, "telegram", "42")
    async with _hot(core).transaction() as tx:
        person = await tx.person("telegram", "42")
        assert person is not None and person.reply_waiting  # the next reply goes after it
    await _hot(core).part_sent(row.id, "token-1", 1)
    await _hot(core).finish_sent([(row.id, "token-1"), (row.id + 999, "token-1")], later)
    async with core.sessions() as session:
        sent = await session.get(OutboxMessage, row.id)
        assert sent is not None
        assert (sent.status, sent.claim_token, sent.sent_at, sent.parts_sent) == (
            "sent", None, later, 1,
        )  # fmt: skip
    async with _hot(core).transaction() as tx:  # a form finished: the conversation goes
        await tx.save_conversation(uid, "activity", None, later)
    async with core.sessions() as session:
        assert await session.get(Conversation, uid) is None


async def test_a_finish_by_a_dispatcher_that_lost_the_row_changes_nothing(core: Core) -> None:
    user = await _user(core)
    async with _hot(core).transaction() as tx:
        row = await tx.reply("telegram", "42", user.id or 0, outbox.REPLY, {"messages": []},
                             "key", NOW, ("mine", outbox.REPLY_LEASE))  # fmt: skip
    await _hot(core).finish_sent([(row.id, "someone else's")], NOW)
    async with core.sessions() as session:
        stored = await session.get(OutboxMessage, row.id)
        assert stored is not None and stored.status == "sending"


async def test_an_event_is_taken_or_stored_as_done_once(core: Core) -> None:
    async with core.sessions() as session, session.begin():
        (stored,) = await inbox.store(session, "telegram", [NewEvent("1", "42", {"a": 1})], NOW)
    async with _hot(core).transaction() as tx:
        assert await tx.take(stored.id, NOW)
    async with _hot(core).transaction() as tx:
        assert not await tx.take(stored.id, NOW)  # handled before
        fresh = inbox.Fresh("telegram", "2", "42", {"ข้อความ": "สวัสดี"})
        assert await tx.take(fresh, NOW)  # handled straight from its webhook: stored as done
        assert not await tx.take(inbox.Fresh("telegram", "2", "42", {}), NOW)  # a redelivery
    async with core.sessions() as session:
        rows = (await session.execute(select(InboxEvent).order_by(col(InboxEvent.id)))).scalars()
        assert [(r.event_id, r.status, r.payload) for r in rows] == [
            ("1", "done", {"a": 1}), ("2", "done", {"ข้อความ": "สวัสดี"}),
        ]  # fmt: skip


async def test_a_transaction_that_raises_leaves_nothing(core: Core) -> None:
    user = await _user(core)
    with pytest.raises(hot.FallbackError):
        async with _hot(core).transaction() as tx:
            await tx.save_conversation(user.id or 0, None, ("activity", 1, "s", {}, {}), NOW)
            raise hot.FallbackError
    async with core.sessions() as session:
        assert await session.get(Conversation, user.id or 0) is None


async def test_sqlite_busy_with_another_writer_is_refused_at_once(
    core: Core, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers wait on row locks, not on the database")
    other = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing
        with pytest.raises(hot.BusyError):
            async with _hot(core).transaction():
                pass
        other.execute("ROLLBACK")
        async with _hot(core).transaction() as tx:  # free again
            assert await tx.person("telegram", "42") is None
    finally:
        other.close()


async def test_a_first_contact_is_made_a_user_as_the_orm_would(core: Core) -> None:
    async with _hot(core).transaction() as tx:
        made = await tx.person_or_new("telegram", "new-1", NOW)
        again = await tx.person_or_new("telegram", "new-1", NOW)
    assert made == again and made.active and made.conversation is None
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", "new-1")
        assert (user.id, user.active, user.created_at, user.join_failures) == (
            made.id, True, NOW, 0,
        )  # fmt: skip
        count = await session.execute(select(func.count()).select_from(User))
        assert count.scalar_one() == 1


async def test_a_step_waiting_for_the_users_lock_reads_what_the_first_one_wrote(
    core: Core, database_url: str
) -> None:
    """PostgreSQL, two processes on one user (serve --workers N): the second step waits for
    the first one's row lock and must then read the conversation the first one saved, not
    the one from before its wait."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite takes one writer at a time: nothing to wait for in a row lock")
    user = await _user(core)
    uid = user.id or 0
    async with _hot(core).transaction() as tx:
        await tx.save_conversation(uid, None, ("activity", 1, "step_a", {}, {}), NOW)
    first_has_lock = asyncio.Event()

    async def first() -> None:
        async with _hot(core).transaction() as tx:
            assert await tx.person("telegram", "42") is not None
            first_has_lock.set()
            await asyncio.sleep(0.3)  # the second waits for the lock meanwhile
            await tx.save_conversation(uid, "activity", ("activity", 1, "step_b", {}, {}), NOW)

    async def second() -> str:
        await first_has_lock.wait()
        async with _hot(core).transaction() as tx:
            person = await tx.person("telegram", "42")
            assert person is not None and person.conversation is not None
            return person.conversation[2]

    _, seen = await asyncio.gather(first(), second())
    assert seen == "step_b"


def test_the_drivers_database_failures_are_waited_out_like_the_orms() -> None:
    """bot.intake retries an event whose handling met a database failure and gives up only on
    faults of ours: the hot path's driver errors count as the ORM path's do."""
    import asyncpg.exceptions as pg

    from bot.intake import transient

    assert transient(sqlite3.OperationalError("database is locked"))
    assert transient(pg.ConnectionDoesNotExistError("connection was closed"))
    assert transient(pg.TooManyConnectionsError("too many clients"))
    assert transient(pg.AdminShutdownError("terminating connection"))
    assert transient(pg.DeadlockDetectedError("deadlock detected"))
    assert not transient(pg.UniqueViolationError("duplicate key"))
    assert not transient(ValueError("a bug"))


def test_sqlalchemys_own_url_options_reach_the_driver_as_it_names_them() -> None:
    path = hot.HotPath(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/x?prepared_statement_cache_size=0"
    )
    assert path._connect["statement_cache_size"] == 0  # (behind PgBouncer)
    assert "prepared_statement_cache_size" not in path._connect


async def test_sqlite_checkpoints_the_wal_in_a_thread(
    core: Core, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint writes and syncs the database file: not on the event loop's thread."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write-ahead log")
    import threading

    monkeypatch.setattr(hot, "CHECKPOINT_EVERY", 3)
    threads: list[str] = []
    real = hot.HotPath._checkpoint

    def recorded(self: hot.HotPath) -> None:
        threads.append(threading.current_thread().name)
        real(self)

    monkeypatch.setattr(hot.HotPath, "_checkpoint", recorded)
    user = await _user(core)
    for n in range(7):
        async with _hot(core).transaction() as tx:
            await tx.save_conversation(user.id or 0, None if n == 0 else "activity",
                                       ("activity", 1, f"s{n}", {}, {}), NOW)  # fmt: skip
        await asyncio.sleep(0.05)
    assert len(threads) == 2
    assert threading.main_thread().name not in threads


async def test_the_day_a_person_last_wrote_reads_and_writes_as_through_the_orm(
    core: Core,
) -> None:
    user = await _user(core)
    async with _hot(core).transaction() as tx:
        person = await tx.person("telegram", "42")
        assert person is not None and person.seen_on is None
        await tx.seen(person.id, dt.date(2026, 3, 20))
    async with core.sessions() as session, session.begin():
        stored = await session.get(User, user.id)
        assert stored is not None and stored.seen_on == dt.date(2026, 3, 20)
        stored.seen_on = dt.date(2026, 3, 21)
    async with _hot(core).transaction() as tx:
        person = await tx.person("telegram", "42")
        assert person is not None and person.seen_on == dt.date(2026, 3, 21)
