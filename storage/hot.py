"""The conversation's hot path: the few statements of an ordinary form step, run on the
database driver itself.

Most inputs change nothing but the user's conversation and queue its reply. Through the ORM
(an AsyncSession, its unit of work, SQLAlchemy's execution layer and, on SQLite, a thread hop
per call through aiosqlite) such a step cost ten times the CPU of the python-telegram-bot peer
(docs/benchmarks.md). Here the same statements, built with SQLAlchemy Core from the same
tables and compiled once per dialect (SQLAlchemy writes the SQL; the column types' own bind and
result processors convert the values), run on the driver:

- SQLite: Python's sqlite3 on the event loop's thread, with no busy wait: a transaction whose
  BEGIN IMMEDIATE finds another process writing raises `BusyError` at once (the caller then takes
  the ORM path, which waits its turn). In WAL mode nothing else in a write transaction waits.
- PostgreSQL: an asyncpg pool of its own (prepared statements, no pool ping).

Steps that do more (a registration's or a report's submit, case work: anything with events)
take the ORM path; the caller finds out after the pure core has answered and rolls this
transaction back (`FallbackError`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.engine import Dialect, make_url

from storage.inbox import Fresh, Source
from storage.models import Conversation, InboxEvent, OutboxMessage, StaffRole, User
from storage.outbox import Claimed

_Row = tuple[Any, ...]
log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 500  # hot-path commits between WAL checkpoints (SQLite)


class BusyError(Exception):
    """SQLite: another process holds the write lock; take the path that waits for it."""


class FallbackError(Exception):
    """This step needs more than the hot path does: roll back and take the ORM path."""


def transient(error: BaseException) -> bool:
    """Whether a driver's error on the hot path is the database's, to be waited out (as
    SQLAlchemy's OperationalError is on the ORM path), rather than a fault of ours: SQLite's
    operational errors (locked, busy, I/O); PostgreSQL's connection, operator-intervention,
    resource and serialisation errors, and asyncpg's interface errors (a connection closed)."""
    if isinstance(error, sqlite3.OperationalError):
        return True
    try:
        import asyncpg.exceptions as pg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(
        error,
        pg.PostgresConnectionError
        | pg.InterfaceError
        | pg.OperatorInterventionError
        | pg.InsufficientResourcesError
        | pg.TransactionRollbackError,
    )


# SQLAlchemy's own options for its asyncpg dialect, which the driver does not take (as what it
# means to the driver, or left out).
_SQLALCHEMY_ONLY = {"prepared_statement_cache_size": "statement_cache_size",
                    "prepared_statement_name_func": None}  # fmt: skip


def dumps(value: Any) -> str:
    """JSON as the database stores it (orjson: several times faster than the json module;
    dictionary keys that are not strings become strings, as json.dumps makes them)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class Statement:
    """A Core statement compiled once for one dialect: its SQL, the order of its parameters
    with the column types' bind processors, and result processors for what it returns."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        names = list(compiled.positiontup or [])
        self._params: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        for name in names:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            default = bind.value if not bind.required else _REQUIRED
            self._params.append((bind.key, default, processor))
        # What a SELECT returns is converted by its columns' types (RETURNING here gives ids).
        columns = statement.selected_columns if isinstance(statement, sa.Select) else ()
        self._results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        out = []
        for key, default, processor in self._params:
            value = values.get(key, default)
            if value is _REQUIRED:
                raise KeyError(key)
            out.append(processor(value) if processor is not None else value)
        return out

    def row(self, raw: Sequence[Any]) -> _Row:
        if not self._results:
            return tuple(raw)
        return tuple(
            p(value) if p is not None else value
            for p, value in zip(self._results, raw, strict=True)
        )


_REQUIRED = object()

users, conversations = User.__table__, Conversation.__table__  # type: ignore[attr-defined]
outbox_t, inbox_t = OutboxMessage.__table__, InboxEvent.__table__  # type: ignore[attr-defined]
staff_t = StaffRole.__table__  # type: ignore[attr-defined]
b = sa.bindparam

USER_COLUMNS = ("id", "language", "display_name", "role", "province_code", "district_code",
                "subdistrict_code", "village_no", "consent_at", "consent_notice_version",
                "active", "seen_on")  # fmt: skip
CONVERSATION_COLUMNS = ("form_id", "form_version", "step_id", "answers", "context", "updated_at")


def _statements(dialect: Dialect) -> dict[str, Statement]:
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    waiting = (
        sa.select(sa.literal_column("1"))
        .where(
            outbox_t.c.platform == b("platform"),
            outbox_t.c.recipient == b("recipient"),
            outbox_t.c.status.in_([b("s_pending", "pending"), b("s_sending", "sending")]),
            # (not through the index on kind: see storage.outbox.unindexed)
            sa.func.coalesce(outbox_t.c.kind, b("nothing", "")) == b("k_reply", "reply"),
        )
        .exists()
    )
    person = (
        sa.select(
            *(users.c[name] for name in USER_COLUMNS),
            conversations.c.user_id,
            *(conversations.c[name] for name in CONVERSATION_COLUMNS),
            waiting.label("reply_waiting"),
        )
        .select_from(users.outerjoin(conversations, conversations.c.user_id == users.c.id))
        .where(users.c.platform == b("platform"), users.c.platform_user_id == b("recipient"))
    )
    # On PostgreSQL the user's row is locked by a statement of its own, before the person is
    # read: a statement that waited for a row lock sees the locked row as it is now, but the
    # rest of its rows (the conversation, the unsent reply) as they were when it began, so
    # one SELECT … FOR UPDATE would read the conversation another process just changed as it
    # was before (the next statement, after the lock, sees the change).
    lock = (
        sa.select(users.c.id)
        .where(users.c.platform == b("platform"), users.c.platform_user_id == b("recipient"))
        .with_for_update()
    )
    conversation_values = {
        "form_id": b("form_id"), "form_version": b("form_version"), "step_id": b("step_id"),
        "answers": b("answers", type_=conversations.c.answers.type),
        "context": b("context", type_=conversations.c.context.type),
        "updated_at": b("now", type_=conversations.c.updated_at.type),
    }  # fmt: skip
    built = {
        "take": sa.update(inbox_t)
        .where(inbox_t.c.id == b("id"), inbox_t.c.status == b("pending", "pending"))
        .values(status=b("done", "done"), handled_at=b("now", type_=inbox_t.c.handled_at.type))
        .returning(inbox_t.c.id),
        "store_done": insert(inbox_t)
        .values(
            platform=b("platform"),
            event_id=b("event_id"),
            sender=b("sender"),
            payload=b("payload", type_=inbox_t.c.payload.type),
            status=b("done", "done"),
            note=b("note", None),
            received_at=b("now", type_=inbox_t.c.received_at.type),
            handled_at=b("now", type_=inbox_t.c.handled_at.type),
        )
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(inbox_t.c.id),
        "person": person,
        "lock": lock,
        "new_user": insert(users)
        .values(
            platform=b("platform"),
            platform_user_id=b("recipient"),
            active=b("active", True),
            join_failures=b("no_failures", 0),
            reminders_ok=b("reminders_ok", True),
            broadcasts_ok=b("broadcasts_ok", True),
            created_at=b("now", type_=users.c.created_at.type),
            updated_at=b("now", type_=users.c.updated_at.type),
        )
        .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"]),
        "staff": sa.select(staff_t.c.role, staff_t.c.area)
        .where(staff_t.c.user_id == b("user_id"))
        .order_by(staff_t.c.role, staff_t.c.area),
        "reactivate": sa.update(users)
        .where(users.c.id == b("user_id"))
        .values(active=b("active", True), updated_at=b("now", type_=users.c.updated_at.type)),
        "seen": sa.update(users)
        .where(users.c.id == b("user_id"))
        .values(seen_on=b("day", type_=users.c.seen_on.type)),
        "conversation_update": sa.update(conversations)
        .where(conversations.c.user_id == b("user_id"))
        .values(**conversation_values),
        "conversation_restart": sa.update(conversations)
        .where(conversations.c.user_id == b("user_id"))
        .values(**conversation_values, started_at=b("now", type_=conversations.c.started_at.type)),
        "conversation_insert": sa.insert(conversations).values(
            user_id=b("user_id"),
            **conversation_values,
            started_at=b("now", type_=conversations.c.started_at.type),
        ),
        "conversation_delete": sa.delete(conversations).where(
            conversations.c.user_id == b("user_id")
        ),
        "reply": sa.insert(outbox_t)
        .values(
            platform=b("platform"),
            recipient=b("recipient"),
            user_id=b("user_id"),
            kind=b("kind"),
            report_id=b("report_id", None),
            payload=b("payload", type_=outbox_t.c.payload.type),
            status=b("status"),
            attempts=b("attempts"),
            retry_key=b("retry_key"),
            next_attempt_at=b("now", type_=outbox_t.c.next_attempt_at.type),
            claimed_until=b("claimed_until", type_=outbox_t.c.claimed_until.type),
            claim_token=b("claim_token"),
            parts_sent=b("parts_sent", 0),
            broadcast_id=b("broadcast_id", None),
            recipient_count=b("recipient_count", 1),
            last_error=b("last_error", None),
            created_at=b("now", type_=outbox_t.c.created_at.type),
        )
        .returning(outbox_t.c.id),
        "sent": sa.update(outbox_t)
        .where(outbox_t.c.id == b("id"), outbox_t.c.claim_token == b("token"))
        .values(
            status=b("sent", "sent"),
            last_error=b("nothing", None, type_=sa.Text()),
            claimed_until=b("no_lease", None, type_=outbox_t.c.claimed_until.type),
            claim_token=b("no_token", None, type_=sa.String()),
            sent_at=b("now", type_=outbox_t.c.sent_at.type),
        ),
        "part_sent": sa.update(outbox_t)
        .where(outbox_t.c.id == b("id"), outbox_t.c.claim_token == b("token"))
        .values(parts_sent=b("parts")),
    }
    return {name: Statement(statement, dialect) for name, statement in built.items()}


@dataclass(frozen=True)
class Person:
    """A known user as the pure core sees them (the attributes `domain.people.user_view`
    reads), their conversation if any, and whether a reply to them is still unsent."""

    id: int
    language: str | None
    display_name: str | None
    role: str | None
    province_code: str | None
    district_code: str | None
    subdistrict_code: str | None
    village_no: int | None
    consent_at: dt.datetime | None
    consent_notice_version: str | None
    active: bool
    conversation: tuple[str, int, str, dict[str, Any], dict[str, Any], dt.datetime] | None
    reply_waiting: bool
    seen_on: dt.date | None = None  # the day they last wrote (domain.retention)


class _Driver(Protocol):
    locks_rows: bool  # PostgreSQL: a step locks its user's row (SQLite locks the database)

    async def fetch(self, name: str, values: Mapping[str, Any]) -> list[_Row]: ...

    async def run(self, name: str, values: Mapping[str, Any]) -> None: ...

    async def run_many(self, name: str, rows: Sequence[Mapping[str, Any]]) -> None: ...


class Transaction:
    """The hot path's statements inside one transaction (see `HotPath.transaction`)."""

    def __init__(self, driver: _Driver) -> None:
        self._d = driver

    async def take(self, source: Source, now: dt.datetime) -> bool:
        """storage.inbox.take: mark a stored pending event done, or store a fresh one as
        done; False when it was handled before (a redelivery): it must not be handled again."""
        if isinstance(source, Fresh):
            values = {"platform": source.platform, "event_id": source.event_id,
                      "sender": source.sender, "payload": source.payload, "now": now}  # fmt: skip
            return bool(await self._d.fetch("store_done", values))
        return bool(await self._d.fetch("take", {"id": source, "now": now}))

    async def person(self, platform: str, platform_user_id: str) -> Person | None:
        """The known user (locked for the transaction on PostgreSQL), or None."""
        values = {"platform": platform, "recipient": platform_user_id}
        if self._d.locks_rows and not await self._d.fetch("lock", values):
            return None
        rows = await self._d.fetch("person", values)
        if not rows:
            return None
        row = rows[0]
        n = len(USER_COLUMNS)
        conversation = None
        if row[n] is not None:
            form_id, version, step, answers, context, updated = row[n + 1 : n + 7]
            conversation = (form_id, int(version), step, answers, context, updated)
        (user_id, language, name, role, province, district, subdistrict, village, consent,
         notice, active, seen_on) = row[:n]  # fmt: skip
        return Person(int(user_id), language, name, role, province, district, subdistrict,
                      village, consent, notice, bool(active), conversation, bool(row[-1]),
                      seen_on)  # fmt: skip

    async def person_or_new(self, platform: str, platform_user_id: str, now: dt.datetime) -> Person:
        """storage.repo.get_or_create_user: the known user, or one made now on first contact
        (another instance may make them at the same moment: then theirs is the row)."""
        found = await self.person(platform, platform_user_id)
        if found is not None:
            return found
        values = {"platform": platform, "recipient": platform_user_id, "now": now}
        await self._d.run("new_user", values)
        made = await self.person(platform, platform_user_id)
        assert made is not None
        return made

    async def staff(self, user_id: int) -> tuple[tuple[str, str], ...]:
        rows = await self._d.fetch("staff", {"user_id": user_id})
        return tuple((str(role), str(area)) for role, area in rows)

    async def reactivate(self, user_id: int, now: dt.datetime) -> None:
        await self._d.run("reactivate", {"user_id": user_id, "now": now})

    async def seen(self, user_id: int, day: dt.date) -> None:
        """Record `day` as the one the person last wrote."""
        await self._d.run("seen", {"user_id": user_id, "day": day})

    async def save_conversation(
        self,
        user_id: int,
        before: str | None,
        state: tuple[str, int, str, Mapping[str, Any], Mapping[str, Any]] | None,
        now: dt.datetime,
    ) -> None:
        """storage.repo.save_conversation: `before` is the form in progress until now."""
        if state is None:
            if before is not None:
                await self._d.run("conversation_delete", {"user_id": user_id})
            return
        form_id, version, step_id, answers, context = state
        values = {"user_id": user_id, "form_id": form_id, "form_version": version,
                  "step_id": step_id, "answers": dict(answers), "context": dict(context),
                  "now": now}  # fmt: skip
        if before is None:
            await self._d.run("conversation_insert", values)
        elif before != form_id:
            await self._d.run("conversation_restart", values)
        else:
            await self._d.run("conversation_update", values)

    async def reply(
        self,
        platform: str,
        recipient: str,
        user_id: int,
        kind: str,
        payload: dict[str, Any],
        retry_key: str,
        now: dt.datetime,
        claim: tuple[str, dt.timedelta] | None,
    ) -> Claimed:
        """storage.outbox.enqueue for a reachable user: a pending row, or with `claim`
        (token, lease) one already claimed for its writer to send."""
        token, until = (claim[0], now + claim[1]) if claim is not None else (None, None)
        status, attempts = ("sending", 1) if claim is not None else ("pending", 0)
        values = {"platform": platform, "recipient": recipient, "user_id": user_id,
                  "kind": kind, "payload": payload, "status": status, "attempts": attempts,
                  "retry_key": retry_key, "claimed_until": until, "claim_token": token,
                  "now": now}  # fmt: skip
        (row_id,) = (await self._d.fetch("reply", values))[0]
        return Claimed(int(row_id), recipient, kind, attempts, retry_key, 0, payload)


class HotPath:
    """The driver-level connections of the hot path, for one database."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.dialect_name = parsed.get_backend_name()
        self._sqlite: sqlite3.Connection | None = None
        self._pool: Any = None
        self._commits = 0
        self._checkpointing: asyncio.Future[None] | None = None
        dialect: Dialect
        if self.dialect_name == "sqlite":
            dialect = sqlite.dialect(paramstyle="qmark")
            dialect._json_serializer = dumps
            self._path = parsed.database or ":memory:"
        elif self.dialect_name == "postgresql":
            dialect = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]
            dialect._json_serializer = dumps
            connect = dialect.create_connect_args(parsed)[1]  # type: ignore[no-untyped-call]
            for option, meaning in _SQLALCHEMY_ONLY.items():
                if option in connect:
                    value = connect.pop(option)
                    if meaning is not None:
                        connect[meaning] = int(value)
            self._connect = connect
        else:
            raise ValueError(f"no hot path for {self.dialect_name}")
        self.statements = _statements(dialect)

    @staticmethod
    def supports(url: str) -> bool:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return bool(parsed.database) and parsed.database != ":memory:"
        return parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg"

    async def open(self, connections: int = 20) -> None:
        if self.dialect_name == "sqlite":
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            # No busy wait on the event loop's thread: a busy database raises Busy at once.
            connection.execute("PRAGMA busy_timeout=0")
            # The WAL is checkpointed in a thread (`_committed`), not by a commit on the loop's
            # thread: a checkpoint writes the database file and syncs it.
            connection.execute("PRAGMA wal_autocheckpoint=0")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._sqlite = connection
            return
        import asyncpg  # only PostgreSQL needs it

        async def codecs(connection: Any) -> None:
            for name in ("json", "jsonb"):
                await connection.set_type_codec(
                    name, encoder=str, decoder=orjson.loads, schema="pg_catalog", format="text"
                )

        async def keep(_connection: Any) -> None:
            """Nothing to reset when a connection goes back to the pool: the hot path sets
            no session state (no SET, LISTEN or advisory lock), and a transaction always ends
            before. asyncpg's default reset would cost a round trip per step."""

        self._pool = await asyncpg.create_pool(
            **self._connect, min_size=1, max_size=connections, init=codecs, reset=keep
        )

    def _committed(self) -> None:
        """Count a commit; every CHECKPOINT_EVERY of them, checkpoint the WAL in a thread
        (PASSIVE: it waits for nobody and nobody waits for it)."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY:
            return
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._commits = 0
        self._checkpointing = asyncio.get_running_loop().run_in_executor(None, self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            connection = sqlite3.connect(self._path, timeout=30)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except sqlite3.Error as error:  # the next one tries again; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed: %s", error)

    async def close(self) -> None:
        if self._checkpointing is not None:
            await self._checkpointing
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction: committed when the block ends, rolled back when it raises
        (`FallbackError` included, which the caller catches). Raises `BusyError` (SQLite) before
        anything ran when another process is writing."""
        if self._sqlite is not None:
            connection = self._sqlite
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error) or "busy" in str(error):
                    raise BusyError from error
                raise
            try:
                yield Transaction(_SqliteDriver(connection, self.statements))
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:  # (SQLite may have rolled back already)
                    connection.execute("ROLLBACK")
                raise
            self._committed()
            return
        if self._pool is None:
            raise RuntimeError("HotPath.open() was not called")
        async with self._pool.acquire() as connection, connection.transaction():
            yield Transaction(_AsyncpgDriver(connection, self.statements))

    async def finish_sent(self, rows: Sequence[tuple[int, str]], now: dt.datetime) -> None:
        """storage.outbox.finish_many(…, "sent"): rows (id, claim token) the platform
        accepted, in one transaction."""
        async with self.transaction() as tx:
            await tx._d.run_many("sent", [{"id": i, "token": t, "now": now} for i, t in rows])

    async def part_sent(self, row_id: int, token: str, parts: int) -> None:
        async with self.transaction() as tx:
            await tx._d.run("part_sent", {"id": row_id, "token": token, "parts": parts})


