"""What every step kind is: how it asks, how it reads an answer, how it shows one, and what the
answer becomes in a report. One module per kind subclasses `StepKind` and registers itself with
`@register`; the engine looks a step's kind up by the step's type and never branches on it.

A kind reads one input and says what it means (an `Outcome`); moving between steps, going back,
skipping and submitting are the engine's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from handlers.buttons import NAV_DONE, NAV_MORE, answer_value
from handlers.events import Result
from handlers.forms import Form, Step, StepType
from handlers.messages import AskKind, Choice, Inbound, Outgoing
from handlers.state import Env, FormState, UserView, language_of
from handlers.thai import choice_candidates, match_choice, normalize_digits, parse_number

Label = Callable[[str], str]  # locale key -> the sentence as an export header or cell shows it
# An export cell: text, a number, a day (`dt.date`) or a moment (`dt.datetime`, in local time);
# the writer decides how each shows (a date cell in XLSX, text in CSV).
Cell = str | int | float | dt.date | None


class AnswerError(Exception):
    """An answer that cannot be used: `key` names the message that says what to do instead."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Turn:
    """The step being asked or answered, with everything a kind may read."""

    form: Form
    step: Step
    state: FormState
    user: UserView
    env: Env

    @property
    def lang(self) -> str:
        return language_of(self.user, self.state, self.env)

    def t(self, key: str, /, **params: object) -> str:
        return self.env.i18n.t(self.lang, key, **params)

    def also(self, key: str) -> tuple[str, ...]:
        """The other words people type for the button labelled `key`, in every language: its
        label in the other languages, and the catalog's `<key>.also`, separated by `|` (an
        office may add its own)."""
        return (*self.env.i18n.variants(key), *self.env.i18n.words(f"{key}.also"))


# What one input meant to the current step.
@dataclass(frozen=True)
class Answered:
    """The step is answered with `value`: record it and move on."""

    value: Any


@dataclass(frozen=True)
class Stay:
    """The step took the input but wants more (another photo, the next level of an area, a
    toggled option): ask it again."""


@dataclass(frozen=True)
class Submit:
    """The summary was confirmed."""


@dataclass(frozen=True)
class Edit:
    """Change the answer to `target` from the summary; `missing` when it was never answered."""

    target: Step
    missing: bool = False


@dataclass(frozen=True)
class Ended:
    """The form ends here without being submitted (the privacy notice declined)."""

    result: Result


Outcome = Answered | Stay | Submit | Edit | Ended


