"""Storage on SQLite and PostgreSQL: migrations, users, conversations, reference numbers,
reports with photos."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select, text

from bot.service import Core
from storage import repo
from storage.db import create_engine
from storage.media import MediaStore
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Area, Conversation, Report, ReportPhoto, User
from tests.support.images import png_bytes


async def test_migrations_are_at_head_and_idempotent(core: Core) -> None:
    assert await current_revision(core.engine) == head_revision()
    await upgrade(core.engine)  # a second run changes nothing and does not fail
    assert await current_revision(core.engine) == head_revision()


async def test_areas_loaded_from_geothai(core: Core) -> None:
    async with core.sessions() as session:
        counts = dict(
            (await session.execute(select(Area.level, func.count()).group_by(Area.level))).all()
        )
        chiang_mai = await session.get(Area, "50")
        mueang = await session.get(Area, "5001")
    assert counts["province"] == 77
    assert counts["district"] > 900
    assert counts["subdistrict"] > 7000
    assert chiang_mai is not None and chiang_mai.name_th == "เชียงใหม่"
    assert mueang is not None and mueang.parent_code == "50"


async def test_user_is_created_once_per_platform_identity(core: Core) -> None:
    async with core.sessions() as session, session.begin():
        first = await repo.get_or_create_user(session, "line", "U1")
        again = await repo.get_or_create_user(session, "line", "U1")
        other_platform = await repo.get_or_create_user(session, "telegram", "U1")
    assert first.id == again.id
    assert other_platform.id != first.id
    async with core.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(User))).scalar_one() == 2


async def test_conversation_state_round_trips_and_clears(core: Core) -> None:
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "console", "a")
        assert user.id is not None
        user_id = user.id
        await repo.save_conversation(
            session,
            user_id,
            "activity",
            1,
            "date",
            {"activity_type": "check_dam"},
            {"history": ["activity_type"]},
        )
    async with core.sessions() as session, session.begin():
        stored = await repo.load_conversation(session, user_id)
        assert stored is not None
        assert (stored.form_id, stored.step_id) == ("activity", "date")
        assert stored.answers == {"activity_type": "check_dam"}
        assert stored.updated_at.tzinfo is not None
        await repo.save_conversation(
            session,
            user_id,
            "activity",
            1,
            "place",
            {**stored.answers, "date": "2026-03-19"},
            {"history": ["activity_type", "date"]},
        )
    async with core.sessions() as session, session.begin():
        stored = await repo.load_conversation(session, user_id)
        assert stored is not None and stored.answers["date"] == "2026-03-19"
        await repo.save_conversation(session, user_id, None)
    async with core.sessions() as session:
        assert await session.get(Conversation, user_id) is None


async def test_reference_numbers_use_buddhist_year_and_count_per_kind(core: Core) -> None:
    day = dt.date(2026, 3, 20)
    async with core.sessions() as session, session.begin():
        refs = [await repo.next_reference(session, "activity", day) for _ in range(3)]
        problem = await repo.next_reference(session, "problem", day)
        next_year = await repo.next_reference(session, "activity", dt.date(2027, 1, 2))
    assert refs == ["ACT-2569-000001", "ACT-2569-000002", "ACT-2569-000003"]
    assert problem == "PRB-2569-000001"
    assert next_year == "ACT-2570-000001"


async def test_reference_numbers_are_unique_under_concurrent_submits(core: Core) -> None:
    async with core.sessions() as session, session.begin():
        reporter = await repo.get_or_create_user(session, "console", "many")

    async def submit(i: int) -> str:
        async with core.sessions() as session, session.begin():
            report = await repo.create_report(
                session,
                reporter=reporter,
                kind="problem",
                form_id="problem",
                form_version=1,
                answers={"n": i},
                fields={"description": f"report {i}"},
                photos=[],
                local_date=dt.date(2026, 3, 20),
            )
            return report.reference

    references = await asyncio.gather(*(submit(i) for i in range(25)))
    assert len(set(references)) == 25
    assert sorted(references) == [f"PRB-2569-{n:06d}" for n in range(1, 26)]


async def test_concurrent_submits_from_two_engines(core: Core) -> None:
    """Two processes' worth of connections (two engines) still never share a number."""
    second = create_engine(core.settings.database_url)
    try:
        async with core.sessions() as session, session.begin():
            await repo.get_or_create_user(session, "console", "two")
        from storage.db import session_factory

        factories = [core.sessions, session_factory(second)]

        async def submit(i: int) -> str:
            async with factories[i % 2]() as session, session.begin():
                return await repo.next_reference(session, "activity", dt.date(2026, 3, 20))

        references = await asyncio.gather(*(submit(i) for i in range(20)))
    finally:
        await second.dispose()
    assert len(set(references)) == 20


async def test_report_with_photos_stored_once_by_hash(core: Core, tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    data = png_bytes(3, 3, (1, 2, 3))
    first, again = media.save(data), media.save(data)
    assert first == again
    assert media.path(first).read_bytes() == data
    assert len(list((tmp_path / "media").rglob("*.png"))) == 1

    async with core.sessions() as session, session.begin():
        reporter = await repo.get_or_create_user(session, "console", "p")
        report = await repo.create_report(
            session,
            reporter=reporter,
            kind="activity",
            form_id="activity",
            form_version=1,
            answers={"photos": [first.as_json(), again.as_json()], "sectors": ["media"]},
            fields={"subdistrict_code": "500108", "village_no": 3, "participants": 12},
            photos=[first, again],
            local_date=dt.date(2026, 3, 20),
        )
        report_id = report.id
    async with core.sessions() as session:
        stored = await session.get(Report, report_id)
        photos = (
            (await session.execute(select(ReportPhoto).where(ReportPhoto.report_id == report_id)))
            .scalars()
            .all()
        )
    assert stored is not None
    assert stored.village_code == "50010803"
    assert stored.answers["sectors"] == ["media"]
    assert stored.created_at.tzinfo is not None
    assert [p.position for p in photos] == [0, 1]
    assert {p.sha256 for p in photos} == {first.sha256}


async def test_sqlite_runs_in_wal_mode(core: Core) -> None:
    if core.engine.dialect.name != "sqlite":
        return
    async with core.engine.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
    assert mode == "wal"
