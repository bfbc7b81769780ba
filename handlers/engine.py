"""The form engine: advances one conversation by exactly one input. Pure: it reads the state, the
input and the environment and returns messages, domain events and the new state. It never sends,
never stores and never opens a connection; the caller persists the state it returns.

The engine is the loop between steps (start, advance, back, skip, edit from the summary, submit);
what a step asks and what its answer means is its kind's, in `handlers.steps`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from handlers.buttons import (
    CONFIRM_SUBMIT,
    EDIT_PREFIX,
    MAX_BUTTON_NUMBER,
    NAV_BACK,
    NAV_CANCEL,
    NAV_DONE,
    NAV_MORE,
    NAV_SKIP,
    button_for_text,
    button_number,
)
from handlers.events import (
    BroadcastCommand,
    CaseCommand,
    CaseFeedback,
    ConsentRefused,
    Event,
    JoinRequested,
    PrivacyAsked,
    Result,
    ShowMyReports,
    StaffQuery,
    Submitted,
)
from handlers.forms import Form, Step, StepType
from handlers.messages import Choice, Inbound, Outgoing, PhotoRef
from handlers.state import Env, FormState, UserView, language_of
from handlers.steps.area import describe_area
from handlers.steps.base import (
    Answered,
    AnswerError,
    Edit,
    Ended,
    Stay,
    Submit,
    Turn,
    applies,
    display_answer,
    kind_of,
    option_label,
    option_values,
    registered,
)
from handlers.steps.text import TEXT_MAXIMUM

__all__ = [
    "CONFIRM_SUBMIT",
    "EDIT_PREFIX",
    "INPUT_LIMITS",
    "MAX_BUTTON_NUMBER",
    "NAV_BACK",
    "NAV_CANCEL",
    "NAV_DONE",
    "NAV_MORE",
    "NAV_SKIP",
    "TEXT_MAXIMUM",
    "BroadcastCommand",
    "CaseCommand",
    "CaseFeedback",
    "ConsentRefused",
    "Env",
    "Event",
    "FormState",
    "JoinRequested",
    "PrivacyAsked",
    "Result",
    "ShowMyReports",
    "StaffQuery",
    "Submitted",
    "UserView",
    "advance",
    "answer_length",
    "button_for_text",
    "button_number",
    "describe_area",
    "display_answer",
    "input_limit",
    "language_of",
    "option_label",
    "option_values",
    "photos_of",
    "prompt",
    "refuse_long_text",
    "start",
]

# The longest typed answer each kind of step can use (a text step: its own maximum).
INPUT_LIMITS: Mapping[StepType, int] = {
    kind.type: kind.limit for kind in registered().values() if kind.type != "text"
}


def start(form: Form, user: UserView, env: Env, preset: Mapping[str, Any] | None = None) -> Result:
    """Begin `form` at its first step that applies. `preset` carries values that are not
    questions (an invite code typed before registering) through to the submitted answers."""
    state = FormState(form.id, form.version, form.steps[0].id, dict(preset or {}), {"history": []})
    first = _next_applicable(form, state.answers, -1)
    assert first is not None, f"form {form.id} has no applicable step"
    _enter(state, first)
    return Result([prompt(form, state, user, env)], [], state)


def advance(form: Form, state: FormState, inbound: Inbound, user: UserView, env: Env) -> Result:
    """Apply one input to the current step and return what to say next."""
    refused = refuse_long_text(form, state, inbound, user, env)
    if refused is not None:
        return refused
    state = _copy(state)
    step = form.step(state.step_id)
    if step is None:  # a step removed by a new version: start over cleanly
        return start(form, user, env)
    kind = kind_of(step)
    if inbound.kind == "text" and kind.typed_buttons:
        inbound = button_for_text(inbound, prompt(form, _copy(state), user, env).choices)

    if inbound.kind == "choice" and inbound.value:
        value = inbound.value
        if value == NAV_BACK:
            return _back(form, state, user, env)
        if value == NAV_MORE:
            return _next_page(form, state, user, env)
        if value == NAV_SKIP:
            return _skip(form, state, step, user, env)
    elif inbound.kind == "text":
        if env.i18n.is_keyword(inbound.text, "kw.back"):
            return _back(form, state, user, env)
        if env.i18n.is_keyword(inbound.text, "kw.skip"):
            return _skip(form, state, step, user, env)
        if kind.pages and env.i18n.is_keyword(inbound.text, "kw.more"):
            return _next_page(form, state, user, env)

    try:
        outcome = kind.read(Turn(form, step, state, user, env), inbound)
    except AnswerError as problem:
        lang = language_of(user, state, env)
        example_key = f"{step.key}.example"
        text = env.i18n.t(lang, problem.key, **problem.params)
        if env.i18n.has(lang, example_key) or env.i18n.has(env.default_language, example_key):
            text += "\n" + env.i18n.t(lang, "error.example", example=env.i18n.t(lang, example_key))
        return Result([Outgoing(text), prompt(form, state, user, env)], [], state)
    if isinstance(outcome, Answered):
        return _answered(form, state, step, outcome.value, user, env)
    if isinstance(outcome, Stay):
        return Result([prompt(form, state, user, env)], [], state)
    if isinstance(outcome, Submit):
        return _submit(form, state)
    if isinstance(outcome, Edit):
        result = _edit(form, state, outcome.target, user, env)
        if outcome.missing:
            lang = language_of(user, state, env)
            label = env.i18n.t(lang, f"{outcome.target.key}.label")
            result.messages.insert(0, Outgoing(env.i18n.t(lang, "summary.missing", label=label)))
        return result
    assert isinstance(outcome, Ended)
    return outcome.result


def input_limit(step: Step) -> int:
    """How many characters of typed text `step` can use (see `StepKind.limit`)."""
    return kind_of(step).input_limit(step)


def answer_length(step: Step, text: str) -> int:
    """The length of typed `text` as `step` counts it against `input_limit`: without the
    spaces around it, and for a short text step with runs of spaces as one."""
    return kind_of(step).measure(step, text)


def refuse_long_text(
    form: Form, state: FormState, inbound: Inbound, user: UserView, env: Env
) -> Result | None:
    """Typed text longer than the current step can use: the limit, in the user's language, and
    the question again; the text is not read and the state stays as it was. ``None`` for any
    other input."""
    step = form.step(state.step_id)
    if inbound.kind != "text" or step is None:
        return None
    limit = input_limit(step)
    if answer_length(step, inbound.text) <= limit:
        return None
    lang = language_of(user, state, env)
    too_long = Outgoing(env.i18n.t(lang, "error.too_long", limit=f"{limit:,}"))
    return Result([too_long, prompt(form, _copy(state), user, env)], [], _copy(state))


def prompt(form: Form, state: FormState, user: UserView, env: Env) -> Outgoing:
    """The question for the current step, with its buttons."""
    step = form.step(state.step_id)
    assert step is not None
    turn = Turn(form, step, state, user, env)
    kind = kind_of(step)
    question = turn.t(f"{step.key}.prompt")
    current = state.answers.get(step.id)
    if kind.repeats_answer and step.id in state.answers and current not in (None, [], ""):
        answer = display_answer(step, current, turn.lang, env)
        question += "\n" + turn.t("form.current_answer", answer=answer)
    return kind.prompt(turn, question, _nav(turn))


def photos_of(answers: Mapping[str, Any]) -> list[PhotoRef]:
    """Every photo in a form's answers, in order."""
    found: list[PhotoRef] = []
    for value in answers.values():
        if isinstance(value, list):
            found.extend(
                PhotoRef.from_json(v) for v in value if isinstance(v, dict) and "sha256" in v
            )
    return found


