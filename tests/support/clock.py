"""A clock the tests set and move."""

from __future__ import annotations

import datetime as dt

# 09:00 in Bangkok on 20 March 2026 (พ.ศ. 2569): the `clock` fixture's start.
START = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)


class Clock:
    """Time as the tests say it is."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
