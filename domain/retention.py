"""Retention (PDPA: personal data kept no longer than the work needs it), run daily by the
scheduler and on demand by `fieldbot privacy retention`:

- pushes over (sent, skipped, failed or cancelled) for longer than the outbox period lose
  their content (`{"emptied": true}`); the row stays, so delivery counts stay right. Pushes
  pending or being sent are never touched;
- platform events handled longer ago than the event period are forgotten (they are kept only
  to recognise a redelivery), with the replies delivered by then; events never handled are
  given up after GIVE_UP_PENDING;
- a person who has not written for the person period is erased as they could ask themselves
  (domain.privacy.erase, recorded in the register with via "retention"). The day they last
  wrote is `users.seen_on`; for rows from before it was kept, the row's last change;
- a report filed longer ago than the report period is anonymised: it moves to one shared
  anonymous user row, its personal answers go, and the pushes about it are erased. The report,
  its place, photos, case events and statistics stay.

Each part works in batches found by a keyset on the row id, and finds nothing to do the second
time: a sweep may be cut short and run again at any moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import privacy
from handlers.forms import FORMS
from handlers.state import Env
from storage import inbox, outbox
from storage import retention as store
from storage.models import User

BATCH = 500
# People erased in one transaction of a sweep cut into rounds (the daily job): each erasure
# looks through the pushes that still hold content, and SQLite has one writer.
PEOPLE_PER_ROUND = 20
# An event still pending after this is given up (recorded as failed): the inbox is bounded by
# time, and an answer days late would only confuse.
GIVE_UP_PENDING = dt.timedelta(days=7)
# Answers that name the reporter (a report form with such a step keeps them in its answers).
PERSONAL_ANSWERS = frozenset({"name", "phone"})
RETENTION = "retention"  # how the register records the erasures this job makes


@dataclass(frozen=True)
class Policy:
    """How long each kind of data is kept, and the time zone of the day a person last wrote."""

    outbox: dt.timedelta
    events: dt.timedelta
    person: dt.timedelta
    report: dt.timedelta
    tz: dt.tzinfo
    # The sentences, for telling the officer of an open case that its reporter was erased.
    env: Env | None = None


@dataclass(frozen=True)
class Swept:
    """What a sweep did (counts only: this is logged and stored)."""

    messages_emptied: int = 0
    events_forgotten: int = 0
    replies_forgotten: int = 0
    events_given_up: int = 0
    people_anonymised: int = 0
    reports_anonymised: int = 0
    report_messages_erased: int = 0

    def __add__(self, other: Swept) -> Swept:
        return Swept(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def total(self) -> int:
        return sum(self.counts().values())

    def counts(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Progress:
    """Where a sweep run as several transactions has got to (`sweep(..., limit=N)`): each
    part's last row id looked at, and whether every part has run out of work."""

    outbox: int = 0
    reports: int = 0
    people: int = 0
    events_done: bool = False
    finished: bool = False


@dataclass(frozen=True)
class Forgotten:
    events: int
    replies: int
    given_up: int


async def forget_events(session: AsyncSession, now: dt.datetime, keep: dt.timedelta) -> Forgotten:
    """Forget the platform events handled (and the replies delivered) before `keep` ago, and
    give up on events pending for over GIVE_UP_PENDING. Every instance does this hourly too
    (bot.server), for its own inbox's sake."""
    forgotten, given_up = await inbox.prune(
        session, handled_before=now - keep, pending_before=now - GIVE_UP_PENDING, now=now
    )
    replies = await outbox.prune_replies(session, now - keep)
    return Forgotten(forgotten, replies, given_up)


