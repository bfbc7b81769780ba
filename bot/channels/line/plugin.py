"""The LINE channel as the registry knows it: its configuration check, its command-line
set-up, and the adapter (with the SDK, about a second to import) loaded only when opened."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bot.channels.base import Channel
from bot.channels.line import SPEC
from bot.config import ChannelOffError, Settings

if TYPE_CHECKING:
    from bot.service import Core


class LinePlugin:
    spec = SPEC

    def enabled(self, settings: Settings) -> bool:
        return settings.line_enabled

    def open(self, core: Core) -> Channel:
        from bot.channels.line.adapter import LineChannel  # the SDK loads here, not at start

        return LineChannel(core)

    def add_commands(self, commands: argparse._SubParsersAction[Any]) -> list[str]:
        line = commands.add_parser(
            "line",
            help="LINE set-up commands",
            description="Set the LINE channel up: draw and publish the rich menu under the chat.",
        )
        sub = line.add_subparsers(dest="line_command", required=True, metavar="LINE_COMMAND")
        sub.add_parser(
            "setup-richmenu",
            help="create the default rich menu (report activity, report problem, my reports, help)",
            description="Create LINE's default rich menu with an image drawn from the locale "
            "texts in FIELDBOT_DEFAULT_LANGUAGE, and make it every user's default. Needs "
            "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN.",
        )
        return ["line"]

    async def run_command(self, args: argparse.Namespace, settings: Settings) -> int:
        if not self.enabled(settings):
            raise ChannelOffError(f"LINE is off: {SPEC.off_hint}")
        from bot.channels.line.adapter import LineChannel
        from bot.channels.line.richmenu import setup_rich_menu
        from bot.service import build_core

        core = await build_core(settings)
        channel = LineChannel(core)
        try:
            rich_menu_id = await setup_rich_menu(channel)
        finally:
            await channel.close()
            await core.close()
        print(f"rich menu {rich_menu_id} created and set as the default")
        return 0


PLUGIN = LinePlugin()
