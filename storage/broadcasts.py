"""Broadcasts: who is in an audience (roles in an area), who may address it, and the outbox
rows that carry one: one per person, or on a platform that multicasts, one per call's worth of
people (the edge says which platforms and how many)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.vocab import NATIONAL, REPORTER_ROLES, STAFF_ROLES
from storage import outbox
from storage.models import Broadcast, OutboxMessage, StaffRole, User

ROLES = ("reporter", *REPORTER_ROLES, *STAFF_ROLES)  # "reporter": every village role


def audience(roles: Sequence[str], area: str) -> ColumnElement[bool]:
    """Everyone of `roles` in `area` (TH: the whole country), blocked or not, but for those
    who turned broadcasts off (ข้อมูลของฉัน)."""
    terms: list[ColumnElement[bool]] = []
    village_roles = [r for r in roles if r in REPORTER_ROLES]
    if "reporter" in roles or village_roles:
        where: ColumnElement[bool] = (col(User.role).is_not(None) if "reporter" in roles
                 else col(User.role).in_(village_roles))  # fmt: skip
        where = where & col(User.consent_at).is_not(None)
        if area != NATIONAL:
            column = {2: User.province_code, 4: User.district_code, 6: User.subdistrict_code}
            where = where & (col(column[len(area)]) == area)
        terms.append(where)
    staff_roles = [r for r in roles if r in STAFF_ROLES]
    if staff_roles:
        # Staff who hold one of `roles` for `area` or a part of it (an officer of 5001 is in a
        # broadcast to province 50; the coordinator of 50 is not in one to district 5001).
        holds = select(col(StaffRole.id)).where(
            col(StaffRole.user_id) == col(User.id), col(StaffRole.role).in_(staff_roles)
        )
        if area != NATIONAL:
            holds = holds.where(col(StaffRole.area).startswith(area))
        terms.append(exists(holds))
    return (or_(*terms) & col(User.broadcasts_ok)) if terms else false()


@dataclass(frozen=True)
class Reach:
    """People of an audience per platform: those who can be reached, and those who blocked."""

    reachable: dict[str, int]
    blocked: int

    @property
    def total(self) -> int:
        return sum(self.reachable.values())


async def reach(session: AsyncSession, roles: Sequence[str], area: str) -> Reach:
    query = (
        select(col(User.platform), col(User.active), func.count())
        .where(audience(roles, area))
        .group_by(col(User.platform), col(User.active))
    )
    reachable: dict[str, int] = {}
    blocked = 0
    for platform, active, count in (await session.execute(query)).all():
        if active:
            reachable[platform] = int(count)
        else:
            blocked += int(count)
    return Reach(reachable, blocked)


async def queue(
    session: AsyncSession,
    broadcast: Broadcast,
    messages: list[dict[str, Any]],
    now: dt.datetime,
    not_before: dt.datetime,
    multicast: Mapping[str, int] | None = None,
) -> Reach:
    """Write the broadcast's outbox rows (people who blocked the bot are counted, not sent
    to) and mark it queued. On a platform in `multicast` (its name: people per call), one row
    reaches that many people; elsewhere each person has a row."""
    found = await session.execute(
        select(col(User.id), col(User.platform), col(User.platform_user_id), col(User.active))
        .where(audience(broadcast.roles, broadcast.area))
        .order_by(col(User.id))
    )
    rows: list[dict[str, Any]] = []
    many: dict[str, list[str]] = {platform: [] for platform in multicast or {}}
    reachable: dict[str, int] = {}
    blocked = 0
    common: dict[str, Any] = {"kind": "broadcast", "messages": messages, "now": now,
                              "not_before": not_before, "broadcast_id": broadcast.id}  # fmt: skip
    for user_id, platform, platform_user_id, active in found.all():
        if not active:
            blocked += 1
            continue
        reachable[platform] = reachable.get(platform, 0) + 1
        if platform in many:
            many[platform].append(platform_user_id)
        else:
            rows.append(outbox.row_values(platform=platform, recipient=platform_user_id,
                                          user_id=user_id, **common))  # fmt: skip
    for platform, people in many.items():
        size = (multicast or {})[platform]
        for start in range(0, len(people), size):
            recipient = f"multicast:{broadcast.id}:{start // size}"
            rows.append(outbox.row_values(platform=platform, recipient=recipient, user_id=None,
                                          to=people[start : start + size], **common))  # fmt: skip
    await outbox.insert_rows(session, rows)
    broadcast.status = "queued"
    broadcast.queued_at = now
    broadcast.recipients = sum(reachable.values())
    broadcast.blocked = blocked
    return Reach(reachable, blocked)


async def due(session: AsyncSession, now: dt.datetime) -> list[Broadcast]:
    """Scheduled broadcasts whose time has come (another instance's are skipped)."""
    query = (
        select(Broadcast)
        .where(col(Broadcast.status) == "scheduled", col(Broadcast.send_at) <= now)
        .order_by(col(Broadcast.id))
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class Progress:
    broadcast: Broadcast
    sent: int
    pending: int
    failed: int
    blocked: int  # blocked before sending, and found blocked while sending

    @property
    def done(self) -> bool:
        return self.broadcast.status == "queued" and self.pending == 0


async def progress(session: AsyncSession, broadcast: Broadcast) -> Progress:
    """People reached so far, waiting, failed and blocked, counted by the database."""
    query = (
        select(col(OutboxMessage.status), func.sum(col(OutboxMessage.recipient_count)))
        .where(col(OutboxMessage.broadcast_id) == broadcast.id)
        .group_by(col(OutboxMessage.status))
    )
    by_status = {status: int(n) for status, n in (await session.execute(query)).all()}
    return Progress(
        broadcast,
        sent=by_status.get("sent", 0),
        pending=by_status.get("pending", 0) + by_status.get("sending", 0),
        failed=by_status.get("failed", 0),
        blocked=broadcast.blocked + by_status.get("skipped", 0),
    )


async def recent(
    session: AsyncSession, visible: ColumnElement[bool] | None, limit: int = 5
) -> list[Broadcast]:
    """The latest broadcasts among `visible` (domain.policy.visible_broadcasts; all, for the
    command line's None)."""
    query = select(Broadcast).where(col(Broadcast.status) != "draft")
    if visible is not None:
        query = query.where(visible)
    query = query.order_by(col(Broadcast.id).desc()).limit(limit)
    return list((await session.execute(query)).scalars())
