""" "ข้อมูลของฉัน / My data": what the bot says of the personal data it holds about the person
(PDPA B.E. 2562: access, correction, erasure, withdrawal of consent). The domain reads what is
held (`Held`); this renders it, with the buttons that correct each thing, give a copy, turn the
optional uses off or on, and delete. Pure, like the rest of the core."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers.dates import format_datetime
from handlers.messages import Outgoing
from handlers.router import describe_staff_area, privacy_choices
from handlers.state import Env, UserView
from handlers.steps.area import describe_area


@dataclass(frozen=True)
class Held:
    """What is held about one person."""

    name: str | None
    phone: str | None
    role: str | None
    province_code: str | None
    district_code: str | None
    subdistrict_code: str | None
    village_no: int | None
    language: str | None
    consent_at: dt.datetime | None
    notice_version: str | None
    reminders: bool
    broadcasts: bool
    staff: tuple[tuple[str, str], ...]
    reports: int
    newest: tuple[str, ...]  # references, newest first
    messages: int  # pushes and replies sent to them, kept in the outbox


def summary(held: Held, user: UserView, env: Env, lang: str) -> list[Outgoing]:
    """Everything held, in a few lines, with the buttons to act on it."""
    t = env.i18n.t
    none = t(lang, "privacy.none")
    lines = [t(lang, "privacy.heading")]
    lines.append(t(lang, "privacy.name", value=held.name or none))
    lines.append(t(lang, "privacy.phone", value=held.phone or none))
    if held.role:
        lines.append(t(lang, "privacy.role", value=t(lang, f"choice.role.{held.role}")))
    if held.subdistrict_code is not None and held.village_no is not None:
        area = {
            "province_code": held.province_code,
            "district_code": held.district_code,
            "subdistrict_code": held.subdistrict_code,
            "village_no": held.village_no,
        }
        lines.append(t(lang, "privacy.village", value=describe_area(area, lang, env)))
    lines.append(
        t(lang, "privacy.language", value=t(lang, f"choice.language.{held.language or lang}"))
    )
    for role, where in held.staff:
        lines.append(
            t(lang, "privacy.staff", role=t(lang, f"privacy.staff_role.{role}"),
              area=describe_staff_area(where, lang, env))
        )  # fmt: skip
    if held.consent_at is not None:
        when = format_datetime(held.consent_at, lang, env.tz)
        lines.append(t(lang, "privacy.consent", when=when, version=held.notice_version or "-"))
    on, off = t(lang, "privacy.on"), t(lang, "privacy.off")
    # (for staff the same switch holds their daily digest of cases)
    reminders = "privacy.reminders_staff" if user.is_staff else "privacy.reminders"
    lines.append(t(lang, reminders, value=on if held.reminders else off))
    lines.append(t(lang, "privacy.broadcasts", value=on if held.broadcasts else off))
    if held.reports:
        lines.append(t(lang, "privacy.reports", count=held.reports, newest=", ".join(held.newest)))
    else:
        lines.append(t(lang, "privacy.no_reports"))
    lines.append(t(lang, "privacy.messages", count=held.messages))
    lines.append(t(lang, "privacy.who_sees"))
    lines.append(t(lang, "privacy.what_next"))
    choices = privacy_choices(user, env, lang, reminders=held.reminders, broadcasts=held.broadcasts)
    return [Outgoing("\n".join(lines), choices, "choice")]
