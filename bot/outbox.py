"""The outbox dispatcher: sends queued pushes through the channel adapters, one loop per
platform (a slow platform never holds back the other), with retries and backoff, and records
what became of every row.

Delivery is at least once and, where the platform allows, exactly once: a LINE push carries the
row's retry key, so sending a row again after a crash or a lost answer is not delivered twice.
Telegram has no such key; the attempt is recorded before sending and a row the platform
acknowledged is never sent again, but a crash between Telegram's answer and our record of it
would send that one row again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.service import Core, set_active_locked
from handlers.messages import Outgoing
from storage import outbox

log = logging.getLogger(__name__)

BATCH = 50
MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0  # seconds, doubled each attempt
BACKOFF_CAP = 600.0


@dataclass
class DeliveryError(Exception):
    """Why a push did not go: retry later, never (permanent), or the user blocked us."""

    kind: Literal["retry", "permanent", "blocked"]
    detail: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class Sender(Protocol):
    async def deliver(self, recipient: str, messages: Sequence[Outgoing], retry_key: str) -> None:
        """Send, or raise DeliveryError."""


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential with ±50 % jitter, so that
    many rows failing together do not come back together."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(attempt - 1, 0))
    return float(base * (0.5 + rng()))


class Dispatcher:
    def __init__(self, core: Core, senders: Mapping[str, Sender]) -> None:
        self.core = core
        self.senders = dict(senders)
        self._wake = {platform: asyncio.Event() for platform in self.senders}
        self._tasks: list[asyncio.Task[None]] = []
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        for event in self._wake.values():
            event.set()

    def start(self) -> None:
        for platform in self.senders:
            self._tasks.append(asyncio.create_task(self._loop(platform), name=f"outbox-{platform}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, platform: str, idle: float = 1.0) -> None:
        while True:
            try:
                sent = await self.deliver_due(platform)
            except Exception:
                log.exception("outbox %s: delivery round failed", platform)
                sent = 0
            if sent == 0:
                self._wake[platform].clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake[platform].wait(), idle)

    async def deliver_due(self, platform: str) -> int:
        """Claim and send what is due now for `platform`; returns how many rows were tried."""
        sender = self.senders[platform]
        now = self.core.clock()
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            lease = dt.timedelta(seconds=self.core.settings.outbox_lease_seconds)
            rows = await outbox.claim(session, platform, now, BATCH, lease)
            claimed = [
                (row.id or 0, row.recipient, row.user_id, row.attempts, row.retry_key, row.payload)
                for row in rows
            ]
        for row_id, recipient, _user_id, attempts, retry_key, payload in claimed:
            messages = [Outgoing.from_json(m) for m in payload.get("messages", [])]
            try:
                await sender.deliver(recipient, messages, retry_key)
            except DeliveryError as error:
                await self._failed(platform, row_id, recipient, attempts, error)
                continue
            except Exception as error:  # a bug or an unknown failure: retry, and say so
                log.exception("outbox %s row %s: unexpected failure", platform, row_id)
                await self._failed(
                    platform, row_id, recipient, attempts, DeliveryError("retry", repr(error))
                )
                continue
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                await outbox.finish(session, row_id, "sent", now=self.core.clock())
        return len(claimed)

    async def _failed(
        self, platform: str, row_id: int, recipient: str, attempts: int, error: DeliveryError
    ) -> None:
        now = self.core.clock()
        if error.kind == "blocked":
            await set_active_locked(self.core, platform, recipient, False)
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            if error.kind == "retry" and attempts < MAX_ATTEMPTS:
                wait = error.retry_after if error.retry_after is not None else backoff(attempts)
                retry_at = now + dt.timedelta(seconds=wait)
                await outbox.finish(
                    session, row_id, "pending", now=now, error=str(error), retry_at=retry_at
                )
                log.warning("outbox %s row %s: %s; again in %.0f s", platform, row_id, error, wait)
            else:
                status = "skipped" if error.kind == "blocked" else "failed"
                await outbox.finish(session, row_id, status, now=now, error=str(error))
                log.error("outbox %s row %s %s: %s", platform, row_id, status, error)
