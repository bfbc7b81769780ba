"""The statistics' time buckets: weeks from Monday and months from the first, in local time
(right across a daylight-saving change), the latest MAX_BUCKETS kept."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from storage import stats

BANGKOK, BERLIN = ZoneInfo("Asia/Bangkok"), ZoneInfo("Europe/Berlin")


def test_weeks_start_on_monday_in_local_time() -> None:
    now = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)  # Friday 09:00 in Bangkok
    edges = stats.edges("week", BANGKOK, now, None, 3)
    local = [e.astimezone(BANGKOK) for e in edges]
    assert [e.date().isoformat() for e in local] == [
        "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23",
    ]  # fmt: skip
    assert all(e.hour == 0 and e.weekday() == 0 for e in local)
    assert edges[0] == dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


def test_months_across_a_year_and_a_clock_change() -> None:
    now = dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.UTC)
    since = dt.datetime(2025, 11, 15, tzinfo=dt.UTC)
    edges = stats.edges("month", BERLIN, now, since, 12)
    local = [e.astimezone(BERLIN) for e in edges]
    assert [f"{e:%Y-%m-%d %H:%M}" for e in local] == [
        "2025-11-01 00:00", "2025-12-01 00:00", "2026-01-01 00:00", "2026-02-01 00:00",
        "2026-03-01 00:00", "2026-04-01 00:00", "2026-05-01 00:00",
    ]  # fmt: skip
    assert edges[-2].utcoffset() == dt.timedelta(0)
    assert (edges[-2] - edges[-3]) == dt.timedelta(days=31, hours=-1)  # summer time began


def test_at_most_max_buckets() -> None:
    now = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    since = now - dt.timedelta(days=365 * 5)
    edges = stats.edges("week", BANGKOK, now, since, 12)
    assert len(edges) == stats.MAX_BUCKETS + 1 and edges[-1] > now
