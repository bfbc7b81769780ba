"""Migration 0009 on SQLite and PostgreSQL: a database at 0007 with staff roles in the old
shape (one per user, home district overwritten by the grant) comes out with the roles in
staff_roles and the home villages put back; and goes down again."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from storage import staff
from storage.db import create_engine, session_factory
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import User, UTCDateTime
from tests.support.database import downgrade

WHEN = dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC)
GRANTED = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)

# The users table as migration 0007 left it.
OLD_USERS = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("platform", sa.String()),
    sa.column("platform_user_id", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("role", sa.String()),
    sa.column("province_code", sa.String()),
    sa.column("district_code", sa.String()),
    sa.column("subdistrict_code", sa.String()),
    sa.column("village_no", sa.Integer()),
    sa.column("active", sa.Boolean()),
    sa.column("staff_role", sa.String()),
    sa.column("staff_area", sa.String()),
    sa.column("join_failures", sa.Integer()),
    sa.column("consent_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
OLD_REPORTS = sa.table(
    "reports",
    sa.column("reference", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("reporter_id", sa.Integer()),
    sa.column("province_code", sa.String()),
    sa.column("district_code", sa.String()),
    sa.column("answers", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("form_id", sa.String()),
    sa.column("form_version", sa.Integer()),
    sa.column("reopen_count", sa.Integer()),
    sa.column("escalation_level", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def _user(user_id: int, name: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": user_id, "platform": "line", "platform_user_id": f"U{user_id}",
        "display_name": name, "role": None, "province_code": None, "district_code": None,
        "subdistrict_code": None, "village_no": None, "active": True, "staff_role": None,
        "staff_area": None, "join_failures": 0, "consent_at": WHEN, "created_at": WHEN,
        "updated_at": GRANTED,
    }  # fmt: skip
    row.update(values)
    return row


async def test_roles_move_to_their_table_and_home_villages_are_repaired(
    empty_database: str,
) -> None:
    engine = create_engine(empty_database)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(OLD_USERS),
                [
                    # A village head of ต.สุเทพ (500101), Mueang Chiang Mai (5001), made an
                    # officer of 5002 by the old grant, which wrote 5002 over their district.
                    _user(
                        1,
                        "head",
                        role="village_head",
                        province_code="50",
                        district_code="5002",
                        subdistrict_code="500101",
                        village_no=3,
                        staff_role="officer",
                        staff_area="5002",
                    ),
                    # An officer who registered with an invite: no village, codes from grant.
                    _user(
                        2,
                        "officer",
                        province_code="50",
                        district_code="5001",
                        staff_role="officer",
                        staff_area="5001",
                    ),
                    # A provincial coordinator (the grant set the province only).
                    _user(
                        3,
                        "coordinator",
                        province_code="51",
                        staff_role="coordinator",
                        staff_area="51",
                    ),
                    # An admin made by hand, without an area.
                    _user(4, "admin", staff_role="admin"),
                    # A village head with no staff role: untouched.
                    _user(
                        5,
                        "villager",
                        role="volunteer",
                        province_code="50",
                        district_code="5001",
                        subdistrict_code="500102",
                        village_no=1,
                    ),
                ],
            )
            # A report by the village head: the users table is rebuilt on SQLite with rows
            # that refer to it.
            await conn.execute(
                sa.insert(OLD_REPORTS).values(
                    reference="PRB-2569-000001",
                    kind="problem",
                    reporter_id=1,
                    province_code="50",
                    district_code="5002",
                    answers={},
                    status="received",
                    form_id="problem",
                    form_version=1,
                    reopen_count=0,
                    escalation_level=0,
                    created_at=WHEN,
                    updated_at=WHEN,
                )
            )
        if engine.dialect.name == "postgresql":  # ids were given: move the sequence past them
            async with engine.begin() as conn:
                await conn.execute(sa.text("SELECT setval('users_id_seq', 5)"))

        await upgrade(engine)
        assert await current_revision(engine) == head_revision()

        async with engine.connect() as conn:
            columns = {c["name"] for c in await conn.run_sync(
                lambda sync: sa.inspect(sync).get_columns("users"))}  # fmt: skip
            homes = {
                row.id: (row.province_code, row.district_code, row.subdistrict_code)
                for row in await conn.execute(
                    sa.text("SELECT id, province_code, district_code, subdistrict_code FROM users")
                )
            }
            reporter = (await conn.execute(sa.text("SELECT reporter_id FROM reports"))).scalar()
        assert "staff_role" not in columns and "staff_area" not in columns
        assert homes == {
            1: ("50", "5001", "500101"),  # back home in 5001
            2: (None, None, None),
            3: (None, None, None),
            4: (None, None, None),
            5: ("50", "5001", "500102"),
        }
        assert reporter == 1
        async with session_factory(engine)() as session:
            held = {i: await staff.assignments(session, i) for i in range(1, 6)}
            granted = await session.scalar(
                sa.text("SELECT granted_at FROM staff_roles WHERE user_id = 1")
            )
        assert held == {
            1: (("officer", "5002"),),
            2: (("officer", "5001"),),
            3: (("coordinator", "51"),),
            4: (("admin", "TH"),),
            5: (),
        }
        assert granted is not None

        # Down again: one role per person in the old columns (the latest), homes kept.
        async with session_factory(engine)() as session, session.begin():
            head = await session.get(User, 1)
            assert head is not None
            later = GRANTED + dt.timedelta(days=1)
            await staff.grant(session, head, "coordinator", "50", later)
        await downgrade(engine, "0007")
        assert await current_revision(engine) == "0007"
        async with engine.connect() as conn:
            old = {
                row.id: (row.staff_role, row.staff_area, row.district_code)
                for row in await conn.execute(
                    sa.text("SELECT id, staff_role, staff_area, district_code FROM users")
                )
            }
        assert old == {
            1: ("coordinator", "50", "5001"),
            2: ("officer", "5001", None),
            3: ("coordinator", "51", None),
            4: ("admin", "TH", None),
            5: (None, None, "5001"),
        }
        await upgrade(engine)  # and up once more
        async with session_factory(engine)() as session:
            assert await staff.assignments(session, 1) == (("coordinator", "50"),)
    finally:
        await engine.dispose()
