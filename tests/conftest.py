"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when
FIELDBOT_TEST_POSTGRES_URL is set), a core with a clock the tests control, sample photos.
What they are built from lives in tests/support, for test modules to import."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.service import Core, build_core
from tests.support.clock import Clock
from tests.support.database import (
    NO_POSTGRES,
    POSTGRES_URL,
    create_database,
    drop_database,
    empty_tables,
    migrate,
    new_database_name,
    run_aside,
)
from tests.support.images import png_bytes
from tests.support.settings import make_settings


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file with the areas loaded; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "fieldbot.db"
    run_aside(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own on the test server, migrated once, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    name = new_database_name()
    try:
        run_aside(create_database(POSTGRES_URL, name))
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL at FIELDBOT_TEST_POSTGRES_URL is not reachable: {error}")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    run_aside(migrate(url))
    yield url
    run_aside(drop_database(POSTGRES_URL, name))


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
    await empty_tables(url)
    yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


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
