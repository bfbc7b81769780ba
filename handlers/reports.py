"""What a report's answers become outside the conversation, derived from its form's steps (see
`handlers.forms.Step`): the report's stored columns, the rows of the officers' alert and case
cards, and the export's columns. Adding a question to a form is one step (and its words in
`locales/`): these views follow. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from handlers.forms import FORMS, Form, Step
from handlers.state import Env
from handlers.steps.area import describe_area
from handlers.steps.base import Cell, Label, kind_of

Card = Literal["alert", "case"]
# Where the report's area (its village, or the district it was forwarded to) sits among the
# rows of a card; steps place themselves before or after it by their numbers.
AREA_ROW = 30
REPORT_SUBMITS = ("activity_report", "problem_report")


def report_forms(forms: Mapping[str, Form] = FORMS) -> list[Form]:
    """The forms whose submission is a report."""
    return [f for f in forms.values() if f.submit in REPORT_SUBMITS]


def report_fields(form: Form, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The report's stored columns filled from `answers` (each step with a ``column``): e.g.
    ``{"problem_category": "flood", "urgency": "urgent", "households": 12, "description": …,
    "latitude": 18.79, "longitude": 98.98}``. A question not answered gives ``None``; a location
    that is the registered village gives no coordinates. The columns not from answers (area,
    status) are the caller's."""
    fields: dict[str, Any] = {}
    for step in form.steps:
        if step.column is not None:
            value = answers.get(step.id)
            given = None if value in (None, "", []) else value
            fields.update(kind_of(step).columns(step, given))
    return fields


def card_lines(
    form: Form,
    answers: Mapping[str, Any],
    lang: str,
    env: Env,
    *,
    card: Card = "alert",
    area: Mapping[str, Any] | None = None,
) -> list[str]:
    """The rows of an alert (or case) card about a report with these stored `answers`, in the
    order the steps give, the report's `area` among them at `AREA_ROW`. Heading, reporter and
    status are the card's own. A step's row is its ``<key>.card`` entry with ``{value}`` (else
    ``card.row``: its label and the answer); a step the report never answered (an older form
    version, a condition that did not hold) has no row, one skipped shows "-"."""
    rows: list[tuple[int, str]] = []
    if area is not None:
        rows.append(
            (AREA_ROW, env.i18n.t(lang, "alert.area", area=describe_area(area, lang, env) or "-"))
        )
    details = {s.detail_of: s for s in form.steps if s.detail_of}
    for step in form.steps:
        order = step.alert if card == "alert" else step.case
        if order is None or step.id not in answers:
            continue
        value = _card_value(step, answers[step.id], lang, env)
        if value is None:
            continue
        detail = details.get(step.id)
        if detail is not None and answers.get(detail.id):
            value += f" ({_card_value(detail, answers[detail.id], lang, env)})"
        rows.append((order, _row(step, value, lang, env)))
    rows.sort(key=lambda row: row[0])  # stable: equal numbers keep the form's order
    return [text for _, text in rows]


def _card_value(step: Step, value: Any, lang: str, env: Env) -> str | None:
    """What a card shows for an answer; None: no row."""
    kind = kind_of(step)
    if kind.links:  # a map link, or nothing (the registered village: the area row says where)
        return kind.link(step, value) if value else None
    if value in (None, "", []):
        return "-"
    return kind.display(step, value, lang, env)


def _row(step: Step, value: str, lang: str, env: Env) -> str:
    key = f"{step.key}.card"
    if env.i18n.has(lang, key) or env.i18n.has(env.default_language, key):
        return env.i18n.t(lang, key, value=value)
    return env.i18n.t(lang, "card.row", label=env.i18n.t(lang, f"{step.key}.label"), value=value)


@dataclass(frozen=True)
class ExportColumn:
    """One column of the export that comes from answers: its name and its header's locale key
    (``export.<name>`` for a column a step names with ``export_as``, else the step's label)."""

    name: str
    header: str
    order: int


def export_columns(forms: Iterable[Form]) -> list[ExportColumn]:
    """The export's answer columns for these forms, in order; steps of different forms that
    name the same column share it (an activity's type and a problem's category are both the
    "topic")."""
    found: dict[str, ExportColumn] = {}
    for form in forms:
        for step in form.steps:
            if step.export is None or step.detail_of:
                continue
            names = kind_of(step).export_names(step)
            for name in names:
                header = f"export.{name}" if step.export_as or len(names) > 1 else ""
                known = found.get(name)
                if known is None or step.export < known.order:
                    header = header or (known.header if known else f"{step.key}.label")
                    found[name] = ExportColumn(name, header, step.export)
    return sorted(found.values(), key=lambda c: c.order)


def export_cells(form: Form, answers: Mapping[str, Any], label: Label) -> dict[str, Cell]:
    """A report's answer cells by column name (columns its form has no step for are absent).
    An "other" detail follows its answer: "อื่น ๆ: ต้นไม้ล้ม"."""
    cells: dict[str, Cell] = {}
    details = {s.detail_of: s for s in form.steps if s.detail_of}
    for step in form.steps:
        if step.export is None or step.detail_of:
            continue
        kind = kind_of(step)
        values = kind.export_cells(step, answers.get(step.id), label)
        detail = details.get(step.id)
        if detail is not None and answers.get(detail.id) and len(values) == 1:
            values = (f"{values[0] or ''}: {answers[detail.id]}",)
        cells.update(zip(kind.export_names(step), values, strict=True))
    return cells
