"""Staff roles on SQLite and PostgreSQL. Invitation codes: single use, expiry, wrong-code
pauses, and two people racing for the last use. Assignments: any number per person, granted
and revoked one by one, never moving the person's home village."""

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
        held = await staff.assignments(session, first)
    assert officer is not None
    assert held == (("officer", "5001"),)
    assert officer.district_code is None  # a staff area is not a home village


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


async def _villager(core: Core, name: str, subdistrict: str = "500101") -> int:
    """A village head registered in `subdistrict` (home village there)."""
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "console", name)
        user.role, user.village_no = "village_head", 3
        user.province_code, user.district_code = subdistrict[:2], subdistrict[:4]
        user.subdistrict_code = subdistrict
        assert user.id is not None
        return user.id


async def _grant(core: Core, user_id: int, role: str, area: str) -> bool:
    async with core.sessions() as session, session.begin():
        user = await session.get(User, user_id)
        assert user is not None
        return await staff.grant(session, user, role, area, NOW)


async def test_grants_add_up_and_never_move_the_home_village(core: Core) -> None:
    head = await _villager(core, "head")
    assert await _grant(core, head, "officer", "5002")
    assert not await _grant(core, head, "officer", "5002")  # held already: nothing changes
    assert await _grant(core, head, "officer", "5003")
    assert await _grant(core, head, "coordinator", "51")
    async with core.sessions() as session:
        user = await session.get(User, head)
        held = await staff.assignments(session, head)
    assert user is not None
    assert held == (("coordinator", "51"), ("officer", "5002"), ("officer", "5003"))
    home = (user.province_code, user.district_code, user.subdistrict_code, user.village_no)
    assert home == ("50", "5001", "500101", 3)
    with pytest.raises(ValueError, match="cannot have the area"):
        await _grant(core, head, "officer", "51")

    async with core.sessions() as session, session.begin():
        assert user is not None
        assert await staff.revoke(session, user, "officer", "5003") == 1
        assert await staff.revoke(session, user, "officer", "5003") == 0
        assert await staff.assignments(session, head) == (
            ("coordinator", "51"),
            ("officer", "5002"),
        )
        assert await staff.revoke(session, user, role="coordinator") == 1
        assert await staff.revoke(session, user) == 1  # all that is left
        assert await staff.assignments(session, head) == ()
        again = await session.get(User, head)
    assert again is not None and again.district_code == "5001"


async def test_two_invites_make_an_officer_of_two_districts(core: Core) -> None:
    head = await _villager(core, "head")
    assert await _redeem(core, head, await _invite(core, area="5002")) == "ok"
    assert await _redeem(core, head, await _invite(core, area="5003")) == "ok"
    async with core.sessions() as session:
        held = await staff.assignments(session, head)
        user = await session.get(User, head)
    assert held == (("officer", "5002"), ("officer", "5003"))
    assert user is not None and (user.province_code, user.district_code) == ("50", "5001")


async def test_staff_of_finds_each_holder_once(core: Core) -> None:
    both = await _villager(core, "both")
    one = await _user(core, "one")
    national = await _user(core, "national")
    await _grant(core, both, "officer", "5001")
    await _grant(core, both, "officer", "5002")
    await _grant(core, one, "officer", "5002")
    await _grant(core, national, "coordinator", "50")
    await _grant(core, national, "coordinator", "TH")
    async with core.sessions() as session:
        of_5002 = await repo.staff_of(session, "officer", ["5002"])
        of_5001 = await repo.staff_of(session, "officer", ["5001"])
        either = await repo.staff_of(session, "officer", ["5001", "5002"])
        coordinators = await repo.staff_of(session, "coordinator", ["50", "TH"])
        # Home villages do not make anyone staff: "both" lives in 5001, "one" nowhere.
        listed = await staff.list_users(session, "officer", "5002")
        in_5001 = await staff.list_users(session, None, "5001")
        held = await staff.assignments_of(session, [both, one, national])
    assert [u.id for u in of_5002] == [both, one]
    assert [u.id for u in of_5001] == [both]
    assert [u.id for u in either] == [both, one]
    assert [u.id for u in coordinators] == [national]
    assert [u.id for u in listed] == [both, one]
    assert [u.id for u in in_5001] == [both]
    assert held == {
        both: [("officer", "5001"), ("officer", "5002")],
        one: [("officer", "5002")],
        national: [("coordinator", "50"), ("coordinator", "TH")],
    }
