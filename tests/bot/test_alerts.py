"""Alerts through the outbox, end to end: an officer joins by invite on LINE, another on
Telegram; a villager files an urgent problem on LINE; the dispatcher delivers the alert to both
through the official SDKs and the fake platforms, with retries, rate limits and blocked users."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from bot.outbox import backoff
from bot.server import build_app, settle
from bot.service import Core
from handlers.messages import Outgoing
from storage import staff
from storage.models import Report, User
from tests.support.added_question import problem_with_water, with_words
from tests.support.cli import run_cli_async
from tests.support.env import environment
from tests.support.fake_line import LineEvents, buttons_of, sign, text_of, webhook_body
from tests.support.fake_telegram import TelegramUpdates
from tests.support.forms import fill
from tests.support.images import png_bytes
from tests.support.platforms import LINE_SECRET, TG_SECRET, Platforms, line_texts
from tests.support.settings import make_settings


async def _invite(core: Core, area: str = "5001") -> str:
    async with core.sessions() as session, session.begin():
        return await staff.create_invite(
            session, "officer", area, expires_in=dt.timedelta(days=1), now=core.clock()
        )


async def _officers(p: Platforms) -> tuple[LineEvents, TelegramUpdates]:
    on_line = LineEvents(p.line, "Uofficer0000000000")
    await p.line_say(on_line, f"/join {await _invite(p.core)}", "ภาษาไทย", "ยินยอม",
                     "ปลัดสมศักดิ์", "ข้าม", "ยืนยัน")  # fmt: skip
    on_telegram = TelegramUpdates(p.telegram, 5150)
    await p.tg_say(on_telegram, f"/join {await _invite(p.core)}", "English", "yes",
                   "Officer Dao", "skip", "submit")  # fmt: skip
    return on_line, on_telegram


async def _urgent_problem(
    p: Platforms,
    villager: LineEvents,
    photo: bool = True,
    phone: str | None = None,
    photos: int = 1,
) -> None:
    """A villager registers and files a very urgent problem, answering by step id (a question
    added to either form gets a plain answer: tests/support/forms.py)."""

    async def say(text: str) -> None:
        await p.line_say(villager, text)

    async def send_photo() -> None:
        for n in range(photos):
            await p.line_send(villager, villager.image(png_bytes(5, 5, (0, 0, 255 - n))))
        await p.line_say(villager, "เสร็จ")

    async def send_location() -> None:
        await p.line_send(villager, villager.location(18.7953, 98.9523))

    await p.line_say(villager, "สวัสดี")
    await fill(p.core, "line", villager.user_id, say, {
        "language": "ภาษาไทย", "consent": "ยินยอม", "name": "สมชาย ใจดี", "role": "ผู้ใหญ่บ้าน",
        "area": ["เชียงใหม่", "เมืองเชียงใหม่", "สุเทพ", "ม.3"], "confirm": "ยืนยัน",
        **({"phone": phone} if phone else {}),
    })  # fmt: skip
    await p.line_say(villager, "แจ้งปัญหา")
    await fill(p.core, "line", villager.user_id, say, {
        "category": "น้ำท่วม", "urgency": "ด่วนมาก", "households": "25",
        "description": "น้ำท่วมสะพาน ข้ามไม่ได้", "photos": send_photo if photo else "ไม่มีรูป",
        "location": send_location, "confirm": "ยืนยัน",
    })  # fmt: skip


async def test_a_question_added_to_the_problem_form_breaks_no_walk_through(
    platforms: Platforms,
) -> None:
    """The walk-throughs answer by step id: with a question added to the problem form (one
    step and its words), the same test still files the problem, gives the new question a plain
    answer, and the officers' alert carries it."""
    p = platforms
    p.core.forms = {**p.core.forms, "problem": problem_with_water()}
    p.core.i18n = with_words(p.core.i18n)
    officer_line, _officer_tg = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"))
    assert await p.deliver() == 2
    push = next(c for c in p.line.calls if c.path == "/v2/bot/message/push"
                and c.body["to"] == officer_line.user_id)  # fmt: skip
    text = text_of(push.body["messages"][-1])
    assert "PRB-2569-000001" in text and "แหล่งน้ำ: บ่อน้ำ" in text


