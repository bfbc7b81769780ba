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
    StepKind,
    Turn,
    choice_by_text,
    option_label,
    option_values,
    paged,
    picked,
    register,
    typed,
)


@register
class ChoiceKind(StepKind):
    type = "choice"
    ask = "choice"
    pages = True

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        step, lang, env = turn.step, turn.lang, turn.env
        labels = [
            Choice(answer_value(step.id, v), option_label(step, v, lang, env))
            for v in option_values(step, env)
        ]
        return Outgoing(question, paged(labels, nav, turn), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        values = option_values(turn.step, turn.env)
        value = picked(turn.step, inbound)
        if value is None:
            value = choice_by_text(turn.step, typed(inbound), values, turn.lang, turn.env)
        if value not in values:
            raise AnswerError("error.choice")
        return Answered(value)

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return option_label(step, str(value), lang, env)

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return (label(f"choice.{step.options_list}.{value}") if value else None,)
