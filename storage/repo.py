"""Repository functions: every read and write the conversation needs, inside the caller's
transaction (the caller commits once per input, so state, reports and photos land together)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.dates import buddhist_year
from handlers.messages import PhotoRef
from storage.db import insert_or_skip
from storage.models import (
    Conversation,
    ReferenceCounter,
    Report,
    ReportPhoto,
    StaffRole,
    User,
    utcnow,
)

REFERENCE_PREFIXES = {"activity": "ACT", "problem": "PRB"}


async def get_or_create_user(
    session: AsyncSession, platform: str, platform_user_id: str, now: dt.datetime | None = None
) -> User:
    """The user row for this platform identity, created on first contact and locked for the
    rest of the transaction on PostgreSQL (so a second instance handles this user after us)."""
    query = select(User).where(
        col(User.platform) == platform, col(User.platform_user_id) == platform_user_id
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    query = query.execution_options(populate_existing=True)
    # Someone known (every step but their first): one statement.
    user = (await session.execute(query)).scalar_one_or_none()
    if user is not None:
        return user
    now = now or utcnow()
    await session.execute(
        insert_or_skip(session, User)
        .values(
            platform=platform,
            platform_user_id=platform_user_id,
            active=True,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"])
    )  # another instance may have made them meanwhile: then theirs is the row
    return (await session.execute(query)).scalar_one()


async def load_conversation(session: AsyncSession, user_id: int) -> Conversation | None:
    return await session.get(Conversation, user_id, populate_existing=True)


async def save_conversation(
    session: AsyncSession,
    user_id: int,
    form_id: str | None,
    form_version: int = 0,
    step_id: str = "",
    answers: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Store the form in progress (or forget it when `form_id` is None)."""
    existing = await session.get(Conversation, user_id)
    if form_id is None:
        if existing is not None:
            await session.delete(existing)
        return
    now = now or utcnow()
    if existing is None:
        session.add(
            Conversation(
                user_id=user_id,
                form_id=form_id,
                form_version=form_version,
                step_id=step_id,
                answers=dict(answers or {}),
                context=dict(context or {}),
                started_at=now,
                updated_at=now,
            )
        )
        return
    if existing.form_id != form_id:
        existing.started_at = now
    existing.form_id = form_id
    existing.form_version = form_version
    existing.step_id = step_id
    # JSON columns are reassigned (not mutated) so SQLAlchemy sees the change.
    existing.answers = dict(answers or {})
    existing.context = dict(context or {})
    existing.updated_at = now


async def next_reference(session: AsyncSession, kind: str, when: dt.date) -> str:
    """The next human-quotable number for `kind` in the Buddhist-Era year of `when`, e.g.
    PRB-2569-000123. The counter row is bumped with one UPDATE … RETURNING inside the caller's
    transaction: the row lock (PostgreSQL) or the write lock (SQLite) makes concurrent submits
    take turns, so no number is handed out twice."""
    prefix = REFERENCE_PREFIXES[kind]
    year = buddhist_year(when)
    await session.execute(
        insert_or_skip(session, ReferenceCounter)
        .values(prefix=prefix, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    bumped = await session.execute(
        update(ReferenceCounter)
        .where(col(ReferenceCounter.prefix) == prefix, col(ReferenceCounter.year) == year)
        .values(last_value=col(ReferenceCounter.last_value) + 1)
        .returning(col(ReferenceCounter.last_value))
    )
    number = bumped.scalar_one()
    return f"{prefix}-{year}-{number:06d}"


async def create_report(
    session: AsyncSession,
    *,
    reporter: User,
    kind: str,
    form_id: str,
    form_version: int,
    answers: Mapping[str, Any],
    fields: Mapping[str, Any],
    photos: Sequence[PhotoRef],
    local_date: dt.date,
    now: dt.datetime | None = None,
) -> Report:
    """Insert a report and its photos; `fields` fills typed columns, `answers` is kept whole."""
    reference = await next_reference(session, kind, local_date)
    now = now or utcnow()
    report = Report(
        reference=reference,
        kind=kind,
        reporter_id=reporter.id or 0,
        form_id=form_id,
        form_version=form_version,
        answers=dict(answers),
        created_at=now,
        updated_at=now,
        **fields,
    )
    if report.subdistrict_code and report.village_no is not None:
        report.village_code = f"{report.subdistrict_code}{report.village_no:02d}"
    session.add(report)
    await session.flush()
    for position, photo in enumerate(photos):
        session.add(
            ReportPhoto(
                report_id=report.id or 0,
                position=position,
                sha256=photo.sha256,
                path=photo.path,
                content_type=photo.content_type,
                size_bytes=photo.size_bytes,
            )
        )
    return report


async def recent_reports(session: AsyncSession, reporter_id: int, limit: int = 10) -> list[Report]:
    query = (
        select(Report)
        .where(col(Report.reporter_id) == reporter_id)
        .order_by(col(Report.created_at).desc(), col(Report.id).desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def staff_of(session: AsyncSession, role: str, areas: Sequence[str]) -> list[User]:
    """Users who hold staff `role` for any of `areas`, each once (blocked ones too: their
    pushes are skipped and counted). Served by the index on staff_roles (role, area)."""
    holders = select(col(StaffRole.user_id)).where(
        col(StaffRole.role) == role, col(StaffRole.area).in_(list(areas))
    )
    query = select(User).where(col(User.id).in_(holders)).order_by(col(User.id))
    return list((await session.execute(query)).scalars())