async def test_an_urgent_problem_reaches_officers_on_both_platforms(platforms: Platforms) -> None:
    p = platforms
    officer_line, officer_tg = await _officers(p)
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, phone="081-234-5678")
    rows = await p.rows()
    assert [(r.platform, r.kind, r.status) for r in rows] == [
        ("line", "alert", "pending"),
        ("telegram", "alert", "pending"),
    ]
    assert await p.deliver() == 2
    assert [r.status for r in await p.rows()] == ["sent", "sent"]

    push = next(c for c in p.line.calls if c.path == "/v2/bot/message/push"
                and c.body["to"] == officer_line.user_id)  # fmt: skip
    card = push.body["messages"][-1]
    assert card["type"] == "flex"  # buttons on the card stay tappable; quick replies vanish
    text = text_of(card)
    assert "PRB-2569-000001" in text and "น้ำท่วม" in text and "ด่วนมาก" in text
    assert "https://maps.google.com/?q=18.795300,98.952300" in text
    assert "0812345678" in text  # the officers of the district call the reporter back
    labels = [action["label"] for action in buttons_of(card)]
    assert labels == ["รับเรื่อง", "กำลังดำเนินการ", "เสร็จสิ้น", "ส่งต่อ", "ไม่รับเรื่อง"]
    assert push.headers["X-Line-Retry-Key"] == rows[0].retry_key

    photo = next(c for c in p.telegram.calls if c.method == "sendPhoto")
    assert int(photo.params["chat_id"]) == officer_tg.user_id
    assert "PRB-2569-000001" in photo.params["caption"] and "Flood" in photo.params["caption"]
    buttons = [b["text"] for row in photo.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "Acknowledge" in buttons
    assert await p.deliver() == 0  # nothing is sent twice


async def test_platform_errors_are_retried_with_backoff_until_delivered(
    platforms: Platforms,
) -> None:
    p = platforms
    await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    calls_before = len(p.telegram.calls)
    p.line.push_failures = [500, 500]
    p.telegram.failures["sendMessage"] = [
        (
            429,
            {
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 30},
            },
        )
    ]
    await p.deliver()
    rows = await p.rows()
    assert [r.status for r in rows] == ["pending", "pending"]
    line_row, tg_row = rows
    assert line_row.attempts == 1 and "500" in (line_row.last_error or "")
    assert tg_row.next_attempt_at == p.clock.now + dt.timedelta(seconds=30)  # Retry-After
    assert await p.deliver() == 0  # not due yet
    p.clock.advance(seconds=31)
    await p.deliver()  # LINE fails once more, Telegram goes
    p.clock.advance(minutes=5)
    await p.deliver()
    assert [r.status for r in await p.rows()] == ["sent", "sent"]
    keys = {c.headers["X-Line-Retry-Key"] for c in p.line.calls if c.path.endswith("/push")
            and c.body["to"] == "Uofficer0000000000"}  # fmt: skip
    assert keys == {line_row.retry_key}  # every attempt with the same key
    tries = [c for c in p.telegram.calls[calls_before:] if c.method == "sendMessage"]
    assert len(tries) == 2  # the 429, then the delivery


async def test_an_alert_is_never_given_up_on_transient_errors(platforms: Platforms) -> None:
    """Past the attempts an ordinary push gets, an alert keeps trying, at most
    ALERT_RETRY_CAP apart, until it is delivered; a status notice is given up."""
    from bot.outbox import ALERT_RETRY_CAP, MAX_ATTEMPTS
    from storage import outbox, repo

    p = platforms
    await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    async with p.core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "line", "Unotice00000000000")
        await outbox.enqueue(session, user, "status", [Outgoing("notice")], now=p.clock.now)
    p.line.push_failures = [503] * (2 * (MAX_ATTEMPTS + 2))
    for _ in range(MAX_ATTEMPTS + 2):
        await p.dispatcher.deliver_due("line")
        pending = [r for r in await p.rows() if r.status == "pending"]
        for row in pending:
            if row.kind == "alert":
                assert row.next_attempt_at - p.clock.now <= dt.timedelta(seconds=ALERT_RETRY_CAP)
        p.clock.advance(seconds=ALERT_RETRY_CAP + 1)
    by_kind = {r.kind: r for r in await p.rows() if r.platform == "line"}
    assert by_kind["status"].status == "failed"  # an ordinary push has its limit
    assert by_kind["alert"].status == "pending" and by_kind["alert"].attempts > MAX_ATTEMPTS
    p.line.push_failures = []
    await p.dispatcher.deliver_due("line")
    by_kind = {r.kind: r for r in await p.rows() if r.platform == "line"}
    assert by_kind["alert"].status == "sent"


