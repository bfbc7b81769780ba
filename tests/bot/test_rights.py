"""Personal-data rights in chat ("ข้อมูลของฉัน / My data"), end to end through the webhooks and
the official SDKs against the fake platforms, on SQLite and PostgreSQL: see what is held,
correct it, turn the optional uses off, delete (after which the database holds neither the
person's name nor phone, and the officer working their case sees "reporter withdrew"), and a
new privacy notice asked again. Every request is in the register."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from bot.cli import QUIET_LOGGERS
from domain import privacy
from handlers.forms import NOTICE_VERSION
from storage import broadcasts, reminders
from storage.models import PrivacyRequest, Report, User
from tests.bot.test_alerts import _officers, _urgent_problem
from tests.bot.test_privacy import _everything
from tests.support.fake_line import LineEvents, text_of
from tests.support.platforms import Platforms, line_texts

NAME, PHONE, LINE_ID = "สมชาย ใจดี", "0812345678", "Uvillager000000000"


async def _user(p: Platforms, platform_user_id: str) -> User:
    async with p.core.sessions() as session:
        found = await session.execute(
            select(User).where(col(User.platform_user_id) == platform_user_id)
        )
        return found.scalar_one()


async def _register(p: Platforms) -> list[tuple[str, str, str]]:
    async with p.core.sessions() as session:
        rows = await session.execute(select(PrivacyRequest).order_by(col(PrivacyRequest.id)))
        return [(r.kind, r.outcome, r.note or "") for r in rows.scalars()]


def _said(p: Platforms, since: int) -> str:
    return "\n".join(line_texts(p, LINE_ID, since))


async def test_a_villager_sees_corrects_withdraws_and_deletes_on_line(
    platforms: Platforms, caplog: pytest.LogCaptureFixture
) -> None:
    p = platforms
    caplog.set_level(logging.DEBUG)  # every log line of the whole story is checked below
    officer, _officer_tg = await _officers(p)
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False, phone="081-234-5678")
    await p.line_say(officer, "รับเรื่อง PRB-2569-000001")  # the case has an officer now
    await p.deliver()

    # See: the menu entry, typed.
    since = len(p.line.calls)
    await p.line_say(villager, "ข้อมูลของฉัน")
    said = _said(p, since)
    assert "ข้อมูลของคุณที่เราเก็บไว้" in said
    assert NAME in said and PHONE in said and "PRB-2569-000001" in said
    assert "ม.3 ต.สุเทพ" in said and "ประกาศฉบับ 2569-3" in said
    labels = [action["label"] for action in p.line.last_quick_reply()]
    assert labels[:4] == ["แก้ชื่อ", "แก้เบอร์โทร", "แก้บทบาท", "แก้หมู่บ้าน"]
    assert "ลบข้อมูลของฉัน" in labels and "ปิดการเตือน" in labels

    # Correct the name with one tap, then the phone (skipping removes it).
    await p.line_send(villager, villager.postback("privacy:name"))
    await p.line_say(villager, "สมชาย ใจงาม")
    await p.line_send(villager, villager.postback("privacy:phone"))
    await p.line_say(villager, "ข้าม")
    await p.line_send(villager, villager.postback("privacy:role"))
    since = len(p.line.calls)
    await p.line_say(villager, "อสม.")
    said = _said(p, since)
    assert "แก้บทบาทเป็น" in said and "ข้อมูลของคุณที่เราเก็บไว้" in said  # and the summary
    user = await _user(p, LINE_ID)
    assert user.display_name == "สมชาย ใจงาม" and user.phone is None
    assert user.role == "health_volunteer"

    # Withdraw from reminders and broadcasts, apart from deleting: typed, then tapped.
    await p.line_say(villager, "หยุดเตือน")
    await p.line_send(villager, villager.postback("privacy:broadcasts_off"))
    user = await _user(p, LINE_ID)
    assert not user.reminders_ok and not user.broadcasts_ok
    async with p.core.sessions() as session:
        due = await reminders.weekly_due(session, p.clock.now)
        reach = await broadcasts.reach(session, ["reporter"], "TH")
    assert user.id not in [person.id for person in due]
    assert reach.total == 0  # the only reporter turned broadcasts off

    # Delete: the question says what happens; "no" keeps everything.
    since = len(p.line.calls)
    await p.line_say(villager, "ลบข้อมูลของฉัน")
    said = _said(p, since)
    assert "สิ่งที่จะถูกลบ" in said and "สิ่งที่ยังอยู่" in said
    await p.line_say(villager, "ไม่ลบ")
    assert (await _user(p, LINE_ID)).display_name == "สมชาย ใจงาม"

    since = len(p.line.calls)
    await p.line_say(villager, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    assert "ลบข้อมูลของคุณแล้ว" in _said(p, since)  # the reply reached the chat it came from
    await p.deliver()
    # The officer working the case hears it, and the case card says so.
    to_officer = [text_of(m) for m in p.line.messages(officer.user_id)]
    assert any("ของผู้แจ้งเรื่อง PRB-2569-000001 ถูกลบแล้ว" in t for t in to_officer)
    since = len(p.line.calls)
    await p.line_say(officer, "PRB-2569-000001")
    card = "\n".join(line_texts(p, officer.user_id, since))
    assert "ผู้แจ้ง: ข้อมูลส่วนตัวถูกลบแล้ว" in card and NAME not in card

    everything = await _everything(p)
    for secret in (NAME, "สมชาย ใจงาม", PHONE, LINE_ID):
        assert secret not in everything, secret
    # No log line holds them, from registration to deletion (the libraries `fieldbot serve`
    # keeps at WARNING, whose debug lines show statements' values, aside).
    ours = [r for r in caplog.records if not r.name.startswith(QUIET_LOGGERS)]
    assert len(ours) > 0
    for record in ours:
        for secret in (NAME, "สมชาย ใจงาม", PHONE, "081-234-5678"):
            assert secret not in record.getMessage(), record.getMessage()
    async with p.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert report.description  # the report stays, anonymous

    kinds = [(kind, outcome) for kind, outcome, _note in await _register(p)]
    assert kinds == [
        ("see", "done"), ("correct", "done"), ("correct", "done"), ("correct", "done"),
        ("withdraw", "done"), ("withdraw", "done"), ("erase", "done"),
    ]  # fmt: skip
    notes = [note for _k, _o, note in await _register(p)]
    assert notes[1:6] == ["name", "phone", "role", "reminders", "broadcasts"]

    # Writing again is someone new: registration from the start.
    since = len(p.line.calls)
    await p.line_say(villager, "สวัสดี")
    assert "ยินดีต้อนรับ" in _said(p, since)


async def test_an_officer_deletes_their_data_on_telegram_in_english(platforms: Platforms) -> None:
    p = platforms
    _line, officer = await _officers(p)
    await p.tg_say(officer, "my data")
    said = "\n".join(p.telegram.texts())
    assert "What we hold about you" in said and "Officer Dao" in said
    assert "Staff role: district officer" in said
    keyboard = [button["text"] for button in p.telegram.last_keyboard()]
    assert "Delete my data" in keyboard and "Fix my village" not in keyboard  # no village
    await p.tg_say(officer, "/delete")
    assert "Delete your data?" in p.telegram.texts()[-1]
    await p.tg_say(officer, "yes")
    assert "Your data is deleted" in p.telegram.texts()[-1]
    await p.deliver()
    assert "Officer Dao" not in await _everything(p)
    assert [k for k, _o, _n in await _register(p)] == ["see", "erase"]


async def test_a_new_privacy_notice_is_asked_again_and_a_refusal_deletes(
    platforms: Platforms,
) -> None:
    p = platforms
    officer, _tg = await _officers(p)
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False)
    async with p.core.sessions() as session, session.begin():
        await session.execute(update(User).values(consent_notice_version="2569-2"))

    since = len(p.line.calls)
    await p.line_say(officer, "เมนู")
    said = "\n".join(line_texts(p, officer.user_id, since))
    assert "ปรับปรุงประกาศความเป็นส่วนตัว" in said and "ระยะเวลาเก็บ" in said
    await p.line_say(officer, "ยินยอม")
    assert (await _user(p, officer.user_id)).consent_notice_version == NOTICE_VERSION
    assert await _register(p) == [("consent", "done", f"notice {NOTICE_VERSION}")]

    since = len(p.line.calls)
    await p.line_say(villager, "รายงานของฉัน", "ไม่ยินยอม")
    assert "เราต้องลบข้อมูลของคุณ" in _said(p, since)  # asked once more
    assert NAME in await _everything(p)
    await p.line_say(villager, "ลบข้อมูล")
    assert "ลบข้อมูลของคุณแล้ว" in _said(p, since)
    await p.deliver()
    user = await _user(p, officer.user_id)  # (the villager's row has no LINE id any more)
    assert user.display_name == "ปลัดสมศักดิ์"
    assert NAME not in await _everything(p)
    assert [k for k, _o, _n in await _register(p)] == ["consent", "erase"]
    async with p.core.sessions() as session:
        erased = (
            await session.execute(select(User).where(col(User.platform) == privacy.ERASED))
        ).scalar_one()
    assert erased.consent_at is None and erased.display_name is None


async def test_my_data_in_the_console_numbers_its_buttons(platforms: Platforms) -> None:
    """The console shows the buttons numbered: a number picks one of the summary's."""
    from bot.channels.console.adapter import ConsoleChat
    from handlers.messages import Inbound

    chat = ConsoleChat(platforms.core, "somchai")
    await chat.send(Inbound("start"))
    for answer in ("ภาษาไทย", "ยินยอม", "สมชาย ใจดี", "ข้าม", "ผู้ใหญ่บ้าน", "เชียงใหม่",
                   "เมืองเชียงใหม่", "สุเทพ", "ม.3", "ยืนยัน"):  # fmt: skip
        await chat.line(answer)
    said = await chat.line("ข้อมูลของฉัน")
    assert any("ข้อมูลของคุณที่เราเก็บไว้" in m.text for m in said)
    labels = [c.label for c in chat.choices]
    said = await chat.line(str(labels.index("ปิดการเตือน") + 1))
    assert any("ปิดการเตือนแล้ว" in m.text for m in said)
    assert not (await _user(platforms, "somchai")).reminders_ok


