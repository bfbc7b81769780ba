"""One-time links: a random token given out, only its SHA-256 stored, spent once within its
expiry by one guarded update (two presses at once spend it once). The desk's sign-in links
(`DeskLink`) and a person's copy of their data (`DataCopy`) are both kept this way."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import DataCopy, DeskLink

Link = type[DeskLink] | type[DataCopy]
MAX_TOKEN = 200  # longer is no token of ours: not even hashed


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def give(
    session: AsyncSession, model: Link, user_id: int, now: dt.datetime, valid: dt.timedelta
) -> str:
    """A new token for `user_id` (256 random bits, URL-safe), usable once within `valid`."""
    token = secrets.token_urlsafe(32)
    session.add(model(token_hash=digest(token), user_id=user_id, created_at=now,
                      expires_at=now + valid))  # fmt: skip
    await session.flush()
    return token


async def spend(session: AsyncSession, model: Link, token: str, now: dt.datetime) -> int | None:
    """The user a live token (known, unused, unexpired) was given to, marking it used; None
    otherwise."""
    if not token or len(token) > MAX_TOKEN:
        return None
    hashed = digest(token)
    done = await session.execute(
        update(model)
        .where(
            col(model.token_hash) == hashed,
            col(model.used_at).is_(None),
            col(model.expires_at) > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        return None
    found = await session.execute(select(col(model.user_id)).where(col(model.token_hash) == hashed))
    return int(found.scalar_one())
