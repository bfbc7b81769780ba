"""The form engine: advances one conversation by exactly one input. Pure: it reads the state, the
input and the environment and returns messages, domain events and the new state. It never sends,
never stores and never opens a connection; the caller persists the state it returns."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from handlers.areas import AreaDirectory, Place
from handlers.forms import Form, Step, StepType, SubmitAction
from handlers.i18n import Translator, fold
from handlers.messages import AskKind, Choice, Inbound, Outgoing, PhotoRef
from handlers.thai import (
    format_thai_date,
    match_choice,
    normalize_digits,
    parse_date,
    parse_number,
    parse_phone,
    parse_village_no,
    strip_particles,
)

# Choice values. Answers carry the step id so a button left over from an earlier question
# (Telegram keeps old keyboards on screen) is recognised instead of answering the wrong step.
NAV_BACK = "nav:back"
NAV_CANCEL = "nav:cancel"
NAV_SKIP = "nav:skip"
NAV_MORE = "nav:more"
NAV_DONE = "nav:done"
CONFIRM_SUBMIT = "confirm:submit"
EDIT_PREFIX = "edit:"
VILLAGE_QUICK_CHOICES = 10

# The longest typed answer each kind of step can use. A choice, a count, a date, a phone, a
# place or a command is never hundreds of characters; a list of several options is a few
# lines; a text step takes up to its own maximum. Longer text is refused before anything reads
# it, so no parser ever sees a page of text (LINE allows 5,000 characters, Telegram 4,096).
INPUT_LIMITS: Mapping[StepType, int] = {
    "consent": 200,
    "choice": 200,
    "multi": 500,
    "phone": 200,
    "number": 200,
    "date": 200,
    "location": 200,
    "photos": 200,
    "area": 200,
    "confirm": 200,
}
TEXT_MAXIMUM = 1000  # a text step without its own maximum
# Numbers carried in button values (report and broadcast ids) are database integers.
MAX_BUTTON_NUMBER = 2_147_483_647


@dataclass
class FormState:
    """A form in progress, as stored between messages."""

    form_id: str
    form_version: int
    step_id: str
    answers: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class UserView:
    """What the core may know about the person it talks to."""

    registered: bool = False
    language: str | None = None
    display_name: str | None = None
    role: str | None = None
    province_code: str | None = None
    district_code: str | None = None
    subdistrict_code: str | None = None
    village_no: int | None = None
    # Staff assignments, (role, area) each, apart from the home village above: what the person
    # may see and act on (decided in storage.policy, not here).
    staff: tuple[tuple[str, str], ...] = ()

    @property
    def has_village(self) -> bool:
        return self.subdistrict_code is not None and self.village_no is not None

    @property
    def is_staff(self) -> bool:
        return len(self.staff) > 0


@dataclass(frozen=True)
class Env:
    """Everything the core reads besides the state and the input."""

    i18n: Translator
    forms: Mapping[str, Form]
    areas: AreaDirectory
    lists: Mapping[str, tuple[str, ...]]
    now: dt.datetime
    tz: ZoneInfo
    default_language: str = "th"
    page_size: int = 13
    resume_after: dt.timedelta = dt.timedelta(hours=12)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()


@dataclass(frozen=True)
class Submitted:
    """Domain event: a form was confirmed; the caller stores it in the same transaction."""

    form_id: str
    form_version: int
    action: SubmitAction
    answers: dict[str, Any]


@dataclass(frozen=True)
class ConsentRefused:
    """Domain event: the user declined the privacy notice; store nothing but the refusal."""


@dataclass(frozen=True)
class JoinRequested:
    """Domain event: the user typed an invite code for a staff role."""

    code: str


@dataclass(frozen=True)
class ShowMyReports:
    """Domain event: the user asked for their reports; the caller reads and renders them."""


@dataclass(frozen=True)
class CaseCommand:
    """Domain event: a staff member pressed a case button (ack, progress, resolve, forward,
    reject, show)."""

    report_id: int
    action: str


@dataclass(frozen=True)
class CaseFeedback:
    """Domain event: the reporter says whether the problem is fixed, or rates the work."""

    report_id: int
    fixed: bool | None = None
    stars: int | None = None


@dataclass(frozen=True)
class StaffQuery:
    """Domain event: a staff member asks for open cases (a page), a case by its reference, the
    district summary, or recent activity reports."""

    kind: str  # cases | case | summary | activities | completeness | broadcast | broadcasts
    page: int = 0
    reference: str | None = None


@dataclass(frozen=True)
class BroadcastCommand:
    """Domain event: the author of a broadcast confirmed it, cancelled it, or asked how it
    went."""

    broadcast_id: int
    action: str  # send | cancel | status


Event = (
    Submitted
    | ConsentRefused
    | ShowMyReports
    | JoinRequested
    | CaseCommand
    | CaseFeedback
    | StaffQuery
    | BroadcastCommand
)


@dataclass
class Result:
    messages: list[Outgoing] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    state: FormState | None = None


def language_of(user: UserView, state: FormState | None, env: Env) -> str:
    if state is not None and isinstance(state.answers.get("language"), str):
        return str(state.answers["language"])
    return user.language or env.default_language


class _AnswerError(Exception):
    """An answer that cannot be used: `key` names the message that says what to do instead."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


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
    lang = language_of(user, state, env)
    if inbound.kind == "text" and step.type in _TYPED_BUTTON_STEPS:
        inbound = button_for_text(inbound, prompt(form, _copy(state), user, env).choices)

    if inbound.kind == "choice" and inbound.value:
        value = inbound.value
        if value == NAV_BACK:
            return _back(form, state, user, env)
        if value == NAV_MORE:
            state.context["page"] = int(state.context.get("page", 0)) + 1
            return Result([prompt(form, state, user, env)], [], state)
        if value == NAV_SKIP:
            return _skip(form, state, step, user, env)
    elif inbound.kind == "text":
        if env.i18n.is_keyword(inbound.text, "kw.back"):
            return _back(form, state, user, env)
        if env.i18n.is_keyword(inbound.text, "kw.skip"):
            return _skip(form, state, step, user, env)
        if env.i18n.is_keyword(inbound.text, "kw.more") and step.type in (
            "choice",
            "area",
            "multi",
        ):
            state.context["page"] = int(state.context.get("page", 0)) + 1
            return Result([prompt(form, state, user, env)], [], state)

    try:
        return _HANDLERS[step.type](form, state, step, inbound, user, env)
    except _AnswerError as problem:
        example_key = f"{step.key}.example"
        text = env.i18n.t(lang, problem.key, **problem.params)
        if env.i18n.has(lang, example_key) or env.i18n.has(env.default_language, example_key):
            text += "\n" + env.i18n.t(lang, "error.example", example=env.i18n.t(lang, example_key))
        return Result([Outgoing(text), prompt(form, state, user, env)], [], state)


