"""A whole number in a range: digits (Thai or Arabic) or Thai number words."""

from __future__ import annotations

from typing import Any

from handlers.forms import Step
from handlers.messages import Inbound
from handlers.state import Env
from handlers.steps.base import (
    Answered,
    AnswerError,
    Cell,
    Label,
    Outcome,
    StepKind,
    Turn,
    register,
    typed,
)
from handlers.thai import parse_number


@register
class NumberKind(StepKind):
    type = "number"
    ask = "number"

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step = turn.step
        number = parse_number(typed(inbound))
        if number is None:
            raise AnswerError("error.number")
        minimum = step.minimum if step.minimum is not None else 0
        maximum = step.maximum if step.maximum is not None else 10**9
        if not minimum <= number <= maximum:
            raise AnswerError("error.number_range", minimum=f"{minimum:,}", maximum=f"{maximum:,}")
        return Answered(number)

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return f"{int(value):,}"

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return (None if value is None else int(value),)  # a number stays a number in XLSX
