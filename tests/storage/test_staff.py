"""Invitation codes on SQLite and PostgreSQL: single use, expiry, wrong-code pauses, and
two people racing for the last use."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.service import Core
from storage import repo, staff
from storage.models import User

NOW = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)


async def _user(core: Core, name: str) -> int:
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "console", name)
        assert user.id is not None
        return user.id


async def _invite(core: Core, role: str = "officer", area: str = "5001", uses: int = 1) -> str:
    async with core.sessions() as session, session.begin():
        return await staff.create_invite(
            session, role, area, expires_in=dt.timedelta(days=7), uses=uses, now=NOW
        )


async def _redeem(core: Core, user_id: int, code: str, now: dt.datetime = NOW) -> str:
    async with core.writing(), core.sessions() as session, session.begin():
        user = await session.get(User, user_id)
        assert user is not None
        return (await staff.redeem_invite(session, user, code, now)).status


async def test_a_code_gives_the_role_once(core: Core) -> None:
    code = await _invite(core)
    assert len(code) == 11 and code[5] == "-"
    first, second = await _user(core, "a"), await _user(core, "b")
    assert await _redeem(core, first, code.lower().replace("-", " ")) == "ok"
    assert await _redeem(core, second, code) == "used_up"
    async with core.sessions() as session:
        officer = await session.get(User, first)
    assert officer is not None
    assert (officer.staff_role, officer.staff_area, officer.district_code) == (
        "officer",
        "5001",
        "5001",
    )


async def test_codes_with_more_uses_and_expiry(core: Core) -> None:
    code = await _invite(core, "coordinator", "50", uses=2)
    users = [await _user(core, n) for n in ("a", "b", "c")]
    assert [await _redeem(core, u, code) for u in users] == ["ok", "ok", "used_up"]
    late = await _invite(core)
    assert await _redeem(core, users[2], late, NOW + dt.timedelta(days=8)) == "expired"


async def test_wrong_codes_pause_the_user(core: Core) -> None:
    user = await _user(core, "guesser")
    code = await _invite(core)
    for _ in range(staff.FAILURES_BEFORE_PAUSE):
        assert await _redeem(core, user, "AAAAA-AAAAA") == "unknown"
    assert await _redeem(core, user, code) == "blocked"  # even the right code waits
    later = NOW + staff.PAUSE + dt.timedelta(seconds=1)
    assert await _redeem(core, user, code, later) == "ok"


async def test_two_people_racing_for_the_last_use(core: Core) -> None:
    code = await _invite(core)
    users = [await _user(core, f"r{n}") for n in range(6)]
    results = await asyncio.gather(*(_redeem(core, u, code) for u in users))
    assert sorted(results) == ["ok"] + ["used_up"] * 5


@pytest.mark.parametrize(
    ("role", "area"), [("officer", "50"), ("coordinator", "5001"), ("admin", "50")]
)
def test_roles_and_areas_must_fit(role: str, area: str) -> None:
    assert not staff.area_fits_role(role, area)
