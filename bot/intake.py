"""The intake: platform events from the moment a webhook has them until they are handled.

A webhook's events are stored in the inbox (storage/inbox.py) before the webhook is answered;
a failure to store them answers 503, so the platform sends them again. Stored events are
handled here, each sender's strictly in order and different senders' side by side:

- What waits in memory is bounded (`capacity` events). Past it, events stay in the inbox only
  and the sweeper loads them, oldest first, as room frees up; until it has caught up, new events
  wait in the inbox too, so that no sender's later event overtakes an earlier one.
- One sender who writes faster than `per_minute` events a minute is told once to slow down;
  the excess is recorded in the inbox as dropped and not handled. Others are not slowed.
- A database that fails (locked, unreachable) is waited for: the event is tried again with a
  growing pause and stays first in its sender's line. Any other failure is a fault of ours:
  the event is recorded as failed and the user is asked, in their language, to send it again.
- At start, and every few seconds after, the sweeper picks up events the inbox still holds
  that nobody here is handling (a crash or a kill left them; another instance died): only those
  received `grace` seconds ago or earlier, so another live instance's fresh events are its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import exc as sa_exc

from bot.redact import redact
from bot.service import Core, give_up, slow_down
from storage import hot, inbox
from storage.db import reading
from storage.inbox import NewEvent, Stored

log = logging.getLogger(__name__)

Handler = Callable[[Stored], Awaitable[None]]
FLOOD_WINDOW = 60.0  # seconds
RETRY_FIRST = 0.5  # seconds before an event is tried again after the database failed
RETRY_CAP = 30.0
SWEEP_EVERY = 5.0
# Events handled at once (each holds a database connection for its transaction): more only
# queue inside the database pool, where they would keep webhooks from storing new events.
HANDLING = 16


def transient(error: BaseException) -> bool:
    """Whether a failure is the database's (or the network's) and worth waiting out, rather
    than a fault in handling this event."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if hot.transient(error):  # the driver's own errors, from the hot path
        return True
    return isinstance(
        error,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | ConnectionError
        | TimeoutError,
    )


def _fail(waiting: asyncio.Future[list[Stored]], error: Exception) -> None:
    if not waiting.done():  # (a webhook whose caller hung up has stopped waiting)
        waiting.set_exception(error)


