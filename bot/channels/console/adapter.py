"""The console channel: `fieldbot chat` talks to the bot in a terminal or through a pipe, with
the same core and database as the platforms. Choices are numbered; `/photo PATH` and
`/location LAT LON` stand in for the platform buttons. Numbers answer the last numbered list
shown, a push's included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels.base import PartSent, Receive
from bot.channels.console import CAPABILITIES, NAME
from bot.service import Core, handle, save_photo
from handlers.engine import button_number
from handlers.messages import Choice, Inbound, Outgoing
from handlers.thai import normalize_digits
from storage.inbox import NewEvent, Stored
from storage.media import PhotoTooLargeError, sniff_content_type

PLATFORM = NAME
NAV_PREFIX = "nav:"
PAGE_SIZE = CAPABILITIES.page_size


def numbered(message: Outgoing) -> tuple[Choice, ...]:
    """The choices picked by number. Navigation (back, cancel, skip, more, done) is typed as a
    word instead, so that a number typed as an answer ("2" people) is never taken for it."""
    return tuple(c for c in message.choices if not c.value.startswith(NAV_PREFIX))


def render(messages: list[Outgoing], photo: Callable[[str], object] | None = None) -> str:
    """Messages as terminal text: each message, its photo (the file, where `photo` says the
    media store keeps it), its options numbered from 1, then the navigation words in
    brackets."""
    lines: list[str] = []
    for message in messages:
        lines.extend(
            f"bot: {line}" if i == 0 else f"     {line}"
            for i, line in enumerate(message.text.splitlines() or [""])
        )
        if message.image:
            lines.append(f"  📷 {photo(message.image) if photo else message.image}")
        for number, choice in enumerate(numbered(message), start=1):
            lines.append(f"  {number}) {choice.label}")
        words = [c.label for c in message.choices if c.value.startswith(NAV_PREFIX)]
        if words:
            lines.append("  " + " · ".join(f"[{word}]" for word in words))
    return "\n".join(lines)


def _read_file(path: str) -> bytes:
    return Path(path).expanduser().read_bytes()


def last_choices(messages: list[Outgoing]) -> tuple[Choice, ...]:
    for message in reversed(messages):
        if message.choices:
            return numbered(message)
    return ()


class ConsoleChat:
    """One console user's side of the conversation."""

    def __init__(self, core: Core, user: str) -> None:
        self.core = core
        self.user = user
        self.choices: tuple[Choice, ...] = ()

    def shown(self, messages: Sequence[Outgoing]) -> None:
        """Messages that reached the screen some other way (a push): their numbers count."""
        found = last_choices(list(messages))
        if found:
            self.choices = found

    async def send(self, inbound: Inbound) -> list[Outgoing]:
        messages = await handle(self.core, PLATFORM, self.user, inbound, page_size=PAGE_SIZE)
        assert messages is not None  # console inputs carry no event id, so never a redelivery
        if messages:
            self.choices = last_choices(messages)
        return messages

    async def line(self, text: str) -> list[Outgoing]:
        """Turn one typed line into an input and return the bot's answer."""
        lang = self.core.settings.default_language
        t = self.core.i18n.t
        stripped = text.strip()
        if stripped.startswith("/photo"):
            path = stripped[len("/photo") :].strip()
            try:
                data = await asyncio.to_thread(_read_file, path)
            except OSError:
                return [Outgoing(t(lang, "console.photo_missing", path=path))]
            if sniff_content_type(data) == "application/octet-stream":
                return [Outgoing(t(lang, "console.photo_invalid", path=path))]
            try:
                photo = await save_photo(self.core, data)
            except PhotoTooLargeError:
                return [Outgoing(t(lang, "console.photo_invalid", path=str(path)))]
            return await self.send(Inbound("photo", photo=photo))
        if stripped.startswith("/location"):
            parts = normalize_digits(stripped[len("/location") :]).replace(",", " ").split()
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except (IndexError, ValueError):
                return [Outgoing(t(lang, "console.location_usage"))]
            return await self.send(Inbound("location", latitude=lat, longitude=lon))
        number = button_number(normalize_digits(stripped), len(self.choices))
        if number is not None and number >= 1:  # "²" and 5,000 digits are text, not a choice
            return await self.send(Inbound("choice", value=self.choices[number - 1].value))
        return await self.send(Inbound("text", text=stripped))


class ConsoleChannel:
    """The console as an outbox sender, inside one user's running `fieldbot chat`: a push is
    delivered by showing it there (`show`), and only then recorded as sent. It takes no
    webhook: typed lines go to the service directly."""

    name = NAME
    capabilities = CAPABILITIES
    redelivers = False  # it receives no webhooks

    def __init__(self, show: Callable[[list[Outgoing]], None]) -> None:
        self._show = show

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def render(self, outgoing: Outgoing) -> list[str]:
        """Terminal lines: the text, its choices numbered from 1, navigation in brackets."""
        return render([outgoing]).splitlines()

    def routes(self, receive: Receive) -> list[web.RouteDef]:
        return []

    async def read(self, request: web.Request) -> list[NewEvent]:
        raise web.HTTPNotFound()

    async def handle(self, item: Stored) -> None:
        raise RuntimeError("the console stores no platform events")

    async def deliver(
        self,
        recipient: str,
        messages: Sequence[Outgoing],
        retry_key: str,
        *,
        done: int = 0,
        on_part: PartSent | None = None,
        to: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self._show(list(messages))