async def test_a_blocked_officer_is_skipped_and_marked_inactive(platforms: Platforms) -> None:
    p = platforms
    await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    p.telegram.failures["sendMessage"] = [
        (403, {"error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    ]
    await p.deliver()
    statuses = {r.platform: r.status for r in await p.rows()}
    assert statuses == {"line": "sent", "telegram": "skipped"}
    async with p.core.sessions() as session:
        officer = (
            await session.execute(select(User).where(User.platform_user_id == "5150"))
        ).scalar_one()
    assert officer.active is False


async def test_no_officer_means_the_coordinators_are_alerted(platforms: Platforms) -> None:
    p = platforms
    coordinator = LineEvents(p.line, "Ucoordinator000000")
    async with p.core.sessions() as session, session.begin():
        code = await staff.create_invite(
            session, "coordinator", "50", expires_in=dt.timedelta(days=1), now=p.clock.now
        )
    await p.line_say(coordinator, f"เข้าร่วม {code}", "ภาษาไทย", "ยินยอม", "ผู้ประสานงาน",
                     "ข้าม", "ยืนยัน")  # fmt: skip
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False,
                          phone="0812345678")  # fmt: skip
    rows = await p.rows()
    assert [(r.recipient, r.kind) for r in rows] == [(coordinator.user_id, "alert")]
    assert "0812345678" not in json.dumps(rows[0].payload, ensure_ascii=False)  # not theirs


async def test_with_nobody_assigned_the_admins_are_alerted_and_the_villager_told(
    platforms: Platforms,
) -> None:
    p = platforms
    admin = LineEvents(p.line, "Uadmin00000000000")
    async with p.core.sessions() as session, session.begin():
        code = await staff.create_invite(
            session, "admin", "TH", expires_in=dt.timedelta(days=1), now=p.clock.now
        )
    await p.line_say(admin, f"เข้าร่วม {code}", "ภาษาไทย", "ยินยอม", "แอดมิน", "ข้าม", "ยืนยัน")
    villager = LineEvents(p.line, "Uvillager000000000")
    since = len(p.line.calls)
    await _urgent_problem(p, villager, photo=False)  # ด่วนมาก, in a district with nobody
    rows = await p.rows()
    assert [(r.recipient, r.kind) for r in rows] == [(admin.user_id, "alert")]
    told = "\n".join(line_texts(p, villager.user_id, since))
    assert p.core.i18n.t("th", "report.nobody_assigned") in told
    assert p.core.i18n.t("th", "report.emergency_call", contact="1784") in told


async def test_with_nobody_at_all_the_villager_is_not_told_anyone_was(
    platforms: Platforms,
) -> None:
    """No officer, coordinator or admin in the bot: nobody is alerted, and the villager is not
    told that the admins were (the trial found that claim)."""
    p = platforms
    villager = LineEvents(p.line, "Uvillager000000000")
    since = len(p.line.calls)
    await _urgent_problem(p, villager, photo=False)
    assert [r.kind for r in await p.rows() if r.kind == "alert"] == []
    told = "\n".join(line_texts(p, villager.user_id, since))
    assert p.core.i18n.t("th", "report.nobody_reached") in told
    assert p.core.i18n.t("th", "report.nobody_assigned") not in told
    assert p.core.i18n.t("th", "report.emergency_call", contact="1784") in told


def test_backoff_grows_and_is_jittered() -> None:
    assert backoff(1, lambda: 0.5) == 2.0
    assert backoff(4, lambda: 0.5) == 16.0
    assert backoff(30, lambda: 0.5) == 600.0  # capped
    assert backoff(3, lambda: 0.0) == 4.0 and backoff(3, lambda: 1.0) == 12.0


async def _cli(p: Platforms, *args: str) -> tuple[int, str]:
    """`fieldbot ARGS` on the test's database: its exit code and all it wrote."""
    ran = await run_cli_async(args, environment(DATABASE_URL=p.core.settings.database_url))
    return ran.code, ran.out + ran.err


async def test_outbox_status_retry_and_cancel_commands(platforms: Platforms) -> None:
    p = platforms
    await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    await p.dispatcher.deliver_due("line")
    code, out = await _cli(p, "outbox", "status")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split("\t") == ["platform", "kind", "pending", "sending", "sent", "failed",
                                    "skipped", "cancelled"]  # fmt: skip
    assert "line\talert\t0\t0\t1\t0\t0\t0" in lines
    assert "telegram\talert\t1\t0\t0\t0\t0\t0" in lines
    telegram_row = next(r for r in await p.rows() if r.platform == "telegram")
    assert f"oldest alert not delivered: row {telegram_row.id} (alert, telegram, pending)" in out

    code, out = await _cli(p, "outbox", "cancel", "--id", str(telegram_row.id))
    assert code == 0, out
    assert await p.dispatcher.deliver_due("telegram") == 0  # an operator said stop
    code, out = await _cli(p, "outbox", "status")
    assert "alerts: none waiting to be delivered" in out  # an operator said stop
    code, out = await _cli(p, "outbox", "retry", "--failed")
    assert code == 0 and out.startswith("0 message(s)"), out  # a cancel is not undone by it
    code, out = await _cli(p, "outbox", "list", "--status", "cancelled")
    assert code == 0 and f"{telegram_row.id}\ttelegram\talert\tcancelled\t" in out, out
    code, out = await _cli(p, "outbox", "retry", "--id", str(telegram_row.id))
    assert code == 0 and out.startswith("1 message(s)"), out
    p.clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # the command's "now"
    assert await p.dispatcher.deliver_due("telegram") == 1
    code, out = await _cli(p, "outbox", "status")
    assert "alerts: none waiting to be delivered" in out
    assert "telegram\talert\t0\t0\t1\t0\t0\t0" in out.splitlines()
    code, out = await _cli(p, "outbox", "retry", "--id", "99999")
    assert code == 1 and "no row 99999" in out
    code, out = await _cli(p, "outbox", "cancel", "--id", "99999999999999999999")
    assert code == 2 and "a whole number from 1 to 2147483647" in out, out
    assert "Traceback" not in out


async def _problem_id(p: Platforms) -> int:
    from storage.models import Report

    async with p.core.sessions() as session:
        return (await session.execute(select(Report.id))).scalar_one()


async def test_the_case_life_cycle_from_chat(platforms: Platforms) -> None:
    from storage.models import CaseEvent, Report

    p = platforms
    officer, officer_tg = await _officers(p)
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photo=False)
    await p.deliver()
    case_id = await _problem_id(p)

    # Both officers press "acknowledge" at the same moment: one wins, the other is told.
    since = len(p.line.calls)
    line_body = webhook_body(officer.postback(f"case:{case_id}:ack"))
    await asyncio.gather(
        p.client.post("/webhooks/line", data=line_body,
                      headers={"X-Line-Signature": sign(LINE_SECRET, line_body)}),
        p.client.post("/webhooks/telegram",
                      data=json.dumps(officer_tg.callback(f"case:{case_id}:ack")),
                      headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}),
    )  # fmt: skip
    await settle(p.app)
    said = " ".join(line_texts(p, officer.user_id, since)) + " ".join(
        str(c.params.get("text", "")) for c in p.telegram.calls if c.method == "sendMessage"
    )
    assert "acknowledged" in said or "รับเรื่อง PRB-2569-000001 แล้ว" in said
    assert ("already taken by" in said) or ("ถูกดำเนินการไปแล้วโดย" in said)
    # A case card keeps its buttons on Telegram when one is pressed (the next step of the
    # case is on the same card); an answered question's keyboard goes.
    assert not [c for c in p.telegram.calls if c.method == "editMessageReplyMarkup"]

    # The reporter hears about it, through the outbox.
    await p.deliver()
    assert any("รับเรื่องแล้ว" in t for t in line_texts(p, villager.user_id, since))

    # In progress, then resolved with a note (a short question), then the reporter says no.
    await p.line_send(officer, officer.postback(f"case:{case_id}:progress"))
    since = len(p.line.calls)
    await p.line_say(officer, "จะเข้าไปดูพรุ่งนี้เช้า")  # "in progress" takes a note…
    await p.deliver()
    progress = line_texts(p, villager.user_id, since)
    assert any("จะเข้าไปดูพรุ่งนี้เช้า" in t for t in progress), progress  # …the reporter reads
    asked_from = len(p.line.calls)
    await p.line_send(officer, officer.postback(f"case:{case_id}:resolve"))
    asked = line_texts(p, officer.user_id, asked_from)
    question = p.core.i18n.t("th", "form.case_resolve.note.prompt")
    assert sum(question in t for t in asked) == 1, asked  # the question is asked once
    assert not any("แก้ไขอย่างไร" in t for t in asked if question not in t), asked
    await p.line_say(officer, "ซ่อมสะพานชั่วคราวแล้ว", "ไม่มีรูป", "ยืนยัน")
    since = len(p.line.calls)
    await p.deliver()
    notice = line_texts(p, villager.user_id, since)
    assert any("เสร็จสิ้น" in t and "ซ่อมสะพานชั่วคราวแล้ว" in t for t in notice)
    # The reporter follows the case by its number, or from "my reports": its status, the
    # officer's latest note and what happens next; nobody else sees it by its number.
    since = len(p.line.calls)
    await p.line_say(villager, "เรื่อง prb-2569-000001 เป็นยังไงบ้าง")
    await p.line_say(villager, "รายงานของฉัน")
    followed = line_texts(p, villager.user_id, since)
    t = p.core.i18n.t
    detail, listed = followed[0], followed[2]
    assert "PRB-2569-000001" in detail and t("th", "status.resolved") in detail
    assert "\n" + t("th", "my_reports.note", note="ซ่อมสะพานชั่วคราวแล้ว").strip() in detail
    assert t("th", "my_case.next.resolved", button=t("th", "feedback.not_fixed")).strip() in detail
    assert "ซ่อมสะพานชั่วคราวแล้ว" in listed and t("th", "my_reports.follow") in listed
    stranger = LineEvents(p.line, "Ustranger00000000")
    await p.line_say(stranger, "สวัสดี", "ภาษาไทย", "ยินยอม", "สมหญิง", "ข้าม", "อสม.",
                     "เชียงใหม่", "เมืองเชียงใหม่", "สุเทพ", "ม.3", "ยืนยัน")  # fmt: skip
    since = len(p.line.calls)
    await p.line_say(stranger, "PRB-2569-000001")
    assert line_texts(p, stranger.user_id, since)[0] == t(
        "th", "my_case.not_found", reference="PRB-2569-000001"
    )
    await p.line_send(villager, villager.postback(f"feedback:{case_id}:no"))
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None
        assert (report.status, report.reopen_count) == ("received", 1)
    since = len(p.line.calls)
    await p.deliver()  # officers alerted again
    assert any("ยังไม่ได้แก้ เปิดเรื่องใหม่" in t for t in line_texts(p, officer.user_id, since))

    # Resolved again; this time fixed, rated 5.
    await p.line_send(officer, officer.postback(f"case:{case_id}:resolve"))
    await p.line_say(officer, "ซ่อมถาวรเรียบร้อย", "ไม่มีรูป", "ยืนยัน")
    await p.line_send(villager, villager.postback(f"feedback:{case_id}:yes"))
    await p.line_send(villager, villager.postback(f"feedback:{case_id}:5"))
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None and (report.status, report.rating) == ("resolved", 5)
        trail = (await session.execute(
            select(CaseEvent.to_status).where(CaseEvent.report_id == case_id).order_by(CaseEvent.id)
        )).scalars().all()  # fmt: skip
    assert list(trail) == ["acknowledged", "in_progress", "resolved", "received", "resolved"]


