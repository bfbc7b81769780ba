"""A Thai phone number, typed any common way."""

from __future__ import annotations

from handlers.messages import Inbound
from handlers.steps.base import Answered, AnswerError, Outcome, StepKind, Turn, register, typed
from handlers.thai import parse_phone


@register
class PhoneKind(StepKind):
    type = "phone"

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        phone = parse_phone(typed(inbound))
        if phone is None:
            raise AnswerError("error.phone")
        return Answered(phone)
