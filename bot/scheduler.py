"""Timed work inside `fieldbot serve`, on APScheduler 3: the weekly activity reminder, the nudge
for forms left unfinished, the officers' daily digest, the daily retention sweep, scheduled
broadcasts and the escalation check. Exactly one instance runs it (bot.leader); each cron job
records its period before its pushes, in their transaction, so a restart, a misfire or a second
instance never runs a period twice, and a period missed while no instance ran is caught up once
when one starts.

Every job is a plain async function of (core, period) so tests run it with their own clock."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.leader import Leader, leader_for
from bot.service import Core, queue_broadcasts
from domain import cases, reminders, retention
from storage import reminders as due

log = logging.getLogger(__name__)

CATCH_UP = dt.timedelta(days=8)  # how far back a missed period is looked for
LATE = dt.timedelta(minutes=5)  # a run this long after its time is a catch-up
SOON = dt.timedelta(hours=12)
Job = Callable[[Core, dt.datetime], Awaitable[int]]


def last_fire(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The latest time at or before `now` the cron expression names (within CATCH_UP)."""
    at = trigger.get_next_fire_time(None, now - CATCH_UP)
    last = None
    while at is not None and at <= now:
        last = at
        at = trigger.get_next_fire_time(at, at + dt.timedelta(seconds=1))
    return last.astimezone(dt.UTC) if last is not None else None


async def weekly_reminder(core: Core, period: dt.datetime) -> int:
    """Remind every active reporter whose village has no activity report in the last 7 days.
    Returns how many were reminded."""
    async with core.writing(), core.sessions() as session, session.begin():
        sent = await reminders.weekly(session, core.env(13), period, core.not_before())
    log.info("weekly reminder for %s: %d reporters", period.isoformat(), sent)
    return sent


async def draft_nudges(core: Core, period: dt.datetime) -> int:
    """Nudge, once per draft, everyone who left a form unfinished for more than 24 hours."""
    async with core.writing(), core.sessions() as session, session.begin():
        return await reminders.nudges(session, core.env(13), period, core.not_before())


async def officer_digest(core: Core, period: dt.datetime) -> int:
    """One digest per officer covering all their districts (none when no district of theirs
    has a new or open case)."""
    async with core.writing(), core.sessions() as session, session.begin():
        return await reminders.digest(session, core.env(13), core.rules, period,
                                      core.not_before())  # fmt: skip


RETENTION_ROUND = 500  # rows of each kind per transaction of the retention sweep


async def sweep_retention(core: Core, *, dry_run: bool = False) -> retention.Swept:
    """Enforce the retention periods (FIELDBOT_RETENTION_*) as of now: in transactions of
    RETENTION_ROUND rows of each kind (one long transaction would hold SQLite's only writer,
    and every chat with it), or for `dry_run` in one transaction that is rolled back."""
    now, policy = core.clock(), core.retention
    if dry_run:
        async with core.writing(), core.sessions() as session, session.begin() as tx:
            swept = await retention.sweep(session, now, policy)
            await tx.rollback()
        return swept
    progress, swept = retention.Progress(), retention.Swept()
    while not progress.finished:
        async with core.writing(), core.sessions() as session, session.begin():
            swept += await retention.sweep(session, now, policy, limit=RETENTION_ROUND,
                                           progress=progress)  # fmt: skip
    return swept


def counts_line(swept: retention.Swept) -> str:
    """The counts as one log line (counts only: never a name or a number of a person)."""
    return " ".join(f"{name}={count}" for name, count in swept.counts().items())


async def retention_sweep(core: Core, period: dt.datetime) -> int:
    """The daily retention sweep (domain.retention), once per period; what it did is recorded
    with its run (`job_runs.note`, JSON counts) and logged. Returns how many rows it changed."""
    key = period.isoformat()
    async with core.writing(), core.sessions() as session, session.begin():
        if not await due.claim_run(session, "retention", key, core.clock()):
            return 0
    try:
        swept = await sweep_retention(core)
    except Exception:
        await note_run(core, "retention", key, {"finished": False})
        raise
    await note_run(core, "retention", key, swept.counts())
    log.info("retention for %s: %s", key, counts_line(swept))
    return swept.total


async def note_run(core: Core, job: str, period: str, what: dict[str, Any]) -> None:
    """Record `what` a run did, as JSON, with the run."""
    async with core.writing(), core.sessions() as session, session.begin():
        await due.note_run(session, job, period, json.dumps(what, sort_keys=True))


