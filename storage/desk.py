"""The web desk's storage: one-time sign-in links, the sessions they open, and the filtered,
paged list of cases the desk shows. Tokens are random; only their SHA-256 is stored, so a copy
of the database signs nobody in."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers import vocab as v
from storage import onetime
from storage.cases import URGENCY_ORDER, overdue_clause
from storage.models import DeskLink, DeskSession, Report

LINK_TTL = dt.timedelta(minutes=10)
# A session's last-seen time is written at most this often (not on every request).
TOUCH_EVERY = dt.timedelta(minutes=1)


digest = onetime.digest


async def new_link(
    session: AsyncSession, user_id: int, now: dt.datetime, ttl: dt.timedelta = LINK_TTL
) -> str:
    """A sign-in token for `user_id`, valid for `ttl`, usable once."""
    return await onetime.give(session, DeskLink, user_id, now, ttl)


async def use_link(session: AsyncSession, token: str, now: dt.datetime) -> int | None:
    """The user a token signs in, marking it used; None when it is unknown, used or expired.
    Two clicks on one link open one session."""
    return await onetime.spend(session, DeskLink, token, now)


@dataclass(frozen=True)
class Opened:
    """A new session: the cookie's value and the token its forms carry."""

    cookie: str
    csrf: str


async def open_session(
    session: AsyncSession, user_id: int, now: dt.datetime, language: str | None = None
) -> Opened:
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(DeskSession(id_hash=digest(cookie), user_id=user_id, csrf=csrf,
                            language=language, created_at=now, seen_at=now))  # fmt: skip
    await session.flush()
    return Opened(cookie, csrf)


async def find_session(
    session: AsyncSession, cookie: str, now: dt.datetime, idle: dt.timedelta
) -> DeskSession | None:
    """The live session a cookie names (not revoked, used within `idle`), its last-seen time
    moved on; None for anything else."""
    if not cookie or len(cookie) > 200:
        return None
    found = await session.get(DeskSession, digest(cookie))
    if found is None or found.revoked_at is not None or found.seen_at <= now - idle:
        return None
    if now - found.seen_at >= TOUCH_EVERY:
        found.seen_at = now
    return found


async def revoke(session: AsyncSession, cookie: str, now: dt.datetime) -> None:
    await session.execute(
        update(DeskSession)
        .where(col(DeskSession.id_hash) == digest(cookie), col(DeskSession.revoked_at).is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def revoke_user(session: AsyncSession, user_id: int, now: dt.datetime) -> int:
    """End every session of a person (and their unused links); how many sessions ended."""
    ended = await session.execute(
        update(DeskSession)
        .where(col(DeskSession.user_id) == user_id, col(DeskSession.revoked_at).is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(DeskLink)
        .where(col(DeskLink.user_id) == user_id, col(DeskLink.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


# ---------------------------------------------------------------- the list of cases

PAGE_SIZE = 25
STATUSES = (*v.OPEN_STATUSES, "resolved", "rejected")


@dataclass(frozen=True)
class CaseFilter:
    """What the desk's case list is narrowed to (every field optional)."""

    status: str | None = None  # a status, or "open" for every open one
    category: str | None = None
    urgency: str | None = None
    area: str | None = None  # a province, district, subdistrict (2, 4, 6 digits) or village (8)
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive
    overdue: bool = False
    reopened: bool = False
    rating: int | None = None  # 1-5; 0: resolved and not rated
    reference: str | None = None  # the whole reference or a part of it

    def clauses(
        self, now: dt.datetime, limits: dict[str, dt.timedelta]
    ) -> list[ColumnElement[bool]]:
        terms: list[ColumnElement[bool]] = [col(Report.kind) == v.PROBLEM]
        if self.status == "open":
            terms.append(col(Report.status).in_(v.OPEN_STATUSES))
        elif self.status:
            terms.append(col(Report.status) == self.status)
        if self.category:
            terms.append(col(Report.problem_category) == self.category)
        if self.urgency:
            terms.append(col(Report.urgency) == self.urgency)
        if self.area:
            terms.append(_in_area(self.area))
        if self.since:
            terms.append(col(Report.created_at) >= self.since)
        if self.until:
            terms.append(col(Report.created_at) < self.until)
        if self.overdue:
            terms.append(overdue_clause(now, limits))
        if self.reopened:
            terms.append(col(Report.reopen_count) > 0)
        if self.rating == 0:
            terms.append(and_(col(Report.status) == "resolved", col(Report.rating).is_(None)))
        elif self.rating:
            terms.append(col(Report.rating) == self.rating)
        if self.reference:
            # Upper case is how references are stored; LIKE's own marks are taken literally.
            text = self.reference.strip().upper().replace("\\", "").replace("%", "")
            terms.append(col(Report.reference).like(f"%{text.replace('_', '')}%"))
        return terms


def _in_area(code: str) -> ColumnElement[bool]:
    if len(code) == 2:
        return col(Report.province_code) == code
    if len(code) == 4:
        return col(Report.district_code) == code
    if len(code) == 6:
        return col(Report.subdistrict_code) == code
    if len(code) == 8:
        return and_(col(Report.subdistrict_code) == code[:6],
                    col(Report.village_no) == int(code[6:]))  # fmt: skip
    return col(Report.id) < 0  # no such area: nothing


def list_queries(
    visible: ColumnElement[bool], where: CaseFilter, now: dt.datetime,
    limits: dict[str, dt.timedelta],
) -> tuple[Select[int | None], Select[int]]:  # fmt: skip
    """The list's two queries: the ids in the list's order, and how many there are."""
    terms = [visible, *where.clauses(now, limits)]
    is_open = case((col(Report.status).in_(v.OPEN_STATUSES), 0), else_=1)
    urgency = case(URGENCY_ORDER, value=col(Report.urgency), else_=3)
    # Open cases oldest first; closed ones newest first (a negated epoch, the same on both
    # databases, would need dialect functions: the id grows with the time instead).
    order: list[Any] = [is_open, case((is_open == 0, urgency), else_=0),
                        case((is_open == 0, col(Report.id)), else_=-col(Report.id))]  # fmt: skip
    ids = select(col(Report.id)).where(*terms).order_by(*order)
    return ids, select(func.count()).select_from(Report).where(*terms)


async def find_cases(
    session: AsyncSession,
    visible: ColumnElement[bool],
    where: CaseFilter,
    now: dt.datetime,
    limits: dict[str, dt.timedelta],
    *,
    page: int = 0,
    size: int = PAGE_SIZE,
) -> tuple[list[Report], int]:
    """One page of the cases `visible` lets through and `where` keeps: open ones first (most
    urgent, then oldest), then the closed ones, newest first; and how many there are in all."""
    page_ids, count = list_queries(visible, where, now, limits)
    # The page's ids first (sorted from ix_reports_desk_list alone), then their rows: sorting
    # whole rows, descriptions and answers included, costs several times more at 100,000 cases.
    ids = list((await session.execute(page_ids.offset(page * size).limit(size))).scalars())
    found = await session.execute(select(Report).where(col(Report.id).in_(ids)))
    by_id = {report.id: report for report in found.scalars()}
    rows = [by_id[i] for i in ids if i in by_id]
    total = await session.execute(count)
    return rows, int(total.scalar_one())
