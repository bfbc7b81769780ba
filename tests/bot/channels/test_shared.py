"""The send pacing shared by the channel adapters."""

from __future__ import annotations

import asyncio

from bot.channels.shared import RateLimiter


class FakeTime:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        while self.now < target:  # let others run; time moves as the earliest sleeper wakes
            await asyncio.sleep(0)
            self.now = min(target, self.now + 0.001)


async def _send_times(
    limiter: RateLimiter, time: FakeTime, keys: list[str]
) -> dict[str, list[float]]:
    sent: dict[str, list[float]] = {}

    async def one(key: str) -> None:
        await limiter.wait(key)
        sent.setdefault(key, []).append(round(time.now, 3))

    await asyncio.gather(*(one(key) for key in keys))
    return sent


async def test_one_busy_chat_does_not_hold_up_the_others() -> None:
    time = FakeTime()
    limiter = RateLimiter(overall=30, per_key=1, clock=time.clock, sleep=time.sleep)
    sent = await _send_times(limiter, time, ["a", "a", "a", "b", "c", "d"])
    assert sent["a"][1] - sent["a"][0] >= 1.0 and sent["a"][2] - sent["a"][1] >= 1.0
    # b, c and d go within the first tenth of a second, not after a's second message.
    assert max(sent["b"] + sent["c"] + sent["d"]) < 0.2


async def test_the_overall_pace_is_kept() -> None:
    time = FakeTime()
    limiter = RateLimiter(overall=30, per_key=1, clock=time.clock, sleep=time.sleep)
    sent = await _send_times(limiter, time, [f"chat{n}" for n in range(60)])
    times = sorted(t for ts in sent.values() for t in ts)
    assert times[-1] >= 59 / 30 - 0.01  # 60 sends at 30 a second take about two seconds
    for first, later in zip(times, times[30:], strict=False):
        assert later - first >= 1.0 - 0.01  # never more than 30 in any second