async def test_a_copy_behind_a_one_time_link_from_the_chat(platforms: Platforms) -> None:
    """ "ขอสำเนาข้อมูล" gives a link; the page spends nothing, its button gives the ZIP once;
    a fourth copy in a day is refused, and the register says why."""
    import io
    import json
    import re
    import zipfile

    p = platforms
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False, phone="081-234-5678")
    since = len(p.line.calls)
    await p.line_send(villager, villager.postback("privacy:copy"))
    said = _said(p, since)
    assert "ใช้ได้ครั้งเดียว ภายใน 24 ชั่วโมง" in said
    found = re.search(r"https?://\S+(/desk/my-data/(\S+))", said)
    assert found is not None
    path, token = found.group(1), found.group(2)
    assert (await p.client.get(path)).status == 200
    got = await p.client.post(path, data={"token": token})
    assert got.status == 200
    with zipfile.ZipFile(io.BytesIO(await got.read())) as bundle:
        copy = json.loads(bundle.read("my-data.json"))
        table = bundle.read("my-reports.csv").decode("utf-8-sig")
    assert copy["profile"]["name"] == NAME and "PRB-2569-000001" in table
    assert copy["optional_uses"] == {"reminders": True, "broadcasts": True}
    assert copy["reports"][0]["case_history"] == []  # nobody has acted on it yet
    assert [r["kind"] for r in copy["your_requests"]] == ["export"]  # the link given
    assert (await p.client.post(path, data={"token": token})).status == 410  # once only
    assert token not in await _everything(p)  # the reply with the link was emptied once sent

    await p.line_say(villager, "ขอสำเนาข้อมูล", "ขอสำเนาข้อมูล")  # the second and third today
    since = len(p.line.calls)
    await p.line_say(villager, "ขอสำเนาข้อมูล")
    assert "ขอสำเนาข้อมูลครบ 3 ครั้งแล้ว" in _said(p, since)
    register = await _register(p)
    assert [(k, o) for k, o, _n in register] == [
        ("export", "done"), ("export", "done"), ("export", "done"), ("export", "done"),
        ("export", "refused"),
    ]  # fmt: skip
    assert register[1][2] == "copy downloaded" and "3 copies in a day" in register[-1][2]


