"""The LINE channel (line-bot-sdk): webhook in, replies and pushes out, the rich menu. This
module only states what it is (the adapter holds the SDK)."""

from __future__ import annotations

from bot.channels.base import Capabilities, ChannelSpec

MAX_QUICK_REPLY = 13
NAME = "line"
TITLE = "LINE"
CAPABILITIES = Capabilities(
    max_text=5000,
    buttons_per_message=MAX_QUICK_REPLY,
    quick_replies=True,
    can_push=True,
    rich_menu=True,
    multicast=500,
    page_size=MAX_QUICK_REPLY - 2,  # room for the camera and camera-roll buttons
)
LOGGERS: tuple[str, ...] = ()

OFF_HINT = "set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN"  # what turns it on
SPEC = ChannelSpec(NAME, TITLE, CAPABILITIES, OFF_HINT, LOGGERS)
