"""Every channel renders a neutral message within the limits its capabilities state: a long text
split to `max_text`, the choices kept (on the last piece), nothing lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.base import Channel
from bot.channels.console.adapter import ConsoleChannel
from bot.channels.line.adapter import LineChannel
from bot.channels.telegram.adapter import TelegramChannel
from bot.service import Core, build_core
from handlers.messages import Choice, Outgoing
from tests.support.settings import make_settings

LONG = "น้ำท่วมถนนเข้าหมู่บ้าน " * 700  # about 15,000 characters
CHOICES = (Choice("a:urgency:urgent", "ด่วน"), Choice("a:urgency:normal", "ปกติ"))


@pytest.fixture
async def channels(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[list[Channel]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'render.db'}"
    settings = make_settings(
        url, tmp_path / "media", LINE_CHANNEL_SECRET="line-secret",
        LINE_CHANNEL_ACCESS_TOKEN="line-token", TELEGRAM_BOT_TOKEN="123456:render-token",
        TELEGRAM_WEBHOOK_SECRET="telegram-secret",
    )  # fmt: skip
    core: Core = await build_core(settings)
    opened: list[Channel] = [LineChannel(core), TelegramChannel(core), ConsoleChannel(print)]
    try:
        yield opened
    finally:
        for channel in opened[:2]:
            await channel.close()
        await core.close()


def _texts(channel: Channel, parts: list[object]) -> list[str]:
    if isinstance(channel, ConsoleChannel):
        return [str(p) for p in parts]
    return [str(getattr(p, "text", None) or "") for p in parts]


async def test_long_text_is_split_within_each_platforms_limit(channels: list[Channel]) -> None:
    for channel in channels:
        parts = list(channel.render(Outgoing(LONG.strip(), CHOICES, "choice")))
        texts = _texts(channel, parts)
        limit = channel.capabilities.max_text
        assert all(len(text) <= limit for text in texts), channel.name
        assert "".join(texts).replace("bot: ", "").replace(" ", "").count("น้ำท่วม") == 700
        if isinstance(channel, LineChannel):
            assert parts[-1].quick_reply is not None  # type: ignore[attr-defined]
            assert all(p.quick_reply is None for p in parts[:-1])  # type: ignore[attr-defined]
        elif isinstance(channel, TelegramChannel):
            assert parts[-1].markup is not None and parts[-1].last  # type: ignore[attr-defined]
            assert all(p.markup is None for p in parts[:-1])  # type: ignore[attr-defined]
        else:
            assert any("1) ด่วน" in t for t in texts) and any("2) ปกติ" in t for t in texts)


async def test_a_short_message_is_one_part(channels: list[Channel]) -> None:
    for channel in channels:
        parts = list(channel.render(Outgoing("ด่วนแค่ไหน?", CHOICES, "choice")))
        if isinstance(channel, ConsoleChannel):
            assert parts[0] == "bot: ด่วนแค่ไหน?" and len(parts) == 3
        else:
            assert len(parts) == 1, channel.name
