"""The console channel: numbers pick choices; anything else is text."""

from __future__ import annotations

from bot.channels.console.adapter import ConsoleChat
from bot.service import Core
from handlers.messages import Inbound


async def test_a_number_picks_a_choice_and_odd_digits_are_just_text(core: Core) -> None:
    chat = ConsoleChat(core, "somchai")
    await chat.send(Inbound("start"))
    assert chat.choices  # the language question
    said = await chat.line("²")  # isdigit() says yes, int() says no: it is text
    assert said and chat.choices
    said = await chat.line("9" * 5000)  # far past any choice, and past int()'s digit limit
    assert said and chat.choices
    said = await chat.line("๒")  # Thai two: English
    assert any("Privacy notice" in m.text for m in said)
