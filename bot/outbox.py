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
import uuid
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


PartSent = Callable[[int], Awaitable[None]]


class Sender(Protocol):
    async def deliver(
        self,
        recipient: str,
        messages: Sequence[Outgoing],
        retry_key: str,
        *,
        done: int = 0,
        on_part: PartSent | None = None,
    ) -> None:
        """Send, or raise DeliveryError. The first `done` platform messages were acknowledged
        on an earlier attempt and are not sent again; `on_part(n)` is awaited each time the
        platform acknowledges one, with the count so far."""


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential with ±50 % jitter, so that
    many rows failing together do not come back together."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(attempt - 1, 0))
    return float(base * (0.5 + rng()))


class Dispatcher:
    def __init__(self, core: Core, senders: Mapping[str, Sender]) -> None:
        self.core = core
        self.senders = dict(senders)
        # Platforms with no channel still get a loop: their rows are marked skipped, not left
        # pending for ever.
        self.platforms = sorted({*self.senders, *outbox.PUSH_PLATFORMS})
        self._wake = {platform: asyncio.Event() for platform in self.platforms}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        for event in self._wake.values():
            event.set()

    def start(self) -> None:
        for platform in self.platforms:
            self._tasks.append(asyncio.create_task(self._loop(platform), name=f"outbox-{platform}"))

    async def stop(self, grace: float = 10.0) -> None:
        """Let each loop finish the row it is on (cancelling in the middle of a database call
        can leave a connection hanging), then cancel what is still running."""
        self._stopping.set()
        self.wake()
        _done, pending = await asyncio.wait(self._tasks, timeout=grace) if self._tasks else ((), ())
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, platform: str, idle: float = 1.0) -> None:
        while not self._stopping.is_set():
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
        sender = self.senders.get(platform)
        token = str(uuid.uuid4())
        lease = dt.timedelta(seconds=self.core.settings.outbox_lease_seconds)
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            rows = await outbox.claim(session, platform, self.core.clock(), BATCH, lease, token)
            claimed = [
                (row.id or 0, row.recipient, row.attempts, row.retry_key, row.parts_sent,
                 row.payload)
                for row in rows
            ]  # fmt: skip
        for row_id, recipient, attempts, retry_key, done, payload in claimed:
            if sender is None:
                async with self.core.writing(), self.core.sessions() as session, session.begin():
                    await outbox.finish(
                        session, row_id, "skipped", now=self.core.clock(), token=token,
                        error=f"the {platform} channel is off (no credentials)",
                    )  # fmt: skip
                continue
            # A slow batch must not outlive its lease: renew it, and leave a row another
            # dispatcher has taken back.
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                held = await outbox.renew(session, row_id, token, self.core.clock() + lease)
            if not held:
                log.warning("outbox %s row %s was taken back; not sending it", platform, row_id)
                continue
            messages = [Outgoing.from_json(m) for m in payload.get("messages", [])]

            async def on_part(parts: int, row_id: int = row_id) -> None:
                async with self.core.writing(), self.core.sessions() as session, session.begin():
                    await outbox.part_sent(session, row_id, token, parts)

            try:
                await sender.deliver(recipient, messages, retry_key, done=done, on_part=on_part)
            except DeliveryError as error:
                await self._failed(platform, row_id, recipient, attempts, error, token)
                continue
            except Exception as error:  # a bug or an unknown failure: retry, and say so
                log.exception("outbox %s row %s: unexpected failure", platform, row_id)
                failure = DeliveryError("retry", repr(error))
                await self._failed(platform, row_id, recipient, attempts, failure, token)
                continue
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                await outbox.finish(session, row_id, "sent", now=self.core.clock(), token=token)
        return len(claimed)

    async def _failed(
        self,
        platform: str,
        row_id: int,
        recipient: str,
        attempts: int,
        error: DeliveryError,
        token: str,
    ) -> None:
        now = self.core.clock()
        if error.kind == "blocked":
            await set_active_locked(self.core, platform, recipient, False)
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            if error.kind == "retry" and attempts < MAX_ATTEMPTS:
                wait = error.retry_after if error.retry_after is not None else backoff(attempts)
                retry_at = now + dt.timedelta(seconds=wait)
                await outbox.finish(
                    session, row_id, "pending", now=now, error=str(error), retry_at=retry_at,
                    token=token,
                )  # fmt: skip
                log.warning("outbox %s row %s: %s; again in %.0f s", platform, row_id, error, wait)
            else:
                status = "skipped" if error.kind == "blocked" else "failed"
                await outbox.finish(session, row_id, status, now=now, error=str(error), token=token)
                log.error("outbox %s row %s %s: %s", platform, row_id, status, error)
