"""What the LINE and Telegram adapters share: background work after a webhook has been
answered, and text helpers for platform limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """Work started after a webhook was answered (platforms want an answer within ~2 s).
    Kept referenced so it is not garbage-collected, and awaited at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(self._guard(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except Exception:
            log.exception("background work %s failed", name)

    async def drain(self, grace: float = 30.0) -> None:
        """Wait for the work under way (at shutdown, and in tests)."""
        while self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            if pending:
                log.warning("%d background task(s) still running at shutdown", len(pending))
                for task in pending:
                    task.cancel()
                return

    def __len__(self) -> int:
        return len(self._tasks)


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int) -> list[str]:
    """Split a long message into pieces of at most `limit` characters, at line breaks where
    possible, then at spaces, and only then mid-word."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


class RateLimiter:
    """Spaces sends out: at most `overall` per second in all, `per_key` per second for one key
    (one chat). Waits rather than refuses, so a burst is smoothed, not dropped. A chat waiting
    for its own gap holds no overall slot, so it does not hold up other chats."""

    def __init__(
        self,
        overall: float,
        per_key: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._gap = 1.0 / overall
        self._key_gap = 1.0 / per_key
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._next_for: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, key: str) -> None:
        async with self._lock:  # first the chat's own pace…
            now = self._clock()
            mine = max(now, self._next_for.get(key, 0.0))
            self._next_for[key] = mine + self._key_gap
            if len(self._next_for) > 10_000:  # forget chats long past their gap
                self._next_for = {k: v for k, v in self._next_for.items() if v > now}
        if mine > now:
            await self._sleep(mine - now)
        async with self._lock:  # …then a slot in the overall pace
            now = self._clock()
            at = max(now, self._next)
            self._next = at + self._gap
            self._next_for[key] = max(self._next_for.get(key, 0.0), at + self._key_gap)
        if at > now:
            await self._sleep(at - now)
