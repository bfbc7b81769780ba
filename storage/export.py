"""Reports as a table (CSV or XLSX): one row per report, headers and labels in one language, area
names resolved, moments in local time, a problem's casework, and its photos as links, copied
files or a count (never a path on the server).

`report_rows` yields cells (text, numbers, `dt.date` days and local `dt.datetime` moments);
`csv_cells` and `write_xlsx` decide how each shows: text in CSV, real date cells with a number
format in XLSX (Buddhist-Era years on request in both)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers import vocab as v
from handlers.forms import FORMS, Form
from handlers.reports import ExportColumn, export_cells, export_columns, report_forms
from handlers.steps.base import Cell as Cell  # re-exported: the CLI writes cells
from handlers.steps.base import Label
from storage.areas import area_names
from storage.models import ERASED, CaseEvent, Report, ReportPhoto, User, utcnow

# Columns every report has, before and after the ones its form's answers give (those are
# derived from the report forms' steps: handlers.reports.export_columns). The casework columns
# (acknowledged_by … days_open) are a problem report's; an activity leaves them empty.
HEAD = (
    "reference",
    "kind",
    "created_at",
    "reporter",
    "reporter_role",
    "province",
    "district",
    "subdistrict",
    "village_no",
    "village_code",
)
TAIL = (
    "status",
    "acknowledged_by",
    "acknowledged_at",
    "resolved_at",
    "resolution_note",
    "rating",
    "reopen_count",
    "days_open",
    "photo_count",
    "photos",
)
BATCH = 500
# Each photo of a report on a line of its own in the photos cell.
PHOTO_SEPARATOR = "\n"
BUDDHIST_ERA = 543  # years: 2026 CE is 2569 BE

# PhotoCell: what the photos cell lists for one report, from its reference and its photos'
# paths in the media store (relative to FIELDBOT_MEDIA_DIR): links, or the names of copied
# files. Called off the event loop (it may copy files).
PhotoCell = Callable[[str, Sequence[str]], list[str]]


@dataclass(frozen=True)
class ExportFilter:
    kind: str | None = None
    province: str | None = None
    district: str | None = None
    since: dt.datetime | None = None
    # Any further narrowing, e.g. the desk's filter and the policy's visible_reports.
    clauses: tuple[ColumnElement[bool], ...] = ()

    def apply(self, query: Any) -> Any:
        if self.clauses:
            query = query.where(*self.clauses)
        if self.kind:
            query = query.where(col(Report.kind) == self.kind)
        if self.province:
            query = query.where(col(Report.province_code) == self.province)
        if self.district:
            query = query.where(col(Report.district_code) == self.district)
        if self.since:
            query = query.where(col(Report.created_at) >= self.since)
        return query


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def count_reports(session: AsyncSession, where: ExportFilter) -> int:
    query = where.apply(select(func.count()).select_from(Report))
    return int((await session.execute(query)).scalar_one())


def answer_columns(forms: Mapping[str, Form] = FORMS) -> list[ExportColumn]:
    return export_columns(report_forms(forms))


def columns(forms: Mapping[str, Form] = FORMS) -> list[str]:
    """Every column's name, in order."""
    return [*HEAD, *(c.name for c in answer_columns(forms)), *TAIL]


@dataclass
class PhotoCopier:
    """`--photos DIR`: each photo copied into `target` as ``<reference>-<n>.<ext>`` (n from 1, in
    the report's order): the same name on every export, never two photos on one name. A photo
    whose file is gone from the media store is left out and counted in `missing`."""

    media_dir: Path
    target: Path
    missing: list[str] = field(default_factory=list)
    copied: int = 0

    def __call__(self, reference: str, paths: Sequence[str]) -> list[str]:
        self.target.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^0-9A-Za-z_-]", "_", reference)
        names = []
        for n, path in enumerate(paths, start=1):
            source = self.media_dir / path
            name = f"{stem}-{n}{PurePosixPath(path).suffix}"
            if not source.is_file():
                self.missing.append(name)
                continue
            shutil.copyfile(source, self.target / name)
            self.copied += 1
            names.append(name)
        return names


@dataclass(frozen=True)
class _Casework:
    """What a batch's case events say about each case."""

    acknowledged_by: dict[int, str]
    resolution_note: dict[int, str]
    rejected_at: dict[int, dt.datetime]


