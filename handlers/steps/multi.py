"""Several options from a list: tapped one by one (each tap toggles), then "done"; or typed as
one list, which is the whole answer."""

from __future__ import annotations

from typing import Any

from handlers.buttons import NAV_DONE, answer_value
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
    choice_by_text,
    is_done,
    option_label,
    option_values,
    paged,
    picked,
    register,
    typed,
)


def _selected(turn: Turn) -> list[str]:
    step, state = turn.step, turn.state
    return list(state.context.get("selected", state.answers.get(step.id) or []))


@register
class MultiKind(StepKind):
    type = "multi"
    ask = "multi"
    limit = 500  # a list of several options is a few lines
    pages = True
    repeats_answer = False  # the question lists what is selected instead

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        step, lang, env = turn.step, turn.lang, turn.env
        selected = _selected(turn)
        turn.state.context["selected"] = selected
        labels = [
            Choice(
                answer_value(step.id, v),
                ("✓ " if v in selected else "") + option_label(step, v, lang, env),
            )
            for v in option_values(step, env)
        ]
        if selected:
            chosen = ", ".join(option_label(step, v, lang, env) for v in selected)
            question += "\n" + turn.t("multi.selected", chosen=chosen)
        done = [Choice(NAV_DONE, turn.t("multi.done"))]
        return Outgoing(question, paged(labels, [*done, *nav], turn), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step, lang, env = turn.step, turn.lang, turn.env
        values = option_values(step, env)
        selected = _selected(turn)
        if is_done(inbound, env):
            if not selected and not step.optional:
                raise AnswerError("error.multi_empty")
            return Answered([v for v in values if v in selected])

        value = picked(step, inbound)
        if value is not None:
            if value not in values:
                raise AnswerError("error.choice")
            if value in selected:
                selected.remove(value)
            else:
                selected.append(value)
            turn.state.context["selected"] = selected
            return Stay()

        # Typed: one or more options separated by commas or spaces, then we are done. Reading
        # stops at the first piece that is no option (500 characters of junk would otherwise be
        # 250 fuzzy matches), and a piece typed twice is matched once.
        text = typed(inbound)
        whole = choice_by_text(step, text, values, lang, env)
        parts: dict[str, str] = {text: whole} if whole else {}
        if not whole:
            for piece in text.replace("、", ",").replace(" และ ", ",").replace(",", " ").split():
                if piece not in parts:
                    found = choice_by_text(step, piece, values, lang, env)
                    if found is None:
                        raise AnswerError("error.multi")
                    parts[piece] = found
        if not parts:
            raise AnswerError("error.multi")
        chosen = set(parts.values()) | set(selected)
        return Answered([v for v in values if v in chosen])

    def skipped(self) -> Any:
        return []

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return ", ".join(option_label(step, str(v), lang, env) for v in value)

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return ("; ".join(label(f"choice.{step.options_list}.{v}") for v in value or ()),)
