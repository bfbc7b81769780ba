"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when
FIELDBOT_TEST_POSTGRES_URL is set), a core with a clock the tests control, sample photos."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.service import Core, build_core
from storage.areas import sync_areas
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from tests.support.images import png_bytes

POSTGRES_URL = os.environ.get("FIELDBOT_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL tests need FIELDBOT_TEST_POSTGRES_URL, e.g. "
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test (.ci/run sets it)"
)
DATA_TABLES = (
    "job_runs",
    "reminders_sent",
    "outbox",
    "broadcasts",
    "case_events",
    "invites",
    "staff_roles",
    "report_photos",
    "reports",
    "conversations",
    "reference_counters",
    "inbox",
    "users",
)


class Clock:
    """Time as the tests say it is."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run set-up work on a loop of its own, even when a test's loop is already running."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session, session.begin():
            await sync_areas(session)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file with the areas loaded; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "fieldbot.db"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own on the test server, migrated once, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    name = f"fieldbot_test_{uuid.uuid4().hex[:10]}"
    admin = _asyncpg_dsn(POSTGRES_URL)

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        _run(create())
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL at FIELDBOT_TEST_POSTGRES_URL is not reachable: {error}")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    _run(_migrate(url))
    yield url
    _run(drop())


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A migrated, empty database (areas loaded), on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "fieldbot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_database")
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    yield url


@pytest.fixture
def clock() -> Clock:
    # 09:00 in Bangkok on 20 March 2026 (พ.ศ. 2569).
    return Clock(dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC))


def make_settings(database_url: str, media_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "FIELDBOT_MEDIA_DIR": media_dir,
        # Tests type far faster than people: the flood limit is tested on its own.
        "FIELDBOT_FLOOD_PER_MINUTE": 10_000,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def core(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Core]:
    built = await build_core(make_settings(database_url, tmp_path / "media"))
    built.clock = clock
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
def photo_file(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes(4, 4, (200, 120, 40)))
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-transcripts",
        action="store_true",
        help="rewrite tests/transcripts/*.txt with what the bot says now (review with git diff)",
    )
