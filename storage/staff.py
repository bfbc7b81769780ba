"""Staff roles by invitation: invite codes, redeeming them, and granting roles by hand."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Invite, User, utcnow

log = logging.getLogger(__name__)

STAFF_ROLES = ("officer", "coordinator", "admin")
NATIONAL = "TH"
# Codes people read aloud and type on a phone: no 0/O, 1/I/L look-alikes.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10
FAILURES_BEFORE_PAUSE = 5
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
    grant(user, invite.role, invite.area, now)
    user.join_failures = 0
    log.info("user %s joined as %s of %s", user.id, invite.role, invite.area)
    return JoinResult("ok", invite.role, invite.area)


def grant(user: User, role: str, area: str, now: dt.datetime | None = None) -> None:
    if role not in STAFF_ROLES or not area_fits_role(role, area):
        raise ValueError(f"a {role} cannot have the area {area!r}")
    user.staff_role = role
    user.staff_area = area
    if role == "officer":
        user.province_code, user.district_code = area[:2], area
    elif role == "coordinator" and area != NATIONAL:
        user.province_code = area
    user.updated_at = now or utcnow()


def revoke(user: User, now: dt.datetime | None = None) -> None:
    user.staff_role = None
    user.staff_area = None
    user.updated_at = now or utcnow()


async def list_users(
    session: AsyncSession, role: str | None = None, area: str | None = None
) -> list[User]:
    query = select(User).order_by(col(User.id))
    if role in STAFF_ROLES:
        query = query.where(col(User.staff_role) == role)
    elif role:
        query = query.where(col(User.role) == role)
    if area:
        query = query.where(
            (col(User.staff_area) == area)
            | (col(User.district_code) == area)
            | (col(User.province_code) == area)
        )
    return list((await session.execute(query)).scalars())