class StepKind:
    """One kind of step. Subclasses set `type` and override what differs."""

    type: ClassVar[StepType]
    ask: ClassVar[AskKind] = "text"
    # The longest typed answer the kind can use: a choice, a count, a date, a phone, a place or
    # a command is never hundreds of characters. Longer text is refused before anything reads
    # it, so no parser ever sees a page of text (LINE allows 5,000 characters, Telegram 4,096).
    limit: ClassVar[int] = 200
    # Typing a button's label means pressing it (not for free-text answers, nor for "multi",
    # where a typed list is the whole answer since typing is slow).
    typed_buttons: ClassVar[bool] = False
    pages: ClassVar[bool] = False  # "more" typed shows the next page of options
    repeats_answer: ClassVar[bool] = True  # asked again, the question shows the current answer
    skip_button: ClassVar[bool] = True  # optional: offer "skip" (photos offers its own)
    editable: ClassVar[bool] = True  # the summary offers to change it
    links: ClassVar[bool] = False  # a card shows `link` (a map) instead of the answer

    def input_limit(self, step: Step) -> int:
        return self.limit

    def measure(self, step: Step, text: str) -> int:
        """The length of typed `text` as counted against `input_limit` (without the spaces
        around it)."""
        return len(text.strip())

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        return Outgoing(question, tuple(nav), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        raise NotImplementedError

    def back(self, turn: Turn) -> bool:
        """Go back inside the step (an area's previous level); False when there is nowhere."""
        return False

    def inside(self, turn: Turn) -> bool:
        """Whether the step is past its first screen, so "back" has somewhere to go."""
        return False

    def skipped(self) -> Any:
        """The answer of an optional step that was skipped."""
        return None

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        """A (given) answer as the user reads it on the summary and on cards."""
        return str(value)

    def link(self, step: Step, value: Any) -> str | None:
        """Something a card shows instead of the answer (a map); None: the answer itself."""
        return None

    def columns(self, step: Step, value: Any) -> dict[str, Any]:
        """The report's stored columns filled from an answer (see `Step.column`); `value` is
        None for a question not answered."""
        assert step.column is not None
        return {step.column: value}

    def export_names(self, step: Step) -> tuple[str, ...]:
        return (step.export_as or step.id,)

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        return (None if value in (None, "", []) else str(value),)


_KINDS: dict[str, StepKind] = {}
K = TypeVar("K", bound=type[StepKind])


def register(kind: K) -> K:
    """Class decorator: make `kind` the kind of every step of its type."""
    assert kind.type not in _KINDS, f"two kinds for {kind.type}"
    _KINDS[kind.type] = kind()
    return kind


def kind_of(step: Step | StepType) -> StepKind:
    return _KINDS[step if isinstance(step, str) else step.type]


def registered() -> Mapping[str, StepKind]:
    return dict(_KINDS)


# ---------------------------------------------------------------- helpers kinds share


def applies(step: Step, answers: Mapping[str, Any]) -> bool:
    return step.when is None or step.when.holds(answers)


def picked(step: Step, inbound: Inbound) -> str | None:
    """The value of a button answer for this step; raise if it belongs to another question."""
    if inbound.kind != "choice" or not inbound.value:
        return None
    prefix = answer_value(step.id, "")
    if inbound.value.startswith(prefix):
        return inbound.value[len(prefix) :]
    raise AnswerError("error.stale_button")


def typed(inbound: Inbound) -> str:
    if inbound.kind == "choice":  # a button, but none of this question's (an old keyboard)
        raise AnswerError("error.stale_button")
    if inbound.kind != "text" or not inbound.text.strip():
        raise AnswerError("error.expect_text")
    return inbound.text.strip()


def is_done(inbound: Inbound, env: Env) -> bool:
    """ "Done" pressed or typed (photos, several options)."""
    if inbound.kind == "choice":
        return inbound.value == NAV_DONE
    return inbound.kind == "text" and env.i18n.is_keyword(inbound.text, "kw.done")


def paged(options: Sequence[Choice], nav: Sequence[Choice], turn: Turn) -> tuple[Choice, ...]:
    """Fit options and navigation into the channel's limit, with a "more" button to page."""
    env, context = turn.env, turn.state.context
    room = env.page_size - len(nav)
    if len(options) <= room:
        return (*options, *nav)
    per_page = max(room - 1, 1)
    pages = (len(options) + per_page - 1) // per_page
    page = int(context.get("page", 0)) % pages
    context["page"] = page
    shown = options[page * per_page : (page + 1) * per_page]
    more = Choice(NAV_MORE, turn.t("nav.more", page=page + 1, pages=pages))
    return (*shown, more, *nav)


def option_values(step: Step, env: Env) -> tuple[str, ...]:
    if step.options:
        return step.options
    return env.lists.get(step.options_list or "", ())


def option_label(step: Step, value: str, lang: str, env: Env) -> str:
    return env.i18n.t(lang, f"choice.{step.options_list}.{value}")


def choice_by_text(step: Step, text: str, values: Sequence[str], lang: str, env: Env) -> str | None:
    """The option typed: its number in the list, its label in any language, half of a label
    ("ภัยแล้ง / ขาดน้ำ" is answered by "ภัยแล้ง") or another word the locale lists for it
    (``choice.<list>.<value>.also``, separated by ``|``)."""
    number = _listed_number(text, values)
    if number is not None:
        return number
    return match_choice(text, _option_names(step, values, env))


def choices_by_text(step: Step, text: str, values: Sequence[str], lang: str, env: Env) -> list[str]:
    """`choice_by_text`, with every option that fits as well when more than one does (the
    step then asks which); empty when none does."""
    number = _listed_number(text, values)
    if number is not None:
        return [number]
    return choice_candidates(text, _option_names(step, values, env))


def _listed_number(text: str, values: Sequence[str]) -> str | None:
    number = parse_number(text)
    if (
        number is not None
        and normalize_digits(text).strip().isdigit()
        and 1 <= number <= len(values)
    ):
        return values[number - 1]
    return None


def _option_names(step: Step, values: Sequence[str], env: Env) -> list[tuple[str, tuple[str, ...]]]:
    key = f"choice.{step.options_list}"
    return [
        (v, _label_names(env.i18n.variants(f"{key}.{v}"), v, env.i18n.variants(f"{key}.{v}.also")))
        for v in values
    ]


def _label_names(labels: Sequence[str], value: str, also: Sequence[str] = ()) -> tuple[str, ...]:
    names = [value, *labels]
    for label in labels:
        names += [part.strip() for part in label.split("/") if part.strip()]
    for words in also:
        names += [word.strip() for word in words.split("|") if word.strip()]
    return tuple(dict.fromkeys(names))


def display_answer(step: Step, value: Any, lang: str, env: Env) -> str:
    """An answer as the user should read it in the summary."""
    if value is None or value == []:
        return env.i18n.t(lang, "summary.skipped")
    return kind_of(step).display(step, value, lang, env)
