"""Problem reports worked as cases: state changes with an audit row each, guarded so that two
officers pressing at once cannot both win, and the read-outs officers ask for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers import vocab as v
from handlers.vocab import OPEN_STATUSES as OPEN
from handlers.vocab import URGENCIES
from handlers.vocab import WAITING_STATUSES as WAITING
from storage.models import CaseEvent, Report, User, utcnow

TRANSITIONS = v.TRANSITIONS  # action -> (states it may start from, state it leads to)
URGENCY_ORDER = {urgency: i for i, urgency in enumerate(URGENCIES)}


@dataclass(frozen=True)
class Change:
    ok: bool
    report: Report
    from_status: str | None = None
    to_status: str | None = None
    holder: User | None = None  # who has it, when the change lost a race or came too late


async def change(
    session: AsyncSession,
    report_id: int,
    action: str,
    actor: User | None,
    *,
    now: dt.datetime | None = None,
    note: str | None = None,
    photo: str | None = None,
    district: str | None = None,
) -> Change:
    """Move a case along; one conditional UPDATE decides races (the loser learns who won)."""
    now = now or utcnow()
    allowed, target = TRANSITIONS[action]
    # The row is locked first (PostgreSQL; SQLite has one writer), so the state we check is
    # the state we change, and the audit row's "from" is true.
    current = (
        await session.execute(
            select(Report)
            .where(col(Report.id) == report_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    from_status = current.status
    values: dict[str, object] = {"status": target, "updated_at": now}
    if actor is not None and action != "reopen":
        values["handled_by_id"] = actor.id  # "taken by" names whoever moved it last
    if action == "ack":
        values["acknowledged_at"] = now
    if action == "resolve":
        values["resolved_at"] = now
    if action == "forward" and district:
        values.update(district_code=district, province_code=district[:2],
                      escalation_level=0, escalated_at=None)  # fmt: skip
    if action == "reopen":
        values.update(reopen_count=col(Report.reopen_count) + 1, resolved_at=None,
                      escalation_level=0, escalated_at=None)  # fmt: skip
    won = await session.execute(
        update(Report)
        .where(col(Report.id) == report_id, col(Report.status).in_(allowed))
        .values(**values)
        .returning(col(Report.id))
    )
    report = await session.get(Report, report_id, populate_existing=True)
    assert report is not None
    if won.first() is None:
        holder = await session.get(User, report.handled_by_id) if report.handled_by_id else None
        return Change(False, report, holder=holder)
    session.add(
        CaseEvent(report_id=report_id, actor_id=actor.id if actor else None,
                  from_status=from_status, to_status=target, note=note, photo=photo, at=now)
    )  # fmt: skip
    return Change(True, report, from_status, target)


async def timeline(session: AsyncSession, report_id: int) -> list[tuple[CaseEvent, User | None]]:
    rows = await session.execute(
        select(CaseEvent, User)
        .outerjoin(User, col(User.id) == col(CaseEvent.actor_id))
        .where(col(CaseEvent.report_id) == report_id)
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    )
    return [(event, user) for event, user in rows.all()]


def _scope(query: Select[Any], visible: ColumnElement[bool]) -> Select[Any]:
    """Only the reports `visible` lets through (domain.policy.visible_reports decides)."""
    return query.where(visible)


async def latest_notes(session: AsyncSession, report_ids: list[int]) -> dict[int, str]:
    """The newest note an officer left on each of these cases (a closing note, a reason for
    forwarding or refusing, an "in progress" note), by report id."""
    if not report_ids:
        return {}
    rows = await session.execute(
        select(col(CaseEvent.report_id), col(CaseEvent.note))
        .where(col(CaseEvent.report_id).in_(report_ids), col(CaseEvent.note).is_not(None))
        .order_by(col(CaseEvent.id))
    )
    return {int(report_id): str(note) for report_id, note in rows.all()}  # the newest last


async def open_cases(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    offset: int = 0,
    limit: int = 10,
    statuses: tuple[str, ...] = OPEN,
) -> tuple[list[Report], int]:
    """Open cases among `visible` (those in `statuses`), most urgent first, then oldest; and
    how many in all."""
    base = select(Report).where(col(Report.kind) == "problem", col(Report.status).in_(statuses))
    scoped = _scope(base, visible)
    urgency = case(URGENCY_ORDER, value=col(Report.urgency), else_=3)
    query = scoped.order_by(urgency, col(Report.created_at), col(Report.id))
    rows = list((await session.execute(query.offset(offset).limit(limit))).scalars())
    count_query = _scope(
        select(func.count())
        .select_from(Report)
        .where(col(Report.kind) == "problem", col(Report.status).in_(statuses)),
        visible,
    )
    total = int((await session.execute(count_query)).scalar_one())
    return rows, total


async def awaiting_feedback(
    session: AsyncSession, reporter_id: int, *, rating: bool
) -> Report | None:
    """The reporter's latest resolved problem (for a rating: one not rated yet): what a typed
    "แก้ไขแล้ว" or "5 ดาว" answers."""
    query = select(Report).where(
        col(Report.reporter_id) == reporter_id,
        col(Report.kind) == "problem",
        col(Report.status) == v.RESOLVED,
    )
    if rating:
        query = query.where(col(Report.rating).is_(None))
    found = await session.execute(query.order_by(col(Report.resolved_at).desc()).limit(1))
    return found.scalar_one_or_none()


async def by_reference(session: AsyncSession, reference: str) -> Report | None:
    found = await session.execute(select(Report).where(col(Report.reference) == reference))
    return found.scalar_one_or_none()


def _urgency_is(urgency: str) -> ColumnElement[bool]:
    """Reports of `urgency`; anything not very urgent or urgent counts as normal."""
    level = func.coalesce(col(Report.urgency), v.NORMAL)
    if urgency == v.NORMAL:
        return level.not_in((v.VERY_URGENT, v.URGENT))
    return level == urgency


def overdue_clause(now: dt.datetime, limits: dict[str, dt.timedelta]) -> ColumnElement[bool]:
    """Waiting cases not taken within their urgency's time, counted from when they started
    waiting (arrival, forward or reopening) — the same clock escalation uses."""
    return and_(
        col(Report.status).in_(WAITING),
        or_(*(_urgency_is(u) & (col(Report.updated_at) <= now - after)
              for u, after in limits.items())),
    )  # fmt: skip


def escalation_due_clause(
    now: dt.datetime, limits: dict[str, dt.timedelta], max_times: int
) -> ColumnElement[bool]:
    """Waiting cases due for their next escalation: the k-th comes `after * 2**k` past the
    previous one (the first, `after` past the start of the wait), and none after `max_times`."""
    since = func.coalesce(col(Report.escalated_at), col(Report.updated_at))
    terms = [
        _urgency_is(u) & (col(Report.escalation_level) == k) & (since <= now - after * 2**k)
        for u, after in limits.items()
        for k in range(max_times)
    ]
    return and_(col(Report.kind) == "problem", col(Report.status).in_(WAITING),
                or_(*terms) if terms else false())  # fmt: skip


async def summary(
    session: AsyncSession,
    visible: ColumnElement[bool],
    now: dt.datetime,
    overdue: dict[str, dt.timedelta],
) -> dict[str, int]:
    """Open, overdue (not acknowledged in time) and resolved in the last 7 days, counted by
    the database."""
    week_ago = now - dt.timedelta(days=7)

    def count(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = _scope(
        select(
            count(col(Report.status).in_(OPEN)),
            count(overdue_clause(now, overdue)),
            count(col(Report.resolved_at) >= week_ago),
        ).where(col(Report.kind) == "problem"),
        visible,
    )
    open_, late, resolved = (await session.execute(query)).one()
    return {"open": int(open_), "overdue": int(late), "resolved_week": int(resolved)}


async def recent_activities(
    session: AsyncSession, visible: ColumnElement[bool], limit: int = 10
) -> list[Report]:
    query = _scope(select(Report).where(col(Report.kind) == "activity"), visible)
    query = query.order_by(col(Report.created_at).desc()).limit(limit)
    return list((await session.execute(query)).scalars())
