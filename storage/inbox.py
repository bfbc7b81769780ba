"""The inbox: platform events stored before their webhook is answered, handled from here.

A webhook stores its events (`store`) and only then answers 200. Each event is taken (`take`)
inside the transaction that handles it, so the state change and "this event is done" commit
together: a crash before that commit leaves the event pending, to be handled after the restart;
a redelivery finds it stored or done and is not handled twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import insert_or_skip
from storage.models import InboxEvent

PENDING, DONE, DROPPED, FAILED = "pending", "done", "dropped", "failed"


@dataclass(frozen=True)
class NewEvent:
    """One event as a webhook received it: `status` is pending, or dropped (with a `note`)
    when it is recorded but not to be handled (a user sending faster than allowed)."""

    event_id: str
    sender: str
    payload: dict[str, Any]
    status: str = PENDING
    note: str | None = None
    # The platform's own object as the webhook read it (an event handled straight from its
    # webhook need not be read twice).
    parsed: Any = field(default=None, repr=False, compare=False)
    # Its handling fetches something from the platform first (a photo): not to be handled
    # while the webhook waits for its answer.
    slow: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Fresh:
    """An event handled straight from its webhook, not stored before: the transaction that
    handles it stores it, as done (`take`), so that it commits with what it caused and a
    redelivery finds it handled."""

    platform: str
    event_id: str
    sender: str
    payload: dict[str, Any] = field(repr=False)


# How a handling transaction names its event: a stored row's id, or a fresh event.
Source = int | Fresh


@dataclass(frozen=True)
class Stored:
    """An event as the intake hands it to its channel: an inbox row, or (`fresh`) one that
    its handling transaction stores."""

    id: int
    platform: str
    event_id: str
    sender: str
    payload: dict[str, Any] = field(repr=False)
    received_at: dt.datetime
    status: str = PENDING
    fresh: bool = False
    parsed: Any = field(default=None, repr=False, compare=False)

    @property
    def source(self) -> Source:
        if self.fresh:
            return Fresh(self.platform, self.event_id, self.sender, self.payload)
        return self.id


async def store(
    session: AsyncSession, platform: str, events: Sequence[NewEvent], now: dt.datetime
) -> list[Stored]:
    """Store `events` in one statement; returns the rows that are new, in the order given
    (an event stored before, a redelivery, is left out)."""
    if not events:
        return []
    rows = [
        {
            "platform": platform,
            "event_id": e.event_id,
            "sender": e.sender,
            "payload": e.payload,
            "status": e.status,
            "note": e.note,
            "received_at": now,
            "handled_at": now if e.status != PENDING else None,
        }
        for e in events
    ]
    inserted = await session.execute(
        insert_or_skip(session, InboxEvent)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(col(InboxEvent.id), col(InboxEvent.event_id))
    )
    ids = {str(event_id): int(row_id) for row_id, event_id in inserted.all()}
    return [
        Stored(ids[e.event_id], platform, e.event_id, e.sender, e.payload, now, e.status)
        for e in events
        if e.event_id in ids
    ]


async def take(session: AsyncSession, source: Source, now: dt.datetime) -> bool:
    """Mark a pending event done inside the transaction that handles it (a fresh one: store it
    as done); False when it was handled (or dropped) already. On PostgreSQL a second instance
    taking the same row waits for the first one's commit and then finds it done."""
    if isinstance(source, Fresh):
        return await _store_fresh(session, source, DONE, now)
    inbox_id = source
    taken = await session.execute(
        update(InboxEvent)
        .where(col(InboxEvent.id) == inbox_id, col(InboxEvent.status) == PENDING)
        .values(status=DONE, handled_at=now)
        .returning(col(InboxEvent.id))
    )
    return taken.first() is not None


async def _store_fresh(
    session: AsyncSession, event: Fresh, status: str, now: dt.datetime, note: str | None = None
) -> bool:
    stored = await session.execute(
        insert_or_skip(session, InboxEvent)
        .values(
            platform=event.platform,
            event_id=event.event_id,
            sender=event.sender,
            payload=event.payload,
            status=status,
            note=note,
            received_at=now,
            handled_at=now,
        )
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(col(InboxEvent.id))
    )
    return stored.first() is not None


async def finish(
    session: AsyncSession, source: Source, status: str, now: dt.datetime, note: str | None = None
) -> bool:
    """Record that a pending event will not be handled (failed, or dropped) and why."""
    if isinstance(source, Fresh):
        return await _store_fresh(session, source, status, now, note)
    inbox_id = source
    done = await session.execute(
        update(InboxEvent)
        .where(col(InboxEvent.id) == inbox_id, col(InboxEvent.status) == PENDING)
        .values(status=status, handled_at=now, note=note)
        .returning(col(InboxEvent.id))
    )
    return done.first() is not None


async def pending(
    session: AsyncSession,
    platforms: Collection[str],
    *,
    received_before: dt.datetime,
    limit: int,
    exclude: Collection[int] = (),
) -> list[Stored]:
    """Pending events of `platforms` received before `received_before`, oldest first (so
    each sender's events come in their order), leaving out the ids in `exclude`."""
    query = (
        select(InboxEvent)
        .where(
            col(InboxEvent.status) == PENDING,
            col(InboxEvent.platform).in_(list(platforms)),
            col(InboxEvent.received_at) < received_before,
        )
        .order_by(col(InboxEvent.id))
        .limit(limit + len(exclude))
    )
    found = []
    for row in (await session.execute(query)).scalars():
        if row.id in exclude:
            continue
        found.append(
            Stored(
                row.id or 0, row.platform, row.event_id, row.sender, dict(row.payload),
                row.received_at,
            )
        )  # fmt: skip
        if len(found) >= limit:
            break
    return found


async def prune(
    session: AsyncSession, *, handled_before: dt.datetime, pending_before: dt.datetime,
    now: dt.datetime,
) -> tuple[int, int]:  # fmt: skip
    """Keep the inbox bounded by time: forget events handled (or dropped, or failed) before
    `handled_before`; give up on events still pending since before `pending_before` (marked
    failed, with the reason, and forgotten at the next pruning after `handled_before`).
    Returns (forgotten, given up)."""
    expired = await session.execute(
        update(InboxEvent)
        .where(col(InboxEvent.status) == PENDING, col(InboxEvent.received_at) < pending_before)
        .values(status=FAILED, handled_at=now, note="expired: not handled in time")
    )
    removed = await session.execute(
        delete(InboxEvent).where(
            col(InboxEvent.status) != PENDING, col(InboxEvent.handled_at) < handled_before
        )
    )
    return int(getattr(removed, "rowcount", 0) or 0), int(getattr(expired, "rowcount", 0) or 0)


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many events are in each state."""
    rows = await session.execute(
        select(col(InboxEvent.status), func.count()).group_by(col(InboxEvent.status))
    )
    return {str(status): int(n) for status, n in rows.all()}
