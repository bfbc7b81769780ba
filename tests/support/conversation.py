"""The pure core driven as a chat: a real translator, the real forms and configured lists,
the real area list, a fixed clock. `Chat` carries the state from one input to the next, as the
service does between messages; the answers take each form to its end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.lists import Lists, load_lists
from handlers import router
from handlers.areas import AreaDirectory
from handlers.engine import NAV_MORE, Env, FormState, Result, UserView, language_of
from handlers.forms import FORMS, Form
from handlers.i18n import Translator
from handlers.messages import Choice, Inbound, Outgoing

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 20, 3, 0, tzinfo=dt.UTC)  # 10:00 in Bangkok, 20 March 2569
TZ = ZoneInfo("Asia/Bangkok")

# Chiang Mai (50) > Mueang Chiang Mai (5001) > Si Phum (500101); used where a real place is needed.
CHIANG_MAI = "50"
MUEANG_CHIANG_MAI = "5001"
SI_PHUM = "500101"

REGISTERED = UserView(
    registered=True,
    language="th",
    display_name="สมชาย ใจดี",
    role="village_head",
    province_code=CHIANG_MAI,
    district_code=MUEANG_CHIANG_MAI,
    subdistrict_code=SI_PHUM,
    village_no=3,
)
NEWCOMER = UserView()


def make_env(
    i18n: Translator,
    lists: Lists,
    areas: AreaDirectory,
    *,
    forms: Mapping[str, Form] = FORMS,
    now: dt.datetime = NOW,
    page_size: int = 13,
) -> Env:
    return Env(
        i18n=i18n,
        forms=forms,
        areas=areas,
        lists=lists.options,
        now=now,
        tz=TZ,
        page_size=page_size,
    )


Answer = str | Inbound | list[str | Inbound]

# Answers that take each form to its end, typed the way a village head would.
REGISTRATION_ANSWERS: dict[str, Answer] = {
    "language": "ภาษาไทย",
    "consent": "ยินยอม",
    "name": "สมชาย ใจดี",
    "phone": "081-234-5678",
    "role": "ผู้ใหญ่บ้าน",
    "area": ["เชียงใหม่", "เมืองเชียงใหม่", "ศรีภูมิ", "ม.3"],
    "confirm": "ยืนยันส่ง",
}
ACTIVITY_ANSWERS: dict[str, Answer] = {
    "activity_type": "อบรม",
    "activity_other": "ทำบุญตักบาตร",
    "date": "วันนี้",
    "place": "ที่หมู่บ้านของฉัน",
    "participants": "12",
    "sectors": "ภาครัฐ",
    "description": "อบรมการทำปุ๋ยหมัก",
    "photos": "ไม่มีรูป",
    "confirm": "ยืนยันส่ง",
}
PROBLEM_ANSWERS: dict[str, Answer] = {
    "category": "น้ำท่วม",
    "category_other": "ต้นไม้ล้มขวางถนน",
    "urgency": "ด่วนมาก",
    "households": "0",
    "description": "น้ำท่วมถนนเข้าหมู่บ้าน",
    "photos": "ไม่มีรูป",
    "location": "ที่หมู่บ้านของฉัน",
    "confirm": "ยืนยันส่ง",
}


@dataclass
class Chat:
    """One user's conversation: every input goes through `router.handle` with the state the
    previous one returned."""

    env: Env
    user: UserView
    state: FormState | None = None
    last: Result = field(default_factory=Result)

    def send(self, *inputs: str | Inbound) -> Result:
        """Feed the inputs in order (a str is typed text); return the last Result."""
        for item in inputs:
            inbound = Inbound("text", item) if isinstance(item, str) else item
            self.last = router.handle(self.user, self.state, inbound, self.env)
            # Stored with the time it was saved, as the service does.
            saved = self.last.state
            self.state = None if saved is None else replace(saved, updated_at=self.env.now)
        return self.last

    def fill(self, answers: Mapping[str, Answer], until: str | None = None) -> Result:
        """Answer step after step from `answers` (step id -> input or inputs) until the form
        reaches the step `until` (None: until it is over)."""
        for _ in range(50):
            if self.step == until:
                return self.last
            step = self.step
            assert step is not None and step in answers, f"no answer for step {step!r}"
            given = answers[step]
            before = self.step
            self.send(*(given if isinstance(given, list) else [given]))
            assert self.step != before or self.step == until, f"{before!r}: {self.texts}"
        raise AssertionError(f"never reached {until!r}")

    def tap(self, label: str) -> Result:
        """Tap the button labelled `label` in the last messages, paging with "more" to find it
        the way a user would."""
        for _ in range(20):
            if label in self.labels or NAV_MORE not in self.values:
                break
            self.send(Inbound("choice", value=NAV_MORE))
        return self.send(Inbound("choice", value=self.choice(label).value))

    def tap_key(self, key: str, **params: object) -> Result:
        """Tap the button whose label is the locale entry `key` in the current language."""
        return self.tap(self.t(key, **params))

    def choice(self, label: str) -> Choice:
        for message in reversed(self.last.messages):
            for choice in message.choices:
                if choice.label == label:
                    return choice
        shown = [c.label for m in self.last.messages for c in m.choices]
        raise AssertionError(f"no button {label!r} among {shown}")

    @property
    def lang(self) -> str:
        return language_of(self.user, self.state, self.env)

    def t(self, key: str, **params: object) -> str:
        return self.env.i18n.t(self.lang, key, **params)

    @property
    def step(self) -> str | None:
        return self.state.step_id if self.state is not None else None

    @property
    def answers(self) -> dict[str, Any]:
        assert self.state is not None
        return self.state.answers

    @property
    def messages(self) -> list[Outgoing]:
        return self.last.messages

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.last.messages]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def labels(self) -> list[str]:
        return [c.label for m in self.last.messages for c in m.choices]

    @property
    def values(self) -> list[str]:
        return [c.value for m in self.last.messages for c in m.choices]


def real_lists(i18n: Translator) -> Lists:
    """The configured choices and pilot districts of the repository."""
    return load_lists(
        ROOT / "config" / "choices.toml", ROOT / "config" / "pilot_districts.toml", i18n
    )
