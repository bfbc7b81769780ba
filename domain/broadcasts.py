"""Broadcasts, from chat and from the command line: compose (audience, text, photo, when),
preview with the number of people per platform, confirm, then queue through the outbox at
the chosen time (quiet hours respected) and report how it went."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from domain import policy
from domain.people import user_view
from domain.quiet import parse_window, release_time
from domain.turn import Turn, effect
from handlers import engine
from handlers import vocab as v
from handlers.dates import format_datetime
from handlers.engine import BroadcastCommand, Env, StaffQuery, Submitted
from handlers.forms import AUDIENCES, BROADCAST
from handlers.messages import Choice, Outgoing
from handlers.router import BROADCAST_PREFIX, describe_staff_area
from storage import broadcasts as store
from storage import staff
from storage.models import Broadcast, User

log = logging.getLogger(__name__)

HOURS = {"0700": dt.time(7), "0900": dt.time(9), "1200": dt.time(12), "1500": dt.time(15),
         "1800": dt.time(18)}  # fmt: skip
# What the chat's form lets a broadcast be, which the desk and the command line keep to too.
_TEXT = BROADCAST.step("text")
TEXT_MIN = _TEXT.minimum if _TEXT and _TEXT.minimum else 1
TEXT_MAX = _TEXT.maximum if _TEXT and _TEXT.maximum else 2000
_DATE = BROADCAST.step("send_date")
DAYS_AHEAD = _DATE.max_days_ahead if _DATE and _DATE.max_days_ahead else 60
ROLES = AUDIENCES  # the audiences one composes from (storage.broadcasts.ROLES: all it knows)


def button(broadcast_id: int, action: str) -> str:
    return f"{BROADCAST_PREFIX}{broadcast_id}:{action}"


def messages(broadcast: Broadcast) -> list[Outgoing]:
    """What every recipient gets: the text as written, with the photo when there is one."""
    return [Outgoing(broadcast.text, image=broadcast.image)]


async def create(
    session: AsyncSession,
    *,
    creator: User | None,
    roles: list[str],
    area: str,
    text: str,
    image: str | None,
    send_at: dt.datetime,
    status: str,
    now: dt.datetime,
) -> Broadcast:
    broadcast = Broadcast(
        created_by_id=creator.id if creator else None, roles=roles, area=area, text=text,
        image=image, send_at=send_at, status=status, created_at=now,
    )  # fmt: skip
    session.add(broadcast)
    await session.flush()
    return broadcast


def send_time_problem(send_at: dt.datetime, now: dt.datetime) -> str | None:
    """Why a broadcast cannot be scheduled for `send_at`: "past" (a minute's grace, for the
    time it took to type), "too_far" (beyond the chat's date step), or None when it can."""
    if send_at < now - dt.timedelta(minutes=1):
        return "past"
    if send_at > now + dt.timedelta(days=DAYS_AHEAD + 1):
        return "too_far"
    return None


async def draft(
    session: AsyncSession,
    *,
    creator: User,
    roles: list[str],
    area: str,
    text: str,
    image: str | None,
    send_at: dt.datetime,
    now: dt.datetime,
) -> tuple[Broadcast, store.Reach]:
    """A composed broadcast, saved as a draft for its author to confirm, and whom it reaches;
    with nobody to reach it is cancelled at once. The caller has asked `policy.may_address`."""
    broadcast = await create(
        session, creator=creator, roles=roles, area=area, text=text, image=image,
        send_at=send_at, status=v.DRAFT, now=now,
    )  # fmt: skip
    reach = await store.reach(session, roles, area)
    if reach.total == 0:
        broadcast.status = v.CANCELLED
    return broadcast, reach


Outcome = Literal["not_found", "not_yours", "too_late", "cancelled", "scheduled", "due"]


@dataclass(frozen=True)
class Decision:
    """What confirming ("send") or cancelling a broadcast came to. "due": confirmed and its
    time has come, so the caller queues it (`bot.service.queue_broadcasts`) once committed."""

    outcome: Outcome
    broadcast: Broadcast | None


async def decide(
    session: AsyncSession,
    held: policy.Held,
    user_id: int | None,
    broadcast_id: int,
    action: Literal["send", "cancel"],
    now: dt.datetime,
) -> Decision:
    """Confirm a draft (scheduled, or due now) or cancel a draft or a scheduled broadcast:
    only its author or an admin, and only while it is still open."""
    # Locked, so a cancel cannot overwrite a broadcast the scheduler is queueing right now.
    broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
    if broadcast is None:
        return Decision("not_found", None)
    if not policy.may_author(held, broadcast.created_by_id, user_id):
        return Decision("not_yours", broadcast)
    still_open = (v.DRAFT, v.SCHEDULED) if action == "cancel" else (v.DRAFT,)
    if broadcast.status not in still_open:
        return Decision("too_late", broadcast)
    if action == "cancel":
        broadcast.status = v.CANCELLED
        return Decision("cancelled", broadcast)
    broadcast.status = v.SCHEDULED
    return Decision("scheduled" if broadcast.send_at > now else "due", broadcast)


def state(p: store.Progress) -> str:
    """A broadcast's state as people read it: its status, or once every row is through,
    "done" (or "done_failed" when some could not be sent)."""
    if p.done:
        return "done" if p.failed == 0 else "done_failed"
    return p.broadcast.status


async def queue_due(
    session: AsyncSession,
    now: dt.datetime,
    not_before: dt.datetime,
    multicast: Mapping[str, int] | None = None,
) -> int:
    """Write the rows of every broadcast whose time has come; returns how many people they
    reach. Rows wait until `not_before` (the end of quiet hours). `multicast`: the platforms
    that reach many people in one call, and how many (the edge knows the channels)."""
    reached = 0
    for broadcast in await store.due(session, now):
        payload = [m.as_json() for m in messages(broadcast)]
        reach = await store.queue(session, broadcast, payload, now, not_before, multicast)
        reached += reach.total
        log.info("broadcast %s queued for %d people (%d blocked)", broadcast.id,
                 reach.total, reach.blocked)  # fmt: skip
    return reached


# ---------------------------------------------------------------- chat


def _lang(user: User, env: Env) -> str:
    return user.language or env.default_language


@effect(StaffQuery, "broadcast")
async def start(turn: Turn, _event: StaffQuery) -> list[Outgoing]:
    """The compose form, for staff only."""
    held = await staff.assignments(turn.session, turn.user.id or 0)
    if not policy.may_broadcast(held):
        return [turn.say("broadcast.not_allowed")]
    started = engine.start(turn.env.forms["broadcast"], user_view(turn.user, held), turn.env)
    turn.result.state = started.state
    return started.messages


def _when_text(when: dt.datetime, lang: str, env: Env) -> str:
    return format_datetime(when, lang, env.tz)


@effect(Submitted, "broadcast")
async def submitted(turn: Turn, event: Submitted) -> list[Outgoing]:
    """The composed broadcast: saved as a draft and shown back with its reach, to confirm.
    "All of my area" from someone who holds several areas makes one draft per area, each
    confirmed on its own."""
    session, env, user = turn.session, turn.env, turn.user
    t, lang = env.i18n.t, turn.lang
    held = await staff.assignments(session, user.id or 0)
    if not policy.may_broadcast(held):
        return [Outgoing(t(lang, "broadcast.not_allowed"))]
    answers = event.answers
    targets = list(policy.areas(held))
    if answers.get("scope") == "district":
        targets = [str((answers.get("district") or {}).get("district_code") or "-")]
    if not all(policy.may_address(held, area) for area in targets):
        return [Outgoing(t(lang, "broadcast.area_not_allowed"))]
    send_at = env.now
    if answers.get("when") == "later":
        day = dt.date.fromisoformat(str(answers["send_date"]))
        local = dt.datetime.combine(day, HOURS[str(answers["send_hour"])], tzinfo=env.tz)
        send_at = max(env.now, local.astimezone(dt.UTC))
    photos = engine.photos_of(answers)
    roles = [str(r) for r in answers.get("roles") or []]
    when = (t(lang, "broadcast.now") if answers.get("when") != "later"
            else _when_text(send_at, lang, env))  # fmt: skip
    out: list[Outgoing] = []
    for area in targets:
        broadcast, reach = await draft(
            session, creator=user, roles=roles, area=area, text=str(answers["text"]),
            image=photos[0].path if photos else None, send_at=send_at, now=env.now,
        )  # fmt: skip
        if reach.total == 0:
            out.append(Outgoing(t(lang, "broadcast.nobody", blocked=reach.blocked)))
            continue
        per_platform = ", ".join(
            t(lang, "broadcast.reach_item", platform=t(lang, f"platform.{name}"), count=count)
            for name, count in sorted(reach.reachable.items(), key=lambda kv: (-kv[1], kv[0]))
            if count
        )  # fmt: skip
        preview = t(
            lang, "broadcast.preview", text=broadcast.text, recipients=per_platform,
            blocked=reach.blocked, when=when, area=describe_staff_area(area, lang, env),
        )  # fmt: skip
        choices = (
            Choice(button(broadcast.id or 0, "send"), t(lang, "broadcast.send")),
            Choice(button(broadcast.id or 0, "cancel"), t(lang, "broadcast.cancel")),
        )
        out.append(Outgoing(preview, choices, "choice", image=broadcast.image, standing=True))
    return out


@effect(BroadcastCommand)
async def command(turn: Turn, event: BroadcastCommand) -> list[Outgoing]:
    """Send (or schedule) a confirmed draft, cancel it, or show how it went. Only its author
    (or an admin) confirms or cancels; anyone who may address its area sees its status."""
    session, env, user = turn.session, turn.env, turn.user
    t, lang = env.i18n.t, turn.lang
    held = await staff.assignments(session, user.id or 0)
    if not policy.may_broadcast(held):
        return [Outgoing(t(lang, "broadcast.not_allowed"))]
    if event.action == "status":
        found = await session.get(Broadcast, event.broadcast_id)
        if found is None or not (
            policy.may_author(held, found.created_by_id, user.id)
            or policy.may_address(held, found.area)
        ):
            return [Outgoing(t(lang, "broadcast.not_found", id=event.broadcast_id))]
        return [await status_message(session, env, user, found)]
    action: Literal["send", "cancel"] = "cancel" if event.action == "cancel" else "send"
    decided = await decide(session, held, user.id, event.broadcast_id, action, env.now)
    broadcast = decided.broadcast
    if broadcast is None:
        return [Outgoing(t(lang, "broadcast.not_found", id=event.broadcast_id))]
    if decided.outcome == "not_yours":
        return [Outgoing(t(lang, "broadcast.not_yours", id=broadcast.id))]
    if decided.outcome == "too_late":
        return [Outgoing(t(lang, "broadcast.too_late", id=broadcast.id,
                           status=t(lang, f"broadcast.status.{broadcast.status}")))]  # fmt: skip
    if decided.outcome == "cancelled":
        return [Outgoing(t(lang, "broadcast.cancelled", id=broadcast.id))]
    follow = (Choice(button(broadcast.id or 0, "status"), t(lang, "broadcast.show_status")),)
    if decided.outcome == "scheduled":
        cancel = Choice(button(broadcast.id or 0, "cancel"), t(lang, "broadcast.cancel"))
        text = t(lang, "broadcast.scheduled", id=broadcast.id,
                 when=_when_text(broadcast.send_at, lang, env))  # fmt: skip
        return [Outgoing(text, (*follow, cancel), "choice", standing=True)]
    turn.queue_broadcasts = True  # its rows are written as soon as this is committed
    released = release_time(env.now, env.tz, parse_window(turn.rules.quiet_hours))
    if released > env.now:  # they wait for the end of quiet hours
        text = t(lang, "broadcast.queued_quiet", id=broadcast.id,
                 when=_when_text(released, lang, env))  # fmt: skip
    else:
        text = t(lang, "broadcast.queued", id=broadcast.id)
    return [Outgoing(text, follow, "choice", standing=True)]


async def status_message(
    session: AsyncSession, env: Env, user: User, broadcast: Broadcast
) -> Outgoing:
    t, lang = env.i18n.t, _lang(user, env)
    p = await store.progress(session, broadcast)
    return Outgoing(t(lang, "broadcast.status_line", id=broadcast.id,
                      when=_when_text(broadcast.send_at, lang, env), sent=p.sent,
                      pending=p.pending, failed=p.failed, blocked=p.blocked,
                      status=t(lang, f"broadcast.status.{state(p)}")))  # fmt: skip


@effect(StaffQuery, "broadcasts")
async def recent(turn: Turn, _event: StaffQuery) -> list[Outgoing]:
    session, env, user = turn.session, turn.env, turn.user
    t, lang = env.i18n.t, turn.lang
    held = await staff.assignments(session, user.id or 0)
    if not policy.may_broadcast(held):
        return [Outgoing(t(lang, "broadcast.not_allowed"))]
    found = await store.recent(session, policy.visible_broadcasts(held))
    if not found:
        return [Outgoing(t(lang, "broadcast.none"))]
    lines = [t(lang, "broadcast.status_title")]
    for broadcast in found:
        lines.append((await status_message(session, env, user, broadcast)).text)
    again = tuple(Choice(button(b.id or 0, "status"), f"#{b.id}") for b in found)
    return [Outgoing("\n\n".join(lines), again, "choice")]
