"""Fixtures of the storage tests: an empty database (no migrations) for the migration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.database import (
    NO_POSTGRES,
    POSTGRES_URL,
    create_database,
    drop_database,
    new_database_name,
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it (not even migrations), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    name = new_database_name()
    await create_database(POSTGRES_URL, name)
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await drop_database(POSTGRES_URL, name)
