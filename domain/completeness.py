"""Reporting completeness for the desk: the same week and the same villages as the chat's
read-out (an activity report since Monday; an official village list where a district has one),
district by district, with what the desk adds: where each village is (from its reports), and
which villages went silent while an open very urgent case waits there."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from domain import policy
from storage import completeness, desk_map


def week_start(now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Monday 00:00 of this week where the service is (in UTC): what "this week" counts from."""
    today = now.astimezone(tz).date()
    monday = dt.datetime.combine(today - dt.timedelta(days=today.weekday()), dt.time(), tz)
    return monday.astimezone(dt.UTC)


@dataclass(frozen=True)
class VillageWeek:
    district_code: str
    subdistrict_code: str
    village_no: int
    reported: bool
    name: str | None  # from the official list, where the district has one
    listed: bool
    urgent: int  # open very urgent cases there
    place: tuple[float, float] | None  # the centroid of its reports' places, if any

    @property
    def alarming(self) -> bool:
        """Silent this week while a very urgent case is open there."""
        return not self.reported and self.urgent > 0


@dataclass
class DistrictWeek:
    code: str
    villages: list[VillageWeek] = field(default_factory=list)

    @property
    def reported(self) -> int:
        return sum(v.reported for v in self.villages)

    @property
    def alarming(self) -> int:
        return sum(v.alarming for v in self.villages)

    @property
    def listed(self) -> bool:
        return any(v.listed for v in self.villages)


async def this_week(
    session: AsyncSession, held: policy.Held, now: dt.datetime, tz: ZoneInfo
) -> list[DistrictWeek]:
    """Every district of the areas `held` reaches (policy.areas) that has villages to count,
    most alarming first; in each, the villages silent during a very urgent case first, then
    the silent ones, then the others, each group by subdistrict and หมู่."""
    since = week_start(now, tz)
    districts: dict[str, DistrictWeek] = {}
    for area in policy.areas(held):
        places = await desk_map.village_places(session, area)
        urgent = await desk_map.urgent_villages(session, area)
        for village in await completeness.villages(session, area, since):
            key = (village.subdistrict_code, village.village_no)
            found = districts.setdefault(village.district_code, DistrictWeek(village.district_code))
            found.villages.append(
                VillageWeek(
                    village.district_code, village.subdistrict_code, village.village_no,
                    village.reported, village.name, village.listed, urgent.get(key, 0),
                    places.get(key),
                )
            )  # fmt: skip
    for district in districts.values():
        district.villages.sort(
            key=lambda v: (not v.alarming, v.reported, v.subdistrict_code, v.village_no)
        )
    return sorted(districts.values(), key=lambda d: (-d.alarming, d.code))
