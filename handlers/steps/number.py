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

# The answer "I do not know" (ไม่ทราบ), stored as such: a real 0 stays 0, and the report's
# count column is left empty.
UNKNOWN = "unknown"


@register
class NumberKind(StepKind):
    type = "number"
    ask = "number"

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step = turn.step
        text = typed(inbound)
        if turn.env.i18n.is_keyword(text, "kw.unknown"):
            return Answered(UNKNOWN)  # not 0: nobody counted
        number = parse_number(text)
        if number is None:
            raise AnswerError("error.number")
        minimum = step.minimum if step.minimum is not None else 0
        maximum = step.maximum if step.maximum is not None else 10**9
        if not minimum <= number <= maximum:
            raise AnswerError("error.number_range", minimum=f"{minimum:,}", maximum=f"{maximum:,}")
        return Answered(number)

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        if value == UNKNOWN:
            return env.i18n.t(lang, "answer.unknown")
        return f"{int(value):,}"

    def columns(self, step: Step, value: Any) -> dict[str, Any]:
        assert step.column is not None
        return {step.column: None if value == UNKNOWN else value}  # the column holds counts

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        if value == UNKNOWN:
            return (label("answer.unknown"),)
        return (None if value is None else int(value),)  # a number stays a number in XLSX