# ---------------------------------------------------------------- moving between steps


def _copy(state: FormState) -> FormState:
    """A state the engine may change freely: the caller's stays as it was."""
    return replace(
        state, answers=copy.deepcopy(state.answers), context=copy.deepcopy(state.context)
    )


def _next_applicable(form: Form, answers: Mapping[str, Any], after: int) -> Step | None:
    for step in form.steps[after + 1 :]:
        if applies(step, answers):
            return step
    return None


def _enter(state: FormState, step: Step) -> None:
    state.step_id = step.id
    for transient in ("page", "area", "selected", "photos", "suggestions"):
        state.context.pop(transient, None)


def _answered(
    form: Form, state: FormState, step: Step, value: Any, user: UserView, env: Env
) -> Result:
    """Record `value` for `step` and move to the next step (or back to the summary when editing)."""
    state.answers[step.id] = value
    # Answers to steps whose condition no longer holds would be stale; forget them.
    for other in form.steps:
        if not applies(other, state.answers):
            state.answers.pop(other.id, None)
    history: list[str] = state.context["history"]
    if not history or history[-1] != step.id:
        history.append(step.id)

    if state.context.get("editing"):
        nxt = next(
            (
                s
                for s in form.steps
                if applies(s, state.answers) and s.id not in state.answers and s.type != "confirm"
            ),
            None,
        ) or next((s for s in form.steps if s.type == "confirm"), None)
    else:
        nxt = _next_applicable(form, state.answers, form.index(step.id))

    if nxt is None:
        return _submit(form, state)
    _enter(state, nxt)
    return Result([prompt(form, state, user, env)], [], state)


