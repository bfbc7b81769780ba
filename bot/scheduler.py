"""Timed work inside `fieldbot serve`, on APScheduler 3: the weekly activity reminder, the nudge
for forms left unfinished, the officers' daily digest, scheduled broadcasts and the escalation
check. Exactly one instance runs it (bot.leader); each cron job records its period before its
pushes, in their transaction, so a restart, a misfire or a second instance never runs a period
twice, and a period missed while no instance ran is caught up once when one starts.

Every job is a plain async function of (core, period) so tests run it with their own clock."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import broadcasts
from bot.casework import escalate_due
from bot.leader import Leader, leader_for
from bot.quiet import parse_window, release_time
from bot.service import Core
from handlers.messages import Choice, Outgoing
from storage import outbox, reminders

log = logging.getLogger(__name__)

CATCH_UP = dt.timedelta(days=8)  # how far back a missed period is looked for
STALE_DRAFT = dt.timedelta(hours=24)
LATE = dt.timedelta(minutes=5)  # a run this long after its time is a catch-up
SOON = dt.timedelta(hours=12)
FORGOTTEN_DRAFT = dt.timedelta(days=7)  # older drafts are not nudged (nor on a first start)
Job = Callable[[Core, dt.datetime], Awaitable[int]]


def last_fire(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The latest time at or before `now` the cron expression names (within CATCH_UP)."""
    at = trigger.get_next_fire_time(None, now - CATCH_UP)
    last = None
    while at is not None and at <= now:
        last = at
        at = trigger.get_next_fire_time(at, at + dt.timedelta(seconds=1))
    return last.astimezone(dt.UTC) if last is not None else None


def _lang(language: str | None, core: Core) -> str:
    return language or core.settings.default_language


def _release(core: Core) -> dt.datetime:
    """When pushes that respect quiet hours may go: now, or when quiet hours end."""
    window = parse_window(core.settings.quiet_hours)
    return release_time(core.clock(), core.settings.tz, window)


async def _send_each(
    core: Core,
    session: Any,
    kind: str,
    people: list[reminders.Person],
    messages: Callable[[reminders.Person], list[Outgoing]],
) -> int:
    now = core.clock()
    not_before = _release(core)
    rows = [
        outbox.row_values(
            platform=p.platform, recipient=p.platform_user_id, user_id=p.id, kind=kind,
            messages=[m.as_json() for m in messages(p)], now=now, not_before=not_before,
        )
        for p in people
    ]  # fmt: skip
    await outbox.insert_rows(session, rows)
    return len(rows)


async def weekly_reminder(core: Core, period: dt.datetime) -> int:
    """Remind every active reporter whose village has no activity report in the last 7 days.
    Returns how many were reminded."""
    t = core.i18n.t
    key = period.isoformat()
    cache: dict[str, list[Outgoing]] = {}

    def messages(person: reminders.Person) -> list[Outgoing]:
        lang = _lang(person.language, core)
        if lang not in cache:
            button = Choice("menu:activity", t(lang, "menu.activity"))
            text = t(lang, "reminder.weekly")
            cache[lang] = [Outgoing(text, (button,), "choice", language=lang, standing=True)]
        return cache[lang]

    async with core.writing(), core.sessions() as session, session.begin():
        if not await reminders.claim_run(session, "weekly", key, core.clock()):
            return 0
        due = await reminders.weekly_due(session, core.clock() - dt.timedelta(days=7))
        fresh = await reminders.mark_sent(session, "weekly", key, [p.id for p in due], core.clock())
        sent = await _send_each(core, session, "reminder", [p for p in due if p.id in fresh],
                                messages)  # fmt: skip
    log.info("weekly reminder for %s: %d reporters", key, sent)
    return sent


