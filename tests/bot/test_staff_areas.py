"""Roles never move a person's village (issue 9), end to end through LINE and the service: a
village head of Mueang Chiang Mai (5001) made an officer of Chom Thong (5002) still reports
from home, alerting 5001's officers; they work 5002's cases and not 5001's until they hold
5001 too; with both, they see the cases of both."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.service import Core
from storage import staff
from storage.models import OutboxMessage, Report, User
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms, grant_role, line_texts

NOT_ALLOWED = "ไม่มีสิทธิ์"


async def _invite(core: Core, area: str, role: str = "officer") -> str:
    async with core.sessions() as session, session.begin():
        return await staff.create_invite(
            session, role, area, expires_in=dt.timedelta(days=1), now=core.clock()
        )


async def _officer(p: Platforms, user_id: str, area: str) -> LineEvents:
    who = LineEvents(p.line, user_id)
    await p.line_say(who, f"/join {await _invite(p.core, area)}", "ภาษาไทย", "ยินยอม",
                     f"ปลัด {area}", "ข้าม", "ยืนยัน")  # fmt: skip
    return who


async def _villager(p: Platforms, user_id: str, district: str, subdistrict: str) -> LineEvents:
    who = LineEvents(p.line, user_id)
    await p.line_say(who, "สวัสดี", "ภาษาไทย", "ยินยอม", "สมชาย ใจดี", "ข้าม", "ผู้ใหญ่บ้าน",
                     "เชียงใหม่", district, subdistrict, "ม.3", "ยืนยัน")  # fmt: skip
    return who


async def _problem(p: Platforms, who: LineEvents) -> Report:
    await p.line_say(who, "แจ้งปัญหา", "น้ำท่วม", "ด่วนมาก", "25", "น้ำท่วมสะพาน ข้ามไม่ได้",
                     "ไม่มีรูป")  # fmt: skip
    await p.line_send(who, who.location(18.7953, 98.9523))
    await p.line_say(who, "ยืนยัน")
    async with p.core.sessions() as session:
        found = await session.execute(select(Report).order_by(col(Report.id).desc()).limit(1))
        return found.scalar_one()


async def _alerted(p: Platforms, report: Report) -> set[str]:
    async with p.core.sessions() as session:
        rows = await session.execute(
            select(col(OutboxMessage.recipient)).where(
                col(OutboxMessage.report_id) == report.id, col(OutboxMessage.kind) == "alert"
            )
        )
        return set(rows.scalars())


async def _status(p: Platforms, report: Report) -> str:
    async with p.core.sessions() as session:
        found = await session.get(Report, report.id)
        assert found is not None
        return found.status


@pytest.mark.parametrize("how", ["invite", "grant"])
async def test_a_village_head_made_officer_elsewhere_still_reports_from_home(
    platforms: Platforms, how: str
) -> None:
    p = platforms
    officer_a = await _officer(p, "Uofficer5001000000", "5001")
    officer_b = await _officer(p, "Uofficer5002000000", "5002")
    head = await _villager(p, "Uhead5001000000000", "เมืองเชียงใหม่", "สุเทพ")
    if how == "invite":
        since = len(p.line.calls)
        await p.line_say(head, f"/join {await _invite(p.core, '5002')}")
        assert any("จอมทอง" in t for t in line_texts(p, head.user_id, since))
    else:
        await grant_role(p, head, "officer", "5002")

    # Their own problem report is filed at home and alerts home's officer only.
    own = await _problem(p, head)
    assert (own.province_code, own.district_code, own.subdistrict_code) == ("50", "5001", "500108")
    assert await _alerted(p, own) == {officer_a.user_id}

    # A problem in 5002 alerts 5002's officers, the village head among them.
    neighbour = await _villager(p, "Uvillager500200000", "จอมทอง", "บ้านหลวง")
    theirs = await _problem(p, neighbour)
    assert theirs.district_code == "5002"
    assert await _alerted(p, theirs) == {officer_b.user_id, head.user_id}

    # They work 5002's cases, not those of their home district.
    since = len(p.line.calls)
    await p.line_send(head, head.postback(f"case:{own.id}:ack"))
    assert any(NOT_ALLOWED in t for t in line_texts(p, head.user_id, since))
    assert await _status(p, own) == "received"
    await p.line_send(head, head.postback(f"case:{theirs.id}:ack"))
    assert await _status(p, theirs) == "acknowledged"
    since = len(p.line.calls)
    await p.line_say(head, "เรื่องค้าง")
    listed = " ".join(line_texts(p, head.user_id, since))
    assert theirs.reference in listed and own.reference not in listed

    # Holding 5001 as well, they work both districts' cases and see both in their list.
    await grant_role(p, head, "officer", "5001")
    since = len(p.line.calls)
    await p.line_say(head, "เรื่องค้าง")
    listed = " ".join(line_texts(p, head.user_id, since))
    assert theirs.reference in listed and own.reference in listed
    await p.line_send(head, head.postback(f"case:{own.id}:ack"))
    assert await _status(p, own) == "acknowledged"
    # And their home village is where it always was.
    async with p.core.sessions() as session:
        user = (
            await session.execute(select(User).where(col(User.platform_user_id) == head.user_id))
        ).scalar_one()
    assert (user.province_code, user.district_code, user.village_no) == ("50", "5001", 3)


async def test_a_coordinator_who_is_also_an_officer_is_alerted_once(platforms: Platforms) -> None:
    p = platforms
    both = await _officer(p, "Uboth000000000000", "5001")
    await grant_role(p, both, "coordinator", "50")
    villager = await _villager(p, "Uvillager500100000", "เมืองเชียงใหม่", "สุเทพ")
    report = await _problem(p, villager)
    from bot.scheduler import escalate_due

    p.clock.advance(minutes=31)  # very urgent, nobody acknowledged: officers and coordinators
    assert await escalate_due(p.core) == 1
    async with p.core.sessions() as session:
        rows = await session.execute(
            select(col(OutboxMessage.recipient)).where(
                col(OutboxMessage.report_id) == report.id,
                col(OutboxMessage.kind) == "escalation",
            )
        )
        assert list(rows.scalars()) == [both.user_id]
