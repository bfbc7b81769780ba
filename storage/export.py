"""Reports as a table (CSV or XLSX): one row per report, headers in Thai and English, area names
resolved, photo references as paths under the media directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.forms import FORMS, Form
from handlers.reports import ExportColumn, export_cells, export_columns, report_forms
from handlers.steps.base import Cell as Cell  # re-exported: the CLI writes cells
from handlers.steps.base import Label
from storage.areas import area_names
from storage.models import Report, ReportPhoto, User

# Columns every report has, before and after the ones its form's answers give (those are
# derived from the report forms' steps: handlers.reports.export_columns).
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
TAIL = ("status", "photos")
BATCH = 500


@dataclass(frozen=True)
class ExportFilter:
    kind: str | None = None
    province: str | None = None
    district: str | None = None
    since: dt.datetime | None = None

    def apply(self, query: Any) -> Any:
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


async def report_rows(
    session: AsyncSession,
    where: ExportFilter,
    label: Label,
    media_dir: Path,
    tz: ZoneInfo,
    forms: Mapping[str, Form] = FORMS,
) -> AsyncIterator[list[Cell]]:
    """Rows in submission order, read in batches so a large export stays small in memory."""
    names = columns(forms)
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
        photos: dict[int, list[str]] = {}
        photo_rows = await session.execute(
            select(ReportPhoto)
            .where(col(ReportPhoto.report_id).in_(ids))
            .order_by(col(ReportPhoto.report_id), col(ReportPhoto.position))
        )
        for photo in photo_rows.scalars():
            photos.setdefault(photo.report_id, []).append(str(media_dir / photo.path))
        codes = {
            c for r, _ in batch for c in (r.province_code, r.district_code, r.subdistrict_code) if c
        }
        places = await area_names(session, codes)
        for report, user in batch:
            form = forms.get(report.form_id)
            values = _row(report, user, places, photos.get(report.id or 0, []), label, tz)
            if form is not None:
                values.update(export_cells(form, report.answers or {}, label))
            yield [values.get(c) for c in names]
        last_id = ids[-1] or last_id


def _name(names: dict[str, tuple[str, str]], code: str | None) -> str:
    if code and code in names:
        th, en = names[code]
        return f"{th} / {en}"
    return code or ""


def _row(
    report: Report,
    user: User,
    names: dict[str, tuple[str, str]],
    photos: Sequence[str],
    label: Label,
    tz: ZoneInfo,
) -> dict[str, Cell]:
    """The cells that are not answers."""
    return {
        "reference": report.reference,
        "kind": label(f"kind.{report.kind}"),
        "created_at": report.created_at.astimezone(tz).isoformat(timespec="minutes"),
        "reporter": user.display_name or "",
        "reporter_role": label(f"choice.role.{user.role}") if user.role else "",
        "province": _name(names, report.province_code),
        "district": _name(names, report.district_code),
        "subdistrict": _name(names, report.subdistrict_code),
        "village_no": report.village_no,
        "village_code": report.village_code,
        "status": label(f"status.{report.status}"),
        "photos": "; ".join(photos),
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


def csv_cells(row: Sequence[Cell]) -> list[str]:
    return ["" if v is None else str(safe_text(v)) for v in row]


def write_xlsx(path: Path, header: list[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Numbers stay numbers (participants, households, coordinates); text stays text."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("reports")
    sheet.append(header)
    for row in rows:
        sheet.append([safe_text(v) for v in row])
    workbook.save(path)
