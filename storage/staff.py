"""Staff roles by invitation: invite codes, redeeming them, and granting roles by hand. A
person's staff assignments are rows of their own (StaffRole), any number per person; granting
one never touches the person's home village."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers import vocab
from handlers.vocab import NATIONAL as NATIONAL
from storage.db import insert_or_skip
from storage.models import Invite, StaffRole, User, utcnow

log = logging.getLogger(__name__)

STAFF_ROLES = vocab.STAFF_ROLES
# Codes people read aloud and type on a phone: no 0/O, 1/I/L look-alikes.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10
FAILURES_BEFORE_PAUSE = 5
_IDS_PER_QUERY = 5000
PAUSE = dt.timedelta(minutes=15)

JoinStatus = Literal["ok", "unknown", "expired", "used_up", "blocked"]


@dataclass(frozen=True)
class JoinResult:
    status: JoinStatus
    role: str | None = None
    area: str | None = None


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def area_fits_role(role: str, area: str) -> bool:
    """Officers belong to a district (4 digits), coordinators to a province (2) or the
    country (TH), admins to the country."""
    if role == "officer":
        return len(area) == 4 and area.isdigit()
    if role == "coordinator":
        return area == NATIONAL or (len(area) == 2 and area.isdigit())
    return role == "admin" and area == NATIONAL


async def create_invite(
    session: AsyncSession,
    role: str,
    area: str,
    *,
    expires_in: dt.timedelta,
    uses: int = 1,
    now: dt.datetime | None = None,
) -> str:
    """Store a new invite and return its code (shown once; only its hash is kept)."""
    if role not in STAFF_ROLES or not area_fits_role(role, area):
        raise ValueError(f"a {role} cannot have the area {area!r}")
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    now = now or utcnow()
    session.add(
        Invite(code_hash=_hash(raw), role=role, area=area, uses_left=uses,
               expires_at=now + expires_in, created_at=now)
    )  # fmt: skip
    return f"{raw[:5]}-{raw[5:]}"


async def redeem_invite(
    session: AsyncSession, user: User, code: str, now: dt.datetime | None = None
) -> JoinResult:
    """Give `user` the invite's role. Wrong codes are counted; after five in a row the user
    must wait fifteen minutes (guessing codes by brute force is then hopeless)."""
    now = now or utcnow()
    if user.join_blocked_until is not None and user.join_blocked_until > now:
        log.warning("invite attempt by user %s while paused", user.id)
        return JoinResult("blocked")
    invite = (
        await session.execute(
            select(Invite).where(col(Invite.code_hash) == _hash(code)).with_for_update()
        )
    ).scalar_one_or_none()
    status: JoinStatus | None = None
    if invite is None:
        status = "unknown"
    elif invite.expires_at <= now:
        status = "expired"
    elif invite.uses_left <= 0:
        status = "used_up"
    if status is not None or invite is None:
        user.join_failures += 1
        log.warning("wrong invite code from user %s (%d in a row)", user.id, user.join_failures)
        if user.join_failures >= FAILURES_BEFORE_PAUSE:
            user.join_blocked_until = now + PAUSE
            user.join_failures = 0
            log.warning("user %s paused from joining until %s", user.id, user.join_blocked_until)
        return JoinResult(status or "unknown")
    # One use taken atomically: two people redeeming the last use cannot both get it.
    taken = await session.execute(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.uses_left) > 0)
        .values(uses_left=col(Invite.uses_left) - 1)
        .returning(col(Invite.id))
    )
    if taken.first() is None:
        return JoinResult("used_up")
    await grant(session, user, invite.role, invite.area, now)
    user.join_failures = 0
    log.info("user %s joined as %s of %s", user.id, invite.role, invite.area)
    return JoinResult("ok", invite.role, invite.area)


async def grant(
    session: AsyncSession, user: User, role: str, area: str, now: dt.datetime | None = None
) -> bool:
    """Give `user` the staff `role` for `area`, besides whatever they hold; False when they
    held it already. Their home village stays as it is."""
    if role not in STAFF_ROLES or not area_fits_role(role, area):
        raise ValueError(f"a {role} cannot have the area {area!r}")
    assert user.id is not None
    added = await session.execute(
        insert_or_skip(session, StaffRole)
        .values(user_id=user.id, role=role, area=area, granted_at=now or utcnow())
        .on_conflict_do_nothing()
        .returning(col(StaffRole.id))
    )
    return added.first() is not None


async def revoke(
    session: AsyncSession, user: User, role: str | None = None, area: str | None = None
) -> int:
    """Take away the user's assignments of `role` and/or `area` (all of them when neither is
    given); returns how many went."""
    query = delete(StaffRole).where(col(StaffRole.user_id) == user.id)
    if role is not None:
        query = query.where(col(StaffRole.role) == role)
    if area is not None:
        query = query.where(col(StaffRole.area) == area)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def assignments(session: AsyncSession, user_id: int) -> tuple[tuple[str, str], ...]:
    """Every (role, area) the user holds: one query on the index of (user_id, role, area)."""
    rows = await session.execute(
        select(col(StaffRole.role), col(StaffRole.area))
        .where(col(StaffRole.user_id) == user_id)
        .order_by(col(StaffRole.role), col(StaffRole.area))
    )
    return tuple((str(role), str(area)) for role, area in rows.all())


async def assignments_of(
    session: AsyncSession, user_ids: list[int]
) -> dict[int, list[tuple[str, str]]]:
    """`assignments` for many users at once (a few thousand ids a query: PostgreSQL's driver
    takes at most 32,767 bound values per statement)."""
    held: dict[int, list[tuple[str, str]]] = {i: [] for i in user_ids}
    for start in range(0, len(user_ids), _IDS_PER_QUERY):
        rows = await session.execute(
            select(col(StaffRole.user_id), col(StaffRole.role), col(StaffRole.area))
            .where(col(StaffRole.user_id).in_(user_ids[start : start + _IDS_PER_QUERY]))
            .order_by(col(StaffRole.user_id), col(StaffRole.role), col(StaffRole.area))
        )
        for user_id, role, area in rows.all():
            held[int(user_id)].append((str(role), str(area)))
    return held


async def list_users(
    session: AsyncSession, role: str | None = None, area: str | None = None
) -> list[User]:
    """Users with `role` (a staff role, or a village role) and in `area` (their home village's
    district or province, or an area they hold)."""
    query = select(User).order_by(col(User.id))
    holds = select(col(StaffRole.id)).where(col(StaffRole.user_id) == col(User.id))
    if role in STAFF_ROLES:
        holds = holds.where(col(StaffRole.role) == role)
        if area:
            holds = holds.where(col(StaffRole.area) == area)
        return list((await session.execute(query.where(exists(holds)))).scalars())
    if role:
        query = query.where(col(User.role) == role)
    if area:
        query = query.where(
            or_(
                col(User.district_code) == area,
                col(User.province_code) == area,
                exists(holds.where(col(StaffRole.area) == area)),
            )
        )
    return list((await session.execute(query)).scalars())


async def districts_without_officer(session: AsyncSession, districts: Sequence[str]) -> list[str]:
    """Those of `districts` where no officer who can be reached (has not blocked the bot)
    holds the district: a problem there reaches only coordinators, or the admins."""
    if not districts:
        return []
    held = await session.execute(
        select(col(StaffRole.area))
        .join(User, col(User.id) == col(StaffRole.user_id))
        .where(
            col(StaffRole.role) == "officer",
            col(StaffRole.area).in_(list(districts)),
            col(User.active).is_(True),
        )
        .distinct()
    )
    covered = {str(area) for area in held.scalars()}
    return sorted(set(districts) - covered)