def impersonal(form_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    """A report's answers without those that name its reporter."""
    form = FORMS.get(form_id)
    personal = set(PERSONAL_ANSWERS)
    if form is not None:
        personal |= {step.id for step in form.steps if step.type == "phone"}
    return {key: value for key, value in answers.items() if key not in personal}


def _size(limit: int | None, done: int) -> int:
    return BATCH if limit is None else min(BATCH, limit - done)


async def _outbox(
    session: AsyncSession, before: dt.datetime, progress: Progress, limit: int | None
) -> tuple[int, bool]:
    emptied = looked = 0
    while (size := _size(limit, looked)) > 0:
        ids = await store.delivered_before(session, before, progress.outbox, size)
        if ids:
            emptied += await store.empty(session, ids)
            progress.outbox = ids[-1]
            looked += len(ids)
        if len(ids) < size:
            return emptied, False
    return emptied, True


async def _reports(
    session: AsyncSession, now: dt.datetime, before: dt.datetime, progress: Progress,
    limit: int | None, env: Env | None = None,
) -> tuple[int, int, bool]:  # fmt: skip
    moved = erased = 0
    anonymous = await store.find_anonymous(session, privacy.ERASED)
    if anonymous is None:  # made when there is a first report to move
        if not await store.filed_before(session, before, None, progress.reports, 1):
            return moved, erased, False
        anonymous = await store.anonymous_user(session, privacy.ERASED, now)
    while (size := _size(limit, moved)) > 0:
        found = await store.filed_before(session, before, anonymous, progress.reports, size)
        if found:
            # The reporter's name and phone, typed into the report or an officer's note, go
            # from those texts first (privacy.scrub_reports), then the report moves.
            marks: dict[int, privacy.Traces] = {}
            for reporter in {r.reporter_id for r in found}:
                person = await session.get(User, reporter)
                name = person.display_name if person else None
                marks[reporter] = privacy.traces(
                    name, person.phone if person else None,
                    lines=privacy.reporter_lines(env, name, None),
                    removed=privacy.removed_mark(env),
                )  # fmt: skip
                theirs = [r.id for r in found if r.reporter_id == reporter]
                await privacy.scrub_reports(session, theirs, marks[reporter])
            cleaned = [
                store.OldReport(r.id, r.form_id, impersonal(
                    r.form_id, privacy.scrub(r.answers, marks[r.reporter_id].own)[0]))
                for r in found
            ]  # fmt: skip
            moved += await store.anonymise_reports(session, cleaned, anonymous)
            erased += await store.erase_report_pushes(session, [r.id for r in found])
            progress.reports = found[-1].id
        if len(found) < size:
            return moved, erased, False
    return moved, erased, True


async def _people(
    session: AsyncSession, now: dt.datetime, policy: Policy, progress: Progress,
    limit: int | None,
) -> tuple[int, bool]:  # fmt: skip
    today = now.astimezone(policy.tz).date()
    erased = 0
    if limit is not None:  # an erasure looks through the outbox: few of them per transaction
        limit = min(limit, PEOPLE_PER_ROUND)
    while (size := _size(limit, erased)) > 0:
        silent = await store.silent_people(
            session, seen_before=today - policy.person, changed_before=now - policy.person,
            skip_platform=privacy.ERASED, after=progress.people, limit=size,
        )  # fmt: skip
        for user in silent:
            await privacy.erase(session, user, now, via=RETENTION, env=policy.env)
            erased += 1
        if silent:
            progress.people = silent[-1].id or progress.people
        if len(silent) < size:
            return erased, False
    return erased, True


async def sweep(
    session: AsyncSession,
    now: dt.datetime,
    policy: Policy,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Swept:
    """Enforce `policy` as of `now`, in the caller's transaction. With `limit`, each part
    stops after that many rows, and `progress` (updated) says where to go on in the next
    transaction, until `progress.finished`; without, it does everything."""
    progress = progress if progress is not None else Progress()
    forgotten = Forgotten(0, 0, 0)
    if not progress.events_done:
        forgotten = await forget_events(session, now, policy.events)
        progress.events_done = True
    emptied, more_messages = await _outbox(session, now - policy.outbox, progress, limit)
    moved, alerts, more_reports = await _reports(session, now, now - policy.report, progress,
                                                 limit, policy.env)  # fmt: skip
    people, more_people = await _people(session, now, policy, progress, limit)
    progress.finished = not (more_messages or more_reports or more_people)
    return Swept(
        messages_emptied=emptied,
        events_forgotten=forgotten.events,
        replies_forgotten=forgotten.replies,
        events_given_up=forgotten.given_up,
        people_anonymised=people,
        reports_anonymised=moved,
        report_messages_erased=alerts,
    )
