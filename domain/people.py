"""People: registration and consent, profile changes, staff invites, and what the pure core may
know of a stored person."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from domain import privacy
from domain.policy import Held
from domain.turn import Turn, effect
from handlers import router
from handlers.engine import Env, JoinRequested, Submitted, UserView
from handlers.forms import NOTICE_VERSION
from handlers.messages import Outgoing
from storage import staff
from storage.models import User


class Profile(Protocol):
    """What `user_view` reads of a stored user: a User row, or the hot path's Person."""

    @property
    def consent_at(self) -> dt.datetime | None: ...
    @property
    def role(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def display_name(self) -> str | None: ...
    @property
    def province_code(self) -> str | None: ...
    @property
    def district_code(self) -> str | None: ...
    @property
    def subdistrict_code(self) -> str | None: ...
    @property
    def village_no(self) -> int | None: ...
    @property
    def consent_notice_version(self) -> str | None: ...


def user_view(user: Profile, held: Held) -> UserView:
    """What the pure core may know of a stored user holding the staff assignments `held`
    (storage.staff.assignments)."""
    registered = user.consent_at is not None and (user.role is not None or bool(held))
    return UserView(
        registered=registered,
        language=user.language,
        display_name=user.display_name,
        role=user.role,
        province_code=user.province_code,
        district_code=user.district_code,
        subdistrict_code=user.subdistrict_code,
        village_no=user.village_no,
        notice_version=user.consent_notice_version,
        staff=tuple((role, area) for role, area in held),
    )


def consent_and_profile(user: User, answers: dict[str, Any], env: Env, now: dt.datetime) -> None:
    """Record consent to the current notice with the name, phone and language given."""
    user.language = str(answers.get("language") or env.default_language)
    user.display_name = str(answers["name"])
    user.phone = answers.get("phone")
    user.consent_at = now
    user.consent_notice_version = NOTICE_VERSION
    user.consent_refused_at = None
    user.active = True
    user.updated_at = now


def set_area(user: User, area: dict[str, Any]) -> None:
    user.province_code = area["province_code"]
    user.district_code = area["district_code"]
    user.subdistrict_code = area["subdistrict_code"]
    user.village_no = int(area["village_no"])


@effect(Submitted, "register")
async def registered(turn: Turn, event: Submitted) -> list[Outgoing]:
    user = turn.user
    consent_and_profile(user, event.answers, turn.env, turn.env.now)
    user.role = str(event.answers["role"])
    set_area(user, event.answers["area"])
    return router.after_submit(event, None, user_view(user, turn.held), turn.env)


@effect(Submitted, "update_profile")
async def profile_updated(turn: Turn, event: Submitted) -> list[Outgoing]:
    user, answers = turn.user, event.answers
    if "language" in answers:
        user.language = str(answers["language"])
    if "area" in answers:
        set_area(user, answers["area"])
    user.updated_at = turn.env.now
    # A correction of personal data (PDPA s.35): the register says which, never the values.
    fields = [f for f in ("area", "language") if f in answers]
    await privacy.record(turn.session, user.id or 0, "correct", "chat", turn.env.now,
                         note=", ".join(fields))  # fmt: skip
    return router.after_submit(event, None, user_view(user, turn.held), turn.env)


@effect(JoinRequested)
async def join_requested(turn: Turn, event: JoinRequested) -> list[Outgoing]:
    """A registered person typed an invite code."""
    outcome = await staff.redeem_invite(turn.session, turn.user, event.code, turn.env.now)
    if outcome.status == "ok":
        turn.held = await staff.assignments(turn.session, turn.user.id or 0)
    view = user_view(turn.user, turn.held)
    return router.after_join(_outcome(outcome), view, turn.result.state, turn.env)


@effect(Submitted, "join")
async def joined(turn: Turn, event: Submitted) -> list[Outgoing]:
    """Someone new answered the staff sign-up form (who they are, then the invite code)."""
    consent_and_profile(turn.user, event.answers, turn.env, turn.env.now)
    code = str(event.answers.get("invite_code", ""))
    outcome = await staff.redeem_invite(turn.session, turn.user, code, turn.env.now)
    turn.held = await staff.assignments(turn.session, turn.user.id or 0)
    view = user_view(turn.user, turn.held)
    out = router.after_submit(event, None, view, turn.env)
    return out + router.after_join(_outcome(outcome), view, None, turn.env)


def _outcome(outcome: staff.JoinResult) -> router.JoinOutcome:
    return router.JoinOutcome(outcome.status, outcome.role, outcome.area)