def input_limit(step: Step) -> int:
    """How many characters of typed text `step` can use (see `INPUT_LIMITS`)."""
    if step.type == "text":
        return step.maximum or TEXT_MAXIMUM
    return INPUT_LIMITS[step.type]


def _text_answer(step: Step, text: str) -> str:
    # Short texts (names, "other" answers) are kept on one line with single spaces.
    return " ".join(text.split()) if step.maximum and step.maximum <= 200 else text


def answer_length(step: Step, text: str) -> int:
    """The length of typed `text` as `step` counts it against `input_limit`: without the
    spaces around it, and for a short text step with runs of spaces as one."""
    stripped = text.strip()
    return len(_text_answer(step, stripped) if step.type == "text" else stripped)


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


def button_number(text: str, maximum: int = MAX_BUTTON_NUMBER) -> int | None:
    """The number in a button's value: ASCII digits only (``str.isdigit`` also takes "²", which
    ``int`` refuses), at most 10 of them, and at most `maximum`. ``None`` for anything else,
    which can only be an old or forged button."""
    if not 0 < len(text) <= 10 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= maximum else None


# Steps whose answer is not free text, so typing a button's label means pressing it.
# (Not multi: there a typed list is the whole answer, since typing is slow.)
_TYPED_BUTTON_STEPS = frozenset({"photos", "location", "date", "confirm", "consent"})


def _plain(label: str) -> str:
    return fold("".join(ch for ch in label if ch.isalnum() or ch.isspace() or ch == "."))


def button_for_text(inbound: Inbound, choices: Sequence[Choice]) -> Inbound:
    """Typed text that is exactly a button's label means pressing that button."""
    if inbound.kind != "text":
        return inbound
    typed = _plain(strip_particles(normalize_digits(inbound.text)))
    for choice in choices:
        if typed and _plain(choice.label) == typed:
            return Inbound("choice", value=choice.value)
    return inbound


