"""The export's cells: what a user typed never becomes a spreadsheet formula; numbers stay
numbers in XLSX; its answer columns follow the report forms' steps."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from openpyxl import load_workbook

from bot.service import Core
from handlers.forms import FORMS
from handlers.reports import report_fields
from storage import export, repo
from storage.export import csv_cells, safe_text, write_xlsx
from tests.support.added_question import problem_with_water, with_words

EVIL = '=HYPERLINK("http://example.invalid","คลิก")'


def test_formula_like_text_is_escaped() -> None:
    assert safe_text(EVIL) == "'" + EVIL
    for start in ("+1", "-1", "@SUM(A1)", "\t=1"):
        assert str(safe_text(start)).startswith("'")
    assert safe_text("น้ำท่วม") == "น้ำท่วม"
    assert safe_text(-5) == -5  # a number is not text someone typed
    assert csv_cells(["a", None, 3, 18.5]) == ["a", "", "3", "18.5"]


def test_csv_never_carries_a_formula() -> None:
    out = io.StringIO()
    csv.writer(out).writerow(csv_cells([EVIL]))  # as `fieldbot reports export` writes it
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][0] == "'" + EVIL


def test_xlsx_keeps_numbers_and_escapes_text(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    write_xlsx(path, ["description", "households", "latitude"], [[EVIL, 12, 18.79]])
    sheet = load_workbook(path).active
    assert sheet is not None
    description, households, latitude = (cell.value for cell in sheet[2])
    assert description == "'" + EVIL
    assert households == 12 and latitude == 18.79
    assert sheet["A2"].data_type == "s"  # text, not a formula


async def test_a_question_added_to_the_problem_form_is_a_column_of_the_export(
    core: Core, tmp_path: Path
) -> None:
    form = problem_with_water()
    forms = {**FORMS, "problem": form}
    i18n = with_words(core.i18n)
    answers = {
        "category": "flood",
        "urgency": "urgent",
        "households": 4,
        "water_source": "river",
        "description": "น้ำท่วมถนนเข้าหมู่บ้าน",
        "photos": [],
        "location": {"registered_village": True},
    }
    async with core.sessions() as session, session.begin():
        user = await repo.get_or_create_user(session, "console", "somchai")
        await repo.create_report(
            session,
            reporter=user,
            kind="problem",
            form_id=form.id,
            form_version=form.version,
            answers=answers,
            fields={**report_fields(form, answers), "status": "received"},
            photos=[],
            local_date=dt.date(2026, 3, 20),
        )

    def label(key: str) -> str:
        return i18n.t("th", key)

    header = export.headers(label, forms)
    async with core.sessions() as session:
        rows = [
            row
            async for row in export.report_rows(
                session, export.ExportFilter(), label, tmp_path, core.settings.tz, forms
            )
        ]
    row = dict(zip(header, rows[0], strict=True))
    assert row["แหล่งน้ำ"] == "แม่น้ำ"  # headed by the question's label
    assert header.index("แหล่งน้ำ") == header.index(label("export.households")) + 1
    assert row[label("export.households")] == 4
    assert row[label("export.topic")] == label("choice.problem_categories.flood")
    # The real form has no such column.
    assert "แหล่งน้ำ" not in export.headers(label)
