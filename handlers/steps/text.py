"""Free text within a length: a name, a description, the "other" of a choice."""

from __future__ import annotations

from handlers.forms import Step
from handlers.messages import Inbound
from handlers.steps.base import Answered, AnswerError, Outcome, StepKind, Turn, register, typed

TEXT_MAXIMUM = 1000  # a text step without its own maximum


def text_answer(step: Step, text: str) -> str:
    # Short texts (names, "other" answers) are kept on one line with single spaces.
    return " ".join(text.split()) if step.maximum and step.maximum <= 200 else text


@register
class TextKind(StepKind):
    type = "text"

    def input_limit(self, step: Step) -> int:
        return step.maximum or TEXT_MAXIMUM

    def measure(self, step: Step, text: str) -> int:
        # A short text counts runs of spaces as one, as it is kept.
        return len(text_answer(step, text.strip()))

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step = turn.step
        text = text_answer(step, typed(inbound))
        minimum, maximum = step.minimum or 1, step.maximum or TEXT_MAXIMUM
        if not minimum <= len(text) <= maximum:
            raise AnswerError("error.text_length", minimum=minimum, maximum=maximum)
        return Answered(text)