async def test_forward_and_reject_and_permissions(platforms: Platforms) -> None:
    from storage.models import Report

    p = platforms
    officer, _ = await _officers(p)
    other = LineEvents(p.line, "Uofficer_maerim000")
    await p.line_say(other, f"/join {await _invite(p.core, '5007')}", "ภาษาไทย", "ยินยอม",
                     "ปลัดแม่ริม", "ข้าม", "ยืนยัน")  # fmt: skip
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photo=False)
    await p.deliver()
    case_id = await _problem_id(p)

    # Not theirs: the villager and the other district's officer may not act.
    since = len(p.line.calls)
    await p.line_send(villager, villager.postback(f"case:{case_id}:ack"))
    await p.line_send(other, other.postback(f"case:{case_id}:ack"))
    assert sum("ไม่มีสิทธิ์" in t for t in line_texts(p, "", since)) == 2

    # Forward to แม่ริม: its officer is alerted and may now act.
    await p.line_send(officer, officer.postback(f"case:{case_id}:forward"))
    await p.line_say(officer, "แม่ริม", "อยู่ในเขตรับผิดชอบของแม่ริม", "ยืนยัน")
    since = len(p.line.calls)
    await p.deliver()
    assert any("ส่งต่อมาถึงอำเภอของคุณ" in t for t in line_texts(p, other.user_id, since))
    # "In progress" with its note skipped: started all the same.
    await p.line_send(other, other.postback(f"case:{case_id}:progress"))
    before = len(p.line.calls)
    await p.line_say(other, "ข้าม")
    said = line_texts(p, other.user_id, before)
    assert said[-1] == p.core.i18n.t("th", "menu.prompt"), said  # the menu, for what is next
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None and report.status == "in_progress"
    await p.line_send(other, other.postback(f"case:{case_id}:reject"))
    await p.line_say(other, "เป็นถนนของกรมทางหลวง ไม่ใช่ของอำเภอ", "ยืนยัน")
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None and (report.status, report.district_code) == ("rejected", "5007")
    since = len(p.line.calls)
    await p.deliver()
    assert any("กรมทางหลวง" in t for t in line_texts(p, villager.user_id, since))


