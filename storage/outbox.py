"""The push outbox: rows written with the change that causes them, claimed by dispatchers
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances share the work), and marked with
what became of them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.messages import Outgoing
from storage.models import OutboxMessage, User, utcnow

PUSH_PLATFORMS = ("line", "telegram")  # the console cannot be reached when nobody is typing


async def enqueue(
    session: AsyncSession,
    user: User,
    kind: str,
    messages: Sequence[Outgoing],
    *,
    report_id: int | None = None,
    now: dt.datetime | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Queue `messages` for `user`. A user who blocked the bot gets a row marked skipped, so
    counts show who could not be reached."""
    now = now or utcnow()
    reachable = user.active and user.platform in PUSH_PLATFORMS
    row = OutboxMessage(
        platform=user.platform,
        recipient=user.platform_user_id,
        user_id=user.id,
        kind=kind,
        report_id=report_id,
        payload={"messages": [m.as_json() for m in messages]},
        status="pending" if reachable else "skipped",
        last_error=None
        if reachable
        else (
            "recipient inactive (blocked or unfollowed)"
            if not user.active
            else f"no pushes on {user.platform}"
        ),
        retry_key=str(uuid.uuid4()),
        next_attempt_at=max(now, not_before) if not_before else now,
        created_at=now,
    )
    session.add(row)
    return row


def row_values(
    *,
    platform: str,
    recipient: str,
    user_id: int | None,
    kind: str,
    messages: list[dict[str, Any]],
    now: dt.datetime,
    not_before: dt.datetime | None = None,
    broadcast_id: int | None = None,
    to: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One pending row as plain values, for `insert_rows` (reminders and broadcasts write
    thousands at once). `to` makes a LINE multicast row: one call, up to 500 people."""
    payload: dict[str, Any] = {"messages": messages}
    if to is not None:
        payload["to"] = list(to)
    return {
        "platform": platform,
        "recipient": recipient,
        "user_id": user_id,
        "kind": kind,
        "report_id": None,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "retry_key": str(uuid.uuid4()),
        "next_attempt_at": max(now, not_before) if not_before else now,
        "parts_sent": 0,
        "broadcast_id": broadcast_id,
        "recipient_count": len(to) if to is not None else 1,
        "created_at": now,
    }


async def insert_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write many outbox rows in a few statements."""
    for start in range(0, len(rows), 2000):
        await session.execute(insert(OutboxMessage), list(rows[start : start + 2000]))


async def claim(
    session: AsyncSession,
    platform: str,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
    token: str,
    broadcast_id: int | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows of `platform` (of one broadcast only, when given) for
    sending. Rows another dispatcher holds are skipped; rows whose holder died (lease over)
    are taken back."""
    due = (
        select(col(OutboxMessage.id))
        .where(
            col(OutboxMessage.platform) == platform,
            ((col(OutboxMessage.status) == "pending") & (col(OutboxMessage.next_attempt_at) <= now))
            | ((col(OutboxMessage.status) == "sending") & (col(OutboxMessage.claimed_until) < now)),
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if broadcast_id is not None:
        due = due.where(col(OutboxMessage.broadcast_id) == broadcast_id)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .values(
            status="sending",
            attempts=col(OutboxMessage.attempts) + 1,
            claimed_until=now + lease,
            claim_token=token,
        )
    )
    rows = await session.execute(
        select(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .order_by(col(OutboxMessage.id))
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


def _held(row_id: int, token: str | None) -> Any:
    held = col(OutboxMessage.id) == row_id
    if token is not None:
        held = held & (col(OutboxMessage.claim_token) == token)
    return held


async def renew(session: AsyncSession, row_id: int, token: str, until: dt.datetime) -> bool:
    """Extend our hold on a row before sending it; False when another dispatcher took it back
    (our lease ran out), so we must not send it."""
    held = await session.execute(
        update(OutboxMessage)
        .where(_held(row_id, token), col(OutboxMessage.status) == "sending")
        .values(claimed_until=until)
        .returning(col(OutboxMessage.id))
    )
    return held.first() is not None


async def renew_many(
    session: AsyncSession, row_ids: Sequence[int], token: str, until: dt.datetime
) -> set[int]:
    """Extend our hold on several rows at once; returns the ids we still hold (the others
    were taken back by another dispatcher after our lease ran out: we must not send them)."""
    if not row_ids:
        return set()
    held = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(row_ids),
            col(OutboxMessage.claim_token) == token,
            col(OutboxMessage.status) == "sending",
        )
        .values(claimed_until=until)
        .returning(col(OutboxMessage.id))
    )
    return {int(row_id) for row_id in held.scalars() if row_id is not None}


async def finish_many(
    session: AsyncSession,
    row_ids: Sequence[int],
    status: str,
    *,
    now: dt.datetime,
    token: str,
    error: str | None = None,
) -> None:
    """Record one outcome for several rows we hold (a batch of sends the platform accepted,
    or rows for a channel that is off) in one statement."""
    if not row_ids:
        return
    values: dict[str, Any] = {
        "status": status, "last_error": error, "claimed_until": None, "claim_token": None,
    }  # fmt: skip
    if status == "sent":
        values["sent_at"] = now
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(row_ids), col(OutboxMessage.claim_token) == token)
        .values(**values)
    )


async def part_sent(session: AsyncSession, row_id: int, token: str | None, parts: int) -> None:
    """Record that the platform acknowledged the first `parts` messages of a row."""
    await session.execute(
        update(OutboxMessage).where(_held(row_id, token)).values(parts_sent=parts)
    )


async def finish(
    session: AsyncSession,
    row_id: int,
    status: str,
    *,
    now: dt.datetime,
    error: str | None = None,
    retry_at: dt.datetime | None = None,
    token: str | None = None,
) -> None:
    """Record what became of a row (only if `token` still holds it, when given)."""
    values: dict[str, Any] = {
        "status": status,
        "last_error": error,
        "claimed_until": None,
        "claim_token": None,
    }
    if status == "sent":
        values["sent_at"] = now
    if retry_at is not None:
        values.update(status="pending", next_attempt_at=retry_at)
    await session.execute(update(OutboxMessage).where(_held(row_id, token)).values(**values))


async def counts(session: AsyncSession) -> list[tuple[str, str, str, int]]:
    """(platform, kind, status, count) for every combination that has rows."""
    rows = await session.execute(
        select(
            col(OutboxMessage.platform),
            col(OutboxMessage.kind),
            col(OutboxMessage.status),
            func.count(),
        )
        .group_by(col(OutboxMessage.platform), col(OutboxMessage.kind), col(OutboxMessage.status))
        .order_by(col(OutboxMessage.platform), col(OutboxMessage.kind), col(OutboxMessage.status))
    )
    return [(p, k, s, int(n)) for p, k, s, n in rows.all()]
