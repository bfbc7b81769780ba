"""What the core hands back: messages, domain events for the caller to act on, and the state to
store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers.forms import SubmitAction
from handlers.messages import Outgoing
from handlers.state import FormState


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
    """Domain event: the user asked for their reports, or (`reference`) typed the reference
    number of one; the caller reads and renders them."""

    reference: str | None = None


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

    # cases | case | summary | activities | completeness | broadcast | broadcasts | desk
    kind: str
    page: int = 0
    reference: str | None = None
    # A case button's label typed ("รับเรื่อง PRB-2569-000123"): do it to the case named, or,
    # with kind "cases", ask which case.
    action: str | None = None


@dataclass(frozen=True)
class PrivacyAsked:
    """Domain event: the person asked about their own data (PDPA) from "ข้อมูลของฉัน / My
    data": to see what is held (`see`), for a copy (`copy`), or to stop or restart an optional
    use (`reminders_off`, `reminders_on`, `broadcasts_off`, `broadcasts_on`)."""

    action: str


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
    | PrivacyAsked
)


@dataclass
class Result:
    messages: list[Outgoing] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    state: FormState | None = None