async def test_officer_read_outs(platforms: Platforms) -> None:
    p = platforms
    officer, _ = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    since = len(p.line.calls)
    await p.line_say(officer, "เรื่องค้าง")
    await p.line_say(officer, "PRB-2569-000001")
    menu = p.core.i18n.t("th", "menu.prompt")
    for asked in ("สรุป", "กิจกรรมล่าสุด"):  # after each read-out, the staff menu again
        before = len(p.line.calls)
        await p.line_say(officer, asked)
        after = line_texts(p, officer.user_id, before)
        assert len(after) == 2 and after[-1] == menu, after
    texts = line_texts(p, officer.user_id, since)
    assert any("ยังไม่มีรายงานกิจกรรม" in t for t in texts)
    assert any("เรื่องที่รอดำเนินการ 1 เรื่อง" in t for t in texts)
    assert any("📋 เรื่องเลขที่ PRB-2569-000001" in t for t in texts)
    assert any("เรื่องค้าง: 1" in t for t in texts)
    since = len(p.line.calls)
    villager = LineEvents(p.line, "Uvillager000000000")
    await p.line_say(villager, "PRB-2569-000001")  # villagers see no cases by reference
    assert not any("📋" in t for t in line_texts(p, villager.user_id, since))


async def test_officers_type_menu_and_button_labels(platforms: Platforms) -> None:
    """An officer's typed number is read against the staff menu they were shown (1 is open
    cases, not the villagers' activity report); labels are understood with typos; a case
    button's label typed with the reference acts on that case, without one asks which."""
    p = platforms
    officer, _ = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)

    async def said(text: str) -> list[str]:
        before = len(p.line.calls)
        await p.line_say(officer, text)
        return line_texts(p, officer.user_id, before)

    assert any("เรื่องที่รอดำเนินการ 1 เรื่อง" in t for t in await said("1"))
    assert any("เรื่องค้าง: 1" in t for t in await said("สรปภาพรวม"))  # typo forgiven
    assert any("เรื่องที่รอดำเนินการ 1 เรื่อง" in t for t in await said("เรื่องที่รอดำเนินการ"))
    since = len(p.line.calls)
    which = await said("รับเรื่อง")
    assert "รับเรื่อง PRB-2569-000001" in which[0] and len(which) == 2
    # The list's buttons do the action itself, not only show the case.
    sent = json.dumps([c.body for c in p.line.calls[since:]])
    assert ':ack"' in sent and ':show"' not in sent
    assert any("รับเรื่องแล้ว" in t or "PRB-2569-000001" in t
               for t in await said("รับเรื่อง PRB-2569-000001"))  # fmt: skip
    async with p.core.sessions() as session:
        status = (await session.execute(select(Report.status))).scalar_one()
    assert status == "acknowledged"


