"""Reporting completeness: which villages of an area filed an activity report since a given
moment. Where a district has an official village list (`fieldbot villages import`), its
villages are those of the list, whether or not anybody registered there; where it has none,
the villages known are those where a reporter is registered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.vocab import NATIONAL
from storage.models import User
from storage.models import Village as Listed
from storage.reminders import village_reported_since


@dataclass(frozen=True)
class Village:
    district_code: str
    subdistrict_code: str
    village_no: int
    reported: bool
    # From the official list: its name. A village known only because someone registered
    # there (its district has no list) has none and `listed` False.
    name: str | None = None
    listed: bool = False


async def villages(session: AsyncSession, area: str, since: dt.datetime) -> list[Village]:
    """Every village of `area` (TH, a province or a district), and whether it reported an
    activity since `since`: in a district with an official list, every village on it; in one
    without, the villages where a reporter is registered. By district, subdistrict and หมู่."""
    on_list = (
        select(
            col(Listed.district_code), col(Listed.subdistrict_code), col(Listed.village_no),
            col(Listed.name_th),
            village_reported_since(since, Listed.subdistrict_code, Listed.village_no),
        )
    )  # fmt: skip
    if area != NATIONAL:
        listed_in = Listed.province_code if len(area) == 2 else Listed.district_code
        on_list = on_list.where(col(listed_in) == area)
    found = [
        Village(str(d), str(s), int(v), bool(r), str(name), listed=True)
        for d, s, v, name, r in (await session.execute(on_list)).all()
    ]

    registered = (
        select(
            col(User.district_code), col(User.subdistrict_code), col(User.village_no),
            village_reported_since(since).label("reported"),
        )
        .where(
            col(User.role).is_not(None),
            col(User.consent_at).is_not(None),
            col(User.subdistrict_code).is_not(None),
            col(User.village_no).is_not(None),
            # A district with a list counts the list's villages (above), not its reporters'.
            ~exists().where(col(Listed.district_code) == col(User.district_code)),
        )
        .distinct()
    )  # fmt: skip
    if area != NATIONAL:
        home_in = User.province_code if len(area) == 2 else User.district_code
        registered = registered.where(col(home_in) == area)
    found += [
        Village(str(d), str(s), int(v or 0), bool(r))
        for d, s, v, r in (await session.execute(registered)).all()
    ]
    found.sort(key=lambda v: (v.district_code, v.subdistrict_code, v.village_no))
    return found
