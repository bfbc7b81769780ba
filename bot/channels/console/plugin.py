"""The console as the registry knows it: always on, its `fieldbot chat` command, and no server
side (its pushes are shown by the user's own chat)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

from bot.channels.base import Channel
from bot.channels.console import SPEC
from bot.config import ChannelOffError, Settings

if TYPE_CHECKING:
    from bot.service import Core


class ConsolePlugin:
    spec = SPEC

    def enabled(self, settings: Settings) -> bool:
        return True  # it needs nothing but the database

    def open(self, core: Core) -> Channel:
        raise ChannelOffError("the console has no server side: its pushes show in `fieldbot chat`")

    def add_commands(self, commands: argparse._SubParsersAction[Any]) -> list[str]:
        chat = commands.add_parser(
            "chat",
            help="chat with the bot in this terminal (or from a pipe)",
            description="Chat with the bot through the same engine and database as the "
            "platforms. Pick choices by number or by text; /photo PATH sends a photo, /location "
            "LAT LON a location, /quit leaves. Reads a pipe too: one input per line. What the "
            "bot pushed to you (alerts, case news, reminders, broadcasts) is shown as it comes, "
            "and what came while no chat of yours ran is shown first.",
        )
        chat.add_argument(
            "--user", required=True, help="who you are (a console user id, e.g. somchai)"
        )
        return ["chat"]

    async def run_command(self, args: argparse.Namespace, settings: Settings) -> int:
        from bot.channels.console.chat import run_chat
        from bot.service import build_core

        # The terminal is the conversation: keep routine log lines out of it.
        if settings.log_level.upper() == "INFO":
            logging.getLogger().setLevel(logging.WARNING)
        core = await build_core(settings)
        try:
            await run_chat(core, args.user, sys.stdin, sys.stdout)
        finally:
            await core.close()
        return 0


PLUGIN = ConsolePlugin()
