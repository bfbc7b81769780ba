"""Reporting completeness: which villages of my district or province reported this week; every
village of the official list where a district has one, else those where someone registered
(and the read-out says so)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import col

from bot.service import Core
from storage import villages
from storage.models import Report, User
from tests.support.platforms import Platforms, grant_role, join_as_staff, line_texts


async def _village(core: Core, name: str, subdistrict: str, village: int,
                   reported_days_ago: float | None) -> None:  # fmt: skip
    district = subdistrict[:4]
    async with core.sessions() as session, session.begin():
        user = User(platform="line", platform_user_id=f"U{name}", role="village_head",
                    consent_at=core.clock(), province_code=subdistrict[:2], district_code=district,
                    subdistrict_code=subdistrict, village_no=village)  # fmt: skip
        session.add(user)
        await session.flush()
        if reported_days_ago is not None:
            at = core.clock() - dt.timedelta(days=reported_days_ago)
            session.add(Report(reference=f"ACT-2569-{user.id:06d}", kind="activity",
                               reporter_id=user.id or 0, province_code=subdistrict[:2],
                               district_code=district, subdistrict_code=subdistrict,
                               village_no=village, form_id="activity", created_at=at,
                               updated_at=at))  # fmt: skip


async def test_officers_and_coordinators_see_who_reported_this_week(platforms: Platforms) -> None:
    p = platforms  # Friday 20 March 2026, 09:00 in Bangkok: the week began on Monday the 16th
    await _village(p.core, "a", "500101", 1, reported_days_ago=1)
    await _village(p.core, "a2", "500101", 1, reported_days_ago=None)  # same village: counted once
    await _village(p.core, "b", "500101", 2, reported_days_ago=5)  # last Sunday: last week
    await _village(p.core, "c", "500102", 3, reported_days_ago=None)
    await _village(p.core, "d", "500701", 4, reported_days_ago=0.5)  # แม่ริม
    await _village(p.core, "e", "100101", 5, reported_days_ago=None)  # Bangkok: not ours

    officer = await join_as_staff(p, "5001", role="officer")
    since = len(p.line.calls)
    await p.line_say(officer, "ความครบถ้วน")
    text = "\n".join(line_texts(p, officer.user_id, since))
    assert "รายงานแล้ว 1 จาก 3 หมู่บ้าน" in text
    assert "ม.2 ต.ศรีภูมิ" in text and "ม.3 ต.พระสิงห์" in text
    assert "หมู่ 1 " not in text
    # No official list: only villages where someone registered can be counted, and it says so.
    assert "ยังไม่มีรายชื่อหมู่บ้านทางการในระบบ จึงนับได้เฉพาะหมู่บ้านที่มีผู้ลงทะเบียนแล้ว" in text

    coordinator = await join_as_staff(p, "50")
    since = len(p.line.calls)
    await p.line_say(coordinator, "ความครบถ้วน")
    text = "\n".join(line_texts(p, coordinator.user_id, since))
    assert "รายงานแล้ว 2 จาก 4 หมู่บ้าน" in text
    assert "• เมืองเชียงใหม่: 1/3" in text and "• แม่ริม: 1/1" in text
    assert "กรุงเทพ" not in text and "หมู่ 5" not in text


async def test_someone_holding_two_areas_sees_each(platforms: Platforms) -> None:
    p = platforms
    await _village(p.core, "a", "500101", 1, reported_days_ago=1)
    await _village(p.core, "c", "500102", 3, reported_days_ago=None)
    await _village(p.core, "d", "500701", 4, reported_days_ago=None)  # แม่ริม
    await _village(p.core, "e", "100101", 5, reported_days_ago=0.5)  # Bangkok
    officer = await join_as_staff(p, "5001", role="officer")
    await grant_role(p, officer, "officer", "5007")
    await grant_role(p, officer, "coordinator", "10")
    since = len(p.line.calls)
    await p.line_say(officer, "ความครบถ้วน")
    text = "\n".join(line_texts(p, officer.user_id, since))
    assert "(อ.เมืองเชียงใหม่ จ.เชียงใหม่)\nรายงานแล้ว 1 จาก 2 หมู่บ้าน" in text
    assert "(อ.แม่ริม จ.เชียงใหม่)\nรายงานแล้ว 0 จาก 1 หมู่บ้าน" in text
    assert "(กรุงเทพมหานคร)\nรายงานแล้ว 1 จาก 1 หมู่บ้าน" in text


# The official list of อ.เมืองเชียงใหม่ (5001), as `fieldbot villages import` loads it: five
# villages, three of them without anybody registered.
LIST_5001 = """\
code,village_no,name
50010101,1,บ้านเมืองเก่า
50010102,2,บ้านป่าแดง
50010104,4,บ้านหนองหอย
50010201,1,บ้านพระสิงห์
50010203,3,บ้านท่าแพ
"""


async def _import(core: Core, text: str) -> None:
    parsed = villages.parse(text.encode())
    async with core.sessions() as session, session.begin():
        await villages.check_subdistricts(session, parsed)
        assert parsed.problems == []
        await villages.save(session, parsed.rows, core.clock())


async def _registered(p: Platforms) -> None:
    await _village(p.core, "a", "500101", 1, reported_days_ago=1)
    await _village(p.core, "b", "500101", 2, reported_days_ago=5)  # last week
    await _village(p.core, "c", "500102", 3, reported_days_ago=None)
    await _village(p.core, "d", "500701", 4, reported_days_ago=0.5)  # แม่ริม: no list


async def test_a_district_with_a_list_counts_every_village_on_it_by_name(
    platforms: Platforms,
) -> None:
    p = platforms
    await _registered(p)
    await _import(p.core, LIST_5001)
    officer = await join_as_staff(p, "5001", role="officer")
    since = len(p.line.calls)
    await p.line_say(officer, "ความครบถ้วน")
    text = "\n".join(line_texts(p, officer.user_id, since))
    assert "รายงานแล้ว 1 จาก 5 หมู่บ้าน" in text
    for line in ("• ม.2 บ้านป่าแดง ต.ศรีภูมิ", "• ม.4 บ้านหนองหอย ต.ศรีภูมิ",
                 "• ม.1 บ้านพระสิงห์ ต.พระสิงห์", "• ม.3 บ้านท่าแพ ต.พระสิงห์"):  # fmt: skip
        assert line in text, text
    assert "บ้านเมืองเก่า" not in text  # reported
    assert "นับได้เฉพาะ" not in text  # the list is complete: no caveat


async def test_a_province_counts_by_list_or_by_registration_district_by_district(
    platforms: Platforms,
) -> None:
    p = platforms
    await _registered(p)
    await _import(p.core, LIST_5001)
    coordinator = await join_as_staff(p, "50")
    since = len(p.line.calls)
    await p.line_say(coordinator, "ความครบถ้วน")
    text = "\n".join(line_texts(p, coordinator.user_id, since))
    assert "รายงานแล้ว 2 จาก 6 หมู่บ้าน" in text
    assert "• เมืองเชียงใหม่: 1/5\n" in text  # the list
    assert "• แม่ริม: 1/1 *" in text  # who registered, marked
    assert "* อำเภอที่ยังไม่มีรายชื่อหมู่บ้านทางการ (24 อำเภอ) นับได้เฉพาะหมู่บ้านที่มีผู้ลงทะเบียนแล้ว" in text

    async with p.core.sessions() as session, session.begin():
        user = (await session.execute(select(User).where(
            col(User.platform_user_id) == coordinator.user_id))).scalar_one()  # fmt: skip
        user.language = "en"
    since = len(p.line.calls)
    await p.line_say(coordinator, "completeness")
    english = "\n".join(line_texts(p, coordinator.user_id, since))
    assert "2 of 6 villages reported" in english
    assert "• Mae Rim: 1/1 *" in english
    assert ("* Districts with no official village list yet (24): only villages where someone "
            "has registered are counted there.") in english  # fmt: skip
    assert "• Village 4 บ้านหนองหอย, Si Phum" in english


async def test_an_area_with_nothing_to_count_says_why(platforms: Platforms) -> None:
    p = platforms
    await _import(p.core, LIST_5001)
    officer = await join_as_staff(p, "5001", role="officer")
    await grant_role(p, officer, "officer", "5007")  # แม่ริม: no list, nobody registered
    since = len(p.line.calls)
    await p.line_say(officer, "ความครบถ้วน")
    text = "\n".join(line_texts(p, officer.user_id, since))
    assert "(อ.เมืองเชียงใหม่ จ.เชียงใหม่)\nรายงานแล้ว 0 จาก 5 หมู่บ้าน" in text
    assert "(อ.แม่ริม จ.เชียงใหม่)\nยังไม่มีผู้ลงทะเบียนในพื้นที่นี้ และยังไม่มีรายชื่อหมู่บ้านทางการ" in text
