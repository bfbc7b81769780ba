"""A copy of the problem form with one question added ("where does your water come from?"),
and a translator that has its words: what a form author adds, and nothing else."""

from __future__ import annotations

from dataclasses import replace

from handlers.forms import PROBLEM, Form, Step
from handlers.i18n import Translator

WATER = Step(
    "water_source",
    "choice",
    "form.problem.water_source",
    options=("well", "river", "tap"),
    options_list="water_source",
    alert=45,
    case=45,
    export=55,
)
WORDS = {
    "th": {
        "form.problem.water_source.prompt": "ใช้น้ำจากที่ใด",
        "form.problem.water_source.label": "แหล่งน้ำ",
        "choice.water_source.well": "บ่อน้ำ",
        "choice.water_source.river": "แม่น้ำ",
        "choice.water_source.tap": "ประปา",
    },
    "en": {
        "form.problem.water_source.prompt": "Where does your water come from?",
        "form.problem.water_source.label": "Water source",
        "choice.water_source.well": "Well",
        "choice.water_source.river": "River",
        "choice.water_source.tap": "Tap water",
    },
}


def problem_with_water(version: int = PROBLEM.version + 1) -> Form:
    """The problem form with `WATER` asked after the households (a new version)."""
    steps = list(PROBLEM.steps)
    steps.insert(PROBLEM.index("households") + 1, WATER)
    return replace(PROBLEM, version=version, steps=tuple(steps))


def with_words(i18n: Translator) -> Translator:
    catalogs = {lang: {**entries, **WORDS.get(lang, {})} for lang, entries in i18n.catalogs.items()}
    return Translator(catalogs, i18n.default)
