"""An officer's action on a case through `domain.cases.act`, as the chat and the desk call it:
the policy decides who may, a second officer who comes too late learns it, the reporter is
told — on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from bot.service import Core
from domain import cases
from handlers.forms import NOTICE_VERSION
from storage import repo, staff
from storage.models import OutboxMessage, User, utcnow


async def _person(core: Core, user: str, district: str, officer: bool) -> User:
    async with core.sessions() as session, session.begin():
        row = await repo.get_or_create_user(session, "console", user)
        row.display_name, row.role, row.language = user, None if officer else "village_head", "th"
        row.province_code, row.district_code = district[:2], district
        row.subdistrict_code, row.village_no = f"{district}08", 3
        row.consent_at, row.consent_notice_version = utcnow(), NOTICE_VERSION
        if officer:
            await staff.grant(session, row, "officer", district)
        return row


async def _problem(core: Core, reporter: User) -> int:
    env = core.env(13)
    async with core.sessions() as session, session.begin():
        row = await session.get(User, reporter.id)
        assert row is not None
        report = await repo.create_report(
            session, reporter=row, kind="problem", form_id="problem", form_version=1,
            answers={"category": "flood", "urgency": "urgent", "households": 3,
                     "description": "น้ำท่วมถนน"},
            fields={"province_code": "50", "district_code": "5001", "status": "received",
                    "problem_category": "flood", "urgency": "urgent"},
            photos=[], local_date=env.today,
        )  # fmt: skip
        assert report.id is not None
        return report.id


async def test_act_decides_who_may_and_who_was_first(core: Core) -> None:
    villager = await _person(core, "villager", "5001", officer=False)
    first = await _person(core, "first", "5001", officer=True)
    second = await _person(core, "second", "5001", officer=True)
    elsewhere = await _person(core, "elsewhere", "5002", officer=True)
    case_id = await _problem(core, villager)
    env = core.env(13)
    async with core.sessions() as session, session.begin():
        refused = await cases.act(session, env, elsewhere, case_id, "ack")
        assert refused.outcome == "not_allowed"
        refused = await cases.act(session, env, villager, case_id, "ack")
        assert refused.outcome == "not_allowed"
        done = await cases.act(session, env, first, case_id, "ack")
        assert done.outcome == "done" and done.report is not None
        assert done.report.status == "acknowledged"
        late = await cases.act(session, env, second, case_id, "ack")
        assert late.outcome == "too_late" and late.report is not None
        assert late.report.handled_by_id == first.id
        resolved = await cases.act(session, env, second, case_id, "resolve", note="ซ่อมแล้ว")
        assert resolved.outcome == "done"
    async with core.sessions() as session:
        notices = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "status", OutboxMessage.user_id == villager.id
                )
            )
        ).scalars()
        texts = ["\n".join(m["text"] for m in row.payload["messages"]) for row in notices]
    assert len(texts) == 2  # acknowledged, then resolved with the officer's note
    assert "ซ่อมแล้ว" in texts[1]
