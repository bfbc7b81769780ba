"""The push outbox: rows written with the change that causes them, claimed by dispatchers
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances share the work), and marked with
what became of them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from handlers.messages import Outgoing
from storage.models import ERASED as ERASED_PLATFORM
from storage.models import OutboxMessage, User, utcnow

# Kinds of rows. Replies answer what a user just sent; they go out on a lane of their own (never
# behind a broadcast) and in order per chat. Alerts and escalations are retried until delivered.
REPLY = "reply"
PRIVATE_ONLY = "private_only"  # "talk to me one to one", told once to a group chat
ALERT_KINDS = ("alert", "escalation")
LANES = ("reply", "push")
UNFINISHED = ("pending", "sending")
# A reply is sent within seconds of its claim; a short lease lets another instance (or this one
# after a restart) send what a dead one held without a long wait.
REPLY_LEASE = dt.timedelta(seconds=15)


# What a row's payload becomes when its content must go: after the retention period
# (domain.retention), or with the person it names (domain.privacy). Such a row is never sent.
EMPTIED: dict[str, Any] = {"emptied": True}
ERASED: dict[str, Any] = {"erased": True}


def has_content() -> Any:
    """Rows whose payload still holds what to send (neither emptied nor erased)."""
    payload = col(OutboxMessage.payload)
    return payload["emptied"].as_string().is_(None) & payload["erased"].as_string().is_(None)


# Set in a session's `info` when it queued a push: its dispatcher is then to look at once.
PUSHED = "fieldbot_queued_pushes"


def pushed(session: AsyncSession) -> bool:
    """Whether this session queued a push (a row on the push lane)."""
    return bool(session.info.get(PUSHED))


@dataclass(frozen=True)
class Claimed:
    """A row as a dispatcher sends it: what it needs of the row, detached from any session
    (written by storage.hot, or claimed here)."""

    id: int
    recipient: str
    kind: str
    attempts: int
    retry_key: str
    parts_sent: int
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: OutboxMessage) -> Claimed:
        return cls(row.id or 0, row.recipient, row.kind, row.attempts, row.retry_key,
                   row.parts_sent, row.payload)  # fmt: skip


def lane_of(kind: str) -> str:
    return "reply" if kind in (REPLY, PRIVATE_ONLY) else "push"


# A payload key: once the row is sent (or has failed for good), its recipient and content are
# forgotten (`forget`). The reply to someone who just erased their data carries it.
FORGET = "forget"
# A payload key: once the row is sent (or has failed for good), its content is emptied (a
# reply holding a one-time link).
EPHEMERAL = "ephemeral"


async def empty_content(session: AsyncSession, row_id: int) -> None:
    """Row `row_id` keeps its recipient, kind and status, not its content."""
    await session.execute(
        update(OutboxMessage).where(col(OutboxMessage.id) == row_id).values(payload=EMPTIED)
    )


async def forget(session: AsyncSession, row_id: int) -> None:
    """Forget row `row_id`'s recipient and content (its kind, status and times stay)."""
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id)
        .values(recipient=ERASED_PLATFORM, payload=ERASED, last_error=None)
    )


async def enqueue(
    session: AsyncSession,
    user: User,
    kind: str,
    messages: Sequence[Outgoing],
    *,
    report_id: int | None = None,
    now: dt.datetime | None = None,
    not_before: dt.datetime | None = None,
    extra: Mapping[str, Any] | None = None,
    claim: tuple[str, dt.timedelta] | None = None,
) -> OutboxMessage:
    """Queue `messages` for `user`. A user who blocked the bot gets a row marked skipped, so
    counts show who could not be reached. `extra` goes into the payload for the channel (a
    reply's reply token). With `claim` (token, lease) the row is written already claimed by
    that token, for its writer to send at once. Whether the user's platform can take the row
    is the dispatcher's question (it knows the channels), not the database's."""
    unreachable = None
    if not user.active:
        unreachable = "recipient inactive (blocked or unfollowed)"
    row = await enqueue_to(
        session, user.platform, user.platform_user_id, kind, messages, user_id=user.id,
        report_id=report_id, now=now, not_before=not_before, extra=extra, skip=unreachable,
    )  # fmt: skip
    if claim is not None and unreachable is None:
        token, lease = claim
        row.status, row.attempts, row.claim_token = "sending", 1, token
        row.claimed_until = row.created_at + lease
    return row


