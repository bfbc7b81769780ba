"""Who the scheduled jobs reach, chosen by the database, and the records that make each job
run once per period and each person hear once per period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.vocab import OPEN_STATUSES as OPEN
from storage.cases import overdue_clause
from storage.db import insert_or_skip
from storage.models import Conversation, JobRun, ReminderSent, Report, StaffRole, User

CHUNK = 2000  # rows per INSERT (SQLite allows 32,766 bound values per statement)


async def claim_run(session: AsyncSession, job: str, period: str, now: dt.datetime) -> bool:
    """Record that `job` runs for `period`; False when it already did (another instance, an
    earlier run before a restart). Commit it with the job's pushes."""
    done = await session.execute(
        insert_or_skip(session, JobRun)
        .values(job=job, period=period, ran_at=now)
        .on_conflict_do_nothing()
        .returning(col(JobRun.job))
    )
    return done.first() is not None


async def first_run(session: AsyncSession, now: dt.datetime) -> dt.datetime:
    """When the scheduler first ran on this database (recorded on the first call): periods
    before it are not caught up, so a new install does not send last Monday's reminder."""
    await session.execute(
        insert_or_skip(session, JobRun)
        .values(job="scheduler", period="first-start", ran_at=now)
        .on_conflict_do_nothing()
    )
    found = await session.get(JobRun, ("scheduler", "first-start"))
    assert found is not None
    return found.ran_at


async def mark_sent(
    session: AsyncSession, kind: str, period: str, user_ids: Iterable[int], now: dt.datetime
) -> set[int]:
    """Record `kind` for `period` as sent to these people; returns those not recorded before
    (the only ones to send to)."""
    fresh: set[int] = set()
    ids = list(user_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = [{"kind": kind, "period": period, "user_id": i, "sent_at": now} for i in chunk]
        done = await session.execute(
            insert_or_skip(session, ReminderSent)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(col(ReminderSent.user_id))
        )
        fresh.update(int(i) for i in done.scalars())
    return fresh


@dataclass(frozen=True)
class Person:
    id: int
    platform: str
    platform_user_id: str
    language: str | None
    active: bool


def _person(row: Any) -> Person:
    return Person(int(row.id), row.platform, row.platform_user_id, row.language, bool(row.active))


_PERSON = (
    col(User.id),
    col(User.platform),
    col(User.platform_user_id),
    col(User.language),
    col(User.active),
)


def village_reported_since(
    since: dt.datetime, subdistrict: Any = User.subdistrict_code, village_no: Any = User.village_no
) -> ColumnElement[bool]:
    """For a query over users (or over other rows naming a village by these two columns): their
    village has an activity report since `since` (served by the index
    ix_reports_village_activity)."""
    return exists().where(
        col(Report.subdistrict_code) == col(subdistrict),
        col(Report.village_no) == col(village_no),
        col(Report.kind) == "activity",
        col(Report.created_at) >= since,
    )


async def weekly_due(session: AsyncSession, since: dt.datetime) -> list[Person]:
    """Active reporters whose village has no activity report since `since`."""
    reported = village_reported_since(since)
    query = select(*_PERSON).where(
        col(User.active),
        col(User.reminders_ok),  # not those who turned reminders off (ข้อมูลของฉัน)
        col(User.consent_at).is_not(None),
        col(User.role).is_not(None),
        col(User.subdistrict_code).is_not(None),
        col(User.village_no).is_not(None),
        ~reported,
    )
    return [_person(row) for row in (await session.execute(query)).all()]


@dataclass(frozen=True)
class Draft:
    person: Person
    form_id: str
    started_at: dt.datetime


async def stale_drafts(
    session: AsyncSession, before: dt.datetime, not_older_than: dt.datetime
) -> list[Draft]:
    """Forms nobody touched since `before` (but touched after `not_older_than`: a form
    abandoned weeks ago is not worth a nudge), of people who can be reached."""
    query = (
        select(*_PERSON, col(Conversation.form_id), col(Conversation.started_at))
        .join(User, col(User.id) == col(Conversation.user_id))
        .where(
            col(Conversation.updated_at) <= before,
            col(Conversation.updated_at) >= not_older_than,
            col(User.active),
            col(User.reminders_ok),
        )
    )
    return [
        Draft(_person(row), row.form_id, row.started_at)
        for row in (await session.execute(query)).all()
    ]


@dataclass(frozen=True)
class DistrictCases:
    new: int
    open: int
    overdue: int


async def district_cases(
    session: AsyncSession, now: dt.datetime, overdue: dict[str, dt.timedelta]
) -> dict[str, DistrictCases]:
    """Per district: problems new in the last 24 hours, open, and overdue."""
    day_ago = now - dt.timedelta(days=1)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(
            col(Report.district_code),
            count(col(Report.created_at) >= day_ago),
            count(col(Report.status).in_(OPEN)),
            count(overdue_clause(now, overdue)),
        )
        .where(
            col(Report.kind) == "problem",
            col(Report.district_code).is_not(None),
            (col(Report.status).in_(OPEN)) | (col(Report.created_at) >= day_ago),
        )
        .group_by(col(Report.district_code))
    )
    return {
        str(district): DistrictCases(int(new), int(open_), int(late))
        for district, new, open_, late in (await session.execute(query)).all()
    }


async def officers(
    session: AsyncSession, districts: Sequence[str] | None = None
) -> list[tuple[Person, list[str]]]:
    """Active officers, each once with every district they hold (of `districts` when given)."""
    query = (
        select(*_PERSON, col(StaffRole.area))
        .join(StaffRole, col(StaffRole.user_id) == col(User.id))
        .where(
            col(StaffRole.role) == "officer",
            col(User.active),
            col(User.reminders_ok),
        )
        .order_by(col(User.id), col(StaffRole.area))
    )
    if districts is not None:
        query = query.where(col(StaffRole.area).in_(districts))
    found: dict[int, tuple[Person, list[str]]] = {}
    for row in (await session.execute(query)).all():
        person = _person(row)
        found.setdefault(person.id, (person, []))[1].append(str(row.area))
    return list(found.values())


async def note_run(session: AsyncSession, job: str, period: str, note: str) -> None:
    """Record what `job`'s run for `period` did (claimed before with `claim_run`)."""
    await session.execute(
        update(JobRun).where(col(JobRun.job) == job, col(JobRun.period) == period).values(note=note)
    )
