"""Reporting completeness: which villages of an area filed an activity report since a given
moment. The villages known are those where a reporter is registered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.vocab import NATIONAL
from storage.models import User
from storage.reminders import village_reported_since


@dataclass(frozen=True)
class Village:
    district_code: str
    subdistrict_code: str
    village_no: int
    reported: bool


async def villages(session: AsyncSession, area: str, since: dt.datetime) -> list[Village]:
    """Every known village of `area` (TH, a province or a district), and whether it reported
    an activity since `since`."""
    reported = village_reported_since(since)
    query = (
        select(
            col(User.district_code), col(User.subdistrict_code), col(User.village_no),
            reported.label("reported"),
        )
        .where(
            col(User.role).is_not(None),
            col(User.consent_at).is_not(None),
            col(User.subdistrict_code).is_not(None),
            col(User.village_no).is_not(None),
        )
        .distinct()
        .order_by(col(User.district_code), col(User.subdistrict_code), col(User.village_no))
    )  # fmt: skip
    if area != NATIONAL:
        column = User.province_code if len(area) == 2 else User.district_code
        query = query.where(col(column) == area)
    return [
        Village(str(d), str(s), int(v or 0), bool(r))
        for d, s, v, r in (await session.execute(query)).all()
    ]
