"""One option from a list: tapped, typed by its number, or typed by (part of) its label."""

from __future__ import annotations

from typing import Any

from handlers.buttons import answer_value
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
    choices_by_text,
    option_label,
    option_values,
    paged,
    picked,
    register,
    typed,
)

SUGGESTIONS = 4  # options offered at most when what was typed fits several


@register
class ChoiceKind(StepKind):
    type = "choice"
    ask = "choice"
    pages = True

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        step, lang, env = turn.step, turn.lang, turn.env
        values = option_values(step, env)
        fitting = [v for v in turn.state.context.get("suggestions") or [] if v in values]
        if fitting:  # what was typed fits several options: which one?
            labels = [Choice(answer_value(step.id, v), option_label(step, v, lang, env))
                      for v in fitting]  # fmt: skip
            return Outgoing(turn.t("choice.which"), (*labels, *nav), self.ask)
        labels = [
            Choice(answer_value(step.id, v), option_label(step, v, lang, env)) for v in values
        ]
        return Outgoing(question, paged(labels, nav, turn), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        values = option_values(turn.step, turn.env)
        value = picked(turn.step, inbound)
        if value is None:
            found = choices_by_text(turn.step, typed(inbound), values, turn.lang, turn.env)
            if len(found) > 1:
                turn.state.context["suggestions"] = found[:SUGGESTIONS]
                return Stay()
            value = found[0] if found else None
        if value not in values:
            raise AnswerError("error.choice")
        turn.state.context.pop("suggestions", None)
        return Answered(value)

    def back(self, turn: Turn) -> bool:
        return turn.state.context.pop("suggestions", None) is not None  # back to every option

    def inside(self, turn: Turn) -> bool:
        return bool(turn.state.context.get("suggestions"))

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return option_label(step, str(value), lang, env)

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return (label(f"choice.{step.options_list}.{value}") if value else None,)
