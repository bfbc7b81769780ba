"""Problem reports as cases: what officers are alerted with and what they can do. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers import vocab
from handlers.buttons import button_number
from handlers.dates import format_date
from handlers.forms import PROBLEM, Step
from handlers.messages import Choice, Outgoing
from handlers.reports import Card, card_lines
from handlers.state import Env
from handlers.steps.base import option_label

CASE_PREFIX = "case:"
ACTIONS = ("ack", "progress", "resolve", "forward", "reject")
ALL_ACTIONS = (*ACTIONS, "show")


@dataclass(frozen=True)
class CaseView:
    """What an alert or a case card shows about one problem report. Its rows come from the
    report's stored `answers` through its form's steps (`handlers.reports.card_lines`); a view
    built without them is read from the named fields instead."""

    report_id: int
    reference: str
    area: dict[str, Any]
    status: str
    category: str | None = None
    category_other: str | None = None
    urgency: str | None = None
    households: int | None = None
    description: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photos: tuple[str, ...] = ()  # stored paths, in the order sent
    reporter: str | None = None
    # Only cards for those who may work the case show it (the officers of its district).
    reporter_phone: str | None = None
    reporter_withdrew: bool = False  # the reporter deleted their data: nobody to call back
    filed_at: dt.datetime | None = None
    reopened: int = 0
    answers: Mapping[str, Any] | None = None
    form_id: str = PROBLEM.id

    @property
    def photo(self) -> str | None:
        """The first photo: the one an alert or a card carries."""
        return self.photos[0] if self.photos else None

    def stored_answers(self) -> Mapping[str, Any]:
        if self.answers is not None:
            return self.answers
        answers: dict[str, Any] = {
            "category": self.category,
            "urgency": self.urgency,
            "households": self.households,
            "description": self.description,
        }
        if self.category_other:
            answers["category_other"] = self.category_other
        if self.latitude is not None and self.longitude is not None:
            answers["location"] = {"lat": self.latitude, "lon": self.longitude}
        return answers


def case_value(report_id: int, action: str) -> str:
    return f"{CASE_PREFIX}{report_id}:{action}"


def keeps_buttons(value: str) -> bool:
    """A case button acts on the case, so the message it sits on keeps its buttons once pressed
    (the next officer action is on the same card); other buttons answer once."""
    return parse_case_value(value) is not None


def parse_case_value(value: str) -> tuple[int, str] | None:
    """The report id and action of a case button; ``None`` if `value` is not a valid one."""
    if not value.startswith(CASE_PREFIX):
        return None
    number, _, action = value[len(CASE_PREFIX) :].partition(":")
    report_id = button_number(number)
    if report_id is None or action not in ALL_ACTIONS:
        return None
    return report_id, action


def _step(step_id: str) -> Step:
    step = PROBLEM.step(step_id)
    assert step is not None
    return step


def case_text(case: CaseView, lang: str, env: Env, *, heading: str, card: Card = "alert") -> str:
    t = env.i18n.t
    form = env.forms.get(case.form_id, PROBLEM)
    lines = [
        t(lang, heading, reference=case.reference),
        *card_lines(form, case.stored_answers(), lang, env, card=card, area=case.area),
    ]
    if case.reporter:
        lines.append(t(lang, "alert.reporter", name=case.reporter))
    elif case.reporter_withdrew:
        lines.append(t(lang, "case.reporter_withdrew"))
    if case.filed_at is not None:
        when = format_date(case.filed_at.astimezone(env.tz).date(), lang, short=True)
        lines.append(
            t(lang, "alert.filed", when=f"{when} {case.filed_at.astimezone(env.tz):%H:%M}")
        )
    lines.append(t(lang, "alert.status", status=t(lang, f"status.{case.status}")))
    return "\n".join(lines)


def action_choices(case: CaseView, lang: str, env: Env) -> tuple[Choice, ...]:
    """The buttons of the actions the case's status allows ("acknowledge" is not offered on
    a case acknowledged already)."""
    return tuple(
        Choice(case_value(case.report_id, action), env.i18n.t(lang, f"case.action.{action}"))
        for action in ACTIONS
        if case.status in vocab.TRANSITIONS[action][0]
    )


def alert_messages(
    case: CaseView, lang: str, env: Env, *, escalated: bool = False, call: bool = False
) -> list[Outgoing]:
    """The push an officer (or coordinator) gets for a new, forwarded, reopened or overdue
    problem (`call`: with the reporter's phone, for the officers of the case's district)."""
    heading = "alert.forwarded" if case.status == "forwarded" else "alert.new"
    if case.status == "received" and case.reopened:
        heading = "alert.reopened"
    if escalated:
        heading = "alert.escalated"
    text = case_text(case, lang, env, heading=heading)
    if call and case.reporter_phone:
        text += "\n" + env.i18n.t(lang, "case.call_reporter", phone=case.reporter_phone)
    return [
        Outgoing(
            text,
            action_choices(case, lang, env),
            "choice",
            language=lang,
            image=case.photo,
            standing=True,
        )
    ]


FEEDBACK_PREFIX = "feedback:"
PAGE_PREFIX = "cases:page:"
PAGE_SIZE = 8


def feedback_value(report_id: int, answer: str) -> str:
    return f"{FEEDBACK_PREFIX}{report_id}:{answer}"


def parse_feedback_value(value: str) -> tuple[int, str] | None:
    """The report id and answer of a feedback button; ``None`` if `value` is not a valid one."""
    if not value.startswith(FEEDBACK_PREFIX):
        return None
    number, _, answer = value[len(FEEDBACK_PREFIX) :].partition(":")
    report_id = button_number(number)
    if report_id is None or answer not in ("yes", "no", "1", "2", "3", "4", "5"):
        return None
    return report_id, answer


@dataclass(frozen=True)
class TimelineEntry:
    at: str  # already in local time, formatted
    who: str | None
    to_status: str
    note: str | None


def case_card(
    case: CaseView, timeline: list[TimelineEntry], lang: str, env: Env, *, can_act: bool
) -> Outgoing:
    t = env.i18n.t
    lines = [case_text(case, lang, env, heading="case.heading", card="case")]
    if can_act and case.reporter_phone:  # to call back: the officers of the case's district
        lines.append(t(lang, "case.call_reporter", phone=case.reporter_phone))
    if timeline:
        lines.append(t(lang, "case.timeline"))
        for entry in timeline:
            who = f" · {entry.who}" if entry.who else ""
            note = f" — {entry.note}" if entry.note else ""
            lines.append(f"• {entry.at} {t(lang, f'status.{entry.to_status}')}{who}{note}")
    choices = action_choices(case, lang, env) if can_act and case.status in _OPEN else ()
    return Outgoing(
        "\n".join(lines), choices, "choice" if choices else None, image=case.photo,
        standing=bool(choices),
    )  # fmt: skip


def more_photos(case: CaseView, lang: str, env: Env) -> list[Outgoing]:
    """The photos after the first (which the card itself carries), one message each."""
    count = len(case.photos)
    return [
        Outgoing(
            env.i18n.t(lang, "case.photo", number=n, count=count, reference=case.reference),
            image=path,
        )
        for n, path in enumerate(case.photos[1:], start=2)
    ]


_OPEN = vocab.OPEN_STATUSES


def case_list(
    cases: list[CaseView], page: int, total: int, lang: str, env: Env, action: str = "show"
) -> Outgoing:
    """A page of open cases, each a button that shows it (or, `action`, does that to it: the
    answer to "which case?" after a case button's label was typed)."""
    t = env.i18n.t
    if not cases:
        return Outgoing(t(lang, "case.list_empty"))
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    lines = [t(lang, "case.list_title", total=total, page=page + 1, pages=pages)]
    choices: list[Choice] = []
    for case in cases:
        urgency = option_label(_step("urgency"), case.urgency, lang, env) if case.urgency else "-"
        category = (
            option_label(_step("category"), case.category, lang, env) if case.category else "-"
        )
        lines.append(
            f"• {case.reference} · {urgency} · {category} · {t(lang, f'status.{case.status}')}"
        )
        choices.append(Choice(case_value(case.report_id, action), case.reference))
    if page + 1 < pages:
        choices.append(Choice(f"{PAGE_PREFIX}{page + 1}", t(lang, "nav.more", page=page + 1,
                                                               pages=pages)))  # fmt: skip
    return Outgoing("\n".join(lines), tuple(choices), "choice")


def status_notice(
    case: CaseView, note: str | None, lang: str, env: Env, *, photo: str | None = None
) -> list[Outgoing]:
    """What the reporter hears when their case changes (with the officer's photo of the
    result, when one was sent); after `resolved`, the question whether it is really fixed."""
    t = env.i18n.t
    text = t(lang, "case.notice", reference=case.reference, status=t(lang, f"status.{case.status}"))
    if note:
        text += "\n" + t(lang, "case.notice_note", note=note)
    if case.status != "resolved":
        return [Outgoing(text, language=lang, image=photo)]
    choices = (
        Choice(feedback_value(case.report_id, "yes"), t(lang, "feedback.fixed")),
        Choice(feedback_value(case.report_id, "no"), t(lang, "feedback.not_fixed")),
    )
    ask = text + "\n" + t(lang, "feedback.ask")
    return [Outgoing(ask, choices, "choice", language=lang, standing=True, image=photo)]


def rating_question(report_id: int, lang: str, env: Env) -> Outgoing:
    stars = tuple(Choice(feedback_value(report_id, str(n)), "⭐" * n) for n in range(1, 6))
    return Outgoing(env.i18n.t(lang, "feedback.rate"), stars, "choice")


def nobody_assigned(
    urgency: str, emergency: str, lang: str, env: Env, *, admins_told: bool
) -> Outgoing:
    """For a villager whose problem reached no officer or coordinator (none is in the bot for
    their district yet): say so plainly — that the admins were told only when some were —
    and for a very urgent one who to call meanwhile."""
    key = "report.nobody_assigned" if admins_told else "report.nobody_reached"
    text = env.i18n.t(lang, key)
    if urgency == "very_urgent":
        text += "\n" + env.i18n.t(lang, "report.emergency_call", contact=emergency)
    return Outgoing(text)
