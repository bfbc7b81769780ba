"""Whole conversations as readable files (tests/transcripts/*.txt), run through the console
channel, the service and a real database.

Format, one item a line:
  `# ...`            comment; `# given: registered th|en` starts with a registered user
                      (ผู้ใหญ่บ้าน, ม.3 ต.สุเทพ อ.เมืองเชียงใหม่ จ.เชียงใหม่)
  `> text`           what the user types (`{photo}` and `{photo2}` are replaced by the paths
                      of two different sample images)
  `< text`           must appear in the bot's answer to the last input, after the previous `<`
  `~ wait 13h`       the clock moves on (h, m or d)
  `= report KIND N`  the database holds N reports of KIND by this user
  `@ FORM.STEP`      the conversation now waits at this step (`@ -`: at no form)
Lines before the first `>` are checked against the greeting the bot sends on opening the chat.

`pytest tests/bot/test_transcripts.py --update-transcripts` runs every transcript and writes
each input's whole answer back as its `<` lines and the step it reached as its `@` line (the
idea of goflow's `-update`); review the change with `git diff tests/transcripts`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels.console.adapter import ConsoleChat, render
from bot.service import Core
from handlers.forms import NOTICE_VERSION
from handlers.messages import Inbound
from storage import repo
from storage.models import Conversation, Report, User, utcnow
from tests.support.clock import Clock
from tests.support.images import png_bytes

TRANSCRIPTS = sorted((Path(__file__).parent.parent / "transcripts").glob("*.txt"))
UNITS = {"h": "hours", "m": "minutes", "d": "days"}


async def _register(core: Core, user: str, language: str) -> None:
    async with core.sessions() as session, session.begin():
        row = await repo.get_or_create_user(session, "console", user)
        row.display_name = "สมชาย ใจดี"
        row.role = "village_head"
        row.language = language
        row.province_code, row.district_code = "50", "5001"
        row.subdistrict_code, row.village_no = "500108", 3
        row.consent_at = utcnow()
        row.consent_notice_version = NOTICE_VERSION


def _check(output: str, expected: list[str], where: str) -> None:
    position = 0
    for line in expected:
        found = output.find(line, position)
        if found < 0:
            pytest.fail(f"{where}: expected {line!r} in the bot's answer:\n{output}")
        position = found + len(line)


async def _step(core: Core, user: str) -> str:
    async with core.sessions() as session:
        found = await session.execute(
            select(Conversation.form_id, Conversation.step_id)
            .join(User, User.id == Conversation.user_id)
            .where(User.platform == "console", User.platform_user_id == user)
        )
        row = found.first()
    return f"{row[0]}.{row[1]}" if row is not None and row[0] else "-"


def _said(output: str) -> list[str]:
    """The answer's lines as `<` lines: without the console's "bot:" and indentation."""
    lines = (line.removeprefix("bot: ").strip() for line in output.splitlines())
    return [f"< {line}" for line in lines if line]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript(
    path: Path, core: Core, clock: Clock, photo_file: Path, request: pytest.FixtureRequest
) -> None:
    update = bool(request.config.getoption("--update-transcripts"))
    user = path.stem
    chat = ConsoleChat(core, user)
    lines = path.read_text(encoding="utf-8").splitlines()  # noqa: ASYNC240 (small test file)
    second = photo_file.with_name("photo2.png")
    second.write_bytes(png_bytes(4, 4, (40, 120, 200)))
    for line in lines:
        if line.startswith("# given: registered"):
            await _register(core, user, line.split()[-1])
    output = render(await chat.send(Inbound("start")))
    written: list[str] = []  # the transcript as it is now, for --update-transcripts
    answered = False  # the `<` lines of the last answer are written already
    expected: list[str] = []
    where = f"{path.name}: greeting"

    def answer() -> None:
        nonlocal answered
        if update and not answered:
            written.extend(_said(output))
        answered = True

    for number, line in enumerate(lines, start=1):
        if line.startswith("> "):
            answer()
            _check(output, expected if not update else [], where)
            expected = []
            where = f"{path.name}:{number} ({line})"
            written.append(line)
            answered = False
            typed = line[2:].replace("{photo}", str(photo_file))
            output = render(await chat.line(typed.replace("{photo2}", str(second))))
        elif line.startswith("< "):
            expected.append(line[2:])
        elif line.startswith("@ "):
            answer()
            step = await _step(core, user)
            written.append(f"@ {step}")
            if not update:
                assert step == line[2:].strip(), f"{path.name}:{number}: at {step}"
        elif line.startswith("~ wait "):
            answer()
            written.append(line)
            amount = line.split()[-1]
            clock.advance(**{UNITS[amount[-1]]: float(amount[:-1])})
        elif line.startswith("= report "):
            answer()
            written.append(line)
            _check(output, expected if not update else [], where)
            expected = []
            _, _, kind, count = line.split()
            async with core.sessions() as session:
                stored = (
                    await session.execute(
                        select(func.count())
                        .select_from(Report)
                        .join(User, User.id == Report.reporter_id)
                        .where(Report.kind == kind, User.platform_user_id == user)
                    )
                ).scalar_one()
            if not update:
                assert stored == int(count), f"{path.name}:{number}: {stored} {kind} reports"
        elif line.strip() and not line.startswith("#"):
            pytest.fail(f"{path.name}:{number}: cannot read {line!r}")
        else:
            if any(w.startswith("> ") for w in written):
                answer()
            written.append(line)
    answer()
    if update:
        written = [
            w.replace(str(photo_file), "{photo}").replace(str(second), "{photo2}") for w in written
        ]
        if written != lines:
            path.write_text("\n".join(written) + "\n", encoding="utf-8")  # noqa: ASYNC240
        return
    _check(output, expected, where)