async def _casework(session: AsyncSession, ids: list[int]) -> _Casework:
    """One query for a batch: the latest acknowledgement's officer, the latest resolution's
    note and the latest refusal's time of each case."""
    rows = await session.execute(
        select(CaseEvent, col(User.display_name))
        .outerjoin(User, col(User.id) == col(CaseEvent.actor_id))
        .where(
            col(CaseEvent.report_id).in_(ids),
            col(CaseEvent.to_status).in_((v.ACKNOWLEDGED, v.RESOLVED, v.REJECTED)),
        )
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    )
    found = _Casework({}, {}, {})
    for event, name in rows.all():  # oldest first: the latest stays
        if event.to_status == v.ACKNOWLEDGED:
            found.acknowledged_by[event.report_id] = name or ""
        elif event.to_status == v.RESOLVED:
            found.resolution_note[event.report_id] = event.note or ""
        else:
            found.rejected_at[event.report_id] = event.at
    return found


async def report_rows(
    session: AsyncSession,
    where: ExportFilter,
    label: Label,
    tz: ZoneInfo,
    *,
    lang: str = "th",
    photos: PhotoCell | None = None,
    now: dt.datetime | None = None,
    forms: Mapping[str, Form] = FORMS,
) -> AsyncIterator[list[Cell]]:
    """Rows in submission order, read in batches (a few queries per batch, none per row) so a
    large export stays small in memory. `label` gives every header and label in one language,
    `lang` picks the area names' language; moments are in `tz`. The photos cell lists what
    `photos` makes of each report's photos; without it, it holds their number. Days open count
    to `now` for a case still open."""
    names = columns(forms)
    now = now or utcnow()
    last_id = 0
    while True:
        query = where.apply(
            select(Report, User)
            .join(User, col(User.id) == col(Report.reporter_id))
            .where(col(Report.id) > last_id)
            .order_by(col(Report.id))
            .limit(BATCH)
        )
        batch = (await session.execute(query)).all()
        if not batch:
            return
        ids = [report.id for report, _ in batch]
        stored: dict[int, list[str]] = {}
        photo_rows = await session.execute(
            select(ReportPhoto)
            .where(col(ReportPhoto.report_id).in_(ids))
            .order_by(col(ReportPhoto.report_id), col(ReportPhoto.position))
        )
        for photo in photo_rows.scalars():
            stored.setdefault(photo.report_id, []).append(photo.path)
        listed: dict[int, list[str]] = {}
        if photos is not None:
            references = {report.id or 0: report.reference for report, _ in batch}
            listed = await asyncio.to_thread(_list_photos, photos, references, stored)
        problems = [report.id or 0 for report, _ in batch if report.kind == v.PROBLEM]
        casework = await _casework(session, problems) if problems else _Casework({}, {}, {})
        codes = {
            c for r, _ in batch for c in (r.province_code, r.district_code, r.subdistrict_code) if c
        }
        places = await area_names(session, codes)
        for report, user in batch:
            form = forms.get(report.form_id)
            key = report.id or 0
            count = len(stored.get(key, []))
            values = _row(report, user, places, label, tz, lang)
            values["photo_count"] = count
            values["photos"] = (
                count if photos is None else PHOTO_SEPARATOR.join(listed.get(key, [])) or None
            )
            if report.kind == v.PROBLEM:
                values.update(_case_cells(report, casework, tz, now))
            if form is not None:
                values.update(export_cells(form, report.answers or {}, label))
            yield [values.get(c) for c in names]
        last_id = ids[-1] or last_id


def _list_photos(
    photos: PhotoCell, references: dict[int, str], stored: dict[int, list[str]]
) -> dict[int, list[str]]:
    return {i: photos(references[i], paths) for i, paths in stored.items()}


def _name(names: dict[str, tuple[str, str]], code: str | None, lang: str) -> str:
    if code and code in names:
        th, en = names[code]
        return (en if lang == "en" else th) or th or en
    return code or ""


def _local(moment: dt.datetime | None, tz: ZoneInfo) -> dt.datetime | None:
    return None if moment is None else moment.astimezone(tz)


def _row(
    report: Report,
    user: User,
    names: dict[str, tuple[str, str]],
    label: Label,
    tz: ZoneInfo,
    lang: str,
) -> dict[str, Cell]:
    """The cells that are neither answers, casework nor photos."""
    return {
        "reference": report.reference,
        "kind": label(f"kind.{report.kind}"),
        "created_at": _local(report.created_at, tz),
        # One who deleted their data (or whose report aged past retention) says so.
        "reporter": user.display_name
        or (label("export.reporter_withdrew") if user.platform == ERASED else ""),
        "reporter_role": label(f"choice.role.{user.role}") if user.role else "",
        "province": _name(names, report.province_code, lang),
        "district": _name(names, report.district_code, lang),
        "subdistrict": _name(names, report.subdistrict_code, lang),
        "village_no": report.village_no,
        "village_code": report.village_code,
        "status": label(f"status.{report.status}"),
    }