async def escalate_due(core: Core) -> int:
    """Escalate every case due for it (domain.cases.escalate), in one transaction; run every
    minute."""
    async with core.writing(), core.sessions() as session, session.begin():
        escalated = await cases.escalate(session, core.env(13), core.rules)
    if escalated and core.on_outbox is not None:
        core.on_outbox()
    return escalated


async def _escalation(core: Core, _period: dt.datetime) -> int:
    return await escalate_due(core)


async def _broadcasts(core: Core, _period: dt.datetime) -> int:
    return await queue_broadcasts(core)


def cron_jobs(core: Core) -> dict[str, tuple[CronTrigger, Job]]:
    tz = core.settings.tz
    return {
        "weekly": (CronTrigger.from_crontab(core.settings.reminder_cron, timezone=tz),
                   weekly_reminder),
        "nudge": (CronTrigger.from_crontab(core.settings.draft_nudge_cron, timezone=tz),
                  draft_nudges),
        "digest": (CronTrigger.from_crontab(core.settings.digest_cron, timezone=tz),
                   officer_digest),
        "retention": (CronTrigger.from_crontab(core.settings.retention_cron, timezone=tz),
                      retention_sweep),
    }  # fmt: skip


async def run_cron_job(core: Core, name: str) -> int:
    """Run job `name` for its latest period, unless that period was done already or came
    before this database's first scheduler start. Returns what the job returned."""
    trigger, job = cron_jobs(core)[name]
    now = core.clock()
    period = last_fire(trigger, now)
    if period is None:
        return 0
    async with core.writing(), core.sessions() as session, session.begin():
        first = await due.first_run(session, now)
    if period < first - dt.timedelta(minutes=5):
        return 0  # before this install ran: nothing to catch up
    if now - period > LATE:
        # A catch-up whose pushes would wait (quiet hours) until close to the next regular
        # run is left to that run: nobody gets the same reminder twice within a few hours.
        upcoming = trigger.get_next_fire_time(None, now)
        if upcoming is not None and upcoming.astimezone(dt.UTC) <= core.not_before() + SOON:
            log.info("job %s: skipping the missed %s; the next run is at %s", name,
                     period.isoformat(), upcoming.isoformat())  # fmt: skip
            return 0
    done = await job(core, period)
    if done and core.on_outbox is not None:
        core.on_outbox()
    return done


class Scheduler:
    """APScheduler, started only while this instance leads."""

    def __init__(self, core: Core, leader: Leader | None = None) -> None:
        self.core = core
        self.leader = leader or leader_for(core)
        self.aps: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def leading(self) -> bool:
        return self.aps is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._lead(), name="scheduler-leader")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        self._pause()
        await self.leader.release()

    async def step(self) -> None:
        """One look at the lead: take it when free (and start the jobs, catching up what
        was missed), or notice it is lost (and stop them)."""
        if self.leading:
            if not await self.leader.still_held():
                log.warning("lost the scheduler lead; another instance takes over")
                self._pause()
            return
        if await self.leader.try_acquire():
            log.info("this instance runs the scheduler")
            self._resume()
            for name in cron_jobs(self.core):
                await self._cron(name)

    async def _lead(self) -> None:
        while not self._stop.is_set():
            try:
                await self.step()
            except Exception:
                log.exception("scheduler lead check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.core.settings.leader_retry_seconds)

    async def _guarded(self, name: str, run: Callable[[], Awaitable[int]]) -> None:
        try:
            await run()
        except Exception:
            log.exception("scheduled job %s failed", name)

    async def _cron(self, name: str) -> None:
        await self._guarded(name, lambda: run_cron_job(self.core, name))

    async def _every_minute(self, name: str, job: Job) -> None:
        async def run() -> int:
            done = await job(self.core, self.core.clock())
            if done and self.core.on_outbox is not None:
                self.core.on_outbox()
            return done

        await self._guarded(name, run)

    def _resume(self) -> None:
        aps = AsyncIOScheduler(timezone=self.core.settings.tz)
        options: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        for name, (trigger, _job) in cron_jobs(self.core).items():
            aps.add_job(self._cron, trigger, args=[name], id=name, **options)
        every_minute = IntervalTrigger(minutes=1, timezone=self.core.settings.tz)
        for name, job in (("escalation", _escalation), ("broadcasts", _broadcasts)):
            aps.add_job(self._every_minute, every_minute, args=[name, job], id=name, **options)
        aps.start()
        self.aps = aps

    def _pause(self) -> None:
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None
