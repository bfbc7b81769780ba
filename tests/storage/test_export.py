"""The export's cells: what a user typed never becomes a spreadsheet formula; numbers stay
numbers and dates are date cells in XLSX (frozen header, filter, fitted widths); its answer
columns follow the report forms' steps; one language throughout; a problem's casework as the
domain left it; photos as copied files or links, never a server path."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.service import Core
from domain import cases
from domain.turn import Turn
from handlers.events import CaseFeedback, Result
from handlers.forms import FORMS
from handlers.messages import PhotoRef
from handlers.reports import report_fields
from storage import export, repo, staff
from storage.export import csv_cells, safe_text, write_xlsx
from storage.models import User
from tests.support.added_question import problem_with_water, with_words
from tests.support.clock import Clock
from tests.support.images import png_bytes

THAI = re.compile("[\u0e00-\u0e7f]")
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
                session, export.ExportFilter(), label, core.settings.tz, forms=forms
            )
        ]
    row = dict(zip(header, rows[0], strict=True))
    assert row["แหล่งน้ำ"] == "แม่น้ำ"  # headed by the question's label
    assert header.index("แหล่งน้ำ") == header.index(label("export.households")) + 1
    assert row[label("export.households")] == 4
    assert row[label("export.topic")] == label("choice.problem_categories.flood")
    # The real form has no such column.
    assert "แหล่งน้ำ" not in export.headers(label)


BANGKOK = ZoneInfo("Asia/Bangkok")
MOMENT = dt.datetime(2026, 3, 15, 14, 30, tzinfo=BANGKOK)


def test_csv_dates_are_local_text_iso_or_buddhist_era() -> None:
    row: list[export.Cell] = [MOMENT, dt.date(2026, 3, 5), "x"]
    assert csv_cells(row) == ["2026-03-15 14:30", "2026-03-05", "x"]
    assert csv_cells(row, be=True) == ["15/3/2569 14:30", "5/3/2569", "x"]


def test_thai_marks_take_no_width() -> None:
    assert export.text_width("น้ำ") == 2  # the tone mark sits on the consonant
    assert export.text_width("ที่") == 1
    assert export.text_width("Reference") == 9
    assert export.text_width("short\na longer line") == 13


def _xlsx(tmp_path: Path, be: bool) -> Worksheet:
    path = tmp_path / f"r{be}.xlsx"
    header = ["เลขที่", "ครัวเรือนที่เดือดร้อน", "วันเวลาที่ส่ง", "วันที่ทำกิจกรรม", "รูปภาพ"]
    rows: list[list[export.Cell]] = [
        ["PRB-1", 4, MOMENT, dt.date(2026, 3, 5), "a.png\nb.png"],
        ["PRB-2", None, MOMENT.astimezone(dt.UTC), None, None],  # shown as it is given
    ]
    write_xlsx(path, header, rows, be=be)
    sheet = load_workbook(path).active
    assert isinstance(sheet, Worksheet)
    return sheet


def test_xlsx_dates_are_date_cells_in_local_time(tmp_path: Path) -> None:
    sheet = _xlsx(tmp_path, be=False)
    created, done = sheet["C2"], sheet["D2"]
    assert created.is_date and created.value == dt.datetime(2026, 3, 15, 14, 30)
    assert created.number_format == "yyyy-mm-dd hh:mm"
    assert sheet["C3"].is_date and sheet["C3"].value == dt.datetime(2026, 3, 15, 7, 30)
    assert done.is_date and done.value == dt.datetime(2026, 3, 5)
    assert done.number_format == "yyyy-mm-dd"
    be = _xlsx(tmp_path, be=True)
    assert be["C2"].is_date and be["C2"].number_format == "d/m/bbbb hh:mm"
    assert be["D2"].is_date and be["D2"].number_format == "d/m/bbbb"


def test_xlsx_has_a_frozen_header_a_filter_and_fitted_widths(tmp_path: Path) -> None:
    sheet = _xlsx(tmp_path, be=False)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E3"
    assert sheet["A1"].font.bold
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDE"}
    assert widths["A"] == len("PRB-1") + 2  # its widest cell and a margin
    # 21 characters, 15 of them taking room: Thai vowel and tone marks are not counted.
    assert widths["B"] == export.text_width("ครัวเรือนที่เดือดร้อน") + 2 == 17
    assert widths["C"] == len("2026-03-15 14:30") + 2
    assert sheet["E2"].alignment.wrap_text  # a photo per line


async def _person(core: Core, name: str, officer: bool) -> User:
    async with core.sessions() as session, session.begin():
        row = await repo.get_or_create_user(session, "console", name)
        row.display_name, row.language = name, "th"
        row.role = None if officer else "village_head"
        row.province_code, row.district_code = "50", "5001"
        row.subdistrict_code, row.village_no = "500108", 3
        if officer:
            await staff.grant(session, row, "officer", "5001")
        return row


async def _report(core: Core, reporter: User, kind: str, photos: list[PhotoRef]) -> int:
    answers: dict[str, object]
    if kind == "problem":
        answers = {
            "category": "drought",
            "urgency": "urgent",
            "households": 4,
            "description": "น้ำประปาไม่ไหล",
            "photos": [p.path for p in photos],
        }
    else:
        answers = {"activity_type": "other", "date": "2026-03-19", "participants": 30,
                   "description": "ขุดบ่อ", "photos": []}  # fmt: skip
    form = FORMS[kind]
    async with core.sessions() as session, session.begin():
        row = await session.get(User, reporter.id)
        assert row is not None
        report = await repo.create_report(
            session, reporter=row, kind=kind, form_id=form.id, form_version=form.version,
            answers=answers,
            fields={**report_fields(form, answers), "province_code": "50",
                    "district_code": "5001", "subdistrict_code": "500108", "village_no": 3,
                    "status": "received" if kind == "problem" else "submitted"},
            photos=photos, local_date=dt.date(2026, 3, 20), now=core.clock(),
        )  # fmt: skip
        assert report.id is not None
        return report.id


async def _feedback(core: Core, reporter: User, event: CaseFeedback) -> None:
    async with core.sessions() as session, session.begin():
        user = await session.get(User, reporter.id)
        assert user is not None
        turn = Turn(session, core.env(13), core.rules, user, (), Result())
        await cases.feedback(turn, event)


async def _rows(
    core: Core, lang: str, photos: export.PhotoCell | None = None
) -> list[dict[str, Any]]:
    def label(key: str) -> str:
        return core.i18n.t(lang, key)

    async with core.sessions() as session:
        rows = [
            row
            async for row in export.report_rows(
                session, export.ExportFilter(), label, core.settings.tz, lang=lang,
                photos=photos, now=core.clock(),
            )
        ]  # fmt: skip
    return [dict(zip(export.columns(), row, strict=True)) for row in rows]


async def test_casework_columns_follow_the_case_through_the_domain(
    core: Core, clock: Clock, tmp_path: Path
) -> None:
    villager = await _person(core, "สมชาย", officer=False)
    officer = await _person(core, "ปลัดสมศักดิ์", officer=True)
    saved = [core.media.save(png_bytes(2, 2, (i * 40, 0, 0))) for i in (1, 2)]
    worked = await _report(core, villager, "problem", saved)
    await _report(core, villager, "problem", [])
    await _report(core, villager, "activity", [])
    started = clock()

    clock.advance(hours=1)
    async with core.sessions() as session, session.begin():
        assert (await cases.act(session, core.env(13), officer, worked, "ack")).outcome == "done"
    clock.advance(days=1)
    async with core.sessions() as session, session.begin():
        done = await cases.act(session, core.env(13), officer, worked, "resolve", note="ล้างท่อ")
        assert done.outcome == "done"
    await _feedback(core, villager, CaseFeedback(worked, fixed=False))  # reopened
    clock.advance(days=2)
    async with core.sessions() as session, session.begin():
        note = "เปลี่ยนท่อใหม่ทั้งเส้น"
        done = await cases.act(session, core.env(13), officer, worked, "resolve", note=note)
        assert done.outcome == "done"
    await _feedback(core, villager, CaseFeedback(worked, stars=4))
    clock.advance(hours=12)

    problem, still_open, activity = await _rows(core, "th")
    local = core.settings.tz
    assert problem["created_at"] == started and problem["created_at"].tzinfo == local
    assert problem["status"] == core.i18n.t("th", "status.resolved")
    assert problem["acknowledged_by"] == "ปลัดสมศักดิ์"
    assert problem["acknowledged_at"] == (started + dt.timedelta(hours=1)).astimezone(local)
    assert problem["resolved_at"] == (started + dt.timedelta(days=3, hours=1)).astimezone(local)
    assert problem["resolution_note"] == "เปลี่ยนท่อใหม่ทั้งเส้น"  # the latest resolution's
    assert problem["rating"] == 4 and problem["reopen_count"] == 1
    assert problem["days_open"] == 3  # 3 days 1 hour, to its resolution (not to now)
    assert problem["photo_count"] == 2 and problem["photos"] == 2  # no links, no files: a count
    assert still_open["days_open"] == 3  # 3 days 13 hours to now, whole days
    assert still_open["acknowledged_by"] is None and still_open["resolution_note"] is None
    assert still_open["reopen_count"] == 0 and still_open["photos"] == 0
    for column in ("acknowledged_by", "resolved_at", "rating", "reopen_count", "days_open"):
        assert activity[column] is None
    assert activity["occurred_on"] == dt.date(2026, 3, 19)  # a day, not text


async def test_a_refused_case_counts_its_days_to_the_refusal(core: Core, clock: Clock) -> None:
    villager = await _person(core, "สมชาย", officer=False)
    officer = await _person(core, "ปลัดสมศักดิ์", officer=True)
    refused = await _report(core, villager, "problem", [])
    clock.advance(days=2, hours=3)
    async with core.sessions() as session, session.begin():
        done = await cases.act(session, core.env(13), officer, refused, "reject", note="ซ้ำ")
        assert done.outcome == "done"
    clock.advance(days=30)
    (row,) = await _rows(core, "th")
    assert row["days_open"] == 2 and row["resolved_at"] is None


async def test_one_language_throughout(core: Core) -> None:
    villager = await _person(core, "สมชาย", officer=False)
    await _report(core, villager, "problem", [])
    (english,) = await _rows(core, "en")
    header = export.headers(lambda key: core.i18n.t("en", key))
    assert not [h for h in header if THAI.search(h)], header
    for column in ("kind", "status", "reporter_role", "province", "district", "topic", "urgency"):
        assert not THAI.search(str(english[column])), (column, english[column])
    assert english["province"] == "Chiang Mai" and english["kind"] == "Problem"
    (thai,) = await _rows(core, "th")
    assert thai["province"] == "เชียงใหม่" and thai["kind"] == "ปัญหา"
    assert " / " not in str(thai["district"])


async def test_photos_are_copied_under_stable_names_never_a_server_path(
    core: Core, tmp_path: Path
) -> None:
    villager = await _person(core, "สมชาย", officer=False)
    saved = [core.media.save(png_bytes(2, 2, (0, i * 40, 0))) for i in (1, 2)]
    await _report(core, villager, "problem", saved)
    out = tmp_path / "desk" / "photos"
    copier = export.PhotoCopier(core.settings.media_dir, out)
    (row,) = await _rows(core, "th", copier)
    reference = row["reference"]
    names = [f"{reference}-1.png", f"{reference}-2.png"]
    assert row["photos"] == "\n".join(names) and row["photo_count"] == 2
    for name, ref in zip(names, saved, strict=True):
        assert (out / name).read_bytes() == core.media.path(ref).read_bytes()
    media = str(core.settings.media_dir)
    assert not any(media in str(cell) or ref.sha256 in str(cell) for cell in row.values()
                   for ref in saved)  # fmt: skip
    (again,) = await _rows(core, "th", export.PhotoCopier(core.settings.media_dir, out))
    assert again["photos"] == row["photos"]  # the same names on every export
    assert sorted(p.name for p in out.iterdir()) == names

    core.media.path(saved[1]).unlink()
    gone = export.PhotoCopier(core.settings.media_dir, tmp_path / "other")
    (row,) = await _rows(core, "th", gone)
    assert row["photos"] == names[0] and gone.missing == [names[1]]


async def test_photos_as_links_from_the_strategy_given(core: Core) -> None:
    villager = await _person(core, "สมชาย", officer=False)
    await _report(core, villager, "problem", [core.media.save(png_bytes(2, 2, (9, 9, 9)))])
    await _report(core, villager, "problem", [])

    def links(reference: str, paths: Sequence[str]) -> list[str]:
        return [f"https://desk.example/{reference}/{n}" for n, _ in enumerate(paths)]

    with_photo, without = await _rows(core, "th", links)
    assert with_photo["photos"] == f"https://desk.example/{with_photo['reference']}/0"
    assert without["photos"] is None and without["photo_count"] == 0
