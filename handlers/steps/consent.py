"""The privacy notice: agree, or decline (which ends the form with nothing stored)."""

from __future__ import annotations

from typing import Any

from handlers.buttons import answer_value
from handlers.events import ConsentRefused, Result
from handlers.forms import Step
from handlers.messages import Choice, Inbound, Outgoing
from handlers.state import Env
from handlers.steps.base import (
    Answered,
    AnswerError,
    Ended,
    Outcome,
    StepKind,
    Turn,
    paged,
    picked,
    register,
    typed,
)

ANSWERS = ("agree", "decline")


@register
class ConsentKind(StepKind):
    type = "consent"
    ask = "choice"
    typed_buttons = True
    repeats_answer = False
    editable = False  # agreeing is not an answer to change on the summary

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        labels = [Choice(answer_value(turn.step.id, v), turn.t(f"consent.{v}")) for v in ANSWERS]
        return Outgoing(question, paged(labels, nav, turn), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        value = picked(turn.step, inbound)
        if value is None:
            text = typed(inbound)
            if turn.env.i18n.is_keyword(text, "kw.yes"):
                value = "agree"
            elif turn.env.i18n.is_keyword(text, "kw.no"):
                value = "decline"
            else:
                raise AnswerError("error.consent")
        if value == "decline":  # (a new notice declined: what was held is deleted)
            said = "consent.refused" if turn.step.id == "consent" else "consent.refused_again"
            return Ended(Result([Outgoing(turn.t(said))], [ConsentRefused()], None))
        if value != "agree":
            raise AnswerError("error.consent")
        return Answered("agree")

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return env.i18n.t(lang, f"consent.{value}")
