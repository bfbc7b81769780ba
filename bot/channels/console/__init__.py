"""The console channel: `fieldbot chat` in a terminal or through a pipe, on the same core and
database as the platforms. Its pushes are not sent by the server: the user's own running chat
takes them from the outbox and shows them (bot.channels.console.pushes)."""

from __future__ import annotations

from bot.channels.base import Capabilities, ChannelSpec

NAME = "console"
CAPABILITIES = Capabilities(
    max_text=100_000,  # a terminal wraps what it is given
    buttons_per_message=13,  # numbered lines, picked by typing the number
    quick_replies=False,
    can_push=True,  # shown in the running chat, or when the user next starts one
    rich_menu=False,
    server_delivers=False,
    page_size=13,
)
SPEC = ChannelSpec(NAME, "console", CAPABILITIES)
