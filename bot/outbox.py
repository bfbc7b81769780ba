"""The outbox dispatcher: sends queued pushes through the channel adapters, one loop per
platform (a slow platform never holds back the other), many chats at once within each
platform's limits, with retries and backoff, and records what became of every row.

Delivery is at least once and, where the platform allows, exactly once: a LINE push carries the
row's retry key, so sending a row again after a crash or a lost answer is not delivered twice.
Telegram has no such key; the attempt is recorded before sending, each acknowledged part of a
multi-part row is recorded, and a row recorded as sent is never sent again. A crash between
Telegram's answer and our record of it (a group commit, milliseconds) sends those rows again:
at most the rows in flight at that moment (tests/bot/test_outbox_crash.py).
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
from typing import Any, Literal, Protocol

from bot.redact import redact
from bot.service import Core, set_active_locked
from handlers.messages import Outgoing
from storage import outbox

log = logging.getLogger(__name__)

BATCH = 500
# Sends the platform accepted are recorded together: a commit waits up to FLUSH_LINGER for
# FLUSH_ROWS of them (one commit per send cost more than the send). A crash in that window
# re-sends those Telegram rows (LINE's retry keys make it harmless there).
FLUSH_ROWS = 100
FLUSH_LINGER = 0.02
# Chats served at once per platform: Telegram's 30 a second at ~0.3 s a round trip needs
# about ten; more only makes httpx's connection pool (which scans every connection for every
# request) slower.
CONCURRENCY = 16
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
        to: Sequence[str] | None = None,
    ) -> None:
        """Send, or raise DeliveryError. With `to`, one call reaches all of them (a LINE
        multicast row of a broadcast). The first `done` platform messages were acknowledged
        on an earlier attempt and are not sent again; `on_part(n)` is awaited each time the
        platform acknowledges one, with the count so far."""


@dataclass(frozen=True)
class _Row:
    id: int
    recipient: str
    attempts: int
    retry_key: str
    parts_sent: int
    payload: dict[str, Any]


class _Batch:
    """The rows one dispatcher claimed: their lease is renewed together while they are being
    sent, and rows the platform accepted are marked sent in group commits (while one commit
    runs, the next acceptances gather for the one after it)."""

    def __init__(self, core: Core, token: str, ids: list[int], lease: dt.timedelta) -> None:
        self.core = core
        self.token = token
        self.lease = lease
        self.open = set(ids)  # claimed and not yet finished
        self.held = set(ids)
        self.until = core.clock() + lease
        self._renewing = asyncio.Lock()
        self._accepted: list[int] = []
        self._flushing: asyncio.Task[None] | None = None

    async def holds(self, row_id: int) -> bool:
        """Whether we still hold `row_id`; renews the whole batch's lease when half of it is
        gone, so a slow batch never outlives its claim."""
        async with self._renewing:
            now = self.core.clock()
            if now >= self.until - self.lease / 2:
                until = now + self.lease
                async with self.core.writing(), self.core.sessions() as session, session.begin():
                    self.held = await outbox.renew_many(
                        session, sorted(self.open), self.token, until
                    )
                self.until = until
        return row_id in self.held

    def finished(self, row_id: int) -> None:
        self.open.discard(row_id)

    async def sent(self, row_id: int) -> None:
        self.finished(row_id)
        self._accepted.append(row_id)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        while self._accepted:
            if len(self._accepted) < FLUSH_ROWS:
                await asyncio.sleep(FLUSH_LINGER)  # let a few more acceptances join this commit
            ids, self._accepted = self._accepted, []
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                await outbox.finish_many(
                    session, ids, "sent", now=self.core.clock(), token=self.token
                )

    async def flush(self) -> None:
        if self._flushing is not None:
            await self._flushing
        if self._accepted:
            await self._flush_loop()


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential with ±50 % jitter, so that
    many rows failing together do not come back together."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(attempt - 1, 0))
    return float(base * (0.5 + rng()))


class Dispatcher:
    def __init__(
        self, core: Core, senders: Mapping[str, Sender], *, broadcast_id: int | None = None
    ) -> None:
        """With `broadcast_id`, only that broadcast's rows, on the channels that are on (the
        command line's broadcast must not touch the server's other pushes)."""
        self.core = core
        self.senders = dict(senders)
        self.broadcast_id = broadcast_id
        # Platforms with no channel still get a loop: their rows are marked skipped, not left
        # pending for ever.
        self.platforms = sorted({*self.senders, *outbox.PUSH_PLATFORMS})
        if broadcast_id is not None:
            self.platforms = sorted(self.senders)
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
        """Claim and send what is due now for `platform`; returns how many rows were tried.

        Rows for different chats go out side by side (up to CONCURRENCY at once, within the
        sender's own rate limits), so one chat's pacing does not hold up the others; a chat's
        own rows go in order. What the platform accepted is recorded in group commits."""
        sender = self.senders.get(platform)
        token = str(uuid.uuid4())
        lease = dt.timedelta(seconds=self.core.settings.outbox_lease_seconds)
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            rows = await outbox.claim(
                session, platform, self.core.clock(), BATCH, lease, token, self.broadcast_id
            )
            claimed = [
                _Row(row.id or 0, row.recipient, row.attempts, row.retry_key, row.parts_sent,
                     row.payload)
                for row in rows
            ]  # fmt: skip
        if not claimed:
            return 0
        if sender is None:
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                await outbox.finish_many(
                    session, [row.id for row in claimed], "skipped", now=self.core.clock(),
                    token=token, error=f"the {platform} channel is off (no credentials)",
                )  # fmt: skip
            return len(claimed)
        batch = _Batch(self.core, token, [row.id for row in claimed], lease)
        chats: dict[str, list[_Row]] = {}
        for row in claimed:
            chats.setdefault(row.recipient, []).append(row)
        slots = asyncio.Semaphore(getattr(sender, "concurrency", CONCURRENCY))

        async def chat(rows: list[_Row]) -> None:
            async with slots:
                for row in rows:
                    await self._send(platform, sender, row, batch, token)

        await asyncio.gather(*(chat(rows) for rows in chats.values()))
        await batch.flush()
        return len(claimed)

    async def _send(
        self, platform: str, sender: Sender, row: _Row, batch: _Batch, token: str
    ) -> None:
        if not await batch.holds(row.id):
            log.warning("outbox %s row %s was taken back; not sending it", platform, row.id)
            return
        messages = [Outgoing.from_json(m) for m in row.payload.get("messages", [])]

        async def on_part(parts: int) -> None:
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                await outbox.part_sent(session, row.id, token, parts)

        try:
            to = row.payload.get("to")
            await sender.deliver(
                row.recipient, messages, row.retry_key, done=row.parts_sent, on_part=on_part,
                **({"to": [str(r) for r in to]} if to is not None else {}),
            )  # fmt: skip
        except DeliveryError as error:
            batch.finished(row.id)
            await self._failed(platform, row.id, row.recipient, row.attempts, error, token)
        except Exception as error:  # a bug or an unknown failure: retry, and say so
            log.exception("outbox %s row %s: unexpected failure", platform, row.id)
            batch.finished(row.id)
            failure = DeliveryError("retry", repr(error))
            await self._failed(platform, row.id, row.recipient, row.attempts, failure, token)
        else:
            await batch.sent(row.id)

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
        reason = redact(str(error))  # an HTTP error names its URL, and Telegram's hold the token
        if error.kind == "blocked":
            await set_active_locked(self.core, platform, recipient, False)
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            if error.kind == "retry" and attempts < MAX_ATTEMPTS:
                wait = error.retry_after if error.retry_after is not None else backoff(attempts)
                retry_at = now + dt.timedelta(seconds=wait)
                await outbox.finish(
                    session, row_id, "pending", now=now, error=reason, retry_at=retry_at,
                    token=token,
                )  # fmt: skip
                log.warning("outbox %s row %s: %s; again in %.0f s", platform, row_id, reason, wait)
            else:
                status = "skipped" if error.kind == "blocked" else "failed"
                await outbox.finish(session, row_id, status, now=now, error=reason, token=token)
                log.error("outbox %s row %s %s: %s", platform, row_id, status, reason)