async def enqueue_to(
    session: AsyncSession,
    platform: str,
    recipient: str,
    kind: str,
    messages: Sequence[Outgoing],
    *,
    user_id: int | None = None,
    report_id: int | None = None,
    now: dt.datetime | None = None,
    not_before: dt.datetime | None = None,
    extra: Mapping[str, Any] | None = None,
    skip: str | None = None,
) -> OutboxMessage:
    """Queue `messages` for a chat, which need not be a user (a group); with `skip` (the
    reason), the row is recorded as skipped instead."""
    now = now or utcnow()
    if lane_of(kind) == "push" and not skip:
        session.info[PUSHED] = True
    row = OutboxMessage(
        platform=platform,
        recipient=recipient,
        user_id=user_id,
        kind=kind,
        report_id=report_id,
        payload={**(extra or {}), "messages": [m.as_json() for m in messages]},
        status="skipped" if skip else "pending",
        last_error=skip,
        retry_key=str(uuid.uuid4()),
        next_attempt_at=max(now, not_before) if not_before else now,
        created_at=now,
    )
    session.add(row)
    return row


async def reply_waiting(session: AsyncSession, platform: str, recipient: str) -> bool:
    """Whether a reply to this chat is still unsent (being sent, or waiting for its retry):
    the next one must then go after it, through the dispatcher."""
    found = await session.execute(waiting_reply(platform, recipient))
    return found.first() is not None


def waiting_reply(platform: str, recipient: str) -> Select[Any]:
    """The query of `reply_waiting`."""
    return (
        select(col(OutboxMessage.id))
        .where(
            col(OutboxMessage.platform) == platform,
            col(OutboxMessage.recipient) == recipient,
            col(OutboxMessage.status).in_(UNFINISHED),
            unindexed(OutboxMessage.kind) == REPLY,
        )
        .limit(1)
    )


def unindexed(column: Any) -> Any:
    """`column` in a form no index applies to. Without statistics SQLite prefers the index on
    `kind` (one equality) to the one on (platform, recipient, status) and then reads every
    reply ever sent; `kind` is to be a filter on the few rows the better index finds."""
    return func.coalesce(col(column), "")


async def has_kind(session: AsyncSession, platform: str, recipient: str, kind: str) -> bool:
    """Whether a row of `kind` was ever queued for this chat."""
    found = await session.execute(
        select(col(OutboxMessage.id))
        .where(
            col(OutboxMessage.platform) == platform,
            col(OutboxMessage.recipient) == recipient,
            col(OutboxMessage.kind) == kind,
        )
        .limit(1)
    )
    return found.first() is not None


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
    thousands at once). `to` makes a multicast row: one call reaches them all."""
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
    if rows:
        session.info[PUSHED] = True
    for start in range(0, len(rows), 2000):
        await session.execute(insert(OutboxMessage), list(rows[start : start + 2000]))


_EARLIER = aliased(OutboxMessage)  # made once: building an alias costs milliseconds


def _due(
    platform: str, now: dt.datetime, broadcast_id: int | None, lane: str, recipient: str | None
) -> Select[Any]:
    """The ids of the rows `claim` may take, oldest first."""
    kinds = unindexed(OutboxMessage.kind).in_([REPLY, PRIVATE_ONLY])
    due = (
        select(col(OutboxMessage.id))
        .where(
            col(OutboxMessage.platform) == platform,
            # Only unfinished rows, through the index on (platform, status, …): the rows sent
            # long ago are most of the table, and a look must not read them all.
            col(OutboxMessage.status).in_(UNFINISHED),
            kinds if lane == "reply" else ~kinds,
            ((col(OutboxMessage.status) == "pending") & (col(OutboxMessage.next_attempt_at) <= now))
            | ((col(OutboxMessage.status) == "sending") & (col(OutboxMessage.claimed_until) < now)),
        )
        .order_by(col(OutboxMessage.id))
    )
    if lane == "reply":
        earlier = _EARLIER
        due = due.where(
            ~exists().where(
                col(earlier.platform) == col(OutboxMessage.platform),
                col(earlier.recipient) == col(OutboxMessage.recipient),
                col(earlier.status).in_(UNFINISHED),
                unindexed(earlier.kind) == REPLY,
                col(earlier.id) < col(OutboxMessage.id),
                or_(
                    and_(col(earlier.status) == "sending", col(earlier.claimed_until) >= now),
                    and_(col(earlier.status) == "pending", col(earlier.next_attempt_at) > now),
                ),
            )
        )
    if broadcast_id is not None:
        due = due.where(col(OutboxMessage.broadcast_id) == broadcast_id)
    if recipient is not None:
        due = due.where(col(OutboxMessage.recipient) == recipient)
    return due


async def anything_due(
    session: AsyncSession,
    platform: str,
    now: dt.datetime,
    broadcast_id: int | None = None,
    lane: str = "push",
    recipient: str | None = None,
) -> bool:
    """Whether `claim` would find a row (a read only: no lock taken)."""
    found = await session.execute(_due(platform, now, broadcast_id, lane, recipient).limit(1))
    return found.first() is not None


async def claim(
    session: AsyncSession,
    platform: str,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
    token: str,
    broadcast_id: int | None = None,
    lane: str = "push",
    recipient: str | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows of `platform` on `lane` (of one broadcast only, or for one
    chat only, when given) for sending. Rows another dispatcher holds are skipped; rows whose
    holder died (lease over) are taken back. A reply is not taken while an earlier reply to the
    same chat is being sent or waits for its retry: a chat's answers arrive in the order they
    were given."""
    due = _due(platform, now, broadcast_id, lane, recipient).limit(limit)
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