def _case_cells(
    report: Report, casework: _Casework, tz: ZoneInfo, now: dt.datetime
) -> dict[str, Cell]:
    """A problem's casework. Days open: whole days from its submission to its resolution (or
    refusal), or to `now` while it is open."""
    key = report.id or 0
    if report.status == v.RESOLVED and report.resolved_at is not None:
        end = report.resolved_at
    elif report.status == v.REJECTED:
        end = casework.rejected_at.get(key, report.updated_at)
    else:
        end = now
    return {
        "acknowledged_by": casework.acknowledged_by.get(key) if report.acknowledged_at else None,
        "acknowledged_at": _local(report.acknowledged_at, tz),
        "resolved_at": _local(report.resolved_at, tz),
        # A case reopened after its resolution is not resolved: its old note would mislead.
        "resolution_note": (
            casework.resolution_note.get(key) if report.status == v.RESOLVED else None
        ),
        "rating": report.rating,
        "reopen_count": report.reopen_count,
        "days_open": max(0, (end - report.created_at) // dt.timedelta(days=1)),
    }


def headers(label: Label, forms: Mapping[str, Form] = FORMS) -> list[str]:
    answers = [label(c.header) for c in answer_columns(forms)]
    return [*(label(f"export.{c}") for c in HEAD), *answers, *(label(f"export.{c}") for c in TAIL)]


def safe_text(value: Cell) -> Cell:
    """Text a spreadsheet must show as text: a value a user typed that starts like a formula
    (=, +, -, @) gets a leading apostrophe, so opening the file never runs it."""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def date_text(value: dt.date, be: bool = False) -> str:
    """A day or a local moment as CSV text: ``2026-03-15 14:30``, or with Buddhist-Era years
    ``15/3/2569 14:30``."""
    moment = value if isinstance(value, dt.datetime) else None
    if be:
        day = f"{value.day}/{value.month}/{value.year + BUDDHIST_ERA}"
    else:
        day = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return day if moment is None else f"{day} {moment:%H:%M}"


def csv_cells(row: Sequence[Cell], be: bool = False) -> list[str]:
    return [
        ""
        if value is None
        else date_text(value, be)
        if isinstance(value, dt.date)
        else str(safe_text(value))
        for value in row
    ]


# XLSX number formats of date cells; `bbbb` is Excel's Buddhist-Era year.
DATE_FORMATS = {False: "yyyy-mm-dd", True: "d/m/bbbb"}
MOMENT_FORMATS = {False: "yyyy-mm-dd hh:mm", True: "d/m/bbbb hh:mm"}
MIN_WIDTH, MAX_WIDTH = 6, 50


def text_width(text: str) -> int:
    """How many columns `text` takes on screen: a combining mark (Thai vowels above and below a
    consonant, tone marks) none, a wide character two; the longest line of several."""

    def line_width(line: str) -> int:
        width = 0
        for char in line:
            if unicodedata.category(char) in ("Mn", "Me", "Cf"):
                continue
            width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        return width

    return max((line_width(line) for line in text.split("\n")), default=0)


def _shown(value: Cell, be: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return date_text(value, be)
    return str(value)


def column_widths(header: Sequence[str], rows: Sequence[Sequence[Cell]], be: bool) -> list[int]:
    """Each column as wide as its header or its widest cell (a little margin), within limits."""
    widths = [text_width(h) for h in header]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], text_width(_shown(value, be)))
    return [min(max(w + 2, MIN_WIDTH), MAX_WIDTH) for w in widths]


def write_xlsx(
    path: Path, header: list[str], rows: Sequence[Sequence[Cell]], *, be: bool = False
) -> None:
    """Numbers stay numbers (participants, households, coordinates); text stays text; days and
    moments are date cells in local time (XLSX has no time zones) with a number format. The
    header row is frozen and bold, the data has an auto-filter, each column a width to suit."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("reports")
    for i, width in enumerate(column_widths(header, rows, be), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(header), 1))
    sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")

    def styled(value: Cell) -> Any:
        if isinstance(value, dt.date):
            cell = WriteOnlyCell(sheet)
            if isinstance(value, dt.datetime):
                cell.value = value.replace(tzinfo=None)  # the local time it shows
                cell.number_format = MOMENT_FORMATS[be]
            else:
                cell.value = value
                cell.number_format = DATE_FORMATS[be]
            return cell
        value = safe_text(value)
        if isinstance(value, str) and "\n" in value:
            cell = WriteOnlyCell(sheet, value=value)
            cell.alignment = wrap
            return cell
        return value

    heads = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        heads.append(cell)
    sheet.append(heads)
    for row in rows:
        sheet.append([styled(value) for value in row])
    workbook.save(path)
