"""Quiet hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from domain.quiet import parse_window, release_time

BKK = ZoneInfo("Asia/Bangkok")


def _at(hour: int, minute: int = 0, day: int = 20) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=BKK).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("local", "released"),
    [
        (_at(20, 59), _at(20, 59)),  # still day: at once
        (_at(21, 0), _at(7, 0, day=21)),  # quiet begins: wait for the morning
        (_at(23, 30), _at(7, 0, day=21)),
        (_at(2, 0), _at(7, 0)),  # after midnight: this morning
        (_at(7, 0), _at(7, 0)),  # quiet is over
    ],
)
def test_release_time_across_midnight(local: dt.datetime, released: dt.datetime) -> None:
    assert release_time(local, BKK, parse_window("21:00-07:00")) == released


def test_a_window_within_one_day_and_none() -> None:
    window = parse_window("12:00-13:00")
    assert release_time(_at(12, 30), BKK, window) == _at(13, 0)
    assert release_time(_at(13, 30), BKK, window) == _at(13, 30)
    assert release_time(_at(23, 0), BKK, parse_window("off")) == _at(23, 0)


@pytest.mark.parametrize("text", ["21:00", "9pm-7am", "07:00-07:00"])
def test_bad_windows_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours"):
        parse_window(text)


@pytest.mark.parametrize("cron", ["0 9 * * 1", "0 9 * * 1-5", "0 9 * * 0,6"])
def test_numeric_weekdays_are_refused(cron: str) -> None:
    """APScheduler reads 1 as Tuesday where cron means Monday: a name says what is meant."""
    from pydantic import ValidationError

    from bot.config import Settings

    with pytest.raises(ValidationError, match="weekday as a name"):
        Settings(_env_file=None, FIELDBOT_REMINDER_CRON=cron)  # type: ignore[call-arg]
    Settings(_env_file=None, FIELDBOT_REMINDER_CRON="0 9 * * mon-fri")  # type: ignore[call-arg]