async def listing(
    session: AsyncSession, statuses: Sequence[str], limit: int
) -> list[OutboxMessage]:
    """The latest rows in `statuses`, newest first: what an operator picks an id from."""
    rows = await session.execute(
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_(statuses))
        .order_by(col(OutboxMessage.id).desc())
        .limit(limit)
    )
    return list(rows.scalars())


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


async def requeue(
    session: AsyncSession, now: dt.datetime, *, row_id: int | None = None, failed: bool = False
) -> int:
    """An operator's "try again": the row `row_id` (unless sent, or being sent by a
    dispatcher whose lease still runs: taking it from under it would send it twice; a
    cancelled one too), or every failed row (not those an operator cancelled), is due now with
    its attempts counted afresh. A row whose content was emptied or erased has nothing left to
    send and stays as it is. Returns how many rows."""
    query = update(OutboxMessage).where(col(OutboxMessage.status) == "failed")
    if row_id is not None:
        query = update(OutboxMessage).where(
            col(OutboxMessage.id) == row_id,
            col(OutboxMessage.status) != "sent",
            or_(
                col(OutboxMessage.status) != "sending",
                col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now,
            ),
        )
    elif not failed:
        return 0
    values = {"status": "pending", "attempts": 0, "next_attempt_at": now,
              "claimed_until": None, "claim_token": None}  # fmt: skip
    done = await session.execute(query.where(has_content()).values(**values))
    return int(getattr(done, "rowcount", 0) or 0)


async def cancel(session: AsyncSession, row_id: int, now: dt.datetime) -> bool:
    """An operator's "stop trying": a row not yet sent is cancelled."""
    done = await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status).in_(
            ("pending", "sending", "failed")))
        .values(status="cancelled", claimed_until=None, claim_token=None,
                last_error="cancelled by an operator")
        .returning(col(OutboxMessage.id))
    )  # fmt: skip
    return done.first() is not None


async def oldest_undelivered(
    session: AsyncSession, platforms: Sequence[str], kinds: Sequence[str] = ALERT_KINDS
) -> OutboxMessage | None:
    """The oldest row of `kinds` to one of `platforms` (those the server delivers: a console
    user's rows wait for their own chat) not delivered yet (pending, being sent, or failed)."""
    found = await session.execute(
        select(OutboxMessage)
        .where(
            col(OutboxMessage.kind).in_(list(kinds)),
            col(OutboxMessage.platform).in_(list(platforms)),
            col(OutboxMessage.status).in_((*UNFINISHED, "failed")),
        )
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        .limit(1)
    )
    return found.scalars().first()


async def prune_replies(session: AsyncSession, before: dt.datetime) -> int:
    """Forget replies delivered (or skipped) before `before`: they repeat the conversation,
    which is kept in the reports themselves, not in a copy of every answer."""
    from sqlalchemy import delete

    done = await session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.kind) == REPLY,
            col(OutboxMessage.status).in_(("sent", "skipped", "cancelled")),
            col(OutboxMessage.created_at) < before,
        )
    )
    return int(getattr(done, "rowcount", 0) or 0)
