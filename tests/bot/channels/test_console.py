"""The console channel: numbers pick choices; anything else is text; pushes to console users
are shown in their running chat, or under a heading when they next start one."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import select

from bot.channels.console.adapter import ConsoleChat, render
from bot.channels.console.chat import run_chat
from bot.service import Core, build_core
from handlers.cases import feedback_value
from handlers.forms import NOTICE_VERSION
from handlers.messages import Choice, Inbound, Outgoing
from storage import outbox, repo, staff
from storage.models import OutboxMessage, User, utcnow
from tests.support.clock import Clock
from tests.support.settings import make_settings
from tests.support.terminal import TypedInput, eventually, wait_for_text


async def test_a_number_picks_a_choice_and_odd_digits_are_just_text(core: Core) -> None:
    chat = ConsoleChat(core, "somchai")
    await chat.send(Inbound("start"))
    assert chat.choices  # the language question
    said = await chat.line("²")  # isdigit() says yes, int() says no: it is text
    assert said and chat.choices
    said = await chat.line("9" * 5000)  # far past any choice, and past int()'s digit limit
    assert said and chat.choices
    said = await chat.line("๒")  # Thai two: English
    assert any("Privacy notice" in m.text for m in said)


# ---------------------------------------------------------------- pushes


async def _console_user(core: Core, name: str, **fields: object) -> User:
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "console", name)
        user.display_name, user.language = name, "th"
        user.province_code, user.district_code = "50", "5001"
        user.subdistrict_code, user.village_no = "500108", 3
        user.role, user.consent_at, user.consent_notice_version = (
            "village_head",
            utcnow(),
            NOTICE_VERSION,
        )
        for key, value in fields.items():
            setattr(user, key, value)
        return user


async def _push(core: Core, user: User, text: str, kind: str = "case_update") -> None:
    async with core.sessions() as session, session.begin():
        await outbox.enqueue(session, user, kind, [Outgoing(text, language="th")], now=core.clock())


async def _statuses(core: Core, name: str) -> list[str]:
    async with core.sessions() as session:
        found = await session.execute(
            select(OutboxMessage.status).where(OutboxMessage.recipient == name)
        )
        return list(found.scalars())


async def _is(core: Core, name: str, statuses: list[str]) -> bool:
    return await _statuses(core, name) == statuses


async def test_pushes_that_waited_are_shown_first_under_a_heading_and_only_once(
    core: Core,
) -> None:
    somchai = await _console_user(core, "somchai")
    await _push(core, somchai, "เรื่อง PRB-2569-000001 รับเรื่องแล้ว")
    await _push(core, somchai, "ประกาศ: ประชุมวันจันทร์")
    assert await _statuses(core, "somchai") == ["pending", "pending"]  # not skipped

    screen = io.StringIO()
    await run_chat(core, "somchai", io.StringIO(""), screen, poll=0.05)
    shown = screen.getvalue()
    heading = core.i18n.t("th", "console.while_away")
    assert shown.index(heading) < shown.index("รับเรื่องแล้ว") < shown.index("ประชุมวันจันทร์")
    # The greeting (the menu) first, what waited last: the last list on the screen is what a
    # typed number answers.
    assert shown.index("ต้องการทำอะไร") < shown.index(heading)
    assert await _statuses(core, "somchai") == ["sent", "sent"]

    again = io.StringIO()
    await run_chat(core, "somchai", io.StringIO(""), again, poll=0.05)
    assert heading not in again.getvalue() and "รับเรื่องแล้ว" not in again.getvalue()


async def test_the_buttons_of_a_push_that_waited_can_be_answered(core: Core) -> None:
    """A case resolved while the villager was away: its notice asks "fixed?" with two buttons,
    and typing 1 at the next start answers it (the trial of issue 10 found the menu took the
    number). Its photo is shown as the file it is."""
    somchai = await _console_user(core, "somchai")
    fixed = (Choice(feedback_value(7, "yes"), "แก้ไขแล้ว"),
             Choice(feedback_value(7, "no"), "ยังไม่ได้แก้"))  # fmt: skip
    notice = Outgoing("เรื่อง PRB-2569-000007 ของคุณ: แก้ไขแล้ว", fixed, "choice",
                      language="th", image="ab/abcdef.jpg")  # fmt: skip
    async with core.sessions() as session, session.begin():
        await outbox.enqueue(session, somchai, "status", [notice], now=core.clock())
    screen = io.StringIO()
    await run_chat(core, "somchai", io.StringIO("1\n"), screen, poll=0.05)
    shown = screen.getvalue()
    assert f"📷 {core.media.path('ab/abcdef.jpg')}" in shown
    answered = shown.split("> 1", 1)[1]
    # The notice's first button: feedback on case 7 (not this villager's, so refused), not
    # the menu's first item (an activity report).
    assert core.i18n.t("th", "case.not_allowed") in answered
    assert core.i18n.t("th", "form.activity.type.prompt") not in answered


async def test_a_push_reaches_a_running_chat_as_it_comes(core: Core) -> None:
    somchai = await _console_user(core, "somchai")
    typed, screen = TypedInput(), io.StringIO()
    chat = asyncio.create_task(run_chat(core, "somchai", typed, screen, poll=0.05))
    try:
        start = await wait_for_text(screen, "ต้องการทำอะไร")
        # Written by another process (no wake-up in this one): found by the chat's next look.
        await _push(core, somchai, "แจ้งเตือน: มีเรื่องใหม่", kind="alert")
        await wait_for_text(screen, "แจ้งเตือน: มีเรื่องใหม่", after=start)
        await eventually(lambda: _is(core, "somchai", ["sent"]))  # recorded once shown
        assert core.i18n.t("th", "console.while_away") not in screen.getvalue()
    finally:
        typed.close_input()
        await chat
    assert screen.getvalue().count("แจ้งเตือน: มีเรื่องใหม่") == 1


LEASE = dt.timedelta(seconds=60)


async def test_a_chat_that_is_not_running_loses_nothing(core: Core, clock: Clock) -> None:
    """Rows a chat took but never showed (it died) are shown by the next one."""
    somchai = await _console_user(core, "somchai")
    await _push(core, somchai, "เรื่องที่ค้างอยู่")
    async with core.sessions() as session, session.begin():  # a chat claims, then dies
        taken = await outbox.claim(session, "console", core.clock(), 10, LEASE, "dead-chat",
                                   recipient="somchai")  # fmt: skip
    assert len(taken) == 1
    screen = io.StringIO()
    await run_chat(core, "somchai", io.StringIO(""), screen, poll=0.05)
    assert "เรื่องที่ค้างอยู่" not in screen.getvalue()  # still held by the dead chat's lease
    clock.advance(minutes=5)  # the dead chat's lease is over
    await run_chat(core, "somchai", io.StringIO(""), screen, poll=0.05)
    assert "เรื่องที่ค้างอยู่" in screen.getvalue()
    assert await _statuses(core, "somchai") == ["sent"]


async def test_two_consoles_on_one_database_see_each_others_effects(
    core: Core, database_url: str, tmp_path: Path, clock: Clock
) -> None:
    """An officer's chat runs; a villager in another process files an urgent problem; the
    alert appears in the officer's chat, and the officer's answer reaches the villager."""
    async with core.sessions() as session, session.begin():
        code = await staff.create_invite(
            session, "officer", "5001", expires_in=dt.timedelta(days=1), now=clock()
        )
    typed, officer_screen = TypedInput(), io.StringIO()
    officer = asyncio.create_task(run_chat(core, "officer1", typed, officer_screen, poll=0.05))
    other = await build_core(make_settings(database_url, tmp_path / "media"))
    other.clock = clock
    try:
        await wait_for_text(officer_screen, "ภาษาไทย")
        typed.type(f"/join {code}", "ภาษาไทย", "ยินยอม", "ปลัดสมศักดิ์", "ข้าม", "ยืนยัน")
        joined = await wait_for_text(officer_screen, "คุณเป็นเจ้าหน้าที่ของ")

        await _console_user(other, "villager", village_no=3)
        villager = ConsoleChat(other, "villager")
        await villager.send(Inbound("start"))
        for line in ("แจ้งปัญหา", "น้ำท่วม", "ด่วนมาก", "25", "น้ำท่วมสะพาน ข้ามไม่ได้",
                     "ไม่มีรูป", "/location 18.7953 98.9523"):  # fmt: skip
            await villager.line(line)
        said = render(await villager.line("ยืนยัน"))
        assert "PRB-2569-000001" in said

        alert = await wait_for_text(officer_screen, "PRB-2569-000001", after=joined)
        assert "น้ำท่วมสะพาน" in officer_screen.getvalue()[joined:]
        # The alert's buttons are the numbers now: 1 acknowledges the case.
        typed.type("1")
        await wait_for_text(officer_screen, "> 1", after=alert)
        await eventually(lambda: _is(core, "villager", ["pending"]))  # the reporter is told

        villager_screen = io.StringIO()
        await run_chat(other, "villager", io.StringIO(""), villager_screen, poll=0.05)
        away = villager_screen.getvalue()
        assert core.i18n.t("th", "console.while_away") in away
        assert "PRB-2569-000001" in away.split(core.i18n.t("th", "console.while_away"))[1]
    finally:
        typed.close_input()
        await officer
        await other.close()
    async with core.sessions() as session:
        unsent = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.recipient).where(
                OutboxMessage.platform == "console", OutboxMessage.status != "sent"
            )
        )
        assert unsent.all() == []