async def test_a_case_card_shows_every_photo(platforms: Platforms) -> None:
    p = platforms
    p.core.settings.public_url = "https://bot.example.org"  # LINE shows photos by link
    p.core.settings.secret_key = SecretStr("a media key of our own")
    officer, _ = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photos=3)
    since = len(p.line.calls)
    await p.line_say(officer, "PRB-2569-000001")
    sent = [m for c in p.line.calls[since:] if c.path.endswith(("/reply", "/push"))
            for m in c.body["messages"]]  # fmt: skip
    assert [m["type"] for m in sent].count("image") == 3
    assert any("รูปที่ 3/3" in text_of(m) for m in sent if m["type"] == "text")


async def test_escalation_when_nobody_acknowledges_in_time(platforms: Platforms) -> None:
    from bot.scheduler import escalate_due

    p = platforms
    officer, _ = await _officers(p)
    coordinator = LineEvents(p.line, "Ucoordinator000000")
    async with p.core.sessions() as session, session.begin():
        code = await staff.create_invite(
            session, "coordinator", "50", expires_in=dt.timedelta(days=1), now=p.clock.now
        )
    await p.line_say(coordinator, f"/join {code}", "ภาษาไทย", "ยินยอม", "ผู้ประสาน", "ข้าม", "ยืนยัน")
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)  # ด่วนมาก
    await p.deliver()

    p.clock.advance(minutes=29)
    assert await escalate_due(p.core) == 0
    p.clock.advance(minutes=2)  # past the 30 minutes for ด่วนมาก
    assert await escalate_due(p.core) == 1
    assert await escalate_due(p.core) == 0  # not again until twice as long has passed
    escalations = [r for r in await p.rows() if r.kind == "escalation"]
    assert {r.recipient for r in escalations} == {
        officer.user_id, "5150", coordinator.user_id,
    }  # fmt: skip
    since = len(p.line.calls)
    await p.deliver()
    assert any("ยังไม่มีผู้รับเรื่อง" in t for t in line_texts(p, coordinator.user_id, since))

    # The next ones wait twice as long each time, and stop after FIELDBOT_ESCALATE_MAX_TIMES
    # (3): the case stays overdue in the summary instead of ringing phones all night.
    p.clock.advance(minutes=59)
    assert await escalate_due(p.core) == 0
    p.clock.advance(minutes=1)  # 60 minutes after the first escalation
    assert await escalate_due(p.core) == 1
    p.clock.advance(minutes=119)
    assert await escalate_due(p.core) == 0
    p.clock.advance(minutes=1)  # 120 minutes after the second
    assert await escalate_due(p.core) == 1
    p.clock.advance(days=3)
    assert await escalate_due(p.core) == 0
    await p.line_say(officer, "สรุป")
    assert "เกินเวลารับเรื่อง: 1" in " ".join(line_texts(p, officer.user_id, since))

    case_id = await _problem_id(p)
    await p.line_send(officer, officer.postback(f"case:{case_id}:ack"))
    p.clock.advance(hours=5)
    assert await escalate_due(p.core) == 0  # acknowledged cases are not escalated


