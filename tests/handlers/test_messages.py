"""Cleaning what channels receive, once, before the core or the database sees it."""

from __future__ import annotations

import math
import sys
import unicodedata

from handlers.messages import _CONTROLS, Inbound, clean_inbound, clean_text


def test_the_control_characters_are_exactly_unicodes() -> None:
    every = {c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"}
    assert every - {ord("\n"), ord("\t")} == set(_CONTROLS)  # newline and tab are kept


def test_clean_text() -> None:
    assert clean_text("a\x00b\x07c") == "abc"  # NUL and other controls go
    assert clean_text("one\r\ntwo\rthree\tfour") == "one\ntwo\nthree\tfour"  # line breaks stay
    assert clean_text("ก\ud800ข\udfff") == "กข"  # lone surrogates go
    assert clean_text("e\u0301") == "é"  # NFC
    assert clean_text("\x85") == ""  # C1 controls too
    assert clean_text("สวัสดี 🙏") == "สวัสดี 🙏"


def test_clean_inbound() -> None:
    cleaned = clean_inbound(Inbound("choice", text="\x00", value="case:1:ack\x00"))
    assert (cleaned.text, cleaned.value) == ("", "case:1:ack")
    assert clean_inbound(Inbound("location", latitude=math.nan, longitude=1.0)).kind == (
        "unsupported"
    )
    assert clean_inbound(Inbound("location", latitude=18.8, longitude=98.9)).kind == "location"
