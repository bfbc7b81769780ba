"""The async engine and session factory: SQLite (WAL) by default, PostgreSQL through asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]
READ_ONLY = "fieldbot_read_only"


def insert_or_skip(session: AsyncSession, table: Any) -> Any:
    """An INSERT in the session's dialect, for `.on_conflict_do_nothing()`: both SQLite and
    PostgreSQL have it, with the same spelling, in dialect-specific constructs."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Build the engine for `url`. SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE`
    transactions: a transaction that reads and then writes would otherwise fail with
    "database is locked" under concurrent writers instead of waiting its turn.

    Bound parameters are left out of error messages on both: they are names, phone numbers
    and message text, and an error ends up in a log line."""
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Many users are handled at once: with the default pool (5 + 10) they queue for one.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        return create_async_engine(url, pool_pre_ping=True, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction that only reads (see `reading`) must not queue for the write lock.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def reading(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session for reads only. On SQLite every other transaction begins IMMEDIATE (it takes
    the write lock at once, so that a read-then-write never fails halfway); a read must not wait
    for, or hold up, the one writer."""
    async with sessions() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session
