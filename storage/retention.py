"""The retention job's statements (domain.retention): each finds or changes one batch of rows,
found by a keyset on the row id (`after`), so that a sweep reads each table once however large
it is and never holds more than a batch in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import insert_or_skip
from storage.models import DeskSession, OutboxMessage, Report, User
from storage.outbox import EMPTIED, ERASED, UNFINISHED, has_content

# What became of a push that is over: its content is no longer needed to send it.
DELIVERED = ("sent", "skipped", "failed", "cancelled")
ANONYMOUS = "anonymous"  # the platform_user_id of the one row old reports are moved to


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def delivered_before(
    session: AsyncSession, before: dt.datetime, after: int, limit: int
) -> list[int]:
    """Ids (ascending, past `after`) of pushes over before `before` whose content is still
    there."""
    found = await session.execute(
        select(col(OutboxMessage.id))
        .where(
            col(OutboxMessage.id) > after,
            col(OutboxMessage.status).in_(DELIVERED),
            col(OutboxMessage.created_at) < before,
            has_content(),
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    return [int(i) for i in found.scalars() if i is not None]


async def empty(session: AsyncSession, ids: Sequence[int]) -> int:
    """Replace the content of these pushes with `{"emptied": true}` (those still over: one
    an operator sent again meanwhile keeps it)."""
    if not ids:
        return 0
    done = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(ids), col(OutboxMessage.status).in_(DELIVERED), has_content()
        )
        .values(payload=EMPTIED)
    )
    return _count(done)


def _anonymous(platform: str) -> Any:
    return select(col(User.id)).where(
        col(User.platform) == platform, col(User.platform_user_id) == ANONYMOUS
    )


async def find_anonymous(session: AsyncSession, platform: str) -> int | None:
    """The id of the one user row old reports are moved to, if it was made."""
    found = (await session.execute(_anonymous(platform))).scalar_one_or_none()
    return int(found) if found is not None else None


async def anonymous_user(session: AsyncSession, platform: str, now: dt.datetime) -> int:
    """The id of the one user row old reports are moved to, made on first use: on `platform`
    (the erased people's), with no name, inactive, so that nothing is ever sent to it."""
    found = await find_anonymous(session, platform)
    if found is not None:
        return found
    await session.execute(
        insert_or_skip(session, User)
        .values(
            platform=platform,
            platform_user_id=ANONYMOUS,
            active=False,
            reminders_ok=False,
            broadcasts_ok=False,
            join_failures=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"])
    )
    return int((await session.execute(_anonymous(platform))).scalar_one())


@dataclass(frozen=True)
class OldReport:
    id: int
    form_id: str
    answers: dict[str, Any]
    reporter_id: int = 0


async def filed_before(
    session: AsyncSession, before: dt.datetime, anonymous: int | None, after: int, limit: int
) -> list[OldReport]:
    """Reports (ascending by id, past `after`) filed before `before` that still name their
    reporter (not moved to the row `anonymous` yet)."""
    query = (
        select(col(Report.id), col(Report.form_id), col(Report.answers), col(Report.reporter_id))
        .where(col(Report.id) > after, col(Report.created_at) < before)
        .order_by(col(Report.id))
        .limit(limit)
    )
    if anonymous is not None:
        query = query.where(col(Report.reporter_id) != anonymous)
    rows = await session.execute(query)
    return [OldReport(int(i), str(f), dict(a or {}), int(r)) for i, f, a, r in rows.all()]


async def anonymise_reports(
    session: AsyncSession, reports: Sequence[OldReport], anonymous: int
) -> int:
    """Move these reports to the row `anonymous`, each with the answers given (its personal
    values taken out)."""
    if not reports:
        return 0
    await session.execute(
        update(Report),
        [{"id": r.id, "reporter_id": anonymous, "answers": r.answers} for r in reports],
    )
    return len(reports)


async def erase_report_pushes(session: AsyncSession, report_ids: Sequence[int]) -> int:
    """Pushes about these reports (alerts, escalations, notices) lose their content; one not
    sent yet is cancelled. Those already emptied or erased are left as they are."""
    if not report_ids:
        return 0
    status = col(OutboxMessage.status)
    done = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.report_id).in_(report_ids), has_content())
        .values(
            payload=ERASED,
            status=case((status.in_(UNFINISHED), "cancelled"), else_=status),
            claimed_until=None,
            claim_token=None,
        )
    )
    return _count(done)


async def silent_people(
    session: AsyncSession,
    *,
    seen_before: dt.date,
    changed_before: dt.datetime,
    skip_platform: str,
    after: int,
    limit: int,
) -> list[User]:
    """People (ascending by id, past `after`) who last wrote before the day `seen_before` (or,
    for those never seen since the day was kept, whose row last changed before
    `changed_before`), not on `skip_platform` (the erased), and with no desk session used
    since `changed_before`. On PostgreSQL they are locked (one writing this very moment is
    skipped: they are not silent)."""
    desk_use = exists().where(
        col(DeskSession.user_id) == col(User.id), col(DeskSession.seen_at) >= changed_before
    )
    query = (
        select(User)
        .where(
            col(User.id) > after,
            col(User.platform) != skip_platform,
            or_(
                col(User.seen_on) < seen_before,
                and_(col(User.seen_on).is_(None), col(User.updated_at) < changed_before),
            ),
            ~desk_use,
        )
        .order_by(col(User.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=User)
    return list((await session.execute(query)).scalars())
