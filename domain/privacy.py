"""Personal data (PDPA B.E. 2562): a person's complete copy of what is held about them, and
erasure. Every request is recorded in the register (`storage.models.PrivacyRequest`) with what
was done.

Erasure removes the person's identity and contact details and everything that carries them
(their conversation state and drafts, their platform events, pushes not yet sent, and sent
pushes whose text names them); the reports they filed stay, as anonymous records of a public
task (the report, its place, photos of the place), since officers' work and the district's
statistics rest on them. The user row stays, anonymised, so those reports keep a reporter id
that no longer leads to anyone."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import ERASED as ERASED  # the platform an erased person is listed under
from storage.models import (
    Conversation,
    DataCopy,
    DeskLink,
    DeskSession,
    InboxEvent,
    OutboxMessage,
    PrivacyRequest,
    Report,
    StaffRole,
    User,
)

DEADLINE = dt.timedelta(days=30)  # the PDPA's time to answer a request
_BATCH = 500


async def record(
    session: AsyncSession, user_id: int, kind: str, via: str, now: dt.datetime,
    *, outcome: str = "done", note: str | None = None,
) -> PrivacyRequest:  # fmt: skip
    """A request in the register (done at once unless `outcome` says otherwise)."""
    entry = PrivacyRequest(user_id=user_id, kind=kind, via=via, requested_at=now,
                           done_at=now if outcome != "pending" else None, outcome=outcome,
                           note=note)  # fmt: skip
    session.add(entry)
    await session.flush()
    return entry


def _when(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


async def copy_of(session: AsyncSession, user: User) -> dict[str, Any]:
    """Everything held about `user`, as JSON-ready data: the profile, consent, staff roles,
    the reports they filed (with their references), and what was sent to them."""
    roles = (
        await session.execute(
            select(StaffRole).where(col(StaffRole.user_id) == user.id).order_by(col(StaffRole.id))
        )
    ).scalars()
    reports = (
        await session.execute(
            select(Report).where(col(Report.reporter_id) == user.id).order_by(col(Report.id))
        )
    ).scalars()
    sent = (
        await session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.user_id) == user.id)
            .order_by(col(OutboxMessage.id))
        )
    ).scalars()
    return {
        "profile": {
            "id": user.id,
            "platform": user.platform,
            "platform_user_id": user.platform_user_id,
            "name": user.display_name,
            "phone": user.phone,
            "village_role": user.role,
            "province_code": user.province_code,
            "district_code": user.district_code,
            "subdistrict_code": user.subdistrict_code,
            "village_no": user.village_no,
            "language": user.language,
            "registered_at": _when(user.created_at),
        },
        "consent": {
            "given_at": _when(user.consent_at),
            "notice_version": user.consent_notice_version,
            "refused_at": _when(user.consent_refused_at),
        },
        "staff_roles": [{"role": r.role, "area": r.area} for r in roles],
        "reports": [
            {
                "reference": r.reference,
                "kind": r.kind,
                "status": r.status,
                "filed_at": _when(r.created_at),
                "answers": _readable(r.answers or {}),
            }
            for r in reports
        ],
        "messages_sent_to_you": [
            {
                "kind": m.kind,
                "status": m.status,
                "queued_at": _when(m.created_at),
                # What they read: the texts, not the platform's reply token or file paths.
                "texts": [
                    str(one.get("text") or "")
                    for one in (m.payload or {}).get("messages", [])
                    if isinstance(one, dict)
                ],
                "content_removed": "messages" not in (m.payload or {}),
            }
            for m in sent
        ],
    }


def _readable(answers: dict[str, Any]) -> dict[str, Any]:
    """A report's answers as the person gave them; photos by their number (where the server
    keeps the files is not theirs to need)."""
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(value, list) and any(isinstance(v, dict) and "sha256" in v for v in value):
            out[key] = {"photos": len(value)}
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Erased:
    """What an erasure did."""

    reports_kept: int
    messages_emptied: int
    events_deleted: int


def _mentions(payload: Any, words: list[str]) -> bool:
    text = json.dumps(payload, ensure_ascii=False)
    return any(word in text for word in words)


async def erase(
    session: AsyncSession, user: User, now: dt.datetime, via: str, *, why: str | None = None
) -> Erased:
    """Remove `user`'s identity and contact details, and what carries them; keep their
    reports as anonymous records. Recorded in the register."""
    user_id = user.id or 0
    words = [w for w in (user.display_name, user.phone, user.platform_user_id) if w]
    await session.execute(delete(Conversation).where(col(Conversation.user_id) == user_id))
    await session.execute(delete(StaffRole).where(col(StaffRole.user_id) == user_id))
    await session.execute(delete(DeskSession).where(col(DeskSession.user_id) == user_id))
    await session.execute(delete(DeskLink).where(col(DeskLink.user_id) == user_id))
    await session.execute(delete(DataCopy).where(col(DataCopy.user_id) == user_id))
    # Their platform events (what they typed: their name, their phone).
    gone = await session.execute(
        delete(InboxEvent).where(
            col(InboxEvent.platform) == user.platform,
            col(InboxEvent.sender) == user.platform_user_id,
        )
    )
    events = int(getattr(gone, "rowcount", 0) or 0)
    # Pushes to them not sent yet go; every push to them, about their reports (an alert to an
    # officer carries the reporter's name and phone, as they were then), or whose text names
    # them keeps its row and loses its content.
    filed = set(
        (
            await session.execute(select(col(Report.id)).where(col(Report.reporter_id) == user_id))
        ).scalars()
    )
    emptied = 0
    last = 0
    while True:
        rows = list(
            (
                await session.execute(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.id) > last)
                    .order_by(col(OutboxMessage.id))
                    .limit(_BATCH)
                )
            ).scalars()
        )
        if not rows:
            break
        for row in rows:
            theirs = row.user_id == user_id or (
                row.platform == user.platform and row.recipient == user.platform_user_id
            )
            many = row.payload.get("to") if isinstance(row.payload, dict) else None
            if not theirs and isinstance(many, list) and user.platform_user_id in many:
                # A multicast to many (a broadcast): only this person leaves its list.
                row.payload = {**row.payload, "to": [t for t in many if t != user.platform_user_id]}
                row.recipient_count = max(0, row.recipient_count - 1)
                emptied += 1
                continue
            about = row.report_id is not None and row.report_id in filed
            if not (theirs or about or _mentions(row.payload, words)):
                continue
            if row.status in ("pending", "sending"):
                # Not sent yet and naming them: it goes unsent (an officer still finds the
                # case in their list, and escalation speaks of it without them).
                row.status = "cancelled"
            row.payload = {"erased": True}
            row.recipient = ERASED if theirs else row.recipient
            row.last_error = None
            emptied += 1
        last = rows[-1].id or last
    kept = len(filed)
    user.display_name = None
    user.phone = None
    user.platform = ERASED
    user.platform_user_id = f"{ERASED}-{secrets.token_hex(8)}"
    user.role = None
    user.province_code = user.district_code = user.subdistrict_code = None
    user.village_no = None
    user.language = None
    user.consent_at = None
    user.consent_notice_version = None
    user.active = False
    user.updated_at = now
    done = f"reports kept anonymous: {kept}; messages emptied: {emptied}"
    await record(session, user_id, "erase", via, now, note=f"{why}; {done}" if why else done)
    return Erased(kept, emptied, events)


async def requests(session: AsyncSession) -> list[PrivacyRequest]:
    """The register, newest first."""
    found = await session.execute(
        select(PrivacyRequest).order_by(col(PrivacyRequest.requested_at).desc())
    )
    return list(found.scalars())