async def _register_named(p: Platforms, who: LineEvents, name: str) -> None:
    from tests.support.forms import fill

    async def say(text: str) -> None:
        await p.line_say(who, text)

    await p.line_say(who, "สวัสดี")
    await fill(p.core, "line", who.user_id, say, {
        "language": "ภาษาไทย", "consent": "ยินยอม", "name": name, "phone": "ข้าม",
        "role": "อสม.", "area": ["เชียงใหม่", "เมืองเชียงใหม่", "สุเทพ", "ม.3"],
        "confirm": "ยืนยัน",
    })  # fmt: skip


async def test_deleting_a_short_name_leaves_other_peoples_alerts_alone(
    platforms: Platforms,
) -> None:
    """Someone called "น้ำ" (water) deletes their data while an alert about a flood (น้ำท่วม)
    waits to be sent: it still goes, word for word."""
    from storage.models import OutboxMessage

    p = platforms
    await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, LINE_ID), photo=False)
    alerts_before = {r.id: (r.status, r.payload) for r in await p.rows() if r.kind == "alert"}
    assert alerts_before and all(status == "pending" for status, _ in alerts_before.values())
    water = LineEvents(p.line, "Unam00000000000000")
    await _register_named(p, water, "น้ำ")
    await p.line_say(water, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    async with p.core.sessions() as session:
        rows = (
            await session.execute(
                select(OutboxMessage).where(col(OutboxMessage.id).in_(alerts_before))
            )
        ).scalars()
        assert {r.id: (r.status, r.payload) for r in rows} == alerts_before
    assert await p.deliver() == len(alerts_before)


async def test_a_short_name_keeps_the_words_of_their_own_report(platforms: Platforms) -> None:
    """ "น้ำ" files "น้ำเสีย… น้ำเน่า" and deletes: the report's words stay as they were (a short
    name cannot be told from the word), the alert's reporter line goes, and no row of the
    database says who reported it."""
    from tests.support.forms import fill

    p = platforms
    await _officers(p)
    water = LineEvents(p.line, "Unam00000000000000")
    await _register_named(p, water, "น้ำ")

    async def say(text: str) -> None:
        await p.line_say(water, text)

    said = "น้ำเสียจากโรงงานไหลลงคลอง น้ำเน่า ปลาตาย"
    await p.line_say(water, "แจ้งปัญหา")
    await fill(p.core, "line", water.user_id, say, {
        "category": "น้ำท่วม", "urgency": "ด่วนมาก", "households": "3", "description": said,
        "photos": "ไม่มีรูป", "location": "ที่หมู่บ้านของฉัน", "confirm": "ยืนยัน",
    })  # fmt: skip
    assert "ผู้แจ้ง: น้ำ\\n" in await _everything(p)  # the alert names them
    await p.line_say(water, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    async with p.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert report.description == said
    everything = await _everything(p)
    assert "ผู้แจ้ง: น้ำ\\n" not in everything and "ข้อมูลส่วนตัวถูกลบแล้ว" in everything
    assert "เรื่อง: น้ำท่วม" in everything  # the category's label is whole


async def test_a_name_and_phone_typed_into_a_report_go_with_the_person(
    platforms: Platforms,
) -> None:
    """Villagers write their name and phone into descriptions ("หน้าบ้านนายสมชาย ใจดี โทร
    081-234-5678"), and officers into their notes: an erasure takes them out of those texts
    and out of the pushes that quoted them, keeping the rest of the words."""
    from storage.models import CaseEvent

    p = platforms
    officer, _tg = await _officers(p)
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False, phone="0812345678")
    async with p.core.sessions() as session, session.begin():
        report = (await session.execute(select(Report))).scalar_one()
        report.description = "น้ำท่วมถนนหน้าบ้านนายสมชาย ใจดี โทร 081-234-5678 ด่วน"
        report.answers = {**report.answers, "description": report.description}
    await p.line_say(officer, "รับเรื่อง PRB-2569-000001")
    async with p.core.sessions() as session, session.begin():
        session.add(CaseEvent(report_id=report.id or 0, to_status="acknowledged",
                              note="โทรหาคุณสมชาย +66 81 234 5678 แล้ว"))  # fmt: skip
    await p.deliver()
    await p.line_say(villager, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    everything = await _everything(p)
    # (the fake Telegram calls its users สมชาย, and ใจดี is a subdistrict: the words around
    # the name are looked for)
    for secret in ("นายสมชาย", "คุณสมชาย", NAME, "2345678", "234-5678", "234 5678"):
        assert secret not in everything, secret
    async with p.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert report.description == "น้ำท่วมถนนหน้าบ้านนาย[ลบแล้ว] โทร [ลบแล้ว] ด่วน"


async def test_an_officer_acting_after_the_reporter_withdrew_is_told_nobody_hears(
    platforms: Platforms,
) -> None:
    p = platforms
    officer, _tg = await _officers(p)
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False)
    await p.line_say(villager, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    since = len(p.line.calls)
    await p.line_say(officer, "รับเรื่อง PRB-2569-000001")
    said = "\n".join(line_texts(p, officer.user_id, since))
    assert "ข้อมูลของผู้แจ้งถูกลบแล้ว จึงไม่ได้แจ้งผู้แจ้ง" in said
    assert "ผู้แจ้งได้รับแจ้งแล้ว" not in said
    await p.deliver()
    assert not [r for r in await p.rows() if r.kind == "status" and r.status == "pending"]


async def test_the_export_says_the_reporter_withdrew(platforms: Platforms) -> None:
    from tests.support.cli import run_cli_async
    from tests.support.env import environment

    p = platforms
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False)
    await p.line_say(villager, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    env = environment(DATABASE_URL=p.core.settings.database_url)
    done = await run_cli_async(["reports", "export", "--format", "csv", "--out", "-"], env)
    assert done.code == 0, done.err
    assert "(ลบข้อมูลผู้แจ้งแล้ว)" in done.out and NAME not in done.out


async def test_a_staff_member_whose_roles_went_is_asked_before_anything_is_deleted(
    platforms: Platforms,
) -> None:
    """An officer whose roles were taken away counts as not registered: declining the notice
    at the registration that follows asks "delete your data?", never deletes at once."""
    from storage import staff

    p = platforms
    officer, _tg = await _officers(p)
    async with p.core.sessions() as session, session.begin():
        row = (
            await session.execute(select(User).where(col(User.platform_user_id) == officer.user_id))
        ).scalar_one()
        await staff.revoke(session, row)
    since = len(p.line.calls)
    await p.line_say(officer, "สวัสดี", "ภาษาไทย", "ไม่ยินยอม")
    assert "สิ่งที่จะถูกลบ" in "\n".join(line_texts(p, officer.user_id, since))
    assert (await _user(p, officer.user_id)).display_name == "ปลัดสมศักดิ์"
    await p.line_say(officer, "ไม่ลบ")
    assert (await _user(p, officer.user_id)).display_name == "ปลัดสมศักดิ์"
    assert [(k, o) for k, o, _n in await _register(p)] == [("consent", "refused")]


async def test_an_officers_name_goes_from_what_the_bot_told_others(platforms: Platforms) -> None:
    p = platforms
    first, _tg = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, LINE_ID), photo=False)
    from tests.support.desk import officer as join_officer

    second = await join_officer(p, "Usecond00000000000", name="ดาว")
    await p.line_say(second, "รับเรื่อง PRB-2569-000001")  # ดาว takes it
    await p.line_say(first, "รับเรื่อง PRB-2569-000001")  # too late: "taken by ดาว"
    await p.line_say(first, "PRB-2569-000001")  # the card's history: "· ดาว"
    assert "โดย ดาว" in await _everything(p) and "· ดาว" in await _everything(p)
    await p.line_say(second, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    everything = await _everything(p)
    assert "โดย ดาว" not in everything and "· ดาว" not in everything
