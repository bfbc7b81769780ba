"""Test databases: a migrated SQLite template copied per test, and a PostgreSQL database of the
test session's own on the server FIELDBOT_TEST_POSTGRES_URL names, emptied per test."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.areas import sync_areas
from storage.db import create_engine, session_factory
from storage.migrate import alembic_config, upgrade

POSTGRES_URL = os.environ.get("FIELDBOT_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL tests need FIELDBOT_TEST_POSTGRES_URL, e.g. "
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test (.ci/run sets it)"
)
DATA_TABLES = (
    "privacy_requests",
    "desk_sessions",
    "desk_links",
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
    "villages",
    "users",
)


def run_aside(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run set-up work on a loop of its own, even when a test's loop is already running."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def migrate(url: str) -> None:
    """Bring the database at `url` to the newest schema and load the area list."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session, session.begin():
            await sync_areas(session)
    finally:
        await engine.dispose()


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the database at `engine` down to `revision`."""

    def run(connection: Connection) -> None:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it (no `+asyncpg`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def new_database_name() -> str:
    return f"fieldbot_test_{uuid.uuid4().hex[:10]}"


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def empty_tables(url: str) -> None:
    """Every data table of the PostgreSQL database at `url` emptied (the areas stay)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
