"""`fieldbot chat`: the terminal loop of one console user, with their pushes shown as they
come (bot.channels.console.pushes)."""

from __future__ import annotations

import asyncio
from typing import TextIO

from bot.channels.console.adapter import ConsoleChat, render
from bot.channels.console.pushes import POLL, ConsolePushes
from bot.service import Core
from handlers.messages import Inbound, Outgoing


async def run_chat(
    core: Core, user: str, stdin: TextIO, stdout: TextIO, *, poll: float = POLL
) -> None:
    """Show what was pushed to `user` while away, then read lines until end of input or /quit
    and print the bot's answers, and pushes as they come. When the input is not a terminal
    each line is echoed after `> `, so a piped session reads as a transcript."""
    chat = ConsoleChat(core, user)
    interactive = stdin.isatty()
    t, default = core.i18n.t, core.settings.default_language
    prompting = False  # a "> " is on the screen, waiting for the user's line
    heading = False

    def show(messages: list[Outgoing], waited: bool) -> None:
        nonlocal heading
        text = render(messages, core.media.path)
        if waited and not heading:
            heading = True
            text = t(messages[0].language or default, "console.while_away") + "\n" + text
        chat.shown(messages)
        stdout.write(("\n" if prompting else "") + text + "\n" + ("> " if prompting else ""))
        stdout.flush()

    pushes = ConsolePushes(core, user, show)
    core.on_outbox = pushes.wake  # rows this process writes (to anyone) may be this user's
    greeting = await chat.send(Inbound("start"))
    stdout.write(render(greeting, core.media.path) + "\n")
    language = next((m.language for m in reversed(greeting) if m.language), default)
    if interactive:
        stdout.write(t(language, "console.hint") + "\n")
    # What waited comes after the greeting: the last list on the screen is the one a typed
    # number answers, so a waiting alert's or notice's buttons can be answered at once.
    await pushes.show_waiting()
    stdout.flush()
    stop = asyncio.Event()
    watcher = asyncio.create_task(pushes.run(stop, poll), name="console-pushes")
    try:
        while True:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            prompting = interactive
            text = await asyncio.to_thread(stdin.readline)
            prompting = False
            if not text:
                break
            text = text.rstrip("\n")
            if text.strip() in ("/quit", "/exit"):
                break
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            if not interactive:
                stdout.write(f"> {text}\n")
            stdout.write(render(await chat.line(text), core.media.path) + "\n")
            stdout.flush()
    finally:
        stop.set()
        pushes.wake()
        await watcher
        core.on_outbox = None