class _SqliteDriver:
    locks_rows = False

    def __init__(self, connection: sqlite3.Connection, statements: dict[str, Statement]) -> None:
        self._c = connection
        self._s = statements

    async def fetch(self, name: str, values: Mapping[str, Any]) -> list[_Row]:
        statement = self._s[name]
        rows = self._c.execute(statement.sql, statement.args(values)).fetchall()
        return [statement.row(row) for row in rows]

    async def run(self, name: str, values: Mapping[str, Any]) -> None:
        statement = self._s[name]
        self._c.execute(statement.sql, statement.args(values))

    async def run_many(self, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        statement = self._s[name]
        self._c.executemany(statement.sql, [statement.args(row) for row in rows])


class _AsyncpgDriver:
    locks_rows = True

    def __init__(self, connection: Any, statements: dict[str, Statement]) -> None:
        self._c = connection
        self._s = statements

    async def fetch(self, name: str, values: Mapping[str, Any]) -> list[_Row]:
        statement = self._s[name]
        rows = await self._c.fetch(statement.sql, *statement.args(values))
        return [statement.row(tuple(row)) for row in rows]

    async def run(self, name: str, values: Mapping[str, Any]) -> None:
        statement = self._s[name]
        await self._c.execute(statement.sql, *statement.args(values))

    async def run_many(self, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        statement = self._s[name]
        await self._c.executemany(statement.sql, [statement.args(row) for row in rows])
