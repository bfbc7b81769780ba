"""Up to the step's maximum of photos, one message each, then "done" (or none, if optional).
The same photo sent twice counts once; each photo has a button that takes it out again; and
editing the answer from the summary starts from the photos sent, to add or remove some."""

from __future__ import annotations

from typing import Any

from handlers.buttons import NAV_DONE, NAV_SKIP, answer_value
from handlers.forms import Step
from handlers.messages import Choice, Inbound, Outgoing
from handlers.state import Env
from handlers.steps.base import (
    Answered,
    AnswerError,
    Cell,
    Label,
    Outcome,
    Stay,
    StepKind,
    Turn,
    is_done,
    picked,
    register,
)

REMOVE = "remove:"


def _photos(turn: Turn) -> list[dict[str, Any]]:
    """The photos taken so far: those sent at this step, or, when it is entered again to edit
    it, the ones its answer holds."""
    state = turn.state
    return list(state.context.get("photos", state.answers.get(turn.step.id) or []))


@register
class PhotosKind(StepKind):
    type = "photos"
    ask = "photos"
    typed_buttons = True
    repeats_answer = False
    skip_button = False  # offers "no photo" instead

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        step = turn.step
        photos = _photos(turn)
        turn.state.context["photos"] = photos
        extra = []
        if photos:
            question = turn.t("photos.received", count=len(photos), maximum=step.maximum or 5)
            extra.append(Choice(NAV_DONE, turn.t("photos.done")))
            extra.extend(
                Choice(answer_value(step.id, f"{REMOVE}{n}"), turn.t("photos.remove", number=n))
                for n in range(1, len(photos) + 1)
            )
        elif step.optional:
            extra.append(Choice(NAV_SKIP, turn.t("photos.none"), also=turn.also("photos.none")))
        return Outgoing(question, (*extra, *nav), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step, state = turn.step, turn.state
        photos = _photos(turn)
        maximum = step.maximum or 5
        if inbound.kind == "photo" and inbound.photo is not None:
            sent = inbound.photo.as_json()
            if any(p.get("sha256") == sent.get("sha256") for p in photos):
                raise AnswerError("photos.duplicate", count=len(photos), maximum=maximum)
            if len(photos) >= maximum:  # editing a full set: one must go first
                raise AnswerError("photos.full", maximum=maximum)
            photos.append(sent)
            state.context["photos"] = photos
            return Answered(photos) if len(photos) >= maximum and not _editing(turn) else Stay()
        done = is_done(inbound, turn.env)
        if done and photos:
            return Answered(photos)
        if done and step.optional:
            return Answered([])
        value = picked(step, inbound) if inbound.kind == "choice" and not done else None
        if value is not None and value.startswith(REMOVE):
            number = value[len(REMOVE) :]
            if not number.isascii() or not number.isdigit() or not 0 < int(number) <= len(photos):
                raise AnswerError("error.stale_button")
            del photos[int(number) - 1]
            state.context["photos"] = photos
            return Stay()
        if inbound.kind == "choice" and not done:
            raise AnswerError("error.stale_button")
        raise AnswerError("error.photo", maximum=maximum)

    def skipped(self) -> Any:
        return []

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return env.i18n.t(lang, "photos.count", count=len(value))

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return (len(value or ()),)


def _editing(turn: Turn) -> bool:
    """Entered again from the summary: the set is finished with "done", not by filling it."""
    return bool(turn.state.context.get("editing"))
