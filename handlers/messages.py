"""Neutral events between the channel adapters and the core: what came in, what goes out."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Literal

InboundKind = Literal["text", "choice", "location", "photo", "photo_failed", "start", "unsupported"]
AskKind = Literal["choice", "multi", "text", "number", "date", "location", "photos", "confirm"]


@dataclass(frozen=True)
class PhotoRef:
    """A photo already saved in the media store (content-addressed)."""

    sha256: str
    path: str
    content_type: str
    size_bytes: int

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "path": self.path,
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PhotoRef:
        return cls(
            sha256=str(data["sha256"]),
            path=str(data["path"]),
            content_type=str(data["content_type"]),
            size_bytes=int(data["size_bytes"]),
        )


@dataclass(frozen=True)
class Inbound:
    """One thing a user did: typed text, tapped a button (choice), shared a location or a photo."""

    kind: InboundKind
    text: str = ""
    value: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo: PhotoRef | None = None


@dataclass(frozen=True)
class Choice:
    """A tappable answer. `value` comes back as `Inbound(kind="choice", value=...)`. `also`:
    other words that, typed, mean this button (from the catalog; never sent to the platform)."""

    value: str
    label: str
    also: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Outgoing:
    """One message to the user. Adapters render `choices` natively (quick replies, keyboards);
    `ask` hints at special inputs (a location or camera button); `summary` lets an adapter draw a
    card of (label, answer) rows."""

    text: str
    choices: tuple[Choice, ...] = ()
    ask: AskKind | None = None
    summary: tuple[tuple[str, str], ...] = field(default=())
    # The reader's language, filled in by the service for adapters' own labels.
    language: str | None = None
    # A stored photo to show with the text (its path under the media directory).
    image: str | None = None
    # The choices act on something (a case) rather than answer the current question, so they
    # must stay tappable on this message after newer ones arrive (a LINE card's buttons, not
    # quick replies, which vanish; a Telegram keyboard that is not removed when pressed).
    standing: bool = False

    def as_json(self) -> dict[str, Any]:
        """For the outbox: a push is stored as data and rendered when it is sent."""
        return {
            "text": self.text,
            "choices": [[c.value, c.label] for c in self.choices],
            "ask": self.ask,
            "summary": [list(row) for row in self.summary],
            "language": self.language,
            "image": self.image,
            "standing": self.standing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outgoing:
        return cls(
            text=str(data["text"]),
            choices=tuple(Choice(str(v), str(label)) for v, label in data.get("choices", [])),
            ask=data.get("ask"),
            summary=tuple((str(a), str(b)) for a, b in data.get("summary", [])),
            language=data.get("language"),
            image=data.get("image"),
            standing=bool(data.get("standing", False)),
        )


# Control characters (Unicode category Cc) but newline and tab; carriage returns become newlines.
# (Unicode's Cc: U+0000-U+001F and U+007F-U+009F; tests/handlers checks the list.)
_CONTROLS: dict[int, str | None] = {c: None for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROLS.pop(ord("\n"))
_CONTROLS.pop(ord("\t"))
_CONTROLS[ord("\r")] = "\n"
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text as it may be stored: Unicode NFC, no lone surrogates, no control characters but
    newline and tab (a carriage return becomes a newline, so CRLF is one line break). Linear in
    the length of the text."""
    text = text.replace("\r\n", "\n")
    if text.isascii():
        return text.translate(_CONTROLS)
    return unicodedata.normalize("NFC", _SURROGATES.sub("", text).translate(_CONTROLS))


def clean_inbound(inbound: Inbound) -> Inbound:
    """What a channel received, cleaned once at the edge before the core or the database sees
    it: text and button data through `clean_text`; a location that is not a finite number is no
    location."""
    cleaned = replace(
        inbound,
        text=clean_text(inbound.text),
        value=clean_text(inbound.value) if inbound.value is not None else None,
    )
    if inbound.kind == "location" and not all(
        v is not None and math.isfinite(v) for v in (inbound.latitude, inbound.longitude)
    ):
        return Inbound("unsupported")
    return cleaned
