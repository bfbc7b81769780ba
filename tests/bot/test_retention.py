"""Retention end to end: the daily job, five years after a villager filed a problem over LINE,
leaves their name, phone and LINE id (and the officers') in no table, keeps the report
anonymous and records what it did; `fieldbot privacy retention` does it now, or with
--dry-run says what it would do and changes nothing; the platform event period is a setting."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.scheduler import run_cron_job
from bot.server import housekeeping_once
from bot.service import Core, build_core
from domain import privacy
from storage import inbox
from storage.inbox import NewEvent
from storage.models import JobRun, OutboxMessage, PrivacyRequest, Report, User, utcnow
from tests.bot.test_alerts import _officers, _urgent_problem
from tests.bot.test_privacy import LINE_ID, NAME, PHONE
from tests.support.cli import run_cli_async
from tests.support.clock import Clock
from tests.support.env import environment
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms
from tests.support.rows import every_row
from tests.support.settings import make_settings

OFFICERS = ("ปลัดสมศักดิ์", "Officer Dao", "Uofficer0000000000")


async def _notes(core: Core) -> list[tuple[str, str | None]]:
    async with core.sessions() as session:
        runs = await session.execute(
            select(JobRun).where(col(JobRun.job) == "retention").order_by(col(JobRun.ran_at))
        )
        return [(r.period, r.note) for r in runs.scalars()]


async def test_five_years_on_the_daily_job_leaves_nobody_named(
    platforms: Platforms, caplog: pytest.LogCaptureFixture
) -> None:
    p = platforms
    await run_cron_job(p.core, "retention")  # the scheduler's first start: nothing to catch up
    await _officers(p)
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False, phone="081-234-5678")
    await p.deliver()  # the alerts (with the reporter's name and phone) went out
    before = await every_row(p.core.sessions)
    assert all(secret in before for secret in (NAME, PHONE, LINE_ID, *OFFICERS))

    p.clock.advance(days=1826)  # nobody wrote since
    with caplog.at_level(logging.INFO, logger="bot.scheduler"):
        assert await run_cron_job(p.core, "retention") > 0
    [(period, note)] = await _notes(p.core)
    assert note is not None
    counts = json.loads(note)
    assert counts["people_anonymised"] == 3  # the villager and both officers
    assert counts["reports_anonymised"] == 1 and counts["messages_emptied"] > 0
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retention")]
    assert period in line and "people_anonymised=3" in line and NAME not in line

    after = await every_row(p.core.sessions)
    for secret in (NAME, PHONE, LINE_ID, *OFFICERS):
        assert secret not in after, secret
    async with p.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
        reporter = await session.get(User, report.reporter_id)
        register = (await session.execute(select(PrivacyRequest))).scalars().all()
    assert report.reference == "PRB-2569-000001" and report.description  # kept, anonymous
    assert reporter is not None and reporter.platform_user_id == "anonymous"
    assert [(r.kind, r.via) for r in register] == [("erase", "retention")] * 3

    assert await run_cron_job(p.core, "retention") == 0  # the same period: done already
    p.clock.advance(days=1)
    assert await run_cron_job(p.core, "retention") == 0  # the next day: nothing left to do
    assert [json.loads(n or "")["people_anonymised"] for _, n in await _notes(p.core)] == [3, 0]


async def test_the_command_line_sweeps_now_or_says_what_it_would(core: Core) -> None:
    # `fieldbot` runs on the real clock: the data is as old as the periods say from today.
    now = utcnow()
    today = now.astimezone(core.settings.tz).date()
    async with core.sessions() as session, session.begin():
        silent = User(platform="line", platform_user_id="Usilent", display_name=NAME,
                      phone=PHONE, seen_on=today - dt.timedelta(days=1900))  # fmt: skip
        writing = User(platform="line", platform_user_id="Uwriting", display_name="ยังเขียนอยู่",
                       seen_on=today)  # fmt: skip
        old_push = OutboxMessage(
            platform="line", recipient="Uwriting", kind="reminder",
            payload={"messages": [{"text": "อย่าลืมรายงาน"}]}, status="sent", retry_key="k",
            next_attempt_at=now - dt.timedelta(days=40), created_at=now - dt.timedelta(days=40),
        )  # fmt: skip
        session.add_all([silent, writing, old_push])
    env = environment(DATABASE_URL=core.settings.database_url)

    dry = await run_cli_async(["privacy", "retention", "--dry-run"], env)
    assert dry.code == 0, dry.err
    assert "dry run: nothing was changed" in dry.out
    assert "pushes emptied (over 30 days ago): 1" in dry.out
    assert "people anonymised (silent for 1825 days): 1" in dry.out
    assert NAME in await every_row(core.sessions)  # nothing done
    assert await _notes(core) == []

    done = await run_cli_async(["privacy", "retention"], env)
    assert done.code == 0, done.err
    assert "dry run" not in done.out and "people anonymised (silent for 1825 days): 1" in done.out
    assert NAME not in await every_row(core.sessions)
    async with core.sessions() as session:
        stored = await session.get(User, silent.id)
        pushed = await session.get(OutboxMessage, old_push.id)
    assert stored is not None and stored.platform == privacy.ERASED
    assert pushed is not None and pushed.payload == {"emptied": True}
    [(period, note)] = await _notes(core)
    assert period.startswith("cli ") and json.loads(note or "")["messages_emptied"] == 1

    again = await run_cli_async(["privacy", "retention"], env)
    assert again.code == 0 and "people anonymised (silent for 1825 days): 0" in again.out
    helped = await run_cli_async(["privacy", "retention", "--help"], env)
    for setting in ("OUTBOX_DAYS", "EVENT_DAYS", "PERSON_DAYS", "REPORT_DAYS", "CRON"):
        assert f"FIELDBOT_RETENTION_{setting}" in helped.out


async def test_platform_event_ids_are_kept_for_the_configured_days(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    core = await build_core(make_settings(database_url, tmp_path / "media",
                                          FIELDBOT_RETENTION_EVENT_DAYS=5))  # fmt: skip
    core.clock = clock
    try:
        async with core.sessions() as session, session.begin():
            await inbox.store(session, "line", [NewEvent("e1", "U1", {}, status="done")],
                              clock.now)  # fmt: skip
        clock.advance(days=3)
        assert await housekeeping_once(core) == 0  # the default 2 days would have forgotten it
        clock.advance(days=3)
        assert await housekeeping_once(core) == 1
    finally:
        await core.close()


async def test_a_sweep_that_fails_is_recorded_as_unfinished(
    core: Core, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain import retention

    await run_cron_job(core, "retention")  # the scheduler's first start
    clock.advance(days=1)

    async def broken(*_args: object, **_options: object) -> retention.Swept:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(retention, "sweep", broken)
    with pytest.raises(RuntimeError):
        await run_cron_job(core, "retention")
    [(_period, note)] = await _notes(core)
    assert json.loads(note or "") == {"finished": False}