async def test_overdue_and_escalation_count_from_the_same_moment(platforms: Platforms) -> None:
    """A case forwarded after waiting two days is new to the district it went to: neither
    overdue there nor escalated until its own time has passed."""
    from bot.scheduler import escalate_due
    from domain import policy
    from storage import cases
    from storage.models import Report

    p = platforms
    officer, _ = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    case_id = await _problem_id(p)
    p.clock.advance(minutes=25)
    await p.line_send(officer, officer.postback(f"case:{case_id}:forward"))
    await p.line_say(officer, "แม่ริม", "อยู่ในเขตรับผิดชอบของแม่ริม", "ยืนยัน")
    limits = p.core.settings.escalation_after
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None and report.status == "forwarded"
        national = policy.visible_reports([("admin", "TH")])
        assert (await cases.summary(session, national, p.clock.now, limits))["overdue"] == 0
    p.clock.advance(minutes=29)  # 54 minutes since it arrived, 29 since it was forwarded
    assert await escalate_due(p.core) == 0
    async with p.core.sessions() as session:
        assert (await cases.summary(session, national, p.clock.now, limits))["overdue"] == 0
    p.clock.advance(minutes=1)
    async with p.core.sessions() as session:
        assert (await cases.summary(session, national, p.clock.now, limits))["overdue"] == 1
    assert await escalate_due(p.core) == 1


async def test_shorter_escalation_times_from_settings(tmp_path: Path) -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///" + str(tmp_path / "x.db"),
        tmp_path,
        FIELDBOT_ESCALATE_VERY_URGENT_MINUTES=5,
        FIELDBOT_ESCALATE_NORMAL_MINUTES=60,
    )
    assert settings.escalation_after["very_urgent"] == dt.timedelta(minutes=5)
    assert settings.escalation_after["urgent"] == dt.timedelta(hours=4)
    assert settings.escalation_after["normal"] == dt.timedelta(hours=1)


async def test_line_alerts_show_the_photo_through_a_signed_link(platforms: Platforms) -> None:
    from urllib.parse import urlsplit

    p = platforms
    p.core.settings.public_url = "https://bot.example.org"
    p.core.settings.secret_key = SecretStr("a media key of our own")
    officer, _ = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=True)
    await p.deliver()
    push = next(c for c in p.line.calls if c.path == "/v2/bot/message/push"
                and c.body["to"] == officer.user_id)  # fmt: skip
    image = push.body["messages"][0]
    assert image["type"] == "image"
    link = urlsplit(image["originalContentUrl"])
    assert link.scheme == "https" and link.netloc == "bot.example.org"
    # The /media route is mounted when the app is built with a public address.
    async with TestClient(TestServer(build_app(p.core, dispatch=False))) as client:
        served = await client.get(f"{link.path}?{link.query}")
        assert served.status == 200
        assert await served.read() == png_bytes(5, 5, (0, 0, 255))
        forged = await client.get(f"{link.path}?exp=4102444800&sig={'0' * 64}")
        assert forged.status == 403  # more in tests/bot/test_media_links.py
        p.clock.advance(days=31)
        assert (await client.get(f"{link.path}?{link.query}")).status == 410  # expired
    assert (await p.client.get(f"{link.path}?{link.query}")).status == 404  # off without it


async def test_partial_sends_are_not_repeated(platforms: Platforms) -> None:
    from storage import outbox, repo

    p = platforms
    async with p.core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", "9002")
        await outbox.enqueue(
            session, user, "status", [Outgoing("one"), Outgoing("two")], now=p.clock.now
        )
    before = len(p.telegram.calls)
    p.telegram.fail_nth["sendMessage"] = 2  # the second message of the row meets a 500, once
    await p.dispatcher.deliver_due("telegram")
    p.clock.advance(minutes=5)
    await p.dispatcher.deliver_due("telegram")
    sent = [c.params["text"] for c in p.telegram.calls[before:] if c.method == "sendMessage"]
    assert sent == ["one", "two", "two"]  # "one" was not sent again
    assert [r.status for r in await p.rows()] == ["sent"]


async def test_missing_photo_file_still_alerts_by_text(platforms: Platforms) -> None:
    p = platforms
    await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=True)
    for stored in (p.core.settings.media_dir).rglob("*.png"):
        stored.unlink()
    await p.deliver()
    assert [r.status for r in await p.rows()] == ["sent", "sent"]
    texts = [c.params["text"] for c in p.telegram.calls if c.method == "sendMessage"]
    assert any("PRB-2569-000001" in t for t in texts)


