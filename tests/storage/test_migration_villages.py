"""Migration 0010 on SQLite and PostgreSQL: the villages table comes, takes rows, goes down and
comes back; and the schema the migrations build is the one the models describe."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from storage.db import create_engine, session_factory
from storage.migrate import current_revision, upgrade
from storage.models import Village
from tests.support.database import downgrade

WHEN = dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC)


async def test_villages_table_up_down_and_up(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await upgrade(engine, "0009")
        await upgrade(engine)

        async with session_factory(engine)() as session, session.begin():
            session.add(Village(code="50010103", province_code="50", district_code="5001",
                                subdistrict_code="500101", village_no=3, name_th="บ้านป่าแดง",
                                imported_at=WHEN))  # fmt: skip
        async with session_factory(engine)() as session:
            found = await session.get(Village, "50010103")
            assert found is not None
            assert (found.name_th, found.village_no, found.imported_at) == ("บ้านป่าแดง", 3, WHEN)

        await downgrade(engine, "0009")
        assert await current_revision(engine) == "0009"
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert "villages" not in tables
        await upgrade(engine)  # and up once more, empty
        async with session_factory(engine)() as session:
            assert await session.get(Village, "50010103") is None
    finally:
        await engine.dispose()


async def test_migrated_schema_is_the_models_schema(empty_database: str) -> None:
    """Every table, column, type and index of the models has its migration: an upgraded
    database differs from the models in nothing (what `alembic revision --autogenerate`
    would find is empty)."""
    engine = create_engine(empty_database)

    def differences(sync: Connection) -> list[object]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await engine.dispose()
