"""The conversation service: ordering per user, concurrency across users, state saved with
the report in one transaction, consent refusal stores nothing else."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.service import Core, handle
from domain.people import user_view
from handlers.forms import NOTICE_VERSION
from handlers.messages import Inbound
from storage.models import Conversation, Report, User
from tests.support.clock import Clock

REGISTER = [
    "สวัสดี",
    "ภาษาไทย",
    "ยินยอม",
    "สมชาย ใจดี",
    "ข้าม",
    "ผู้ใหญ่บ้าน",
    "เชียงใหม่",
    "เมืองเชียงใหม่",
    "สุเทพ",
    "ม.3",
    "ยืนยัน",
]


async def _say(core: Core, user: str, *texts: str) -> str:
    out = ""
    for text in texts:
        messages = await handle(core, "console", user, Inbound("text", text=text))
        assert messages is not None
        out = "\n".join(m.text for m in messages)
    return out


async def test_messages_of_one_user_are_handled_in_order(core: Core) -> None:
    await _say(core, "ordered", *REGISTER)
    # Fired at once, as a fast typist on a slow network would: each must see the previous.
    texts = [
        "รายงานกิจกรรม",
        "ฝายชะลอน้ำ",
        "วันนี้",
        "ที่หมู่บ้านของฉัน",
        "12",
        "ข้าม",
        "สร้างฝายชะลอน้ำร่วมกับโรงเรียน",
        "ไม่มีรูป",
        "ยืนยัน",
    ]
    results = await asyncio.gather(
        *(handle(core, "console", "ordered", Inbound("text", text=t)) for t in texts)
    )
    assert "ACT-2569-000001" in results[-1][0].text
    async with core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert report.participants == 12
    assert report.description == "สร้างฝายชะลอน้ำร่วมกับโรงเรียน"


async def test_many_users_at_once_each_get_their_own_report(core: Core) -> None:
    users = [f"u{i}" for i in range(8)]
    await asyncio.gather(*(_say(core, u, *REGISTER) for u in users))
    problem = [
        "แจ้งปัญหา",
        "ขยะ",
        "ปกติ",
        "3",
        "ขยะล้นถังหน้าวัดหลายวันแล้ว",
        "ไม่มีรูป",
        "ที่หมู่บ้านของฉัน",
        "ยืนยัน",
    ]
    replies = await asyncio.gather(*(_say(core, u, *problem) for u in users))
    assert all("PRB-2569-" in r for r in replies)
    async with core.sessions() as session:
        references = (await session.execute(select(Report.reference))).scalars().all()
        drafts = (await session.execute(select(func.count()).select_from(Conversation))).scalar()
    assert len(set(references)) == 8
    assert drafts == 0
    assert len(core.locks) == 0  # locks are dropped when idle


async def test_half_filled_form_survives_a_restart(core: Core, clock: Clock) -> None:
    await _say(core, "restart", *REGISTER)
    await _say(core, "restart", "แจ้งปัญหา", "น้ำท่วม", "ด่วนมาก")
    # A new core is a new process: nothing in memory, everything from the database.
    from bot.service import build_core

    fresh = await build_core(core.settings)
    fresh.clock = clock
    try:
        reply = await _say(fresh, "restart", "20")
    finally:
        await fresh.close()
    assert "เล่าปัญหา" in reply  # the step after households


async def test_refused_consent_keeps_nothing_but_the_refusal(core: Core) -> None:
    await _say(core, "no", "สวัสดี", "ภาษาไทย", "ไม่ยินยอม")
    async with core.sessions() as session:
        user = (await session.execute(select(User))).scalar_one()
        drafts = (await session.execute(select(func.count()).select_from(Conversation))).scalar()
    assert user.consent_refused_at is not None
    assert user.consent_at is None and user.display_name is None and user.role is None
    assert drafts == 0


async def test_registration_is_stored(core: Core) -> None:
    reply = await _say(core, "reg", *REGISTER)
    assert "ลงทะเบียนเรียบร้อย" in reply
    async with core.sessions() as session:
        user = (await session.execute(select(User))).scalar_one()
    assert user_view(user, ()).registered
    assert (user.province_code, user.district_code, user.subdistrict_code, user.village_no) == (
        "50",
        "5001",
        "500108",
        3,
    )
    assert user.language == "th" and user.phone is None
    assert user.consent_notice_version == NOTICE_VERSION == "2569-3"


async def test_the_writer_queue_serves_the_first_queue_first_and_in_order() -> None:
    from bot.service import WriterQueue

    queue = WriterQueue()
    order: list[str] = []
    release = asyncio.Event()

    async def write(name: str, *, first: bool = False) -> None:
        async with queue.turn(first=first):
            order.append(name)
            if name == "holder":
                await release.wait()

    holder = asyncio.create_task(write("holder"))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(write(n)) for n in ("a", "b")]
    urgent = asyncio.create_task(write("webhook", first=True))
    cancelled = asyncio.create_task(write("gone"))
    await asyncio.sleep(0)
    cancelled.cancel()
    release.set()
    await asyncio.gather(holder, *waiting, urgent, return_exceptions=True)
    assert order == ["holder", "webhook", "a", "b"]
    async with queue.turn():  # free again
        pass


async def test_ordinary_steps_take_the_hot_path_and_the_rest_the_orm(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that only moves the form along runs on the driver (storage.hot): with the ORM's
    conversation statements counted, a registered user walks the form without them; the
    submit (which files a report: an event) takes the ORM's way."""
    from storage import repo

    await _say(core, "hot", *REGISTER)
    saves = 0
    real = repo.save_conversation

    async def counted(*args: object, **kwargs: object) -> None:
        nonlocal saves
        saves += 1
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "save_conversation", counted)
    texts = ["รายงานกิจกรรม", "ฝายชะลอน้ำ", "วันนี้", "ที่หมู่บ้านของฉัน", "12", "ข้าม",
             "สร้างฝาย", "ไม่มีรูป"]  # fmt: skip
    await _say(core, "hot", *texts)
    assert saves == 0  # every one of them on the hot path
    assert "ACT-2569-000001" in await _say(core, "hot", "ยืนยัน")
    assert saves == 1  # the submit: an event, so the ORM's way
    async with core.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1
        assert (await session.execute(select(func.count()).select_from(Conversation))).scalar() == 0


