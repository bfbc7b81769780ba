"""Replay a form by step id: answer whatever question the conversation is at, from answers
keyed by step id, and a plain answer of the right kind for a step the test does not name — so
a question added to a form does not break the tests that walk through it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import select

from bot.service import Core
from handlers.forms import Step
from storage.models import Conversation, User

# An answer: typed text, texts typed in turn (the area step asks province, district,
# subdistrict and village), or something to do (send a photo, a location) for that step.
Answer = str | list[str] | Callable[[], Awaitable[None]]


async def waiting_at(core: Core, platform: str, user: str) -> tuple[str, str] | None:
    """The (form, step) a stored conversation waits at; None at no form."""
    async with core.sessions() as session:
        found = await session.execute(
            select(Conversation.form_id, Conversation.step_id)
            .join(User, User.id == Conversation.user_id)
            .where(User.platform == platform, User.platform_user_id == user)
        )
        row = found.first()
    if row is None or not row[0] or not row[1]:
        return None
    return str(row[0]), str(row[1])


def plain_answer(core: Core, step: Step, lang: str) -> str:
    """What a person who has nothing particular to say answers at `step`: skip it when it is
    optional; else the first option, a small number, a sentence, the registered village."""
    t = core.i18n.t
    if step.optional:
        return t(lang, "photos.none") if step.type == "photos" else t(lang, "nav.skip")
    if step.type in ("choice", "multi"):
        values = step.options or core.lists.options[step.options_list or ""]
        return t(lang, f"choice.{step.options_list}.{values[0]}")
    if step.type == "number":
        return str(max(step.minimum or 1, 1))
    if step.type == "location":
        return t(lang, "location.use_village")
    if step.type == "date":
        return t(lang, "date.today")
    if step.type == "confirm":
        return t(lang, "summary.submit")
    assert step.type != "area", f"step {step.id}: name the area to answer it with"
    return "ข้อความทดสอบของแบบฟอร์ม"[: step.maximum or 100]


async def fill(
    core: Core,
    platform: str,
    user: str,
    say: Callable[[str], Awaitable[None]],
    answers: Mapping[str, Answer],
    *,
    lang: str = "th",
    until: str | None = None,
) -> None:
    """Answer the conversation of `user` step by step, by step id, until its form is done
    (or it waits at step `until`). A step that does not move on after two answers fails the
    test with the step's id, not later with an unrelated assertion."""
    tries: dict[str, int] = {}
    while (at := await waiting_at(core, platform, user)) is not None:
        form_id, step_id = at
        if step_id == until:
            return
        tries[step_id] = tries.get(step_id, 0) + 1
        assert tries[step_id] <= 2, f"{form_id}.{step_id} did not take its answer"
        step = core.forms[form_id].step(step_id)
        assert step is not None, f"{form_id} has no step {step_id}"
        answer = answers.get(step_id) or plain_answer(core, step, lang)
        if isinstance(answer, str):
            await say(answer)
        elif isinstance(answer, list):
            for text in answer:
                await say(text)
        else:
            await answer()
