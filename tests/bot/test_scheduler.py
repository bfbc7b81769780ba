"""Scheduled work with time set by the tests: who the weekly reminder reaches, quiet hours,
catching up a missed run once, no second send after a restart or from a second instance,
the draft nudge, the officers' digest, and which instance leads."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from bot.leader import FileLeader, PostgresLeader
from bot.scheduler import Scheduler, last_fire, run_cron_job
from bot.service import Core, build_core
from storage.models import Conversation, OutboxMessage, Report, StaffRole, User
from tests.support.clock import Clock
from tests.support.settings import make_settings

BKK = dt.timezone(dt.timedelta(hours=7))
MONDAY_9 = dt.datetime(2026, 3, 23, 9, 0, tzinfo=BKK).astimezone(dt.UTC)


async def _person(core: Core, name: str, **fields: Any) -> User:
    values: dict[str, Any] = {
        "platform": "line", "platform_user_id": f"U{name}", "display_name": name,
        "role": "village_head", "consent_at": core.clock(), "province_code": "50",
        "district_code": "5001", "subdistrict_code": "500101", "village_no": 3,
        "language": "th",
    }  # fmt: skip
    held = fields.pop("staff", ())
    values.update(fields)
    async with core.sessions() as session, session.begin():
        user = User(**values)
        session.add(user)
        await session.flush()
        for role, area in held:
            session.add(StaffRole(user_id=user.id or 0, role=role, area=area))
    return user


async def _activity(core: Core, reporter: User, at: dt.datetime, village: int = 3) -> None:
    async with core.sessions() as session, session.begin():
        number = len((await session.execute(select(Report.id))).all()) + 1
        session.add(Report(reference=f"ACT-2569-{number:06d}", kind="activity",
                           reporter_id=reporter.id or 0, province_code="50",
                           district_code="5001", subdistrict_code="500101", village_no=village,
                           form_id="activity", created_at=at, updated_at=at))  # fmt: skip


async def _rows(core: Core, kind: str | None = None) -> list[OutboxMessage]:
    async with core.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.execute(query)).scalars())


def test_last_fire_finds_the_latest_cron_time() -> None:
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab("0 9 * * mon", timezone="Asia/Bangkok")
    assert last_fire(trigger, MONDAY_9 + dt.timedelta(hours=3)) == MONDAY_9
    assert last_fire(trigger, MONDAY_9 - dt.timedelta(minutes=1)) == MONDAY_9 - dt.timedelta(days=7)


async def test_who_the_weekly_reminder_reaches(core: Core, clock: Clock) -> None:
    clock.now = MONDAY_9 - dt.timedelta(days=10)
    await run_cron_job(core, "weekly")  # the scheduler's first start, long before
    clock.now = MONDAY_9
    quiet = await _person(core, "quiet")  # village 3: nothing reported this week
    busy = await _person(core, "busy", village_no=4)
    await _person(core, "neighbour", village_no=4)  # same village as busy: covered by busy
    await _activity(core, busy, MONDAY_9 - dt.timedelta(days=2), village=4)
    stale = await _person(core, "stale", village_no=5)
    await _activity(core, stale, MONDAY_9 - dt.timedelta(days=8), village=5)
    await _person(core, "blocked", village_no=6, active=False)
    console = await _person(core, "console", village_no=7, platform="console")  # in their chat
    await _person(core, "officer", role=None, staff=[("officer", "5001")],
                  subdistrict_code=None, village_no=None)  # fmt: skip
    await _person(core, "tg", platform="telegram", platform_user_id="777", village_no=8,
                  language="en")  # fmt: skip

    assert await run_cron_job(core, "weekly") == 4
    rows = await _rows(core, "reminder")
    assert sorted(r.recipient for r in rows) == sorted([quiet.platform_user_id,
        stale.platform_user_id, console.platform_user_id, "777"])  # fmt: skip
    by_recipient = {r.recipient: r.payload["messages"][0] for r in rows}
    assert "ยังไม่มีรายงานกิจกรรม" in by_recipient[quiet.platform_user_id]["text"]
    assert "no activity report" in by_recipient["777"]["text"]
    assert by_recipient["777"]["choices"][0][0] == "menu:activity"
    # The same period again (a restart, a misfire, a second instance): nobody twice.
    assert await run_cron_job(core, "weekly") == 0
    clock.advance(hours=2)
    assert await run_cron_job(core, "weekly") == 0
    assert len(await _rows(core, "reminder")) == 4
    # Next Monday: the village that reported two days before last Monday is due again.
    clock.now = MONDAY_9 + dt.timedelta(days=7)
    assert await run_cron_job(core, "weekly") == 6


async def test_a_new_install_does_not_send_last_weeks_reminder(core: Core, clock: Clock) -> None:
    clock.now = MONDAY_9 + dt.timedelta(days=3)  # first ever start on a Thursday
    await _person(core, "quiet")
    assert await run_cron_job(core, "weekly") == 0
    assert await _rows(core) == []


async def test_reminders_wait_for_quiet_hours_to_end(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    core = await build_core(make_settings(database_url, tmp_path / "media",
                                          FIELDBOT_REMINDER_CRON="30 22 * * *"))  # fmt: skip
    core.clock = clock
    try:
        clock.now = dt.datetime(2026, 3, 20, 22, 30, tzinfo=BKK).astimezone(dt.UTC)
        await _person(core, "quiet")
        assert await run_cron_job(core, "weekly") == 1
        [row] = await _rows(core, "reminder")
        morning = dt.datetime(2026, 3, 21, 7, 0, tzinfo=BKK).astimezone(dt.UTC)
        assert row.next_attempt_at == morning
        # An alert at the same moment is not held back.
        from handlers.messages import Outgoing
        from storage import outbox

        async with core.sessions() as session, session.begin():
            officer = await _person(core, "officer", staff=[("officer", "5001")])
            merged = await session.merge(officer)
            await outbox.enqueue(session, merged, "alert", [Outgoing("!")], now=clock.now)
        [alert] = await _rows(core, "alert")
        assert alert.next_attempt_at == clock.now
    finally:
        await core.close()


async def test_a_run_missed_while_down_is_caught_up_once(core: Core, clock: Clock) -> None:
    clock.now = MONDAY_9 - dt.timedelta(days=1)
    await _person(core, "quiet")
    first = Scheduler(core)
    await first.step()  # starts leading on Sunday: nothing due yet
    assert first.leading and await _rows(core) == []
    await first.stop()  # the server goes down over Monday morning

    clock.now = MONDAY_9 + dt.timedelta(hours=3)  # back at noon
    again = Scheduler(core)
    await again.step()
    assert len(await _rows(core, "reminder")) == 1  # caught up, once
    await again.stop()
    restarted = Scheduler(core)
    await restarted.step()
    assert len(await _rows(core, "reminder")) == 1  # and not again after another restart
    await restarted.stop()


async def test_draft_nudge_once_per_draft(core: Core, clock: Clock) -> None:
    clock.now = MONDAY_9 - dt.timedelta(days=30)
    await run_cron_job(core, "nudge")
    clock.now = MONDAY_9
    user = await _person(core, "drafter")
    fresh = await _person(core, "fresh", village_no=4)
    forgotten = await _person(core, "forgotten", village_no=5)
    started = MONDAY_9 - dt.timedelta(hours=30)
    async with core.sessions() as session, session.begin():
        ten_days = MONDAY_9 - dt.timedelta(days=10)  # abandoned long ago: not worth a nudge
        session.add(Conversation(user_id=forgotten.id or 0, form_id="activity", form_version=1,
                                 step_id="type", started_at=ten_days,
                                 updated_at=ten_days))  # fmt: skip
        session.add(Conversation(user_id=user.id or 0, form_id="activity", form_version=1,
                                 step_id="type", started_at=started,
                                 updated_at=MONDAY_9 - dt.timedelta(hours=25)))  # fmt: skip
        session.add(Conversation(user_id=fresh.id or 0, form_id="problem", form_version=1,
                                 step_id="category", started_at=MONDAY_9,
                                 updated_at=MONDAY_9 - dt.timedelta(hours=2)))  # fmt: skip
    clock.now = MONDAY_9 + dt.timedelta(minutes=31)  # the hourly nudge at :30
    assert await run_cron_job(core, "nudge") == 1
    [row] = await _rows(core, "nudge")
    assert row.recipient == user.platform_user_id
    assert "รายงานกิจกรรม" in row.payload["messages"][0]["text"]
    clock.advance(hours=1)
    assert await run_cron_job(core, "nudge") == 0  # the same draft: not again
    clock.advance(hours=24)  # the other draft is now stale too
    assert await run_cron_job(core, "nudge") == 1


async def test_officers_daily_digest(core: Core, clock: Clock) -> None:
    clock.now = MONDAY_9 - dt.timedelta(days=30)
    await run_cron_job(core, "digest")
    clock.now = MONDAY_9
    villager = await _person(core, "villager")
    officer = await _person(core, "officer", role=None, staff=[("officer", "5001")])
    await _person(core, "idle", role=None, staff=[("officer", "5002")])
    async with core.sessions() as session, session.begin():
        for number, (age, urgency, status) in enumerate(
            [(dt.timedelta(hours=2), "normal", "received"),
             (dt.timedelta(hours=3), "very_urgent", "received"),  # overdue (30 min)
             (dt.timedelta(days=2), "urgent", "in_progress"),
             (dt.timedelta(days=3), "normal", "resolved")], start=1,
        ):  # fmt: skip
            at = MONDAY_9 - age
            session.add(Report(reference=f"PRB-2569-{number:06d}", kind="problem",
                               reporter_id=villager.id or 0, province_code="50",
                               district_code="5001", urgency=urgency, status=status,
                               form_id="problem", created_at=at, updated_at=at))  # fmt: skip
    clock.now = MONDAY_9 + dt.timedelta(minutes=5)  # the digest's 08:00 run came an hour ago
    assert await run_cron_job(core, "digest") == 1
    [row] = await _rows(core, "digest")
    assert row.recipient == officer.platform_user_id
    text = row.payload["messages"][0]["text"]
    assert "เรื่องใหม่ใน 24 ชม.: 2" in text and "เรื่องค้าง: 3" in text
    assert "เกินเวลารับเรื่อง: 1" in text
    assert await run_cron_job(core, "digest") == 0  # once a day


async def test_one_digest_per_officer_covers_all_their_districts(core: Core, clock: Clock) -> None:
    clock.now = MONDAY_9 - dt.timedelta(days=30)
    await run_cron_job(core, "digest")
    clock.now = MONDAY_9
    villager = await _person(core, "villager")  # a village head of 5001 who is also an officer
    both = await _person(core, "both", staff=[("officer", "5001"), ("officer", "5007")])
    async with core.sessions() as session, session.begin():
        for number, district in enumerate(["5001", "5007", "5007", "5002"], start=1):
            at = MONDAY_9 - dt.timedelta(hours=2)
            session.add(Report(reference=f"PRB-2569-{number:06d}", kind="problem",
                               reporter_id=villager.id or 0, province_code="50",
                               district_code=district, urgency="normal", status="received",
                               form_id="problem", created_at=at, updated_at=at))  # fmt: skip
    clock.now = MONDAY_9 + dt.timedelta(minutes=5)
    assert await run_cron_job(core, "digest") == 1
    [row] = await _rows(core, "digest")
    assert row.recipient == both.platform_user_id
    text = row.payload["messages"][0]["text"]
    assert "2 อำเภอ" in text and "เรื่องใหม่ใน 24 ชม.: 3" in text  # 5002 is not theirs
    assert "• เมืองเชียงใหม่: ใหม่ 1 · ค้าง 1" in text and "• แม่ริม: ใหม่ 2 · ค้าง 2" in text


async def test_one_sqlite_instance_runs_the_scheduler(tmp_path: Path) -> None:
    first, second = FileLeader(tmp_path / "db.lock"), FileLeader(tmp_path / "db.lock")
    assert await first.try_acquire()
    assert not await second.try_acquire()
    await first.release()
    assert await second.try_acquire()
    await second.release()


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    return database_url


async def test_with_two_instances_one_leads_and_the_other_takes_over(
    postgres_url: str, tmp_path: Path, clock: Clock
) -> None:
    cores = [await build_core(make_settings(postgres_url, tmp_path / "media")) for _ in "ab"]
    for c in cores:
        c.clock = clock
    try:
        clock.now = MONDAY_9 - dt.timedelta(days=1)
        one, two = Scheduler(cores[0]), Scheduler(cores[1])
        await one.step()
        await two.step()
        assert one.leading and not two.leading
        await _person(cores[0], "quiet")

        # The leader's process dies: its connection goes, and PostgreSQL drops its lock.
        assert isinstance(one.leader, PostgresLeader) and one.leader.connection is not None
        raw = await one.leader.connection.get_raw_connection()
        pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
        dsn = postgres_url.replace("postgresql+asyncpg", "postgresql")
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            # The backend ends (and its locks go) a moment after it is told to, not at once.
            for _ in range(100):
                if not await admin.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
                    break
                await asyncio.sleep(0.05)
        finally:
            await admin.close()
        clock.now = MONDAY_9 + dt.timedelta(minutes=1)
        await two.step()  # its next look (every FIELDBOT_LEADER_RETRY_SECONDS)
        assert two.leading
        assert len(await _rows(cores[1], "reminder")) == 1  # it caught up Monday's reminder
        await one.step()
        assert not one.leading  # the old leader, were it alive, would notice and stand down
        await one.step()
        assert not one.leading
        await two.step()
        assert len(await _rows(cores[1], "reminder")) == 1
        await one.stop()
        await two.stop()
    finally:
        for c in cores:
            await c.close()


async def test_a_late_catch_up_close_to_the_next_run_is_left_to_it(
    core: Core, clock: Clock
) -> None:
    """Down over the 08:00 digest and back at 23:00: a digest now would wait for the morning
    (quiet hours) and arrive an hour before the next one. The next run does it instead."""
    clock.now = MONDAY_9 - dt.timedelta(days=30)
    await run_cron_job(core, "digest")
    villager = await _person(core, "villager")
    await _person(core, "officer", role=None, staff=[("officer", "5001")])
    async with core.sessions() as session, session.begin():
        session.add(Report(reference="PRB-2569-000001", kind="problem",
                           reporter_id=villager.id or 0, province_code="50",
                           district_code="5001", urgency="normal", form_id="problem",
                           created_at=MONDAY_9, updated_at=MONDAY_9))  # fmt: skip
    clock.now = dt.datetime(2026, 3, 23, 23, 0, tzinfo=BKK).astimezone(dt.UTC)
    assert await run_cron_job(core, "digest") == 0
    clock.now = dt.datetime(2026, 3, 24, 8, 0, 5, tzinfo=BKK).astimezone(dt.UTC)
    assert await run_cron_job(core, "digest") == 1
    # Back at 10:00 instead, the missed digest goes at once: the next is a day away.
    clock.now = dt.datetime(2026, 3, 25, 10, 0, tzinfo=BKK).astimezone(dt.UTC)
    assert await run_cron_job(core, "digest") == 1
