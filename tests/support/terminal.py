"""A terminal for `run_chat` that a test types into while the chat runs."""

from __future__ import annotations

import asyncio
import io
import queue
from collections.abc import Awaitable, Callable


class TypedInput(io.TextIOBase):
    """Lines typed by a test, read by the chat (from its thread) as they come; `close_input`
    is the end of input."""

    def __init__(self) -> None:
        self._lines: queue.Queue[str] = queue.Queue()

    def type(self, *lines: str) -> None:
        for line in lines:
            self._lines.put(line + "\n")

    def close_input(self) -> None:
        self._lines.put("")

    def readline(self, size: int | None = -1) -> str:
        return self._lines.get()

    def isatty(self) -> bool:
        return False


async def wait_for_text(
    out: io.StringIO, text: str, *, after: int = 0, within: float = 10.0
) -> int:
    """Wait until `text` is printed (past position `after`); returns where it ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (found := out.getvalue().find(text, after)) < 0:
        if loop.time() > deadline:
            raise AssertionError(f"{text!r} never printed; the screen:\n{out.getvalue()}")
        await asyncio.sleep(0.02)
    return found + len(text)


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    """Wait until `check()` holds (what another task records a moment later)."""
    for _ in range(int(within / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never came true")