class Intake:
    """Stores platform events and handles them from the inbox (see the module's docs)."""

    def __init__(
        self,
        core: Core,
        handlers: Mapping[str, Handler],
        *,
        capacity: int,
        per_minute: int,
        grace: float,
        monotonic: Callable[[], float] = time.monotonic,
        at_once: Collection[str] = (),
    ) -> None:
        """`at_once`: the platforms whose events may be handled before their webhook is
        answered (`_handle_now`): those that send a webhook again until it is answered."""
        self.core = core
        self.handlers = dict(handlers)
        self.at_once = frozenset(at_once)
        self.capacity = capacity
        self.per_minute = per_minute
        self.grace = dt.timedelta(seconds=grace)
        self._monotonic = monotonic
        self._lines: dict[tuple[str, str], deque[Stored]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._known: set[int] = set()  # inbox ids waiting or being handled here
        self._spilled = False  # events were left in the inbox only; the sweeper loads them
        self._arrivals: dict[tuple[str, str], deque[float]] = {}
        self._told: dict[tuple[str, str], float] = {}  # when a flooder was last told
        self._notices: set[asyncio.Task[None]] = set()
        self._sweep = asyncio.Event()
        self._stopping = False
        self._slots = asyncio.Semaphore(HANDLING)
        self._to_store: list[tuple[str, Sequence[NewEvent], asyncio.Future[list[Stored]]]] = []
        self._storing: asyncio.Task[None] | None = None
        # Senders whose event is being handled straight from its webhook (`_handle_now`), and
        # how many webhooks of each sender are being stored: a later event of theirs must not
        # overtake either.
        self._inline: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._storing_for: Counter[tuple[str, str]] = Counter()

    # ------------------------------------------------------------------ in

    async def accept(self, platform: str, events: Sequence[NewEvent]) -> None:
        """Store a webhook's events (raises when they could not be stored: the webhook must
        then not answer 200); the new ones are queued for handling as soon as they are."""
        if not events:
            return
        decided: list[NewEvent] = []
        flooded: set[str] = set()
        now = self._monotonic()
        for event in events:
            if not self._admit(platform, event.sender, now):
                note = f"flood: over {self.per_minute} events a minute"
                event = replace(event, status=inbox.DROPPED, note=note)
                if self._tell(platform, event.sender, now):
                    flooded.add(event.sender)
            decided.append(event)
        one = decided[0] if len(decided) == 1 else None
        if one is None or one.status != inbox.PENDING or not await self._handle_now(platform, one):
            senders = {(platform, event.sender) for event in decided}
            for key in senders:  # after their event being handled at once, if any
                while key in self._inline:
                    await self._inline[key]
            self._storing_for.update(senders)
            try:
                await self._store(platform, decided)  # (queued in their lines when it returns)
            finally:
                self._storing_for.subtract(senders)
                for key in senders:
                    if self._storing_for[key] <= 0:
                        del self._storing_for[key]
        for sender in flooded:
            log.warning("%s user %s sends too fast; the excess is dropped", platform, sender)
            if not sender.startswith("chat:"):
                self._notice(slow_down(self.core, platform, sender, self.per_minute))

    async def _handle_now(self, platform: str, event: NewEvent) -> bool:
        """Handle a webhook's one event before the webhook is answered, in one transaction
        that also stores it (as done): half the transactions of storing it first and handling
        it from the inbox. Only for a platform that sends the webhook again until it is answered
        (a crash meanwhile loses nothing), when nothing of its sender's waits before it or is
        being stored, the intake is not over its capacity and the handling fetches nothing
        from the platform first (a photo: the webhook would wait for the download); False: it
        is to be stored for its sender's line instead. It waits for a handling slot like the
        lines do.

        Should the handling fail, the event is stored (pending) for the line, which waits out
        a database failure or gives up on it as before; should that fail too, the webhook is
        not answered 200. A sender's next event waits until this one is handled or stored."""
        key = (platform, event.sender)
        while key in self._inline:
            await self._inline[key]
        handler = self.handlers.get(platform)
        if (
            handler is None
            or platform not in self.at_once
            or event.slow
            or key in self._storing_for
            or self._stopping
            or self._spilled
            or key in self._lines
            or len(self._known) >= self.capacity
        ):
            return False
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inline[key] = done
        try:
            async with self._slots, self.core.locks.hold(f"{platform}:{event.sender}"):
                item = Stored(0, platform, event.event_id, event.sender, event.payload,
                              self.core.clock(), fresh=True, parsed=event.parsed)  # fmt: skip
                try:
                    await handler(item)
                except Exception as error:
                    log.warning(
                        "%s event %s: handling it at once failed (%s); stored for its line",
                        platform, event.event_id, redact(repr(error)),
                    )  # fmt: skip
                    await self._store(platform, [event])  # before the sender's next one
            return True
        finally:
            del self._inline[key]
            done.set_result(None)

    async def _store(self, platform: str, events: Sequence[NewEvent]) -> list[Stored]:
        """Store in a group commit: the webhooks that arrive while one commit runs (or waits
        for the database) are stored together in the next, each told what became of its own."""
        done: asyncio.Future[list[Stored]] = asyncio.get_running_loop().create_future()
        self._to_store.append((platform, events, done))
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_loop())
        return await done

    async def _store_loop(self) -> None:
        while self._to_store:
            batch, self._to_store = self._to_store, []
            try:
                await self._store_together(batch)
            except Exception as error:
                if len(batch) == 1:
                    _fail(batch[0][2], error)
                    continue
                # One webhook's events must not fail the others': each on its own.
                for one in batch:
                    try:
                        await self._store_together([one])
                    except Exception as alone:
                        _fail(one[2], alone)

    async def _store_together(
        self, batch: list[tuple[str, Sequence[NewEvent], asyncio.Future[list[Stored]]]]
    ) -> None:
        async with self.core.writing(first=True), self.core.sessions() as session, session.begin():
            now = self.core.clock()
            results = [await inbox.store(session, platform, events, now)
                       for platform, events, _done in batch]  # fmt: skip
        for (_platform, _events, done), result in zip(batch, results, strict=True):
            # Queued here, not by the webhook: one whose caller hung up is handled all the same.
            self.queue([item for item in result if item.status == inbox.PENDING])
            if not done.done():
                done.set_result(result)

    def _admit(self, platform: str, sender: str, now: float) -> bool:
        """Count an arrival; False when the sender is over the limit for the last minute."""
        key = (platform, sender)
        arrivals = self._arrivals.setdefault(key, deque())
        while arrivals and arrivals[0] <= now - FLOOD_WINDOW:
            arrivals.popleft()
        if len(arrivals) >= self.per_minute:
            return False
        arrivals.append(now)
        if len(self._arrivals) > 10_000:  # forget senders quiet for a minute
            self._arrivals = {k: v for k, v in self._arrivals.items() if v and v[-1] > now - 60}
        return True

    def _tell(self, platform: str, sender: str, now: float) -> bool:
        """Whether to tell this flooder now: once, until they have been quiet for a window."""
        key = (platform, sender)
        told = self._told.get(key)
        self._told[key] = now
        if len(self._told) > 10_000:
            self._told = {k: v for k, v in self._told.items() if v > now - FLOOD_WINDOW}
        return told is None or told <= now - FLOOD_WINDOW

    def _notice(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception as error:
                log.error("could not tell a user to slow down: %s", redact(repr(error)))

        task = asyncio.create_task(guarded())
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    # ------------------------------------------------------------------ handling

    def queue(self, items: Sequence[Stored], *, sweeping: bool = False) -> None:
        """Put stored events in their senders' lines, as far as memory allows."""
        for item in items:
            if item.id in self._known:
                continue
            if (self._spilled and not sweeping) or len(self._known) >= self.capacity:
                if not self._spilled:
                    log.warning("intake full (%d events): the inbox holds the rest", self.capacity)
                self._spilled = True
                self._sweep.set()
                continue
            self._known.add(item.id)
            key = (item.platform, item.sender)
            self._lines.setdefault(key, deque()).append(item)
            if key not in self._workers:
                self._workers[key] = asyncio.create_task(self._work(key), name="intake")

    async def _work(self, key: tuple[str, str]) -> None:
        line = self._lines[key]
        try:
            while line and not self._stopping:
                item = line[0]
                await self._handle(item)
                line.popleft()
                self._known.discard(item.id)
        finally:
            for item in line:  # left for the next start (or the sweeper)
                self._known.discard(item.id)
            del self._lines[key]
            del self._workers[key]
            if self._spilled and len(self._known) < self.capacity // 2:
                self._sweep.set()

    async def _handle(self, item: Stored) -> None:
        handler = self.handlers.get(item.platform)
        pause = RETRY_FIRST
        while handler is not None:
            try:
                async with self._slots, self.core.locks.hold(f"{item.platform}:{item.sender}"):
                    await handler(item)
                return
            except Exception as error:
                if self._stopping:
                    return  # stays pending: handled after the restart
                if transient(error):
                    log.warning(
                        "%s inbox event %s: the database failed (%s); again in %.1f s",
                        item.platform, item.id, type(error).__name__, pause,
                    )  # fmt: skip
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RETRY_CAP)
                    continue
                log.exception("%s inbox event %s could not be handled", item.platform, item.id)
                await self._give_up(item, error)
                return

    async def _give_up(self, item: Stored, error: Exception) -> None:
        person = not item.sender.startswith("chat:")
        note = f"{type(error).__name__}: {error}"
        pause = RETRY_FIRST
        while not self._stopping:
            try:
                await give_up(self.core, item.platform, item.sender, item.source, note,
                              tell=person)  # fmt: skip
                return
            except Exception as again:
                if not transient(again):
                    log.error("inbox event %s: could not record the failure: %s", item.id,
                              redact(repr(again)))  # fmt: skip
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_CAP)

    # ------------------------------------------------------------------ recovery

    async def recover(self) -> int:
        """Queue what the inbox holds that nobody here is handling; returns how many."""
        room = self.capacity - len(self._known)
        if room <= 0:
            return 0
        now = self.core.clock()
        spilled = self._spilled
        # Events this instance left in the inbox itself (when full) are due at once; others
        # only after `grace`, as another live instance may be about to handle them.
        before = now + dt.timedelta(seconds=1) if spilled else now - self.grace
        async with reading(self.core.sessions) as session:
            found = await inbox.pending(session, self.handlers, received_before=before,
                                        limit=room, exclude=set(self._known))  # fmt: skip
        if spilled and len(found) < room:
            self._spilled = False  # caught up: new events may go straight to their lines
        self.queue(found, sweeping=True)
        return len(found)

    async def run(self, stop: asyncio.Event) -> None:
        """The sweeper, until `stop`: at start and every SWEEP_EVERY seconds, or sooner when
        the intake had to leave events in the inbox."""
        while not stop.is_set():
            self._sweep.clear()
            try:
                found = await self.recover()
                if found:
                    log.info("picked up %d event(s) the inbox held", found)
            except Exception as error:
                log.error("inbox sweep failed: %s", redact(repr(error)))
            with contextlib.suppress(TimeoutError):
                stopping = asyncio.ensure_future(stop.wait())
                swept = asyncio.ensure_future(self._sweep.wait())
                try:
                    await asyncio.wait({stopping, swept}, timeout=SWEEP_EVERY,
                                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                finally:
                    stopping.cancel()
                    swept.cancel()

    # ------------------------------------------------------------------ tests, shutdown

    def __len__(self) -> int:
        return len(self._known)

    async def drain(self, within: float = 30.0) -> None:
        """Wait until every queued event has been handled (tests; shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (self._workers or self._notices) and loop.time() < deadline:
            await asyncio.wait({*self._workers.values(), *self._notices},
                               timeout=deadline - loop.time())  # fmt: skip

    async def stop(self, grace: float = 10.0) -> None:
        """Let the events under way finish, then leave the rest pending for the next start."""
        await self.drain(grace)
        self._stopping = True
        for task in [*self._workers.values(), *self._notices]:
            task.cancel()
        await asyncio.gather(*self._workers.values(), *self._notices, return_exceptions=True)
