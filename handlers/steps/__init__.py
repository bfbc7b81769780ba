"""Step kinds, one module each, registered by type (see `base`). Importing this package
registers every kind."""

from __future__ import annotations

from typing import get_args

from handlers.forms import StepType
from handlers.steps import (
    area,
    choice,
    confirm,
    consent,
    date,
    location,
    multi,
    number,
    phone,
    photos,
    text,
)
from handlers.steps.base import registered

KIND_MODULES = (area, choice, confirm, consent, date, location, multi, number, phone, photos, text)

# Every type a form may name has its kind, and every kind a type.
assert set(registered()) == set(get_args(StepType)), sorted(registered())
