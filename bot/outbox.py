"""The outbox dispatcher: sends queued rows through the channel adapters, with loops per
platform (a slow platform never holds back the other) and per lane (replies to what users just
sent never wait behind a broadcast), many chats at once within each platform's limits, with
retries and backoff, and records what became of every row.

Replies are rows too: the conversation writes them with the state change they answer, so an
answer survives a crash or a failed send and is retried like a push (honouring a 429's
`retry_after`) without holding anyone's conversation up. A chat's replies go out in order.
Alerts and escalations are never given up on transient errors: they are retried, at most
ALERT_RETRY_CAP apart, until delivered, blocked, or cancelled by an operator.

Delivery is at least once and, where the platform allows, exactly once: a channel whose
platform takes a retry key sends the row's, so sending a row again after a crash or a lost
answer is not delivered twice. Elsewhere the attempt is recorded before sending, each
acknowledged part of a multi-part row is recorded, and a row recorded as sent is never sent
again; a crash between the platform's answer and our record of it (a group commit,
milliseconds) sends those rows again: at most the rows in flight at that moment
(tests/bot/test_outbox_crash.py). Which platforms there are is the channels' business
(bot.channels): this module only holds senders by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence

from bot.channels.base import DeliveryError, Sender
from bot.redact import redact
from bot.service import Core, set_active
from handlers.messages import Outgoing
from storage import hot, outbox
from storage.db import reading
from storage.models import OutboxMessage
from storage.outbox import Claimed

log = logging.getLogger(__name__)

BATCH = 500
# Sends the platform accepted are recorded together: a commit waits up to FLUSH_LINGER for
# FLUSH_ROWS of them (one commit per send cost more than the send). A crash in that window
# re-sends those rows (harmless where the platform takes retry keys).
FLUSH_ROWS = 100
FLUSH_LINGER = 0.02
# Chats served at once per platform, unless its sender says otherwise (`concurrency`): 30 a
# second at ~0.3 s a round trip needs about ten.
CONCURRENCY = 16
MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0  # seconds, doubled each attempt
BACKOFF_CAP = 600.0
ALERT_RETRY_CAP = 300.0  # an alert that keeps failing is tried again at least this often
REPLY_LEASE = outbox.REPLY_LEASE
REPLY_ROUNDS = 4  # reply claims in flight at once: a slow chat does not hold the others up


class _Batch:
    """The rows one dispatcher claimed: their lease is renewed together while they are being
    sent, and rows the platform accepted are marked sent in group commits (while one commit
    runs, the next acceptances gather for the one after it)."""

    def __init__(
        self, core: Core, token: str, ids: list[int], lease: dt.timedelta, linger: float
    ) -> None:
        self.core = core
        self.linger = linger
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
                await asyncio.sleep(self.linger)  # let a few more acceptances join this commit
            ids, self._accepted = self._accepted, []
            await finish_sent(self.core, ids, self.token)

    async def flush(self) -> None:
        if self._flushing is not None:
            await self._flushing
        if self._accepted:
            await self._flush_loop()


class _Inline(_Batch):
    """Replies a conversation step claimed for this process in its own transaction (see
    `Dispatcher.send_reply`): sent at once, with no claim round trip, and recorded as sent in
    group commits shared by every chat."""

    def __init__(self, core: Core, token: str) -> None:
        super().__init__(core, token, [], REPLY_LEASE, 0.0)

    async def holds(self, row_id: int) -> bool:
        return True  # claimed a moment ago, in the step's own transaction


async def finish_sent(core: Core, ids: list[int], token: str) -> None:
    """Record rows the platform accepted as sent (on the driver where the hot path runs)."""
    if core.hot is not None:
        try:
            async with core.writing():
                await core.hot.finish_sent([(i, token) for i in ids], core.clock())
            return
        except hot.BusyError:
            pass  # SQLite: another process writes; wait for it the ORM's way
    async with core.writing(), core.sessions() as session, session.begin():
        await outbox.finish_many(session, ids, "sent", now=core.clock(), token=token)


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential with ±50 % jitter, so that
    many rows failing together do not come back together."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(attempt - 1, 0))
    return float(base * (0.5 + rng()))


class Dispatcher:
    def __init__(
        self,
        core: Core,
        senders: Mapping[str, Sender],
        *,
        platforms: Sequence[str] = (),
        broadcast_id: int | None = None,
        recipient: str | None = None,
    ) -> None:
        """Loops for the platforms of `senders` and of `platforms`: those with no sender (a
        channel that is off here) get a loop too, which marks their rows skipped rather than
        leave them pending for ever (the server passes every platform it delivers for). With
        `broadcast_id`, only that broadcast's rows (the command line's broadcast must not touch
        the server's other pushes); with `recipient`, only that chat's (a console user's
        `fieldbot chat` takes its own rows)."""
        self.core = core
        self.senders = dict(senders)
        self.broadcast_id = broadcast_id
        self.recipient = recipient
        self.platforms = sorted({*self.senders, *platforms})
        self._wake = {
            (platform, lane): asyncio.Event()
            for platform in self.platforms
            for lane in outbox.LANES
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._rounds: dict[str, set[asyncio.Task[int]]] = {}  # claim rounds of replies
        self._sending: dict[str, set[asyncio.Task[int]]] = {}  # replies sent at once
        self._claiming = 0  # reply loops between their wake-up and their round's start
        self._looking: set[str] = set()  # platforms whose reply loop is claiming right now
        # Replies the conversation claimed for this process as it wrote them (send_reply).
        self.inline_token = str(uuid.uuid4())
        self._inline = _Inline(core, self.inline_token)
        # Platforms with replies written for the reply loop (not sent at once) since its last
        # empty look: when a reply sent at once is done, one of them may be free to go.
        self._queued_replies: set[str] = set()

    def wake(self, platform: str | None = None, lane: str | None = None) -> None:
        """New rows were committed (for `platform`'s `lane`, or any): look now rather than at
        the next poll. Only the loops that can have work are woken: on SQLite every look takes
        the one writer's turn."""
        for (each, its_lane), event in self._wake.items():
            if platform in (None, each) and lane in (None, its_lane):
                event.set()
                if its_lane == "reply":
                    self._queued_replies.add(each)

    def send_reply(self, platform: str, row: OutboxMessage | Claimed) -> None:
        """Send a reply now: a conversation step wrote it already claimed by `inline_token`
        (when no earlier reply to the chat was unfinished), so it goes without a claim round
        trip. Should this process die first, the short lease lets the reply loop send it."""
        sender = self.senders.get(platform)
        if sender is None:
            self.wake(platform, "reply")  # the loop records it as skipped
            return
        claimed = row if isinstance(row, Claimed) else Claimed.of(row)
        sending = self._sending.setdefault(platform, set())

        async def send() -> int:
            await self._send(platform, sender, claimed, self._inline, self.inline_token)
            await self._inline.flush()
            return 1

        task = asyncio.create_task(send())
        sending.add(task)

        def finished(done: asyncio.Task[int]) -> None:
            sending.discard(done)
            if platform in self._queued_replies or platform in self._looking:
                # One held back behind this may go now (a look under way may have missed it).
                self._wake[(platform, "reply")].set()
            if not done.cancelled() and done.exception() is not None:
                log.error("outbox %s reply failed: %s", platform, redact(repr(done.exception())))

        task.add_done_callback(finished)

    def start(self, lanes: Sequence[str] = outbox.LANES) -> None:
        """Run the loops of `lanes` (tests leave pushes out and deliver them step by step)."""
        for platform in self.platforms:
            for lane in lanes:
                name = f"outbox-{platform}-{lane}"
                self._tasks.append(asyncio.create_task(self._loop(platform, lane), name=name))

    async def stop(self, grace: float = 10.0) -> None:
        """Let each loop finish the rows it is on (cancelling in the middle of a database call
        can leave a connection hanging), then cancel what is still running."""
        self._stopping.set()
        self.wake()
        running = [*self._tasks, *self._in_flight()]
        _done, pending = await asyncio.wait(running, timeout=grace) if running else ((), ())
        for task in pending:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._tasks.clear()

    async def settle(self, within: float = 30.0) -> None:
        """Wait until no reply round is in flight and none is due (tests, and shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            running = self._in_flight()
            if running:
                await asyncio.wait(running, timeout=deadline - loop.time())
                continue
            waking = any(self._wake[(p, "reply")].is_set() for p in self.platforms)
            if not waking and not self._claiming:
                return
            await asyncio.sleep(0.005)

    def _in_flight(self) -> set[asyncio.Task[int]]:
        return {t for tasks in (*self._rounds.values(), *self._sending.values()) for t in tasks}

    async def _loop(self, platform: str, lane: str, idle: float = 1.0) -> None:
        wake = self._wake[(platform, lane)]
        rounds = self._rounds.setdefault(platform, set()) if lane == "reply" else set()
        while not self._stopping.is_set():
            if len(rounds) >= REPLY_ROUNDS:
                await asyncio.wait(set(rounds), timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                continue
            self._claiming += lane == "reply"
            wake.clear()
            try:
                found = await self._round(platform, lane, rounds)
            finally:
                self._claiming -= lane == "reply"
            if found == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), idle)

    async def _round(self, platform: str, lane: str, rounds: set[asyncio.Task[int]]) -> int:
        """Claim and send one round: a push round inside the loop, a reply round beside it
        (up to REPLY_ROUNDS at once, so one slow chat does not hold the other replies up)."""
        try:
            if lane != "reply":
                return await self.deliver_due(platform, lane)
            queued = platform in self._queued_replies
            self._queued_replies.discard(platform)
            self._looking.add(platform)
            try:
                claimed = await self._claim(platform, lane)
            finally:
                self._looking.discard(platform)
        except Exception:
            log.exception("outbox %s %s: delivery round failed", platform, lane)
            return 0
        if queued and (claimed or rounds or self._sending.get(platform)):
            self._queued_replies.add(platform)  # some may be held back behind sends in flight
        if not claimed:
            return 0
        task = asyncio.create_task(self._send_claimed(platform, *claimed))
        rounds.add(task)

        def finished(done: asyncio.Task[int]) -> None:
            rounds.discard(done)
            self._wake[(platform, lane)].set()  # the chat's next reply may go now
            if not done.cancelled() and done.exception() is not None:
                log.error("outbox %s reply round failed: %s", platform, done.exception())

        task.add_done_callback(finished)
        return len(claimed[0])

    async def deliver_due(self, platform: str, lane: str = "push") -> int:
        """Claim and send what is due now for `platform` on `lane`; returns how many rows
        were tried.

        Rows for different chats go out side by side (up to CONCURRENCY at once, within the
        sender's own rate limits), so one chat's pacing does not hold up the others; a chat's
        own rows go in order. What the platform accepted is recorded in group commits."""
        claimed = await self._claim(platform, lane)
        if not claimed:
            return 0
        return await self._send_claimed(platform, *claimed)

    async def _claim(self, platform: str, lane: str) -> tuple[list[Claimed], str] | None:
        token = str(uuid.uuid4())
        lease = dt.timedelta(seconds=self.core.settings.outbox_lease_seconds)
        if lane == "reply":
            lease = min(lease, REPLY_LEASE)
        if self.core.engine.dialect.name == "sqlite":
            # A look that finds nothing should not wait for (and hold) the one writer's turn.
            async with reading(self.core.sessions) as session:
                if not await outbox.anything_due(
                    session, platform, self.core.clock(), self.broadcast_id, lane, self.recipient
                ):
                    return None
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            rows = await outbox.claim(
                session, platform, self.core.clock(), BATCH, lease, token, self.broadcast_id,
                lane, self.recipient,
            )  # fmt: skip
            claimed = [Claimed.of(row) for row in rows]
        return (claimed, token) if claimed else None

    async def _send_claimed(self, platform: str, claimed: list[Claimed], token: str) -> int:
        sender = self.senders.get(platform)
        if sender is None:
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                await outbox.finish_many(
                    session, [row.id for row in claimed], "skipped", now=self.core.clock(),
                    token=token, error=f"the {platform} channel is off (no credentials)",
                )  # fmt: skip
            return len(claimed)
        lease = dt.timedelta(seconds=self.core.settings.outbox_lease_seconds)
        linger = FLUSH_LINGER
        if claimed and outbox.lane_of(claimed[0].kind) == "reply":
            # A reply round is short: what it sends gathers in a commit while the one before
            # runs, and the chat's next reply waits for that commit, so none lingers.
            lease, linger = min(lease, REPLY_LEASE), 0.0
        batch = _Batch(self.core, token, [row.id for row in claimed], lease, linger)
        chats: dict[str, list[Claimed]] = {}
        for row in claimed:
            chats.setdefault(row.recipient, []).append(row)
        slots = asyncio.Semaphore(getattr(sender, "concurrency", CONCURRENCY))

        async def chat(rows: list[Claimed]) -> None:
            async with slots:
                for row in rows:
                    await self._send(platform, sender, row, batch, token)

        await asyncio.gather(*(chat(rows) for rows in chats.values()))
        await batch.flush()
        return len(claimed)

    async def _send(
        self, platform: str, sender: Sender, row: Claimed, batch: _Batch, token: str
    ) -> None:
        if not await batch.holds(row.id):
            log.warning("outbox %s row %s was taken back; not sending it", platform, row.id)
            return
        messages = [Outgoing.from_json(m) for m in row.payload.get("messages", [])]

        async def on_part(parts: int) -> None:
            if self.core.hot is not None:
                try:
                    async with self.core.writing():
                        await self.core.hot.part_sent(row.id, token, parts)
                    return
                except hot.BusyError:
                    pass
            async with self.core.writing(), self.core.sessions() as session, session.begin():
                await outbox.part_sent(session, row.id, token, parts)

        extra = {k: v for k, v in row.payload.items() if k not in ("messages", "to")}
        extra["kind"] = row.kind
        try:
            to = row.payload.get("to")
            await sender.deliver(
                row.recipient, messages, row.retry_key, done=row.parts_sent, on_part=on_part,
                extra=extra, **({"to": [str(r) for r in to]} if to is not None else {}),
            )  # fmt: skip
        except DeliveryError as error:
            batch.finished(row.id)
            await self._failed(platform, row, error, token)
        except Exception as error:  # a bug or an unknown failure: retry, and say so
            log.exception("outbox %s row %s: unexpected failure", platform, row.id)
            batch.finished(row.id)
            await self._failed(platform, row, DeliveryError("retry", repr(error)), token)
        else:
            await batch.sent(row.id)
            if row.payload.get(outbox.FORGET):
                await self._forget(row.id)
            elif row.payload.get(outbox.EPHEMERAL):
                async with self.core.writing(), self.core.sessions() as session, session.begin():
                    await outbox.empty_content(session, row.id)

    async def _forget(self, row_id: int) -> None:
        """The last word to someone who erased their data went out (or never will): the row
        keeps no trace of their chat."""
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            await outbox.forget(session, row_id)

    async def _failed(self, platform: str, row: Claimed, error: DeliveryError, token: str) -> None:
        now = self.core.clock()
        detail = redact(str(error))
        if error.kind == "blocked" and error.person:
            await set_active(self.core, platform, row.recipient, False)
        alert = row.kind in outbox.ALERT_KINDS
        async with self.core.writing(), self.core.sessions() as session, session.begin():
            if error.kind == "retry" and (alert or row.attempts < MAX_ATTEMPTS):
                wait = error.retry_after if error.retry_after is not None else backoff(row.attempts)
                if alert:
                    wait = min(wait, ALERT_RETRY_CAP)
                retry_at = now + dt.timedelta(seconds=wait)
                await outbox.finish(
                    session, row.id, "pending", now=now, error=detail, retry_at=retry_at,
                    token=token,
                )  # fmt: skip
                log.warning("outbox %s row %s: %s; again in %.0f s", platform, row.id, detail, wait)
            else:
                status = "skipped" if error.kind == "blocked" else "failed"
                await outbox.finish(session, row.id, status, now=now, error=detail, token=token)
                if row.payload.get(outbox.FORGET):
                    await outbox.forget(session, row.id)
                elif row.payload.get(outbox.EPHEMERAL):
                    await outbox.empty_content(session, row.id)
                log.error("outbox %s row %s %s: %s", platform, row.id, status, detail)
