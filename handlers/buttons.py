"""The values buttons carry back, and typed text that means pressing one."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.i18n import fold
from handlers.messages import Choice, Inbound
from handlers.thai import normalize_digits, strip_particles

# Choice values. Answers carry the step id so a button left over from an earlier question
# (Telegram keeps old keyboards on screen) is recognised instead of answering the wrong step.
NAV_BACK = "nav:back"
NAV_CANCEL = "nav:cancel"
NAV_SKIP = "nav:skip"
NAV_MORE = "nav:more"
NAV_DONE = "nav:done"
CONFIRM_SUBMIT = "confirm:submit"
EDIT_PREFIX = "edit:"
# Numbers carried in button values (report and broadcast ids) are database integers.
MAX_BUTTON_NUMBER = 2_147_483_647


def answer_value(step_id: str, value: str) -> str:
    """The value of a button that answers the step `step_id` with `value`."""
    return f"a:{step_id}:{value}"


def button_number(text: str, maximum: int = MAX_BUTTON_NUMBER) -> int | None:
    """The number in a button's value: ASCII digits only (``str.isdigit`` also takes "²", which
    ``int`` refuses), at most 10 of them, and at most `maximum`. ``None`` for anything else,
    which can only be an old or forged button."""
    if not 0 < len(text) <= 10 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= maximum else None


def _plain(label: str) -> str:
    return fold("".join(ch for ch in label if ch.isalnum() or ch.isspace() or ch == "."))


def button_for_text(inbound: Inbound, choices: Sequence[Choice]) -> Inbound:
    """Typed text that is exactly a button's label, or one of its other words (`also`), means
    pressing that button."""
    if inbound.kind != "text":
        return inbound
    typed = _plain(strip_particles(normalize_digits(inbound.text)))
    for choice in choices:
        if typed and any(_plain(name) == typed for name in (choice.label, *choice.also)):
            return Inbound("choice", value=choice.value)
    return inbound
