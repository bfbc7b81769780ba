"""The summary before submitting: every answer on a row (the steps marked for the summary, in
the form's order), one tap to submit, one tap to change any answer; a label typed means
changing that answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.buttons import CONFIRM_SUBMIT, EDIT_PREFIX, NAV_CANCEL
from handlers.forms import Form, Step
from handlers.messages import Choice, Inbound, Outgoing
from handlers.steps.base import (
    AnswerError,
    Edit,
    Outcome,
    StepKind,
    Submit,
    Turn,
    applies,
    display_answer,
    kind_of,
    paged,
    register,
    typed,
)
from handlers.thai import match_choice


def summary_rows(form: Form, answers: Mapping[str, Any]) -> list[Step]:
    """The steps the summary lists for these answers, in order."""
    return [s for s in form.steps if s.summary and s.type != "confirm" and applies(s, answers)]


def first_missing(form: Form, answers: Mapping[str, Any]) -> Step | None:
    """The first required question that applies and has no answer."""
    for step in form.steps:
        if step.type == "confirm" or step.optional or not applies(step, answers):
            continue
        if answers.get(step.id) in (None, "", []):
            return step
    return None


def _editable(form: Form, answers: Mapping[str, Any]) -> list[Step]:
    return [s for s in summary_rows(form, answers) if kind_of(s).editable]


@register
class ConfirmKind(StepKind):
    type = "confirm"
    ask = "confirm"
    typed_buttons = True
    repeats_answer = False
    editable = False

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        form, answers, lang, env = turn.form, turn.state.answers, turn.lang, turn.env
        rows: list[tuple[str, str]] = []
        edits: list[Choice] = []
        for step in summary_rows(form, answers):
            label = turn.t(f"{step.key}.label")
            rows.append((label, display_answer(step, answers.get(step.id), lang, env)))
            if kind_of(step).editable:
                edits.append(Choice(EDIT_PREFIX + step.id, turn.t("summary.edit", label=label)))
        lines = [turn.t(f"{form.key}.confirm.prompt")]
        lines += [f"• {label}: {value}" for label, value in rows]
        lines.append(turn.t("summary.how_to_edit"))
        submit = [Choice(CONFIRM_SUBMIT, turn.t("summary.submit"))]
        cancel = [Choice(NAV_CANCEL, turn.t("nav.cancel"))]
        choices = paged([*submit, *edits], cancel, turn)
        return Outgoing("\n".join(lines), choices, self.ask, tuple(rows))

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        form, answers, env = turn.form, turn.state.answers, turn.env
        value = inbound.value if inbound.kind == "choice" else None
        wants_submit = value == CONFIRM_SUBMIT or (
            value is None
            and inbound.kind == "text"
            and (
                env.i18n.is_keyword(inbound.text, "kw.yes")
                or env.i18n.is_keyword(inbound.text, "kw.confirm")
            )
        )
        if wants_submit:
            missing = first_missing(form, answers)
            if missing is not None:  # e.g. left unanswered by going back while editing
                return Edit(missing, missing=True)
            return Submit()
        if value and value.startswith(EDIT_PREFIX):
            target = form.step(value[len(EDIT_PREFIX) :])
            if target is None or not applies(target, answers):
                raise AnswerError("error.stale_button")
            return Edit(target)
        if value is not None:
            raise AnswerError("error.stale_button")
        typed(inbound)
        editable = _editable(form, answers)
        target_id = match_choice(
            inbound.text, [(s.id, env.i18n.variants(f"{s.key}.label")) for s in editable]
        )
        if target_id is not None:
            target = form.step(target_id)
            assert target is not None
            return Edit(target)
        raise AnswerError("error.confirm")
