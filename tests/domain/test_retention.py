"""The retention sweep (domain.retention) on SQLite and PostgreSQL: pushes emptied only when
over and old, people anonymised only when silent past the period (after which their name and
phone are in no table), old reports moved to the anonymous row with their pushes erased, a
sweep in several short transactions doing what one long one does, and a second sweep finding
nothing to do."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.service import Core
from domain import privacy, retention
from storage import desk
from storage.models import (
    CaseEvent,
    Conversation,
    OutboxMessage,
    PrivacyRequest,
    Report,
    ReportPhoto,
    User,
)
from tests.support.rows import every_row

DAY = dt.timedelta(days=1)
PERIOD = 1825  # the default period for people and reports, in days
NAME, PHONE = "สมศรี เงียบหาย", "0899999999"


async def _sweep(core: Core, **options: Any) -> retention.Swept:
    async with core.sessions() as session, session.begin():
        return await retention.sweep(session, core.clock(), core.retention, **options)


def _push(
    status: str, at: dt.datetime, *, payload: dict[str, Any] | None = None,
    report_id: int | None = None, recipient: str = "Uofficer", kind: str = "alert",
) -> OutboxMessage:  # fmt: skip
    return OutboxMessage(
        platform="line", recipient=recipient, kind=kind, report_id=report_id,
        payload=payload or {"messages": [{"text": f"{kind} {status}"}], "to": ["U1", "U2"]},
        status=status, retry_key="k", next_attempt_at=at, created_at=at, recipient_count=2,
    )  # fmt: skip


def _person(key: str, **fields: Any) -> User:
    values: dict[str, Any] = {
        "platform": "line", "platform_user_id": f"U{key}", "display_name": f"name {key}",
        "role": "village_head", "province_code": "50", "district_code": "5001",
        "subdistrict_code": "500101", "village_no": 3, "language": "th",
    }  # fmt: skip
    values.update(fields)
    return User(**values)


async def test_pushes_over_for_the_outbox_period_lose_their_content(core: Core) -> None:
    now = core.clock()
    old, recent = now - 31 * DAY, now - 29 * DAY
    over = ("sent", "skipped", "failed", "cancelled")
    async with core.sessions() as session, session.begin():
        rows = {status: _push(status, old) for status in (*over, "pending", "sending")}
        rows["recent"] = _push("sent", recent)
        rows["erased"] = _push("sent", old, payload={"erased": True})
        session.add_all(rows.values())
    before = {key: row.payload for key, row in rows.items()}

    swept = await _sweep(core)
    assert swept.messages_emptied == len(over)
    async with core.sessions() as session:
        stored = {r.id: r for r in (await session.execute(select(OutboxMessage))).scalars()}
    for key, row in rows.items():
        now_row = stored[row.id]
        emptied = key in over
        assert now_row.payload == ({"emptied": True} if emptied else before[key]), key
        assert (now_row.status, now_row.recipient_count) == (row.status, 2)  # counts stay
    assert await _sweep(core) == retention.Swept()  # nothing left to do


async def test_people_silent_past_the_period_are_anonymised(core: Core) -> None:
    now = core.clock()
    today = now.astimezone(core.settings.tz).date()
    async with core.sessions() as session, session.begin():
        silent = _person(
            "silent", display_name=NAME, phone=PHONE, seen_on=today - (PERIOD + 1) * DAY
        )
        just_in_time = _person("in-time", seen_on=today - PERIOD * DAY)
        legacy_silent = _person("legacy-silent", updated_at=now - (PERIOD + 1) * DAY)
        legacy_recent = _person("legacy-recent", updated_at=now - 10 * DAY)
        at_the_desk = _person("desk", seen_on=today - (PERIOD + 1) * DAY, role=None)
        gone = _person("gone", platform=privacy.ERASED, seen_on=today - (PERIOD + 1) * DAY)
        people = [silent, just_in_time, legacy_silent, legacy_recent, at_the_desk, gone]
        session.add_all(people)
        await session.flush()
        session.add(Conversation(user_id=silent.id or 0, form_id="problem", form_version=1,
                                 step_id="description", answers={"phone": PHONE}))  # fmt: skip
        # An officer's alert naming them, sent yesterday (not yet emptied by its own period).
        text = f"แจ้งโดย {NAME} โทร {PHONE}"
        session.add(_push("sent", now - DAY, payload={"messages": [{"text": text}]}))
        await desk.open_session(session, at_the_desk.id or 0, now - DAY)
    assert NAME in await every_row(core.sessions)

    swept = await _sweep(core)
    assert swept.people_anonymised == 2
    async with core.sessions() as session:
        found = {u.id: u for u in (await session.execute(select(User))).scalars()}
        register = list((await session.execute(select(PrivacyRequest))).scalars())
    erased = {u.id for u in people if found[u.id].platform == privacy.ERASED}
    assert erased == {silent.id, legacy_silent.id, gone.id}
    assert found[silent.id].display_name is None and not found[silent.id].active
    assert sorted((r.user_id, r.kind, r.via) for r in register) == sorted(
        [(silent.id, "erase", "retention"), (legacy_silent.id, "erase", "retention")]
    )
    everything = await every_row(core.sessions)
    for secret in (NAME, PHONE, "Usilent", "Ulegacy-silent"):
        assert secret not in everything, secret
    assert "name in-time" in everything and "name desk" in everything
    assert await _sweep(core) == retention.Swept()


async def test_old_reports_move_to_the_anonymous_row(core: Core) -> None:
    now = core.clock()
    old, recent = now - (PERIOD + 1) * DAY, now - 10 * DAY
    async with core.sessions() as session, session.begin():
        reporter = _person("reporter", display_name=NAME, phone=PHONE, seen_on=recent.date())
        session.add(reporter)
        await session.flush()

        def report(number: int, at: dt.datetime, said: str = "น้ำท่วมสะพาน") -> Report:
            return Report(
                reference=f"PRB-2564-{number:06d}", kind="problem", reporter_id=reporter.id or 0,
                form_id="problem", created_at=at, updated_at=at, status="resolved",
                description=said,
                answers={"description": said, "phone": PHONE, "households": 3},
            )  # fmt: skip

        # The reporter typed their name and phone into the description, as villagers do.
        typed = f"น้ำท่วมสะพานหน้าบ้าน {NAME} โทร {PHONE}"
        aged, fresh = report(1, old, typed), report(2, recent, typed)
        session.add_all([aged, fresh])
        await session.flush()
        session.add(ReportPhoto(report_id=aged.id or 0, sha256="a" * 64, path="a.jpg",
                                content_type="image/jpeg", size_bytes=1))  # fmt: skip
        session.add(CaseEvent(report_id=aged.id or 0, to_status="resolved", at=old,
                              note=f"โทรหา {NAME} แล้ว"))  # fmt: skip
        waiting = _push("pending", old, report_id=aged.id, kind="escalation")
        notice = _push("sent", recent, report_id=aged.id, kind="status", recipient="Ureporter")
        other = _push("sent", recent, report_id=fresh.id, kind="status", recipient="Ureporter")
        session.add_all([waiting, notice, other])

    swept = await _sweep(core)
    assert (swept.reports_anonymised, swept.report_messages_erased) == (1, 2)
    async with core.sessions() as session:
        anonymous = (
            await session.execute(select(User).where(col(User.platform_user_id) == "anonymous"))
        ).scalar_one()
        assert (anonymous.platform, anonymous.display_name, anonymous.active) == (
            privacy.ERASED, None, False,
        )  # fmt: skip
        stored = await session.get(Report, aged.id)
        assert stored is not None and stored.reporter_id == anonymous.id
        cleaned = "น้ำท่วมสะพานหน้าบ้าน [ลบแล้ว] โทร [ลบแล้ว]"
        assert stored.answers == {"description": cleaned, "households": 3}
        assert stored.description == cleaned and stored.reference == "PRB-2564-000001"
        [event] = (await session.execute(select(CaseEvent))).scalars()
        assert event.note == "โทรหา [ลบแล้ว] แล้ว"
        kept = await session.get(Report, fresh.id)
        assert kept is not None and kept.reporter_id == reporter.id and kept.answers["phone"]
        assert kept.description == typed  # not old yet: as typed
        assert len((await session.execute(select(ReportPhoto))).all()) == 1
        assert len((await session.execute(select(CaseEvent))).all()) == 1
        pushes = {r.id: r for r in (await session.execute(select(OutboxMessage))).scalars()}
        reporter_row = await session.get(User, reporter.id)
        assert reporter_row is not None and reporter_row.display_name == NAME  # not silent
    assert (pushes[waiting.id].status, pushes[waiting.id].payload) == (
        "cancelled",
        {"erased": True},
    )
    assert (pushes[notice.id].status, pushes[notice.id].payload) == ("sent", {"erased": True})
    assert pushes[other.id].payload == other.payload

    assert await _sweep(core) == retention.Swept()
    async with core.sessions() as session, session.begin():  # another report ages: same row
        session.add(report(3, old))
    assert (await _sweep(core)).reports_anonymised == 1
    async with core.sessions() as session:
        anonymous_rows = await session.execute(
            select(User.id).where(col(User.platform_user_id) == "anonymous")
        )
        assert len(anonymous_rows.all()) == 1


async def test_a_sweep_in_short_transactions_does_what_one_long_one_does(core: Core) -> None:
    now = core.clock()
    old = now - (PERIOD + 1) * DAY
    async with core.sessions() as session, session.begin():
        reporter = _person("reporter", seen_on=now.date())
        silent = [_person(f"silent{n}", seen_on=old.date()) for n in range(5)]
        session.add_all([reporter, *silent])
        await session.flush()
        session.add_all([_push("sent", now - 40 * DAY) for _ in range(7)])
        session.add_all([
            Report(reference=f"ACT-2564-{n:06d}", kind="activity", reporter_id=reporter.id or 0,
                   form_id="activity", created_at=old, updated_at=old)
            for n in range(5)
        ])  # fmt: skip

    progress, swept, rounds = retention.Progress(), retention.Swept(), 0
    while not progress.finished:
        swept += await _sweep(core, limit=2, progress=progress)
        rounds += 1
    assert (swept.messages_emptied, swept.people_anonymised, swept.reports_anonymised) == (
        7, 5, 5,
    )  # fmt: skip
    assert rounds == 4  # 2 + 2 + 2 + 1 pushes
    assert await _sweep(core) == retention.Swept()


async def test_a_reports_personal_answers_go() -> None:
    answers = {"description": "ถนนขาด", "phone": "0811111111", "name": "x", "urgency": "urgent"}
    assert retention.impersonal("problem", answers) == {
        "description": "ถนนขาด", "urgency": "urgent",
    }  # fmt: skip
    assert retention.impersonal("a form since removed", {"phone": "1", "a": 2}) == {"a": 2}
