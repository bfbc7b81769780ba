"""The platforms there are and what each can do, as data. Any part of the edge may ask here
(it loads no SDK and no service); bot.channels.registry adds what needs them."""

from __future__ import annotations

from bot.channels import console, line, telegram
from bot.channels.base import Capabilities, ChannelSpec

SPECS: tuple[ChannelSpec, ...] = (line.SPEC, telegram.SPEC, console.SPEC)


def spec(name: str) -> ChannelSpec | None:
    """The platform stored as `name`, if there is one."""
    return next((s for s in SPECS if s.name == name), None)


def capabilities(name: str) -> Capabilities | None:
    found = spec(name)
    return found.capabilities if found is not None else None


def names() -> list[str]:
    return [s.name for s in SPECS]


def server_platforms() -> list[str]:
    """Platforms whose pushes the server's dispatcher sends (others are taken by their own
    process: the console's by the user's chat)."""
    return [s.name for s in SPECS if s.capabilities.server_delivers]


def multicast_sizes() -> dict[str, int]:
    """Platforms that reach many people in one call, and how many (a broadcast's rows)."""
    return {s.name: s.capabilities.multicast for s in SPECS if s.capabilities.multicast > 1}


def title(name: str) -> str:
    found = spec(name)
    return found.title if found is not None else name


def quiet_loggers() -> tuple[str, ...]:
    return tuple(logger for s in SPECS for logger in s.loggers)
