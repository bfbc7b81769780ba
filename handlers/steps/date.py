"""A day: "today" / "yesterday" tapped, or typed (Thai month names, Buddhist-Era years,
"เมื่อวาน"), within the step's days ahead and back. Stored as an ISO date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.buttons import answer_value
from handlers.dates import format_date
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
    picked,
    register,
    typed,
)
from handlers.thai import parse_date


@register
class DateKind(StepKind):
    type = "date"
    ask = "date"
    typed_buttons = True

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        quick = [
            Choice(answer_value(turn.step.id, "today"), turn.t("date.today")),
            Choice(answer_value(turn.step.id, "yesterday"), turn.t("date.yesterday")),
        ]
        return Outgoing(question, (*quick, *nav), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step, today = turn.step, turn.env.today
        quick = picked(step, inbound)
        if quick == "today":
            day: dt.date | None = today
        elif quick == "yesterday":
            day = today - dt.timedelta(days=1)
        elif quick is not None:
            raise AnswerError("error.date")
        else:
            day = parse_date(typed(inbound), today)
        if day is None:
            raise AnswerError("error.date")
        if step.max_days_ahead is not None and day > today + dt.timedelta(days=step.max_days_ahead):
            raise AnswerError("error.date_future")
        if step.max_days_back is not None and day < today - dt.timedelta(days=step.max_days_back):
            raise AnswerError("error.date_too_old", days=step.max_days_back)
        return Answered(day.isoformat())

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        day = dt.date.fromisoformat(str(value))
        return format_date(day, lang)

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return (dt.date.fromisoformat(str(value)) if value else None,)

    def columns(self, step: Step, value: Any) -> dict[str, Any]:
        assert step.column is not None
        return {step.column: dt.date.fromisoformat(str(value)) if value else None}
