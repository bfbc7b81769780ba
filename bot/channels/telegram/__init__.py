"""The Telegram channel (python-telegram-bot over aiohttp): webhook in, replies and pushes out,
command lists. This module only states what it is (the adapter holds the SDK)."""

from __future__ import annotations

from bot.channels.base import Capabilities, ChannelSpec

NAME = "telegram"
TITLE = "Telegram"
CAPABILITIES = Capabilities(
    max_text=4000,  # under Telegram's 4,096 so that splitting never lands on the edge
    buttons_per_message=100,  # an inline keyboard; a page of a list is what users read
    quick_replies=False,  # inline keyboards stay, we take them off once pressed
    can_push=True,
    rich_menu=False,  # the command list stands in for it
    page_size=13,
    redelivers=True,  # Telegram retries an update until its webhook answers 200
)
# PTB logs request URLs, and Telegram's URLs carry the bot token.
LOGGERS: tuple[str, ...] = ("telegram",)

OFF_HINT = "set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET"  # what turns it on
SPEC = ChannelSpec(NAME, TITLE, CAPABILITIES, OFF_HINT, LOGGERS)
