"""The Telegram channel as the registry knows it: its configuration check, its command-line
set-up, and the adapter (with the SDK, about a second to import) loaded only when opened."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bot.channels.base import Channel
from bot.channels.telegram import SPEC
from bot.config import ChannelOffError, Settings

if TYPE_CHECKING:
    from bot.service import Core


class TelegramPlugin:
    spec = SPEC

    def enabled(self, settings: Settings) -> bool:
        return settings.telegram_enabled

    def open(self, core: Core) -> Channel:
        from bot.channels.telegram.adapter import TelegramChannel  # the SDK loads here

        return TelegramChannel(core)

    def add_commands(self, commands: argparse._SubParsersAction[Any]) -> list[str]:
        telegram = commands.add_parser(
            "telegram",
            help="Telegram set-up commands",
            description="Set the Telegram bot up: point its webhook at this server (with the "
            "secret) and publish its command lists.",
        )
        sub = telegram.add_subparsers(
            dest="telegram_command", required=True, metavar="TELEGRAM_COMMAND"
        )
        set_webhook = sub.add_parser(
            "set-webhook",
            help="point Telegram at this server and publish the command lists",
            description="Tell Telegram to post updates to URL with TELEGRAM_WEBHOOK_SECRET, and "
            "set the bot's command lists in Thai and English. Needs TELEGRAM_BOT_TOKEN and "
            "TELEGRAM_WEBHOOK_SECRET.",
        )
        set_webhook.add_argument("url", help="public HTTPS address of /webhooks/telegram")
        return ["telegram"]

    async def run_command(self, args: argparse.Namespace, settings: Settings) -> int:
        if not self.enabled(settings):
            raise ChannelOffError(f"Telegram is off: {SPEC.off_hint}")
        from bot.channels.telegram.adapter import TelegramChannel
        from bot.service import build_core

        core = await build_core(settings)
        channel = TelegramChannel(core)
        try:
            await channel.start()
            await channel.set_webhook(args.url)
        finally:
            await channel.close()
            await core.close()
        print(f"Telegram webhook set to {args.url}; command lists published")
        return 0


PLUGIN = TelegramPlugin()