# ---------------------------------------------------------------- moving between steps


def _copy(state: FormState) -> FormState:
    """A state the engine may change freely: the caller's stays as it was."""
    return replace(
        state, answers=copy.deepcopy(state.answers), context=copy.deepcopy(state.context)
    )


def _applies(step: Step, answers: Mapping[str, Any]) -> bool:
    return step.when is None or step.when.holds(answers)


def _next_applicable(form: Form, answers: Mapping[str, Any], after: int) -> Step | None:
    for step in form.steps[after + 1 :]:
        if _applies(step, answers):
            return step
    return None


def _enter(state: FormState, step: Step) -> None:
    state.step_id = step.id
    for transient in ("page", "area", "selected", "photos", "suggestions"):
        state.context.pop(transient, None)


def _answered(
    form: Form,
    state: FormState,
    step: Step,
    value: Any,
    user: UserView,
    env: Env,
) -> Result:
    """Record `value` for `step` and move to the next step (or back to the summary when editing)."""
    state.answers[step.id] = value
    # Answers to steps whose condition no longer holds would be stale; forget them.
    for other in form.steps:
        if not _applies(other, state.answers):
            state.answers.pop(other.id, None)
    history: list[str] = state.context["history"]
    if not history or history[-1] != step.id:
        history.append(step.id)

    if state.context.get("editing"):
        nxt = next(
            (
                s
                for s in form.steps
                if _applies(s, state.answers) and s.id not in state.answers and s.type != "confirm"
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


def _back(form: Form, state: FormState, user: UserView, env: Env) -> Result:
    step = form.step(state.step_id)
    area = state.context.get("area")
    if step is not None and step.type == "area" and state.context.pop("suggestions", None):
        return Result([prompt(form, state, user, env)], [], state)  # back to the list
    if step is not None and step.type == "area" and isinstance(area, dict):
        order = ("province", "district", "subdistrict", "village")
        stage = area.get("stage", "province")
        if stage != "province":
            area["stage"] = order[order.index(stage) - 1]
            state.context["page"] = 0
            return Result([prompt(form, state, user, env)], [], state)
    history: list[str] = state.context["history"]
    while history:
        previous = form.step(history.pop())
        if (
            previous is not None
            and previous.id != state.step_id
            and _applies(previous, state.answers)
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
    empty: Any = [] if step.type in ("multi", "photos") else None
    return _answered(form, state, step, empty, user, env)


# ---------------------------------------------------------------- prompts


def _nav(step: Step, state: FormState, lang: str, env: Env) -> list[Choice]:
    t = env.i18n.t
    nav = []
    if step.optional and step.type not in ("photos",):
        nav.append(Choice(NAV_SKIP, t(lang, "nav.skip")))
    area = state.context.get("area") or {}
    deeper = step.type == "area" and (
        area.get("stage", "province") != "province" or state.context.get("suggestions")
    )
    if state.context.get("history") or deeper:
        nav.append(Choice(NAV_BACK, t(lang, "nav.back")))
    nav.append(Choice(NAV_CANCEL, t(lang, "nav.cancel")))
    return nav


def _paged(
    options: Sequence[Choice], nav: Sequence[Choice], state: FormState, lang: str, env: Env
) -> tuple[Choice, ...]:
    """Fit options and navigation into the channel's limit, with a "more" button to page."""
    room = env.page_size - len(nav)
    if len(options) <= room:
        return (*options, *nav)
    per_page = max(room - 1, 1)
    pages = (len(options) + per_page - 1) // per_page
    page = int(state.context.get("page", 0)) % pages
    state.context["page"] = page
    shown = options[page * per_page : (page + 1) * per_page]
    more = Choice(NAV_MORE, env.i18n.t(lang, "nav.more", page=page + 1, pages=pages))
    return (*shown, more, *nav)


def option_values(step: Step, env: Env) -> tuple[str, ...]:
    if step.options:
        return step.options
    return env.lists.get(step.options_list or "", ())


def option_label(step: Step, value: str, lang: str, env: Env) -> str:
    return env.i18n.t(lang, f"choice.{step.options_list}.{value}")


def _answer_value(step: Step, value: str) -> str:
    return f"a:{step.id}:{value}"


def prompt(form: Form, state: FormState, user: UserView, env: Env) -> Outgoing:
    """The question for the current step, with its buttons."""
    step = form.step(state.step_id)
    assert step is not None
    lang = language_of(user, state, env)
    t = env.i18n.t
    nav = _nav(step, state, lang, env)
    question = t(lang, f"{step.key}.prompt")
    current = state.answers.get(step.id)
    if (
        step.id in state.answers
        and current not in (None, [], "")
        and step.type not in ("confirm", "multi", "photos", "consent")
    ):
        question += "\n" + t(
            lang, "form.current_answer", answer=display_answer(step, current, lang, env)
        )

    if step.type in ("choice", "consent"):
        values = ("agree", "decline") if step.type == "consent" else option_values(step, env)
        labels = [
            Choice(
                _answer_value(step, v),
                t(lang, f"consent.{v}")
                if step.type == "consent"
                else option_label(step, v, lang, env),
            )
            for v in values
        ]
        return Outgoing(question, _paged(labels, nav, state, lang, env), "choice")

    if step.type == "multi":
        selected = list(state.context.get("selected", state.answers.get(step.id) or []))
        state.context["selected"] = selected
        labels = [
            Choice(
                _answer_value(step, v),
                ("✓ " if v in selected else "") + option_label(step, v, lang, env),
            )
            for v in option_values(step, env)
        ]
        if selected:
            chosen = ", ".join(option_label(step, v, lang, env) for v in selected)
            question += "\n" + t(lang, "multi.selected", chosen=chosen)
        done = [Choice(NAV_DONE, t(lang, "multi.done"))]
        return Outgoing(question, _paged(labels, [*done, *nav], state, lang, env), "multi")

    if step.type == "date":
        quick = [
            Choice(_answer_value(step, "today"), t(lang, "date.today")),
            Choice(_answer_value(step, "yesterday"), t(lang, "date.yesterday")),
        ]
        return Outgoing(question, (*quick, *nav), "date")

    if step.type == "location":
        extra = []
        if step.allow_registered_village and user.has_village:
            extra.append(Choice(_answer_value(step, "village"), t(lang, "location.use_village")))
        return Outgoing(question, (*extra, *nav), "location")

    if step.type == "photos":
        photos = state.context.get("photos", [])
        extra = []
        if photos:
            question = t(lang, "photos.received", count=len(photos), maximum=step.maximum)
            extra.append(Choice(NAV_DONE, t(lang, "photos.done")))
        elif step.optional:
            extra.append(Choice(NAV_SKIP, t(lang, "photos.none")))
        return Outgoing(question, (*extra, *nav), "photos")

    if step.type == "area":
        return _area_prompt(step, state, lang, nav, env)

    if step.type == "confirm":
        return _summary(form, state, lang, env)

    kind: AskKind = "number" if step.type == "number" else "text"
    return Outgoing(question, tuple(nav), kind)


def display_answer(step: Step, value: Any, lang: str, env: Env) -> str:
    """An answer as the user should read it in the summary."""
    t = env.i18n.t
    if value is None or value == []:
        return t(lang, "summary.skipped")
    if step.type == "choice":
        return option_label(step, str(value), lang, env)
    if step.type == "consent":
        return t(lang, f"consent.{value}")
    if step.type == "multi":
        return ", ".join(option_label(step, str(v), lang, env) for v in value)
    if step.type == "date":
        day = dt.date.fromisoformat(str(value))
        return format_thai_date(day) if lang == "th" else day.strftime("%d %b %Y")
    if step.type == "location":
        if value.get("registered_village"):
            return t(lang, "location.village_chosen")
        return f"{value['lat']:.5f}, {value['lon']:.5f}"
    if step.type == "photos":
        return t(lang, "photos.count", count=len(value))
    if step.type == "area":
        return describe_area(value, lang, env)
    if step.type == "number":
        return f"{int(value):,}"
    return str(value)


def describe_area(value: Mapping[str, Any], lang: str, env: Env) -> str:
    parts: list[str] = []
    sub = env.areas.subdistrict(str(value.get("subdistrict_code", "")))
    if value.get("village_no") is not None:
        parts.append(env.i18n.t(lang, "area.village_short", number=value["village_no"]))
    if sub is not None:
        parts.append(env.i18n.t(lang, "area.subdistrict_short", name=sub.name(lang)))
    district = env.areas.district(str(value.get("district_code", "")))
    if district is not None:
        parts.append(env.i18n.t(lang, "area.district_short", name=district.name(lang)))
    province = env.areas.province(str(value.get("province_code", "")))
    if province is not None:
        parts.append(env.i18n.t(lang, "area.province_short", name=province.name(lang)))
    return " ".join(parts)


def _summary(form: Form, state: FormState, lang: str, env: Env) -> Outgoing:
    t = env.i18n.t
    rows: list[tuple[str, str]] = []
    edits: list[Choice] = []
    for step in form.steps:
        if step.type == "confirm" or not _applies(step, state.answers):
            continue
        label = t(lang, f"{step.key}.label")
        rows.append((label, display_answer(step, state.answers.get(step.id), lang, env)))
        if step.type != "consent":
            edits.append(Choice(EDIT_PREFIX + step.id, t(lang, "summary.edit", label=label)))
    lines = [t(lang, f"{form.key}.confirm.prompt")]
    lines += [f"• {label}: {value}" for label, value in rows]
    lines.append(t(lang, "summary.how_to_edit"))
    submit = [Choice(CONFIRM_SUBMIT, t(lang, "summary.submit"))]
    cancel = [Choice(NAV_CANCEL, t(lang, "nav.cancel"))]
    choices = _paged([*submit, *edits], cancel, state, lang, env)
    return Outgoing("\n".join(lines), choices, "confirm", tuple(rows))


# ---------------------------------------------------------------- step types


def _picked(step: Step, inbound: Inbound) -> str | None:
    """The value of a button answer for this step; raise if it belongs to another question."""
    if inbound.kind != "choice" or not inbound.value:
        return None
    prefix = f"a:{step.id}:"
    if inbound.value.startswith(prefix):
        return inbound.value[len(prefix) :]
    raise _AnswerError("error.stale_button")


def _typed(inbound: Inbound) -> str:
    if inbound.kind == "choice":  # a button, but none of this question's (an old keyboard)
        raise _AnswerError("error.stale_button")
    if inbound.kind != "text" or not inbound.text.strip():
        raise _AnswerError("error.expect_text")
    return inbound.text.strip()


def _choice_by_text(
    step: Step,
    text: str,
    values: Sequence[str],
    lang: str,
    env: Env,
) -> str | None:
    number = parse_number(text)
    if (
        number is not None
        and normalize_digits(text).strip().isdigit()
        and 1 <= number <= len(values)
    ):
        return values[number - 1]
    key = f"choice.{step.options_list}"
    candidates = [
        (v, _label_names(env.i18n.variants(f"{key}.{v}"), v, env.i18n.variants(f"{key}.{v}.also")))
        for v in values
    ]
    return match_choice(text, candidates)


def _label_names(labels: Sequence[str], value: str, also: Sequence[str] = ()) -> tuple[str, ...]:
    """A label, its halves ("ภัยแล้ง / ขาดน้ำ" is answered by "ภัยแล้ง" too) and the other
    words a locale lists for it (``choice.<list>.<value>.also``, separated by ``|``)."""
    names = [value, *labels]
    for label in labels:
        names += [part.strip() for part in label.split("/") if part.strip()]
    for words in also:
        names += [word.strip() for word in words.split("|") if word.strip()]
    return tuple(dict.fromkeys(names))


def _consent(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    lang = language_of(user, state, env)
    value = _picked(step, inbound)
    if value is None:
        typed = _typed(inbound)
        if env.i18n.is_keyword(typed, "kw.yes"):
            value = "agree"
        elif env.i18n.is_keyword(typed, "kw.no"):
            value = "decline"
        else:
            raise _AnswerError("error.consent")
    if value == "decline":
        return Result([Outgoing(env.i18n.t(lang, "consent.refused"))], [ConsentRefused()], None)
    if value != "agree":
        raise _AnswerError("error.consent")
    return _answered(form, state, step, "agree", user, env)


def _choice(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    lang = language_of(user, state, env)
    values = option_values(step, env)
    value = _picked(step, inbound)
    if value is None:
        value = _choice_by_text(step, _typed(inbound), values, lang, env)
    if value not in values:
        raise _AnswerError("error.choice")
    return _answered(form, state, step, value, user, env)


def _multi(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    lang = language_of(user, state, env)
    values = option_values(step, env)
    selected: list[str] = list(state.context.get("selected", state.answers.get(step.id) or []))
    done = inbound.kind == "choice" and inbound.value == NAV_DONE
    if inbound.kind == "text" and env.i18n.is_keyword(inbound.text, "kw.done"):
        done = True
    if done:
        if not selected and not step.optional:
            raise _AnswerError("error.multi_empty")
        return _answered(form, state, step, [v for v in values if v in selected], user, env)

    value = _picked(step, inbound)
    if value is not None:
        if value not in values:
            raise _AnswerError("error.choice")
        if value in selected:
            selected.remove(value)
        else:
            selected.append(value)
        state.context["selected"] = selected
        return Result([prompt(form, state, user, env)], [], state)

    # Typed: one or more options separated by commas or spaces, then we are done. Reading
    # stops at the first piece that is no option (500 characters of junk would otherwise be
    # 250 fuzzy matches), and a piece typed twice is matched once.
    text = _typed(inbound)
    whole = _choice_by_text(step, text, values, lang, env)
    parts: dict[str, str] = {text: whole} if whole else {}
    if not whole:
        for piece in text.replace("、", ",").replace(" และ ", ",").replace(",", " ").split():
            if piece not in parts:
                found = _choice_by_text(step, piece, values, lang, env)
                if found is None:
                    raise _AnswerError("error.multi")
                parts[piece] = found
    if not parts:
        raise _AnswerError("error.multi")
    chosen = set(parts.values()) | set(selected)
    return _answered(form, state, step, [v for v in values if v in chosen], user, env)


def _text(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    text = _text_answer(step, _typed(inbound))
    minimum, maximum = step.minimum or 1, step.maximum or TEXT_MAXIMUM
    if not minimum <= len(text) <= maximum:
        raise _AnswerError("error.text_length", minimum=minimum, maximum=maximum)
    return _answered(form, state, step, text, user, env)


def _phone(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    phone = parse_phone(_typed(inbound))
    if phone is None:
        raise _AnswerError("error.phone")
    return _answered(form, state, step, phone, user, env)


def _number(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    number = parse_number(_typed(inbound))
    if number is None:
        raise _AnswerError("error.number")
    minimum = step.minimum if step.minimum is not None else 0
    maximum = step.maximum if step.maximum is not None else 10**9
    if not minimum <= number <= maximum:
        raise _AnswerError("error.number_range", minimum=f"{minimum:,}", maximum=f"{maximum:,}")
    return _answered(form, state, step, number, user, env)


def _date(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    today = env.today
    picked = _picked(step, inbound)
    if picked == "today":
        day: dt.date | None = today
    elif picked == "yesterday":
        day = today - dt.timedelta(days=1)
    elif picked is not None:
        raise _AnswerError("error.date")
    else:
        day = parse_date(_typed(inbound), today)
    if day is None:
        raise _AnswerError("error.date")
    if step.max_days_ahead is not None and day > today + dt.timedelta(days=step.max_days_ahead):
        raise _AnswerError("error.date_future")
    if step.max_days_back is not None and day < today - dt.timedelta(days=step.max_days_back):
        raise _AnswerError("error.date_too_old", days=step.max_days_back)
    return _answered(form, state, step, day.isoformat(), user, env)


def _location(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    if (
        inbound.kind == "location"
        and inbound.latitude is not None
        and inbound.longitude is not None
    ):
        lat, lon = inbound.latitude, inbound.longitude
    elif _picked(step, inbound) == "village" and step.allow_registered_village and user.has_village:
        return _answered(form, state, step, {"registered_village": True}, user, env)
    elif inbound.kind == "text":
        pieces = normalize_digits(inbound.text).replace(",", " ").split()
        try:
            lat, lon = float(pieces[0]), float(pieces[1])
        except (IndexError, ValueError):
            raise _AnswerError("error.location") from None
        if len(pieces) != 2:
            raise _AnswerError("error.location")
    else:
        raise _AnswerError("error.location")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _AnswerError("error.location")
    return _answered(form, state, step, {"lat": lat, "lon": lon}, user, env)


def _photos(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    photos: list[dict[str, Any]] = list(state.context.get("photos", []))
    maximum = step.maximum or 5
    if inbound.kind == "photo" and inbound.photo is not None:
        photos.append(inbound.photo.as_json())
        state.context["photos"] = photos
        if len(photos) >= maximum:
            return _answered(form, state, step, photos, user, env)
        return Result([prompt(form, state, user, env)], [], state)
    done = inbound.kind == "choice" and inbound.value == NAV_DONE
    if inbound.kind == "text" and env.i18n.is_keyword(inbound.text, "kw.done"):
        done = True
    if done and photos:
        return _answered(form, state, step, photos, user, env)
    if done and step.optional:
        return _answered(form, state, step, [], user, env)
    if inbound.kind == "choice" and not done:
        raise _AnswerError("error.stale_button")
    raise _AnswerError("error.photo", maximum=maximum)


def _confirm(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    lang = language_of(user, state, env)
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
        missing = _first_missing(form, state.answers)
        if missing is not None:  # e.g. left unanswered by going back while editing
            result = _edit(form, state, missing, user, env)
            label = env.i18n.t(lang, f"{missing.key}.label")
            result.messages.insert(0, Outgoing(env.i18n.t(lang, "summary.missing", label=label)))
            return result
        return _submit(form, state)
    if value and value.startswith(EDIT_PREFIX):
        target = form.step(value[len(EDIT_PREFIX) :])
        if target is None or not _applies(target, state.answers):
            raise _AnswerError("error.stale_button")
        return _edit(form, state, target, user, env)
    if value is not None:
        raise _AnswerError("error.stale_button")
    _typed(inbound)
    editable = [
        s for s in form.steps if s.type not in ("confirm", "consent") and _applies(s, state.answers)
    ]
    target_id = match_choice(
        inbound.text, [(s.id, env.i18n.variants(f"{s.key}.label")) for s in editable]
    )
    if target_id is not None:
        target = form.step(target_id)
        assert target is not None
        return _edit(form, state, target, user, env)
    raise _AnswerError("error.confirm")


def _first_missing(form: Form, answers: Mapping[str, Any]) -> Step | None:
    """The first required question that applies and has no answer."""
    for step in form.steps:
        if step.type == "confirm" or step.optional or not _applies(step, answers):
            continue
        if answers.get(step.id) in (None, "", []):
            return step
    return None


def _edit(form: Form, state: FormState, target: Step, user: UserView, env: Env) -> Result:
    state.context["editing"] = True
    state.context["history"] = [s.id for s in form.steps if s.type == "confirm"]
    _enter(state, target)
    return Result([prompt(form, state, user, env)], [], state)


# ---------------------------------------------------------------- area pick


def _area_prompt(
    step: Step,
    state: FormState,
    lang: str,
    nav: list[Choice],
    env: Env,
) -> Outgoing:
    t = env.i18n.t
    area: dict[str, Any] = state.context.setdefault("area", {"stage": "province"})
    stage = area["stage"]
    suggestions = state.context.get("suggestions")
    if suggestions:
        places = [Choice(_answer_value(step, code), label) for code, label in suggestions]
        return Outgoing(t(lang, "area.did_you_mean"), (*places, *nav), "choice")
    if stage == "village":
        sub = env.areas.subdistrict(area["subdistrict_code"])
        numbers = [
            Choice(_answer_value(step, f"v{n}"), t(lang, "area.village_short", number=n))
            for n in range(1, VILLAGE_QUICK_CHOICES + 1)
        ]
        text = t(lang, "area.village.prompt", subdistrict=sub.name(lang) if sub else "")
        return Outgoing(text, _paged(numbers, nav, state, lang, env), "choice")
    places_list, tag = _stage_places(area, env)
    choices = [Choice(_answer_value(step, tag + p.code), p.name(lang)) for p in places_list]
    parent = ""
    if stage == "district":
        province = env.areas.province(area["province_code"])
        parent = province.name(lang) if province else ""
    elif stage == "subdistrict":
        district = env.areas.district(area["district_code"])
        parent = district.name(lang) if district else ""
    text = t(lang, f"area.{stage}.prompt", parent=parent)
    return Outgoing(text, _paged(choices, nav, state, lang, env), "choice")


def _stage_places(area: Mapping[str, Any], env: Env) -> tuple[list[Place], str]:
    stage = area["stage"]
    if stage == "province":
        return env.areas.provinces(), "p"
    if stage == "district":
        return env.areas.districts(area["province_code"]), "d"
    return env.areas.subdistricts(area["district_code"]), "s"


def _area(
    form: Form, state: FormState, step: Step, inbound: Inbound, user: UserView, env: Env
) -> Result:
    lang = language_of(user, state, env)
    area: dict[str, Any] = dict(state.context.get("area") or {"stage": "province"})
    state.context["area"] = area
    picked = _picked(step, inbound)
    if picked is None:
        text = _typed(inbound)
        if area["stage"] == "village":
            number = parse_village_no(text)
            if number is None:
                raise _AnswerError("error.village")
            picked = f"v{number}"
        else:
            picked = _area_from_text(area, text, state, lang, env)
            if picked is None:  # several candidates: offered as choices
                return Result([prompt(form, state, user, env)], [], state)
    state.context.pop("suggestions", None)
    tag, code = picked[0], picked[1:]
    if tag == "p" and env.areas.province(code):
        area.update(stage="district", province_code=code)
    elif tag == "d" and env.areas.district(code):
        if step.area_until == "district":
            return _answered(
                form, state, step, {"province_code": code[:2], "district_code": code}, user, env
            )
        area.update(stage="subdistrict", province_code=code[:2], district_code=code)
    elif tag == "s" and env.areas.subdistrict(code):
        area.update(
            stage="village", province_code=code[:2], district_code=code[:4], subdistrict_code=code
        )
    elif tag == "v" and area.get("subdistrict_code") and (village := button_number(code, 99)):
        value = {
            "province_code": area["province_code"],
            "district_code": area["district_code"],
            "subdistrict_code": area["subdistrict_code"],
            "village_no": village,
        }
        return _answered(form, state, step, value, user, env)
    else:
        raise _AnswerError("error.stale_button")
    state.context["page"] = 0
    return Result([prompt(form, state, user, env)], [], state)


_DISTRICT_WORDS = re.compile(r"(?i)^(?:อ\.|อำเภอ|เขต|เมือง|amphoe|mueang|khet)")


def _area_from_text(
    area: dict[str, Any],
    text: str,
    state: FormState,
    lang: str,
    env: Env,
) -> str | None:
    """Match a typed place name at the current stage. One clear match is taken; several are
    offered as choices (returns None); none is an error. At the province stage a district name
    is understood too, because people often know their อำเภอ better than the list order."""
    places, tag = _stage_places(area, env)
    found: list[tuple[str, Place]] = []
    nationwide = False
    if area["stage"] == "province" and _DISTRICT_WORDS.match(text.strip()):
        # "เมืองเชียงใหม่" or "อ.แม่ริม" names a district even where a province would match.
        found = [("d", p) for p in env.areas.match(text, env.areas.all_districts())]
        nationwide = True
    if not found:
        found = [(tag, p) for p in env.areas.match(text, places)]
        nationwide = False
    if not found and area["stage"] == "province":
        found = [("d", p) for p in env.areas.match(text, env.areas.all_districts())]
        nationwide = True
    if not found:
        raise _AnswerError(f"error.area_{area['stage']}")
    # A guess among all 900-odd districts may land in another province: taken without asking
    # only when the name is exactly right, otherwise offered as a choice.
    exact = not nationwide or env.areas.is_exact(text, found[0][1])
    if len(found) == 1 and exact:
        return found[0][0] + found[0][1].code
    suggestions = []
    for found_tag, place in found[:5]:
        label = place.name(lang)
        if found_tag == "d" and area["stage"] == "province":
            label = env.areas.describe(place.code, lang)
        suggestions.append((found_tag + place.code, label))
    state.context["suggestions"] = suggestions
    return None


_HANDLERS = {
    "consent": _consent,
    "choice": _choice,
    "multi": _multi,
    "text": _text,
    "phone": _phone,
    "number": _number,
    "date": _date,
    "location": _location,
    "photos": _photos,
    "confirm": _confirm,
    "area": _area,
}


def photos_of(answers: Mapping[str, Any]) -> list[PhotoRef]:
    """Every photo in a form's answers, in order."""
    found: list[PhotoRef] = []
    for value in answers.values():
        if isinstance(value, list):
            found.extend(
                PhotoRef.from_json(v) for v in value if isinstance(v, dict) and "sha256" in v
            )
    return found
