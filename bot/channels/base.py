"""What every channel is. Its spec states what the platform can do (`Capabilities`); opened, it
is a `Channel`: it answers its own routes, reads webhooks into neutral inbound events, handles
them, and delivers neutral outgoing messages for the outbox dispatcher within the platform's
limits (`Sender`).

The rest of the edge holds only these types and asks bot.channels.catalog (what platforms
there are and what they can do) or bot.channels.registry (which are on, open them): it never
names a platform. This module imports nothing of the edge, so any part of it may use it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiohttp import web

from handlers.messages import Outgoing
from storage.inbox import NewEvent, Stored


@dataclass
class DeliveryError(Exception):
    """Why a push did not go: retry later, never (permanent), or the user blocked us."""

    kind: Literal["retry", "permanent", "blocked"]
    detail: str
    retry_after: float | None = None
    # "blocked" by a person, who is then marked unreachable (a group chat is nobody to mark).
    person: bool = True

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


PartSent = Callable[[int], Awaitable[None]]
# What the server's generic webhook does with a request (store its events, answer): a channel
# mounts it at the paths it chooses.
Receive = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Capabilities:
    """What a platform can show and do. Renderers keep within it; the edge reads it instead
    of asking which platform it is."""

    max_text: int  # characters in one text message; longer text is split
    buttons_per_message: int  # tappable choices one message carries (0: typed numbers)
    quick_replies: bool  # buttons that vanish once answered (else they stay, or are typed)
    can_push: bool  # can be reached without first writing to us (alerts, reminders…)
    rich_menu: bool  # a standing menu the platform keeps under the chat
    # Pushes leave through the server's outbox dispatcher; False: the channel's own process
    # takes its rows when its user can see them (the console's `fieldbot chat`).
    server_delivers: bool = True
    multicast: int = 0  # people one call can reach (0: one call per person)
    page_size: int = 13  # choices shown per page of a long list
    # The platform sends a webhook again until it is answered 200 (Telegram does; LINE only
    # when its "webhook redelivery" is switched on): an event may then be handled before its
    # webhook is answered (bot.intake), as a crash meanwhile loses nothing.
    redelivers: bool = False


@dataclass(frozen=True)
class ChannelSpec:
    """A platform as data: cheap to import from anywhere in the edge (no SDK, no service)."""

    name: str  # the platform's name in stored rows (users, inbox, outbox)
    title: str  # for operators: logs and the command line
    capabilities: Capabilities
    off_hint: str = ""  # what to set to turn it on
    loggers: tuple[str, ...] = ()  # library loggers too chatty (or too revealing) at INFO


class Sender(Protocol):
    """What the outbox dispatcher needs of a channel."""

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
        """Send, or raise DeliveryError. With `to`, one call reaches all of them (a multicast
        row of a broadcast). The first `done` platform messages were acknowledged on an
        earlier attempt and are not sent again; `on_part(n)` is awaited each time the platform
        acknowledges one, with the count so far. `extra` holds the row's other payload values:
        "kind", and for a reply what the channel stored with it (a LINE reply token and when
        its event came)."""


class Channel(Sender, Protocol):
    """One platform, opened for this process (one API client for its whole life)."""

    name: str
    capabilities: Capabilities
    # Whether this deployment's platform sends a webhook again until it is answered (the
    # capability, or what the settings say of it: LINE's redelivery is an option).
    redelivers: bool

    async def start(self) -> None:
        """Check what can only be checked by asking the platform (a revoked token)."""

    async def close(self) -> None: ...

    def routes(self, receive: Receive) -> list[web.RouteDef]:
        """The HTTP routes this channel answers; `receive` stores a webhook's events."""

    def render(self, outgoing: Outgoing) -> Sequence[object]:
        """One neutral message in this platform's form, within its limits (`capabilities`):
        text split to `max_text`, choices as the buttons it has (LINE quick replies or a
        card, Telegram keyboards, the console's numbered lines), a photo as it sends photos.
        `deliver` sends what this returns."""

    async def read(self, request: web.Request) -> list[NewEvent]:
        """The events of one webhook, checked and cleaned, for the inbox. Raises the HTTP
        error to answer otherwise (bad signature, malformed body)."""

    async def handle(self, item: Stored) -> None:
        """One stored event, in its sender's order (bot.intake calls this)."""
