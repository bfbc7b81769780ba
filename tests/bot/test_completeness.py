"""Reporting completeness: which villages of my district or province reported this week."""

from __future__ import annotations

import datetime as dt

from bot.service import Core
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
    assert "หมู่ 2 ต.ศรีภูมิ" in text and "หมู่ 3 ต.พระสิงห์" in text
    assert "หมู่ 1 " not in text

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
