"""The one date formatter: Thai with the Buddhist Era year, English with the Common Era."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from handlers.dates import buddhist_year, format_date, format_datetime
from handlers.thai import parse_date

TODAY = dt.date(2026, 3, 20)
BANGKOK = ZoneInfo("Asia/Bangkok")


def test_thai_dates_in_the_buddhist_era() -> None:
    day = dt.date(2022, 3, 15)
    assert format_date(day, "th") == "15 มีนาคม 2565"
    assert format_date(day, "th", short=True) == "15 มี.ค. 65"
    assert format_date(dt.date(2043, 1, 5), "th", short=True) == "5 ม.ค. 86"


def test_english_dates() -> None:
    assert format_date(dt.date(2026, 3, 5), "en") == "05 Mar 2026"
    assert format_date(dt.date(2026, 3, 5), "en", short=True) == "05 Mar 2026"


def test_moments_in_local_time() -> None:
    at = dt.datetime(2026, 3, 19, 18, 30, tzinfo=dt.UTC)  # 01:30 on the 20th in Bangkok
    assert format_datetime(at, "th", BANGKOK) == "20 มี.ค. 69 01:30"
    assert format_datetime(at, "en", BANGKOK) == "20 Mar 2026 01:30"


def test_thai_dates_read_back() -> None:
    day = dt.date(2023, 12, 31)
    assert parse_date(format_date(day, "th"), TODAY) == day
    assert parse_date(format_date(day, "th", short=True), TODAY) == day


@pytest.mark.parametrize(
    ("day", "expected"), [(dt.date(2022, 3, 15), 2565), (dt.date(2024, 1, 1), 2567)]
)
def test_buddhist_year(day: dt.date, expected: int) -> None:
    assert buddhist_year(day) == expected
