"""A console user's pushes (alerts, case notices, reminders, broadcasts). The server leaves
them in the outbox; the user's own `fieldbot chat` takes them, shows them, and only then
records them as sent, through the same dispatcher as the platforms (leases, so a chat that dies
mid-way leaves its rows to the next one). What waited is shown when the chat starts, under a
heading; while it runs, new rows are shown as they come: at once when this process wrote them,
else at the next look (every POLL seconds; another process, such as a villager's chat or the
server, may have written them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.channels.console import NAME
from bot.channels.console.adapter import ConsoleChannel
from bot.outbox import Dispatcher
from bot.service import Core
from handlers.messages import Outgoing

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between looks for rows other processes wrote

# Called with a push's messages and whether it waited for the chat to start.
Show = Callable[[list[Outgoing], bool], None]


class ConsolePushes:
    def __init__(self, core: Core, user: str, show: Show) -> None:
        self._show = show
        self._waited = False
        self._wake = asyncio.Event()
        channel = ConsoleChannel(self._deliver)
        self.dispatcher = Dispatcher(core, {NAME: channel}, recipient=user)

    def _deliver(self, messages: list[Outgoing]) -> None:
        self._show(messages, self._waited)

    async def show_waiting(self) -> int:
        """Show what waited for this user while no chat of theirs ran; returns how many."""
        self._waited = True
        try:
            return await self.deliver()
        finally:
            self._waited = False

    async def deliver(self) -> int:
        """Show every push due now, in the order written; returns how many."""
        shown = 0
        while found := await self.dispatcher.deliver_due(NAME):
            shown += found
        return shown

    def wake(self, *_why: object) -> None:
        """Look now (core.on_outbox: this process committed rows that may be ours)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, every: float = POLL) -> None:
        """Show pushes as they come until `stop`; a round under way is finished first."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.deliver()
            except Exception:  # the database may be away a moment; the chat goes on
                log.exception("console pushes: a look at the outbox failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), every)
