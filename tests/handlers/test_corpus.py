"""A corpus of answers as people type them (tests/handlers/corpus/answers.tsv, Thai and English,
every kind of question): each is given at its question, and must be understood the first time
(stored as expected, the form moving on). The share understood is printed with `-s`; every line
is a test of its own, so one misread names itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.engine import Env
from tests.support.conversation import (
    ACTIVITY_ANSWERS,
    NEWCOMER,
    PROBLEM_ANSWERS,
    REGISTERED,
    REGISTRATION_ANSWERS,
    Chat,
)

CORPUS = Path(__file__).parent / "corpus" / "answers.tsv"
OPENING = {"activity": "กิจกรรม", "problem": "แจ้งปัญหา"}


def _lines() -> list[tuple[str, str, str, Any]]:
    found = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        form, step, typed, expected = line.split("\t")
        found.append((form, step, typed, json.loads(expected)))
    return found


LINES = _lines()


def _understood(env: Env, form: str, step: str, typed: str) -> tuple[Any, str | None]:
    """What `typed` is stored as at its question, and the step the form went on to."""
    if form == "registration":
        chat = Chat(env, NEWCOMER)
        chat.send("สวัสดี")
        if step == "village":
            chat.fill(REGISTRATION_ANSWERS, until="area")
            chat.send("เชียงใหม่", "เมืองเชียงใหม่", "ศรีภูมิ", typed)
            area = chat.answers.get("area") or {}
            return area.get("village_no"), chat.step
        chat.fill(REGISTRATION_ANSWERS, until=step)
    else:
        chat = Chat(env, REGISTERED)
        chat.send(OPENING[form])
        chat.fill(ACTIVITY_ANSWERS if form == "activity" else PROBLEM_ANSWERS, until=step)
    chat.send(typed)
    return chat.answers.get(step), chat.step


def test_the_corpus_is_big_enough_and_covers_every_kind_of_question() -> None:
    assert len(LINES) >= 200
    steps = {(form, step) for form, step, _, _ in LINES}
    assert {("activity", "participants"), ("activity", "date"), ("problem", "category"),
            ("registration", "role"), ("registration", "village")} <= steps  # fmt: skip
    assert any(typed.isascii() for _, _, typed, _ in LINES)  # English too


def test_how_many_are_understood_the_first_time(env: Env) -> None:
    """The figure for the record (`pytest -s` prints it); each line's own test says which."""
    understood = 0
    for form, step, typed, expected in LINES:
        got, at = _understood(env, form, step, typed)
        understood += got == expected and at != step
    share = understood / len(LINES)
    print(f"\ncorpus: {understood} of {len(LINES)} answers understood the first time ({share:.0%})")
    assert share >= 0.95


@pytest.mark.parametrize(("form", "step", "typed", "expected"), LINES)
def test_each_answer(env: Env, form: str, step: str, typed: str, expected: Any) -> None:
    got, at = _understood(env, form, step, typed)
    assert got == expected, f"{typed!r} at {form}/{step}: stored {got!r}"
    assert at != step or step == "village"
