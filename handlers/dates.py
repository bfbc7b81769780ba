"""Dates and times as people read them: Thai with the Buddhist Era year ("5 มีนาคม 2569", short
"5 มี.ค. 69"), English with the Common Era year ("05 Mar 2026"). One formatter for every message,
on Babel's month names and patterns (CLDR), so no month name is written by hand here. Babel
formats the Gregorian calendar only: the Thai year is put into the pattern as a literal."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_date

BUDDHIST_ERA_OFFSET = 543


def buddhist_year(day: dt.date) -> int:
    return day.year + BUDDHIST_ERA_OFFSET


def format_date(day: dt.date, lang: str, *, short: bool = False) -> str:
    """`day` for a reader of `lang`: Thai with the Buddhist Era year (two digits when
    `short`), anything else in English."""
    if lang == "th":
        year = buddhist_year(day)
        if short:
            return _babel_date(day, f"d MMM '{year % 100:02d}'", locale="th")
        return _babel_date(day, f"d MMMM '{year}'", locale="th")
    return _babel_date(day, "dd MMM y", locale="en")


def format_datetime(at: dt.datetime, lang: str, tz: ZoneInfo) -> str:
    """A moment in local time: its short date and the time, "5 มี.ค. 69 14:30" or
    "05 Mar 2026 14:30"."""
    local = at.astimezone(tz)
    return f"{format_date(local.date(), lang, short=True)} {local:%H:%M}"
