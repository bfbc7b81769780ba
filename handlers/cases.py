"""Problem reports as cases: what officers are alerted with and what they can do. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.engine import Env, describe_area, option_label
from handlers.forms import PROBLEM
from handlers.messages import Choice, Outgoing

CASE_PREFIX = "case:"
ACTIONS = ("ack", "progress", "resolve", "forward", "reject")


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


def case_value(report_id: int, action: str) -> str:
    return f"{CASE_PREFIX}{report_id}:{action}"


def parse_case_value(value: str) -> tuple[int, str] | None:
    if not value.startswith(CASE_PREFIX):
        return None
    number, _, action = value[len(CASE_PREFIX) :].partition(":")
    if not number.isdigit() or action not in ACTIONS:
        return None
    return int(number), action


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
        t(lang, "alert.households", households=case.households if case.households else 0),
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
    """The push an officer (or coordinator) gets for a new or overdue problem."""
    heading = "alert.escalated" if escalated else "alert.new"
    return [
        Outgoing(
            case_text(case, lang, env, heading=heading),
            action_choices(case, lang, env),
            "choice",
            language=lang,
            image=case.photo,
        )
    ]
