"""The desk's statistics, counted by the database: cases by status, category and area, over
time by week or month, time to the first response and to resolution (medians), overdue
counts, ratings and reopenings, and the same per district for coordinators.

Every function takes `where`: the clauses that narrow the cases (the policy's
`visible_reports` and the desk's filter), so a count never reaches past what the viewer may
see. Counts are GROUP BY queries. Time buckets are edges computed here in the local time zone
and compared in SQL (one CASE over bound moments), the same on SQLite and PostgreSQL and right
across daylight-saving changes. Medians come from two narrowed columns read here, never whole
rows (SQLite has no percentile function)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers import vocab as v
from storage.cases import overdue_clause
from storage.models import CaseEvent, Report

Where = Sequence[ColumnElement[bool]]
UNITS = ("week", "month")
MAX_BUCKETS = 104
# What counts as the first response to a case: someone took it up (or turned it down).
RESPONSES = (v.ACKNOWLEDGED, v.IN_PROGRESS, v.RESOLVED, v.REJECTED)
DIMENSIONS = ("status", "category", "urgency")
_COLUMNS = {
    "status": Report.status,
    "category": Report.problem_category,
    "urgency": Report.urgency,
}


async def counts(session: AsyncSession, where: Where, dimension: str) -> dict[str, int]:
    """How many cases each value of `dimension` (status, category, urgency) has; no value: ""."""
    column = col(_COLUMNS[dimension])
    rows = await session.execute(
        select(column, func.count()).where(*where).group_by(column).order_by(column)
    )
    return {str(value or ""): int(n) for value, n in rows.all()}


def area_column(level: int) -> Any:
    """The area column of a level: 2 province, 4 district, 6 subdistrict."""
    if level == 2:
        return col(Report.province_code)
    if level == 4:
        return col(Report.district_code)
    return col(Report.subdistrict_code)


async def by_area(session: AsyncSession, where: Where, level: int) -> dict[str, int]:
    """How many cases each area of `level` (2, 4, 6 digits; 8: each village, as its
    subdistrict's code and its number) has."""
    if level == 8:
        rows = await session.execute(
            select(col(Report.subdistrict_code), col(Report.village_no), func.count())
            .where(*where)
            .group_by(col(Report.subdistrict_code), col(Report.village_no))
        )
        return {
            f"{s or ''}{int(n_village):02d}" if n_village is not None else str(s or ""): int(n)
            for s, n_village, n in rows.all()
        }
    column = area_column(level)
    grouped = await session.execute(select(column, func.count()).where(*where).group_by(column))
    return {str(code or ""): int(n) for code, n in grouped.all()}


def edges(
    unit: str, tz: ZoneInfo, until: dt.datetime, since: dt.datetime | None, default: int
) -> list[dt.datetime]:
    """The starts of the weeks (Monday) or months, in local time, from the one holding `since`
    (else `default` units back) to the one holding `until` (exclusive end); then the end of the
    last. At most MAX_BUCKETS (the latest kept). UTC moments."""
    last = until.astimezone(tz)

    def start(moment: dt.datetime) -> dt.date:
        day = moment.date()
        if unit == "week":
            return day - dt.timedelta(days=day.weekday())
        return day.replace(day=1)

    def step(day: dt.date, n: int) -> dt.date:
        if unit == "week":
            return day + dt.timedelta(weeks=n)
        months = day.year * 12 + day.month - 1 + n
        return dt.date(months // 12, months % 12 + 1, 1)

    end = start(last - dt.timedelta(microseconds=1))
    first = start(since.astimezone(tz)) if since else step(end, 1 - default)
    days = [first]
    while days[-1] < end:
        days.append(step(days[-1], 1))
    days = days[-MAX_BUCKETS:]
    days.append(step(days[-1], 1))
    return [dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC) for day in days]


async def over_time(
    session: AsyncSession, where: Where, bounds: Sequence[dt.datetime], dimension: str
) -> dict[tuple[int, str], int]:
    """Cases filed in each bucket (between consecutive `bounds`), by `dimension`: {(bucket
    index, value): count}. Cases outside the bounds are not counted."""
    created = col(Report.created_at)
    bucket = case(
        *((created < edge, literal(i)) for i, edge in enumerate(bounds[1:])), else_=literal(-1)
    ).label("bucket")
    column = col(_COLUMNS[dimension])
    rows = await session.execute(
        select(bucket, column, func.count())
        .where(*where, created >= bounds[0], created < bounds[-1])
        .group_by(bucket, column)
    )
    return {(int(i), str(value or "")): int(n) for i, value, n in rows.all() if int(i) >= 0}


@dataclass(frozen=True)
class Times:
    """Median waits, in seconds, and how many cases each median is over."""

    to_response: float | None = None
    responded: int = 0
    to_resolve: float | None = None
    resolved: int = 0


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


async def times(session: AsyncSession, where: Where, group: Any = None) -> dict[str, Times]:
    """Median time from filing to the first response (the first time someone acknowledged,
    started, resolved or turned down the case: the audit trail's earliest such event) and to
    resolution (resolved cases), per value of `group` (or all under ""). Reads two moments a
    case, never the whole rows."""
    key = group if group is not None else literal("")
    first = (
        select(col(CaseEvent.report_id), func.min(col(CaseEvent.at)).label("at"))
        .where(col(CaseEvent.to_status).in_(RESPONSES))
        .group_by(col(CaseEvent.report_id))
        .subquery()
    )
    responded: dict[str, list[float]] = {}
    rows = await session.execute(
        select(key, col(Report.created_at), first.c.at)
        .join(first, first.c.report_id == col(Report.id))
        .where(*where)
    )
    for name, created, at in rows.all():
        responded.setdefault(str(name or ""), []).append(_seconds(at, created))
    resolved: dict[str, list[float]] = {}
    rows = await session.execute(
        select(key, col(Report.created_at), col(Report.resolved_at)).where(
            *where, col(Report.status) == v.RESOLVED, col(Report.resolved_at).is_not(None)
        )
    )
    for name, created, at in rows.all():
        resolved.setdefault(str(name or ""), []).append(_seconds(at, created))
    found: dict[str, Times] = {}
    for name in {*responded, *resolved}:
        r, s = responded.get(name, []), resolved.get(name, [])
        found[name] = Times(_median(r), len(r), _median(s), len(s))
    return found


def _seconds(end: dt.datetime, start: dt.datetime) -> float:
    # SQLite hands the moments back as they were stored; both are UTC either way.
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    return max(0.0, (end - start).total_seconds())


@dataclass(frozen=True)
class Totals:
    """The counts of a set of cases: all, open, overdue (waiting longer than their urgency
    allows), reopened (at least once) and reopenings, rated and their average rating."""

    cases: int = 0
    open: int = 0
    overdue: int = 0
    reopened: int = 0
    reopenings: int = 0
    rated: int = 0
    rating: float | None = None


async def totals(
    session: AsyncSession,
    where: Where,
    now: dt.datetime,
    limits: dict[str, dt.timedelta],
    group: Any = None,
) -> dict[str, Totals]:
    """`Totals` per value of `group` (or all under ""), in one GROUP BY query."""
    key = group if group is not None else literal("")
    query = select(
        key,
        func.count(),
        func.sum(case((col(Report.status).in_(v.OPEN_STATUSES), 1), else_=0)),
        func.sum(case((overdue_clause(now, limits), 1), else_=0)),
        func.sum(case((col(Report.reopen_count) > 0, 1), else_=0)),
        func.sum(col(Report.reopen_count)),
        func.count(col(Report.rating)),
        func.avg(col(Report.rating)),
    ).where(*where)
    if group is not None:
        query = query.group_by(key)
    rows = await session.execute(query)
    found: dict[str, Totals] = {}
    for name, n, n_open, overdue, reopened, reopenings, rated, rating in rows.all():
        found[str(name or "")] = Totals(
            int(n), int(n_open or 0), int(overdue or 0), int(reopened or 0),
            int(reopenings or 0), int(rated or 0), float(rating) if rating is not None else None,
        )  # fmt: skip
    return found


async def ratings(session: AsyncSession, where: Where) -> dict[int, int]:
    """How many cases got each rating (1-5 stars)."""
    column = col(Report.rating)
    rows = await session.execute(
        select(column, func.count()).where(*where, column.is_not(None)).group_by(column)
    )
    return {int(stars or 0): int(n) for stars, n in rows.all()}
