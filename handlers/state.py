"""What the core reads besides the input: the stored form in progress, the person it talks to
and the environment (translations, forms, areas, option lists, the clock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from handlers.areas import AreaDirectory
from handlers.forms import NOTICE_VERSION, Form
from handlers.i18n import Translator


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
    # The privacy notice's version the person agreed to (an older one is asked again).
    notice_version: str | None = NOTICE_VERSION
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


def language_of(user: UserView, state: FormState | None, env: Env) -> str:
    if state is not None and isinstance(state.answers.get("language"), str):
        return str(state.answers["language"])
    return user.language or env.default_language
