"""A question added to the problem form is one step and its words, nothing else: a villager is
asked it, sees it on the summary, the district's officer finds it on the alert pushed to them
and on the case card, and the export has it as a column — through the service, the domain and a
real database, with no other code changed."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from bot.service import Core, handle
from handlers.forms import NOTICE_VERSION
from handlers.messages import Inbound, Outgoing
from storage import export, repo, staff
from storage.models import OutboxMessage, utcnow
from tests.support.added_question import problem_with_water, with_words


async def _person(core: Core, user: str, role: str | None) -> None:
    async with core.sessions() as session, session.begin():
        row = await repo.get_or_create_user(session, "console", user)
        row.display_name, row.role, row.language = "สมชาย ใจดี", role, "th"
        row.province_code, row.district_code = "50", "5001"
        row.subdistrict_code, row.village_no = "500108", 3
        row.consent_at, row.consent_notice_version = utcnow(), NOTICE_VERSION
        if role is None:
            await staff.grant(session, row, "officer", "5001")


async def _say(core: Core, user: str, *texts: str) -> list[Outgoing]:
    said: list[Outgoing] = []
    for text in texts:
        said = await handle(core, "console", user, Inbound("text", text=text))
    return said


async def test_an_added_question_reaches_summary_alert_case_card_and_export(core: Core) -> None:
    problem = problem_with_water()
    changed = dataclasses.replace(
        core, forms={**core.forms, "problem": problem}, i18n=with_words(core.i18n)
    )
    t = changed.i18n.t
    await _person(changed, "villager", "village_head")
    await _person(changed, "officer", None)

    await _say(changed, "villager", "สวัสดี", "แจ้งปัญหา", "น้ำท่วม", "ด่วน")
    asked = await _say(changed, "villager", "12")
    assert asked[-1].text.startswith(t("th", "form.problem.water_source.prompt"))
    summary = await _say(changed, "villager", "แม่น้ำ", "น้ำท่วมถนน", "ข้าม", "ที่หมู่บ้านของฉัน")
    label, river = t("th", "form.problem.water_source.label"), t("th", "choice.water_source.river")
    assert f"{label}: {river}" in summary[-1].text
    sent = await _say(changed, "villager", "ยืนยัน")
    assert "PRB-" in "\n".join(m.text for m in sent)

    async with changed.sessions() as session:
        found = await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "alert"))
        (alert,) = found.scalars()
    alert_text = "\n".join(str(m.get("text")) for m in alert.payload["messages"])
    assert label in alert_text and river in alert_text

    card = await _say(changed, "officer", f"ดูเรื่อง {_reference(sent)}")
    assert f"{label}: {river}" in "\n".join(m.text for m in card)

    def thai(key: str) -> str:
        return t("th", key)

    header = export.headers(thai, changed.forms)
    async with changed.sessions() as session:
        rows = [
            row
            async for row in export.report_rows(
                session, export.ExportFilter(), thai, changed.settings.tz, forms=changed.forms
            )
        ]
    row = dict(zip(header, rows[0], strict=True))
    assert row[label] == river


def _reference(messages: list[Outgoing]) -> str:
    text = "\n".join(m.text for m in messages)
    start = text.index("PRB-")
    return text[start : start + len("PRB-2569-000001")]
