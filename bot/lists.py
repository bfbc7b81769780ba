"""Configured option lists and pilot districts, loaded and checked once at start-up."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from handlers.areas import validate_pilot_districts
from handlers.engine import words_needed
from handlers.forms import FORMS, Form
from handlers.i18n import Translator

LIST_NAMES = ("activity_types", "problem_categories", "partner_sectors")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Lists:
    options: dict[str, tuple[str, ...]]
    pilot_districts: frozenset[str]


def load_lists(
    choices_file: Path, pilot_file: Path, i18n: Translator, forms: Mapping[str, Form] = FORMS
) -> Lists:
    try:
        choices = tomllib.loads(choices_file.read_text(encoding="utf-8"))
        pilot = tomllib.loads(pilot_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read configuration: {error}") from error

    options: dict[str, tuple[str, ...]] = {}
    for name in LIST_NAMES:
        values = choices.get(name)
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and v for v in values)
        ):
            raise ConfigError(f"{choices_file}: '{name}' must be a non-empty list of ids")
        if len(set(values)) != len(values):
            raise ConfigError(f"{choices_file}: '{name}' lists an id twice")
        options[name] = tuple(values)

    # Every question, answer name and button needs its words in every language: catch a
    # missing one now, not in a chat.
    wanted = {f"choice.{name}.{v}" for name, values in options.items() for v in values}
    for form in forms.values():
        wanted |= words_needed(form)
    missing = sorted(
        f"{lang}: {key}" for lang in i18n.languages for key in wanted if not i18n.has(lang, key)
    )
    if missing:
        raise ConfigError("words missing in locales/: " + ", ".join(missing))

    districts = pilot.get("districts", [])
    if not isinstance(districts, list) or not all(isinstance(c, str) for c in districts):
        raise ConfigError(f"{pilot_file}: 'districts' must be a list of 4-digit codes as strings")
    unknown = validate_pilot_districts(districts)
    if unknown:
        raise ConfigError(f"{pilot_file}: unknown district codes: {', '.join(unknown)}")
    return Lists(options, frozenset(districts))
