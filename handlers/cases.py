"""Problem reports as cases: what officers are alerted with and what they can do. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.engine import Env, button_number, describe_area, option_label
from handlers.forms import PROBLEM
from handlers.messages import Choice, Outgoing

CASE_PREFIX = "case:"
ACTIONS = ("ack", "progress", "resolve", "forward", "reject")
ALL_ACTIONS = (*ACTIONS, "show")


@dataclass(frozen=True)
class CaseView:
    """What an alert or a case card shows about one problem report."""

    report_id: int
    reference: str
    category: str | None
    category_other: str | None
    urgency: str | None
    households: int | None
    description: str | None
    area: dict[str, Any]
    latitude: float | None
    longitude: float | None
    photo: str | None
    reporter: str | None
    status: str
    reopened: int = 0


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


def _step(step_id: str) -> Any:
    step = PROBLEM.step(step_id)
    assert step is not None
    return step


def case_text(case: CaseView, lang: str, env: Env, *, heading: str) -> str:
    t = env.i18n.t
    category = option_label(_step("category"), case.category, lang, env) if case.category else "-"
    if case.category_other:
        category += f" ({case.category_other})"
    urgency = option_label(_step("urgency"), case.urgency, lang, env) if case.urgency else "-"
    lines = [
        t(lang, heading, reference=case.reference),
        t(lang, "alert.category", category=category),
        t(lang, "alert.urgency", urgency=urgency),
        t(lang, "alert.area", area=describe_area(case.area, lang, env) or "-"),
        t(lang, "alert.households", households="-" if case.households is None else case.households),
        t(lang, "alert.description", description=case.description or "-"),
    ]
    if case.latitude is not None and case.longitude is not None:
        url = f"https://maps.google.com/?q={case.latitude:.6f},{case.longitude:.6f}"
        lines.append(t(lang, "alert.map", url=url))
    if case.reporter:
        lines.append(t(lang, "alert.reporter", name=case.reporter))
    lines.append(t(lang, "alert.status", status=t(lang, f"status.{case.status}")))
    return "\n".join(lines)


def action_choices(case: CaseView, lang: str, env: Env) -> tuple[Choice, ...]:
    return tuple(
        Choice(case_value(case.report_id, action), env.i18n.t(lang, f"case.action.{action}"))
        for action in ACTIONS
    )


def alert_messages(
    case: CaseView, lang: str, env: Env, *, escalated: bool = False
) -> list[Outgoing]:
    """The push an officer (or coordinator) gets for a new, forwarded, reopened or overdue
    problem."""
    heading = "alert.forwarded" if case.status == "forwarded" else "alert.new"
    if case.status == "received" and case.reopened:
        heading = "alert.reopened"
    if escalated:
        heading = "alert.escalated"
    return [
        Outgoing(
            case_text(case, lang, env, heading=heading),
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
    lines = [case_text(case, lang, env, heading="case.heading")]
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


_OPEN = ("received", "forwarded", "acknowledged", "in_progress")


def case_list(cases: list[CaseView], page: int, total: int, lang: str, env: Env) -> Outgoing:
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
        choices.append(Choice(case_value(case.report_id, "show"), case.reference))
    if page + 1 < pages:
        choices.append(Choice(f"{PAGE_PREFIX}{page + 1}", t(lang, "nav.more", page=page + 1,
                                                               pages=pages)))  # fmt: skip
    return Outgoing("\n".join(lines), tuple(choices), "choice")


def status_notice(case: CaseView, note: str | None, lang: str, env: Env) -> list[Outgoing]:
    """What the reporter hears when their case changes; after `resolved`, the question whether
    it is really fixed."""
    t = env.i18n.t
    text = t(lang, "case.notice", reference=case.reference, status=t(lang, f"status.{case.status}"))
    if note:
        text += "\n" + t(lang, "case.notice_note", note=note)
    if case.status != "resolved":
        return [Outgoing(text, language=lang)]
    choices = (
        Choice(feedback_value(case.report_id, "yes"), t(lang, "feedback.fixed")),
        Choice(feedback_value(case.report_id, "no"), t(lang, "feedback.not_fixed")),
    )
    ask = text + "\n" + t(lang, "feedback.ask")
    return [Outgoing(ask, choices, "choice", language=lang, standing=True)]


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
