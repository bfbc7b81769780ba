"""Quiet hours: when reminders, nudges, digests and broadcasts wait (alerts never do)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

Window = tuple[dt.time, dt.time] | None


def parse_window(text: str) -> Window:
    """ "21:00-07:00" -> (21:00, 07:00); "off" or "" -> None. Raises ValueError on bad input."""
    text = text.strip().lower()
    if text in ("", "off", "none"):
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours must look like 21:00-07:00 (or off), not {text!r}")
    try:
        first = dt.time.fromisoformat(start.strip())
        last = dt.time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"quiet hours must look like 21:00-07:00 (or off), not {text!r}") from None
    if first == last:
        raise ValueError("quiet hours must not start and end at the same time")
    return first, last


def release_time(now: dt.datetime, tz: ZoneInfo, window: Window) -> dt.datetime:
    """`now` if it is outside quiet hours, else the moment they end (in UTC, like `now`)."""
    if window is None:
        return now
    start, end = window
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    # A window that passes midnight is quiet from its start to midnight and on to its end.
    quiet = start <= clock < end if start < end else clock >= start or clock < end
    if not quiet:
        return now
    day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=tz).astimezone(dt.UTC)
