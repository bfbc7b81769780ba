"""Up to the step's maximum of photos, one message each, then "done" (or none, if optional)."""

from __future__ import annotations

from typing import Any

from handlers.buttons import NAV_DONE, NAV_SKIP
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
    register,
)


@register
class PhotosKind(StepKind):
    type = "photos"
    ask = "photos"
    typed_buttons = True
    repeats_answer = False
    skip_button = False  # offers "no photo" instead

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        photos = turn.state.context.get("photos", [])
        extra = []
        if photos:
            question = turn.t("photos.received", count=len(photos), maximum=turn.step.maximum)
            extra.append(Choice(NAV_DONE, turn.t("photos.done")))
        elif turn.step.optional:
            extra.append(Choice(NAV_SKIP, turn.t("photos.none"), also=turn.also("photos.none")))
        return Outgoing(question, (*extra, *nav), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step, state = turn.step, turn.state
        photos: list[dict[str, Any]] = list(state.context.get("photos", []))
        maximum = step.maximum or 5
        if inbound.kind == "photo" and inbound.photo is not None:
            photos.append(inbound.photo.as_json())
            state.context["photos"] = photos
            return Answered(photos) if len(photos) >= maximum else Stay()
        done = is_done(inbound, turn.env)
        if done and photos:
            return Answered(photos)
        if done and step.optional:
            return Answered([])
        if inbound.kind == "choice" and not done:
            raise AnswerError("error.stale_button")
        raise AnswerError("error.photo", maximum=maximum)

    def skipped(self) -> Any:
        return []

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return env.i18n.t(lang, "photos.count", count=len(value))

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return (len(value or ()),)