def _submit(form: Form, state: FormState) -> Result:
    answers = {
        k: v for k, v in state.answers.items() if not ((s := form.step(k)) and s.type == "confirm")
    }
    return Result([], [Submitted(form.id, form.version, form.submit, answers)], None)


def _next_page(form: Form, state: FormState, user: UserView, env: Env) -> Result:
    state.context["page"] = int(state.context.get("page", 0)) + 1
    return Result([prompt(form, state, user, env)], [], state)


def _back(form: Form, state: FormState, user: UserView, env: Env) -> Result:
    step = form.step(state.step_id)
    if step is not None and kind_of(step).back(Turn(form, step, state, user, env)):
        return Result([prompt(form, state, user, env)], [], state)
    history: list[str] = state.context["history"]
    while history:
        previous = form.step(history.pop())
        if (
            previous is not None
            and previous.id != state.step_id
            and applies(previous, state.answers)
        ):
            _enter(state, previous)
            return Result([prompt(form, state, user, env)], [], state)
    lang = language_of(user, state, env)
    return Result(
        [Outgoing(env.i18n.t(lang, "nav.at_first_step")), prompt(form, state, user, env)],
        [],
        state,
    )


def _skip(form: Form, state: FormState, step: Step, user: UserView, env: Env) -> Result:
    if not step.optional:
        lang = language_of(user, state, env)
        return Result(
            [Outgoing(env.i18n.t(lang, "nav.cannot_skip")), prompt(form, state, user, env)],
            [],
            state,
        )
    return _answered(form, state, step, kind_of(step).skipped(), user, env)


def _edit(form: Form, state: FormState, target: Step, user: UserView, env: Env) -> Result:
    state.context["editing"] = True
    state.context["history"] = [s.id for s in form.steps if s.type == "confirm"]
    _enter(state, target)
    return Result([prompt(form, state, user, env)], [], state)


def _nav(turn: Turn) -> list[Choice]:
    step, state, kind = turn.step, turn.state, kind_of(turn.step)
    nav = []
    if step.optional and kind.skip_button:
        nav.append(Choice(NAV_SKIP, turn.t("nav.skip")))
    if state.context.get("history") or kind.inside(turn):
        nav.append(Choice(NAV_BACK, turn.t("nav.back")))
    if turn.form.cancellable:
        nav.append(Choice(NAV_CANCEL, turn.t("nav.cancel")))
    return nav


def words_needed(form: Form) -> set[str]:
    """The catalog keys `form` reads: its title, each step's question, the name of each answer
    the summary shows, and the label of each fixed option (options from configuration are
    the configuration's to check)."""
    keys = {f"{form.key}.title"}
    for step in form.steps:
        keys.add(f"{step.key}.prompt")
        if kind_of(step).editable:
            keys.add(f"{step.key}.label")
        keys |= {f"choice.{step.options_list}.{value}" for value in step.options}
    return keys
