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
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers import vocab
from handlers.messages import Outgoing
from handlers.state import Env
from handlers.thai import normalize_digits
from storage import outbox
from storage.models import ERASED as ERASED  # the platform an erased person is listed under
from storage.models import (
    CaseEvent,
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
    """Everything held about `user`, as JSON-ready data: the profile, consent, the optional
    uses, staff roles, a form in progress, the reports they filed (with their references and
    case histories), what was sent to them, and their requests in the register."""
    roles = (
        await session.execute(
            select(StaffRole).where(col(StaffRole.user_id) == user.id).order_by(col(StaffRole.id))
        )
    ).scalars()
    reports = list(
        (
            await session.execute(
                select(Report).where(col(Report.reporter_id) == user.id).order_by(col(Report.id))
            )
        ).scalars()
    )
    sent = (
        await session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.user_id) == user.id)
            .order_by(col(OutboxMessage.id))
        )
    ).scalars()
    history: dict[int, list[dict[str, Any]]] = {}
    if reports:
        events = await session.execute(
            select(CaseEvent)
            .where(col(CaseEvent.report_id).in_([r.id for r in reports]))
            .order_by(col(CaseEvent.id))
        )
        for event in events.scalars():
            history.setdefault(event.report_id, []).append(
                {"status": event.to_status, "at": _when(event.at), "note": event.note}
            )
    draft = await session.get(Conversation, user.id)
    asked = await session.execute(
        select(PrivacyRequest)
        .where(col(PrivacyRequest.user_id) == user.id)
        .order_by(col(PrivacyRequest.id))
    )
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
        "optional_uses": {"reminders": user.reminders_ok, "broadcasts": user.broadcasts_ok},
        "last_wrote_on": user.seen_on.isoformat() if user.seen_on else None,
        "staff_roles": [{"role": r.role, "area": r.area} for r in roles],
        "form_in_progress": (
            {"form": draft.form_id, "answers": _readable(draft.answers or {})}
            if draft is not None
            else None
        ),
        "reports": [
            {
                "reference": r.reference,
                "kind": r.kind,
                "status": r.status,
                "filed_at": _when(r.created_at),
                "answers": _readable(r.answers or {}),
                "case_history": history.get(r.id or 0, []),
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
        "your_requests": [
            {"kind": q.kind, "via": q.via, "at": _when(q.requested_at), "outcome": q.outcome}
            for q in asked.scalars()
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


# What stands where a person's name or phone was written: the catalog's `privacy.removed` in
# the default language (stored text is read in both), this when no sentences are at hand.
REMOVED = "[ลบแล้ว]"


def removed_mark(env: Env | None) -> str:
    return env.i18n.t(env.default_language, "privacy.removed") if env is not None else REMOVED


_SEPARATOR = r"[\s\-.()]{0,2}"
Mark = tuple[re.Pattern[str], str]  # what to find, and what to write instead


@dataclass(frozen=True)
class Traces:
    """How a person's name and phone may be written in free text, and what to write instead.
    `own` is for what is about them (their reports, case notes, the pushes about those);
    `elsewhere` for the rest (a case card shown to an officer). Both find the phone however
    it is written (0812345678, 081-234-5678, +66 81 234 5678, Thai digits) and the lines the
    bot itself wrote with the name ("ผู้แจ้ง: น้ำ"). The full name is found only where it
    cannot be an ordinary word: two words or more, or six letters ("น้ำ" is a name and water,
    "ฝน" a name and rain): a short name typed into a text cannot be told apart, and stays.
    `own` also finds each part of a full name of five letters or more ("นายสมชาย")."""

    own: tuple[Mark, ...]
    elsewhere: tuple[Mark, ...]


def _digit(d: str) -> str:
    return f"[{d}{chr(0x0E50 + int(d))}]"  # Arabic or Thai


def traces(
    name: str | None,
    phone: str | None,
    *,
    lines: tuple[tuple[str, str], ...] = (),
    name_as: str | None = None,
    phone_as: str | None = None,
    parts: bool = True,
    removed: str = REMOVED,
) -> Traces:
    """The traces of `name` and `phone`; `lines` are whole lines the bot wrote with them, each
    with what to write instead. A correction writes the new name and phone (`name_as`,
    `phone_as`) where the old ones were, and leaves the parts of a name alone; the rest is
    replaced by `removed`."""
    name_as = removed if name_as is None else name_as
    phone_as = removed if phone_as is None else phone_as
    both: list[Mark] = []
    digits = re.sub(r"\D", "", normalize_digits(phone or ""))
    if len(digits) >= 9:
        rest = digits[1:] if digits.startswith("0") else digits
        start = r"\(?(?:\+?66[\s\-]?|[0๐])" if digits.startswith("0") else ""
        number = r"(?<![\d๐-๙])" + start + _SEPARATOR.join(_digit(d) for d in rest)
        both.append((re.compile(number + r"(?![\d๐-๙])"), phone_as))
    both += [
        (re.compile(re.escape(line) + r"(?=\n|$)", re.M), instead)
        for line, instead in lines
        if line
    ]
    if name and name.strip():
        # Where the bot itself writes a person's name, whatever its length: a case history's
        # "· name" (before " — note" or the line's end) and "taken by name" (case.taken).
        escaped = re.escape(name.strip())
        both += [
            (re.compile(r"(?<=· )" + escaped + r"(?= — |\n|$)", re.M), name_as),
            (re.compile(r"(?<=โดย )" + escaped + r"(?= \(|\n|$)", re.M), name_as),
            (re.compile(r"(?<=by )" + escaped + r"(?= \(|\n|$)", re.M), name_as),
        ]
    words = (name or "").split()
    own_only: list[Mark] = []
    if words and (len(words) > 1 or len(words[0]) >= 6):
        both.append((re.compile(r"\s*".join(re.escape(w) for w in words)), name_as))
    if parts and len(words) > 1:
        own_only = [(re.compile(re.escape(w)), removed) for w in words if len(w) >= 5]
    return Traces(tuple(both + own_only), tuple(both))


def scrub(value: Any, marks: tuple[Mark, ...]) -> tuple[Any, bool]:
    """`value` (text, or JSON-like data) with every mark found in its texts replaced, and
    whether anything was."""
    if not marks:
        return value, False
    if isinstance(value, str):
        new = value
        for pattern, instead in marks:
            new = pattern.sub(instead.replace("\\", "\\\\"), new)  # (written as it is)
        return new, new != value
    if isinstance(value, list):
        items = [scrub(v, marks) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if isinstance(value, dict):
        pairs = {k: scrub(v, marks) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    return value, False


def reporter_lines(
    env: Env | None, name: str | None, instead: str | None
) -> tuple[tuple[str, str], ...]:
    """The line an alert or a case card gave the reporter by name, in every language, with
    the line to write instead (`instead`: the new name; None: that their data is gone)."""
    if env is None or not name:
        return ()
    found = []
    for lang in env.i18n.catalogs:
        line = env.i18n.t(lang, "alert.reporter", name=name)
        new = (env.i18n.t(lang, "alert.reporter", name=instead) if instead
               else env.i18n.t(lang, "case.reporter_withdrew"))  # fmt: skip
        found.append((line, new))
    return tuple(found)


async def scrub_reports(session: AsyncSession, report_ids: list[int], found: Traces) -> int:
    """Take the person's name and phone out of what was typed into these reports (their
    descriptions and answers) and into the notes of their case histories; returns how many
    texts changed."""
    changed = 0
    for start in range(0, len(report_ids), _BATCH):
        chunk = report_ids[start : start + _BATCH]
        reports = (await session.execute(select(Report).where(col(Report.id).in_(chunk)))).scalars()
        for report in reports:
            description, said = scrub(report.description, found.own)
            answers, typed = scrub(report.answers or {}, found.own)
            if said or typed:
                report.description, report.answers = description, answers
                changed += 1
        events = (
            await session.execute(select(CaseEvent).where(col(CaseEvent.report_id).in_(chunk)))
        ).scalars()
        for event in events:
            note, noted = scrub(event.note, found.own)
            if noted:
                event.note = note
                changed += 1
    return changed


async def _open_cases(session: AsyncSession, user_id: int) -> list[Report]:
    """The person's problems still open with an officer working them."""
    found = await session.execute(
        select(Report).where(
            col(Report.reporter_id) == user_id,
            col(Report.kind) == vocab.PROBLEM,
            col(Report.status).in_(vocab.OPEN_STATUSES),
            col(Report.handled_by_id).is_not(None),
        )
    )
    return list(found.scalars())


async def _tell_officers(session: AsyncSession, env: Env, reports: list[Report]) -> None:
    """The officer working each of `reports` hears that its reporter withdrew."""
    for report in reports:
        officer = await session.get(User, report.handled_by_id)
        if officer is None or officer.platform == ERASED:
            continue
        lang = officer.language or env.default_language
        notice = Outgoing(
            env.i18n.t(lang, "case.reporter_withdrew_notice", reference=report.reference)
        )
        await outbox.enqueue(session, officer, "status", [notice], report_id=report.id, now=env.now)


async def _filed(session: AsyncSession, user_id: int) -> set[int]:
    found = await session.execute(select(col(Report.id)).where(col(Report.reporter_id) == user_id))
    return {i for i in found.scalars() if i is not None}


async def _clean_outbox(
    session: AsyncSession, user: User, found: Traces, filed: set[int], *, erasing: bool
) -> int:
    """Go through every push: those to `user` lose their content when `erasing` (and do not
    go, if not sent yet), else the traces; those to others keep their work without the
    traces (an alert about one of `filed`, a case card shown to an officer). Returns how many
    rows changed."""
    user_id = user.id or 0
    changed_rows = 0
    if erasing:  # every push to them, whatever it holds: no trace of their chat is left
        theirs_clause = (col(OutboxMessage.user_id) == user_id) | (
            (col(OutboxMessage.platform) == user.platform)
            & (col(OutboxMessage.recipient) == user.platform_user_id)
        )
        await session.execute(
            update(OutboxMessage)
            .where(theirs_clause, col(OutboxMessage.status).in_(("pending", "sending")))
            .values(status="cancelled")
        )
        done = await session.execute(
            update(OutboxMessage)
            .where(theirs_clause)
            .values(payload={"erased": True}, recipient=ERASED, last_error=None)
        )
        changed_rows += int(getattr(done, "rowcount", 0) or 0)
    last = 0
    while True:
        rows = list(
            (
                await session.execute(
                    select(OutboxMessage)
                    # Rows emptied (retention) or erased hold nothing to take out.
                    .where(col(OutboxMessage.id) > last, outbox.has_content())
                    .order_by(col(OutboxMessage.id))
                    .limit(_BATCH)
                )
            ).scalars()
        )
        if not rows:
            return changed_rows
        for row in rows:
            theirs = row.user_id == user_id or (
                row.platform == user.platform and row.recipient == user.platform_user_id
            )
            many = row.payload.get("to") if isinstance(row.payload, dict) else None
            if erasing and not theirs and isinstance(many, list) and user.platform_user_id in many:
                # A multicast to many (a broadcast): only this person leaves its list.
                left = [t for t in many if t != user.platform_user_id]
                row.payload = {**row.payload, "to": left} if left else {"erased": True}
                row.recipient_count = max(0, row.recipient_count - 1)
                if not left and row.status in ("pending", "sending"):
                    row.status = "cancelled"  # nobody left to send it to
                changed_rows += 1
                continue
            about = theirs or (row.report_id is not None and row.report_id in filed)
            payload, changed = scrub(row.payload, found.own if about else found.elsewhere)
            if changed:
                row.payload = payload
                changed_rows += 1
        last = rows[-1].id or last


async def _scrub_others(session: AsyncSession, user_id: int, found: Traces) -> int:
    """Other people's platform events and forms in progress that quote the person (an
    officer's typed note with the reporter's phone)."""
    changed = 0
    for model, fields in ((InboxEvent, ("payload",)), (Conversation, ("answers", "context"))):
        key = InboxEvent.id if model is InboxEvent else Conversation.user_id
        last = -1
        while True:
            rows = list(
                (
                    await session.execute(
                        select(model).where(col(key) > last).order_by(col(key)).limit(_BATCH)
                    )
                ).scalars()
            )
            if not rows:
                break
            for row in rows:
                if model is Conversation and getattr(row, "user_id", None) == user_id:
                    continue
                for field in fields:
                    value, hit = scrub(getattr(row, field), found.elsewhere)
                    if hit:
                        setattr(row, field, value)
                        changed += 1
            last = getattr(rows[-1], "id" if model is InboxEvent else "user_id")
    return changed


async def forget_old(
    session: AsyncSession,
    user: User,
    name: str | None,
    phone: str | None,
    env: Env | None = None,
) -> int:
    """A name or phone corrected (or a phone removed): where the bot keeps the old one (their
    reports' texts, case notes, the pushes that carry it) the new one is written instead, or
    REMOVED for a phone removed. Returns how many rows changed."""
    found = traces(
        name, phone, parts=False,
        lines=reporter_lines(env, name, user.display_name) if name else (),
        name_as=user.display_name, phone_as=user.phone, removed=removed_mark(env),
    )  # fmt: skip
    if not found.own:
        return 0
    filed = await _filed(session, user.id or 0)
    return await scrub_reports(session, sorted(filed), found) + await _clean_outbox(
        session, user, found, filed, erasing=False
    )


async def erase(
    session: AsyncSession,
    user: User,
    now: dt.datetime,
    via: str,
    *,
    why: str | None = None,
    env: Env | None = None,
) -> Erased:
    """Remove `user`'s identity and contact details, and what carries them; keep their
    reports as anonymous records. Recorded in the register. With `env` (the sentences), the
    officer working each of their open cases is told that the reporter withdrew."""
    user_id = user.id or 0
    working = await _open_cases(session, user_id)
    found = traces(user.display_name, user.phone, removed=removed_mark(env),
                   lines=reporter_lines(env, user.display_name, None))  # fmt: skip
    await session.execute(delete(Conversation).where(col(Conversation.user_id) == user_id))
    await session.execute(delete(StaffRole).where(col(StaffRole.user_id) == user_id))
    await session.execute(delete(DeskSession).where(col(DeskSession.user_id) == user_id))
    await session.execute(delete(DeskLink).where(col(DeskLink.user_id) == user_id))
    await session.execute(delete(DataCopy).where(col(DataCopy.user_id) == user_id))
    # Their platform events (what they typed: their name, their phone) lose their content;
    # the rows stay until pruned, so that a redelivered event is still known as handled.
    gone = await session.execute(
        update(InboxEvent)
        .where(
            col(InboxEvent.platform) == user.platform,
            col(InboxEvent.sender) == user.platform_user_id,
        )
        .values(sender=ERASED, payload={"erased": True})
    )
    events = int(getattr(gone, "rowcount", 0) or 0)
    # Pushes to them lose their content (and do not go, if not sent yet); pushes to others
    # about their reports (an alert carries the reporter's name and phone) or that name them
    # keep their work without the name and the phone.
    filed = await _filed(session, user_id)
    emptied = await _clean_outbox(session, user, found, filed, erasing=True)
    kept = len(filed)
    texts = await scrub_reports(session, sorted(filed), found)
    texts += await _scrub_others(session, user_id, found)
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
    if env is not None:  # (after the cleaning above, which would take their names out)
        await _tell_officers(session, env, working)
    done = f"reports kept anonymous: {kept}; texts cleaned: {texts}; messages emptied: {emptied}"
    await record(session, user_id, "erase", via, now, note=f"{why}; {done}" if why else done)
    return Erased(kept, emptied, events)


async def requests(session: AsyncSession) -> list[PrivacyRequest]:
    """The register, newest first."""
    found = await session.execute(
        select(PrivacyRequest).order_by(col(PrivacyRequest.requested_at).desc())
    )
    return list(found.scalars())