async def test_the_push_dispatcher_is_woken_only_for_a_step_that_queued_pushes(
    core: Core,
) -> None:
    """Registering and filing an activity report queue no push (no alert): nobody looks at the
    push lane for them (an alert marks its session: tests/storage/test_outbox.py)."""
    woken: list[tuple[object, object]] = []
    core.on_outbox = lambda platform=None, lane=None: woken.append((platform, lane))
    await _say(core, "quiet", *REGISTER)
    await _say(core, "quiet", "รายงานกิจกรรม", "ฝายชะลอน้ำ", "วันนี้", "ที่หมู่บ้านของฉัน", "12",
               "ข้าม", "สร้างฝาย", "ไม่มีรูป", "ยืนยัน")  # fmt: skip
    assert (None, "push") not in woken


async def test_a_count_not_known_is_stored_as_not_known(core: Core) -> None:
    """ไม่ทราบ at "how many households?": the report is filed, its count column empty (not 0)
    and its answers say not known, which the case card shows as ไม่ทราบ."""
    from domain.cases import case_view
    from handlers.reports import card_lines

    await _say(core, "unsure", *REGISTER)
    said = await _say(core, "unsure", "แจ้งปัญหา", "ขยะ", "ปกติ", "ไม่ทราบ",
                      "ขยะล้นถังหน้าวัด", "ไม่มีรูป", "ที่หมู่บ้านของฉัน", "ยืนยัน")  # fmt: skip
    assert "PRB-2569-" in said
    async with core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert report.households is None and report.answers["households"] == "unknown"
    view = case_view(report, None)
    lines = card_lines(core.forms["problem"], view.stored_answers(), "th", core.env(13),
                       card="case")  # fmt: skip
    assert any("ไม่ทราบ" in line for line in lines), lines


@pytest.mark.parametrize("path", ["hot", "orm"])
async def test_the_day_a_person_last_wrote_is_written_once_a_day(
    core: Core, clock: Clock, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """users.seen_on, the retention job's sign of life, on both ways a step is handled (the
    driver's, storage.hot, and the ORM's), written only on a person's first step of a day
    (in Bangkok)."""
    from sqlalchemy import event

    from storage import hot

    writes: list[str] = []
    if path == "orm":
        monkeypatch.setattr(core, "hot", None)
    else:
        assert core.hot is not None, "both test databases run the hot path"
    real_seen = hot.Transaction.seen

    async def seen(self: hot.Transaction, user_id: int, day: dt.date) -> None:
        writes.append("hot")
        await real_seen(self, user_id, day)

    monkeypatch.setattr(hot.Transaction, "seen", seen)

    def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        if sql.startswith("UPDATE users") and "seen_on" in sql:
            writes.append("orm")

    event.listen(core.engine.sync_engine, "before_cursor_execute", statement)

    async def seen_on() -> dt.date | None:
        async with core.sessions() as session:
            found = await session.execute(select(User.seen_on).where(User.platform_user_id == "s"))
            return found.scalar_one()

    try:
        await _say(core, "s", "สวัสดี")  # 09:00 on 20 March in Bangkok
        assert await seen_on() == dt.date(2026, 3, 20)
        await _say(core, "s", "ภาษาไทย")
        clock.advance(hours=14, minutes=30)  # 23:30
        await _say(core, "s", "ยินยอม")
        assert len(writes) == 1 and await seen_on() == dt.date(2026, 3, 20)
        clock.advance(hours=1)  # 00:30 on the 21st in Bangkok (17:30 UTC on the 20th)
        await _say(core, "s", "สมชาย ใจดี")
        assert await seen_on() == dt.date(2026, 3, 21)
        assert writes == [path, path]
    finally:
        event.remove(core.engine.sync_engine, "before_cursor_execute", statement)
