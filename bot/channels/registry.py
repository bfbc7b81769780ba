"""The channels as plugins: which are on in this process, opening them, and their commands.
The server and the command line ask here; they never name a platform. Each platform's
package holds its spec (bot.channels.catalog lists them) and a plugin, listed below."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bot.channels.base import Channel, ChannelSpec
from bot.channels.console.plugin import PLUGIN as CONSOLE
from bot.channels.line.plugin import PLUGIN as LINE
from bot.channels.telegram.plugin import PLUGIN as TELEGRAM
from bot.config import Settings

if TYPE_CHECKING:
    from bot.service import Core


class ChannelPlugin(Protocol):
    """A platform as the registry knows it, cheap to import (no SDK until `open`)."""

    spec: ChannelSpec

    def enabled(self, settings: Settings) -> bool:
        """Whether this process is configured to talk to the platform."""

    def open(self, core: Core) -> Channel:
        """The channel for this process; raises ChannelOffError when it cannot run."""

    def add_commands(self, commands: argparse._SubParsersAction[Any]) -> list[str]:
        """Add this channel's command-line commands; returns their names."""

    async def run_command(self, args: argparse.Namespace, settings: Settings) -> int:
        """Run one of the commands it added."""


PLUGINS: tuple[ChannelPlugin, ...] = (LINE, TELEGRAM, CONSOLE)  # one per catalog.SPECS entry


def status(settings: Settings) -> dict[str, bool]:
    """Each platform and whether this process talks to it (the health check)."""
    return {p.spec.name: p.enabled(settings) for p in PLUGINS}


def open_server_channels(core: Core) -> dict[str, Channel]:
    """The channels the server runs (webhooks in, pushes out) that are on, opened, not yet
    started."""
    return {
        p.spec.name: p.open(core)
        for p in PLUGINS
        if p.spec.capabilities.server_delivers and p.enabled(core.settings)
    }


@contextlib.asynccontextmanager
async def senders(core: Core) -> AsyncIterator[Mapping[str, Channel]]:
    """The server's channels that are on, started, as outbox senders for work outside the
    server (the command line's broadcast); closed afterwards."""
    opened: dict[str, Channel] = {}
    try:
        for p in PLUGINS:
            if p.spec.capabilities.server_delivers and p.enabled(core.settings):
                opened[p.spec.name] = channel = p.open(core)
                await channel.start()
        yield opened
    finally:
        for channel in opened.values():
            await channel.close()


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Every channel's commands; a parsed command names its plugin as `channel_plugin`."""
    for p in PLUGINS:
        for name in p.add_commands(commands):
            commands.choices[name].set_defaults(channel_plugin=p)
