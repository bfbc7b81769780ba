"""Which instance runs the scheduler. On PostgreSQL the one holding a session-level advisory
lock: the lock lives as long as its connection, so when that instance dies (even by kill -9)
the server drops the lock and the next instance to ask takes it. SQLite serves one instance;
a lock file beside the database keeps a second `fieldbot serve` from running jobs too."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from bot.service import Core

log = logging.getLogger(__name__)

# pg_try_advisory_lock takes a bigint: fieldbot's scheduler is this one.
LOCK_KEY = int.from_bytes(b"fieldbot", "big") & 0x7FFF_FFFF_FFFF_FFFF


class Leader(Protocol):
    async def try_acquire(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def release(self) -> None: ...


class PostgresLeader:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self.connection is None:
            self.connection = await self.engine.connect()
        try:
            held = await self.connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            await self.connection.commit()  # no transaction left open while we wait
        except Exception:
            await self._drop()
            raise
        return bool(held)

    async def still_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            held = await self.connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND pid = pg_backend_pid() AND granted"
                    " AND (classid::bigint << 32) | objid::bigint = :key"
                ),
                {"key": LOCK_KEY},
            )
            await self.connection.commit()
        except Exception:
            log.warning("the scheduler lock's connection failed; giving up the lead")
            await self._drop()
            return False
        return bool(held)

    async def release(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY}
                )
                await self.connection.commit()
            await self._drop()

    async def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.invalidate()
            with contextlib.suppress(Exception):
                await self.connection.close()
            self.connection = None


class FileLeader:
    """An exclusive lock on a file next to the SQLite database (released when the process
    ends, however it ends)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    async def try_acquire(self) -> bool:
        handle = self.path.open("a")  # held open (and locked) for as long as we lead
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    async def still_held(self) -> bool:
        return self.handle is not None

    async def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def leader_for(core: Core) -> Leader:
    url = core.engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresLeader(core.engine)
    database = url.database
    if not database or database == ":memory:":
        path = Path(os.devnull)
        return FileLeader(path)
    return FileLeader(Path(database + ".scheduler.lock"))