async def draft_nudges(core: Core, period: dt.datetime) -> int:
    """Nudge, once per draft, everyone who left a form unfinished for more than 24 hours."""
    t = core.i18n.t
    async with core.writing(), core.sessions() as session, session.begin():
        if not await reminders.claim_run(session, "nudge", period.isoformat(), core.clock()):
            return 0
        drafts = await reminders.stale_drafts(
            session, core.clock() - STALE_DRAFT, core.clock() - FORGOTTEN_DRAFT
        )
        sent = 0
        for draft in drafts:  # few at a time: one statement each is fine
            draft_key = f"{draft.form_id}@{draft.started_at.isoformat()}"
            fresh = await reminders.mark_sent(
                session, "nudge", draft_key, [draft.person.id], core.clock()
            )
            if not fresh:
                continue
            lang = _lang(draft.person.language, core)
            form = t(lang, f"form.{draft.form_id}.title")
            nudge = [Outgoing(t(lang, "reminder.draft", form=form), language=lang)]

            def same(_person: reminders.Person, m: list[Outgoing] = nudge) -> list[Outgoing]:
                return m

            sent += await _send_each(core, session, "nudge", [draft.person], same)
    return sent


async def officer_digest(core: Core, period: dt.datetime) -> int:
    """One digest per officer covering all their districts: new, open and overdue cases (none
    when no district of theirs has a new or open one)."""
    t = core.i18n.t
    key = period.astimezone(core.settings.tz).date().isoformat()
    async with core.writing(), core.sessions() as session, session.begin():
        if not await reminders.claim_run(session, "digest", key, core.clock()):
            return 0
        numbers = await reminders.district_cases(
            session, core.clock(), core.settings.escalation_after
        )
        people: list[tuple[reminders.Person, list[str]]] = []
        for person, districts in await reminders.officers(session, list(numbers)):
            busy = [d for d in districts if numbers[d].new or numbers[d].open]
            if busy:
                people.append((person, busy))
        fresh = await reminders.mark_sent(
            session, "digest", key, [p.id for p, _d in people], core.clock()
        )
        chosen = [(p, d) for p, d in people if p.id in fresh]
        by_person = {p.id: d for p, d in chosen}

        def messages(person: reminders.Person) -> list[Outgoing]:
            lang = _lang(person.language, core)
            districts = by_person[person.id]
            total = reminders.DistrictCases(
                sum(numbers[d].new for d in districts),
                sum(numbers[d].open for d in districts),
                sum(numbers[d].overdue for d in districts),
            )
            if len(districts) == 1:
                text = t(lang, "digest.daily", new=total.new, open=total.open,
                         overdue=total.overdue)  # fmt: skip
            else:
                lines = [t(lang, "digest.daily_many", count=len(districts), new=total.new,
                           open=total.open, overdue=total.overdue)]  # fmt: skip
                for code in districts:
                    place = core.areas.district(code)
                    n = numbers[code]
                    lines.append(t(lang, "digest.district_line", district=place.name(lang)
                                   if place else code, new=n.new, open=n.open,
                                   overdue=n.overdue))  # fmt: skip
                text = "\n".join(lines)
            return [Outgoing(text, (Choice("menu:cases", t(lang, "menu.cases")),), "choice",
                             language=lang, standing=True)]  # fmt: skip

        sent = await _send_each(core, session, "digest", [p for p, _d in chosen], messages)
    return sent


async def _escalation(core: Core, _period: dt.datetime) -> int:
    return await escalate_due(core)


async def _broadcasts(core: Core, _period: dt.datetime) -> int:
    return await broadcasts.queue_due(core)


def cron_jobs(core: Core) -> dict[str, tuple[CronTrigger, Job]]:
    tz = core.settings.tz
    return {
        "weekly": (CronTrigger.from_crontab(core.settings.reminder_cron, timezone=tz),
                   weekly_reminder),
        "nudge": (CronTrigger.from_crontab(core.settings.draft_nudge_cron, timezone=tz),
                  draft_nudges),
        "digest": (CronTrigger.from_crontab(core.settings.digest_cron, timezone=tz),
                   officer_digest),
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
        first = await reminders.first_run(session, now)
    if period < first - dt.timedelta(minutes=5):
        return 0  # before this install ran: nothing to catch up
    if now - period > LATE:
        # A catch-up whose pushes would wait (quiet hours) until close to the next regular
        # run is left to that run: nobody gets the same reminder twice within a few hours.
        upcoming = trigger.get_next_fire_time(None, now)
        if upcoming is not None and upcoming.astimezone(dt.UTC) <= _release(core) + SOON:
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