async def test_an_officer_who_blocked_the_bot_does_not_count(platforms: Platforms) -> None:
    p = platforms
    officer, _ = await _officers(p)
    await p.line_send(officer, officer.unfollow())
    async with p.core.sessions() as session, session.begin():
        tg = (
            await session.execute(select(User).where(User.platform_user_id == "5150"))
        ).scalar_one()
        tg.active = False
        code = await staff.create_invite(
            session, "coordinator", "50", expires_in=dt.timedelta(days=1), now=p.clock.now
        )
    coordinator = LineEvents(p.line, "Ucoordinator000000")
    await p.line_say(coordinator, f"/join {code}", "ภาษาไทย", "ยินยอม", "ผู้ประสาน", "ข้าม", "ยืนยัน")
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    assert [r.recipient for r in await p.rows()] == [coordinator.user_id]


async def test_rows_for_a_channel_that_is_off_are_skipped(platforms: Platforms) -> None:
    from storage import outbox, repo

    p = platforms
    async with p.core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "telegram", "9003")
        await outbox.enqueue(session, user, "status", [Outgoing("hi")], now=p.clock.now)
    p.dispatcher.senders.pop("telegram")
    await p.dispatcher.deliver_due("telegram")
    (row,) = await p.rows()
    assert row.status == "skipped" and "channel is off" in (row.last_error or "")


async def test_feedback_only_for_a_resolved_case_and_rated_once(platforms: Platforms) -> None:
    from storage.models import Report

    p = platforms
    officer, _ = await _officers(p)
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photo=False)
    case_id = await _problem_id(p)
    since = len(p.line.calls)
    await p.line_send(villager, villager.postback(f"feedback:{case_id}:1"))
    assert any("ยังยืนยันหรือให้คะแนนไม่ได้" in t for t in line_texts(p, "", since))
    await p.line_send(officer, officer.postback(f"case:{case_id}:resolve"))
    await p.line_say(officer, "เรียบร้อย", "ไม่มีรูป", "ยืนยัน")
    await p.line_send(villager, villager.postback(f"feedback:{case_id}:4"))
    await p.line_send(villager, villager.postback(f"feedback:{case_id}:1"))
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None and report.rating == 4


async def test_a_reporter_types_the_feedback_answers(platforms: Platforms) -> None:
    """The notice's buttons typed, as in a chat where they scrolled away: "แก้ไขแล้วค่ะ" then
    "5 ดาว" rate the latest resolved case; "ยังไม่ได้แก้" reopens it; with nothing resolved
    the reporter is told so."""
    from storage.models import Report

    p = platforms
    officer, _ = await _officers(p)
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photo=False)
    case_id = await _problem_id(p)
    since = len(p.line.calls)
    await p.line_say(villager, "แก้ไขแล้วค่ะ")
    assert any("ไม่มีเรื่องของคุณที่รอคำตอบนี้" in t for t in line_texts(p, villager.user_id, since))
    await p.line_send(officer, officer.postback(f"case:{case_id}:resolve"))
    await p.line_say(officer, "เรียบร้อย", "ไม่มีรูป", "ยืนยัน")
    since = len(p.line.calls)
    await p.line_say(villager, "แก้ไขแล้วค่ะ")
    assert any("ให้คะแนน" in t for t in line_texts(p, villager.user_id, since))
    since = len(p.line.calls)
    await p.line_say(villager, "5 ดาว")
    thanked = line_texts(p, villager.user_id, since)
    assert thanked[-1] == p.core.i18n.t("th", "menu.prompt")  # and what next
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None and report.rating == 5
    await p.line_say(villager, "ยังไม่ได้แก้")
    async with p.core.sessions() as session:
        report = await session.get(Report, case_id)
        assert report is not None and report.status == "received" and report.reopen_count == 1
    since = len(p.line.calls)
    await p.line_send(officer, officer.postback(f"case:{case_id}:show"))
    card = "\n".join(line_texts(p, officer.user_id, since))
    assert "เปิดเรื่องใหม่ (ผู้แจ้งแจ้งว่ายังไม่ได้แก้)" in card  # why it came back


async def test_one_chat_paced_at_one_a_second_does_not_hold_up_the_others(
    platforms: Platforms,
) -> None:
    from storage import outbox, repo

    p = platforms
    async with p.core.sessions() as session, session.begin():
        busy = await repo.get_or_create_user(session, "telegram", "4001")
        for n in range(3):
            await outbox.enqueue(session, busy, "status", [Outgoing(f"busy {n}")], now=p.clock.now)
        for chat in range(4002, 4007):
            user = await repo.get_or_create_user(session, "telegram", str(chat))
            await outbox.enqueue(session, user, "status", [Outgoing(f"to {chat}")], now=p.clock.now)
    assert await p.dispatcher.deliver_due("telegram") == 8
    order = [str(c.params["text"]) for c in p.telegram.calls if c.method == "sendMessage"]
    assert order.index("busy 1") > max(order.index(f"to {chat}") for chat in range(4002, 4007))
    assert [t for t in order if t.startswith("busy")] == ["busy 0", "busy 1", "busy 2"]
    assert {r.status for r in await p.rows()} == {"sent"}
