"""The export's cells: what a user typed never becomes a spreadsheet formula; numbers stay
numbers in XLSX."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from storage.export import csv_cells, safe_text, write_csv, write_xlsx

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
    write_csv(out, ["description"], [[EVIL]])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][0] == "'" + EVIL


def test_xlsx_keeps_numbers_and_escapes_text(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    write_xlsx(path, ["description", "households", "latitude"], [[EVIL, 12, 18.79]])
    sheet = load_workbook(path).active
    assert sheet is not None
    description, households, latitude = (cell.value for cell in sheet[2])
    assert description == "'" + EVIL
    assert households == 12 and latitude == 18.79
    assert sheet["A2"].data_type == "s"  # text, not a formula
