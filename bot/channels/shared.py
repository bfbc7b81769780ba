"""What the LINE and Telegram adapters share: reading a webhook body safely, text helpers for
platform limits, and pacing sends within them."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from handlers.messages import clean_text

log = logging.getLogger(__name__)


MAX_JSON_DEPTH = 32  # platform payloads nest a handful of levels; a deeper body is an attack


def malformed() -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text='{"error": "malformed body"}', content_type="application/json")


def load_json(body: bytes) -> Any:
    """A webhook body as JSON, with every string cleaned for storage (no lone surrogates, no
    control characters but newline and tab, NFC); raises 400 for anything else, including JSON
    nested deeper than MAX_JSON_DEPTH."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # too deep for the parser itself
        raise malformed() from None
    return _clean(data)


def _clean(data: Any) -> Any:
    """`data` with every string (keys too) through `clean_text`, walked without recursion;
    raises 400 past MAX_JSON_DEPTH levels."""
    root: list[Any] = [data]
    stack: list[tuple[Any, Any, int]] = [(root, 0, 0)]
    while stack:
        holder, key, depth = stack.pop()
        value = holder[key]
        if isinstance(value, str):
            holder[key] = clean_text(value)
        elif isinstance(value, list | dict):
            if depth >= MAX_JSON_DEPTH:
                raise malformed()
            if isinstance(value, dict):
                value = {clean_text(k): v for k, v in value.items()}
                holder[key] = value
                stack.extend((value, k, depth + 1) for k in value)
            else:
                stack.extend((value, i, depth + 1) for i in range(len(value)))
    return root[0]


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

    async def wait(self, key: str, *, per_key: bool = True) -> None:
        """Wait for a slot. `per_key=False` skips the chat's own pace (a reply to what the
        person just sent is a burst the platforms allow) but not the overall one."""
        async with self._lock:  # first the chat's own pace…
            now = self._clock()
            mine = max(now, self._next_for.get(key, 0.0)) if per_key else now
            if per_key:
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
