"""Official village lists: reading one from a CSV file (`fieldbot villages import`), checking it
against the area table, storing it, and the villages of an area.

A file has three columns: the village code (8 digits: the subdistrict's 6 and the หมู่ number's
2), the หมู่ number, and the village's Thai name. A first row naming the columns (in Thai or in
English, in any order) is read as a header; without one the columns are taken in that order.
UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.vocab import NATIONAL
from storage.db import insert_or_skip
from storage.models import Area, Village

# What a header may call each column, compared without case, spaces, dots, hyphens and
# underscores ("Village No." is villageno).
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "villagecode", "vcode", "รหัส", "รหัสหมู่บ้าน"),
    "village_no": ("villageno", "no", "moo", "mu", "หมู่", "หมู่ที่", "หมู่บ้านที่"),
    "name": ("name", "villagename", "nameth", "ชื่อ", "ชื่อหมู่บ้าน", "หมู่บ้าน"),
}
HEADER_EXAMPLE = "code,village_no,name (or รหัส,หมู่,ชื่อหมู่บ้าน)"
MAX_NAME = 200
CHUNK = 1000  # rows per INSERT: 7 values each, well under SQLite's 32,766 bound values

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# Zero-width characters Thai text often carries (word breaks typed or pasted), and controls.
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\x00-\x1f\x7f]")
_VILLAGE_NO = re.compile(r"^(?:หมู่ที่|หมู่|ม\.?)?\s*(\d{1,3})$")


@dataclass(frozen=True)
class Row:
    """A village as a file lists it, with the line it is on."""

    line: int
    code: str
    village_no: int
    name: str

    @property
    def subdistrict_code(self) -> str:
        return self.code[:6]

    @property
    def district_code(self) -> str:
        return self.code[:4]


@dataclass(frozen=True)
class Problem:
    """Why a line of the file cannot be loaded."""

    line: int
    message: str


@dataclass
class Parsed:
    """A file read: the rows that are fine, and the problems of the others. `fatal`: the file
    as a whole cannot be read (not UTF-8, a header without a needed column); no row is."""

    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fatal: bool = False


def _clean(cell: str) -> str:
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", cell))
    return " ".join(text.split())


def _header_key(cell: str) -> str:
    return re.sub(r"[\s._\-]", "", _clean(cell).casefold())


def _columns(first: Sequence[str]) -> dict[str, int] | None:
    """The positions of the columns when `first` is a header row; None when it is not one."""
    keys = [_header_key(cell) for cell in first]
    found: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        for position, key in enumerate(keys):
            if key in aliases and name not in found:
                found[name] = position
                break
    return found or None


def parse(data: bytes) -> Parsed:
    """Read a village list (the file's bytes): each line's row or its problem. Checks what the
    file alone can tell (codes, หมู่ numbers, names, a code listed twice); whether the
    subdistricts exist is `check_subdistricts`'s part."""
    parsed = Parsed()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        said = 'the file is not UTF-8 text; in Excel, save it as "CSV UTF-8 (comma delimited)"'
        parsed.problems.append(Problem(line, said))
        parsed.fatal = True
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""))
    positions = {"code": 0, "village_no": 1, "name": 2}
    seen: dict[str, int] = {}
    first = True
    for cells in reader:
        line = reader.line_num
        if not any(_clean(cell) for cell in cells):
            continue  # a blank line
        if first:
            first = False
            header = _columns(cells)
            if header is not None:
                missing = [name for name in COLUMNS if name not in header]
                if missing:
                    parsed.problems.append(Problem(line, _missing_columns(missing)))
                    parsed.fatal = True
                    return parsed
                positions = header
                continue
        row = _row(line, cells, positions, seen)
        if isinstance(row, Problem):
            parsed.problems.append(row)
        else:
            seen[row.code] = line
            parsed.rows.append(row)
    return parsed


def _missing_columns(missing: list[str]) -> str:
    said = "; ".join(f"{name}: one of {', '.join(COLUMNS[name])}" for name in missing)
    return f"the header row lacks a column ({said}); for example: {HEADER_EXAMPLE}"


def _row(
    line: int, cells: list[str], positions: dict[str, int], seen: dict[str, int]
) -> Row | Problem:
    needed = max(positions.values()) + 1
    if len(cells) < needed:
        return Problem(line, f"{len(cells)} column(s) where {needed} are needed ({HEADER_EXAMPLE})")
    code_cell = _clean(cells[positions["code"]])
    code = re.sub(r"[\s\-]", "", code_cell.translate(_THAI_DIGITS))
    if not (len(code) == 8 and code.isascii() and code.isdigit()):
        said = f"the village code {code_cell!r} is not 8 digits"
        return Problem(line, f"{said} (subdistrict code 6 and หมู่ number 2, such as 50010103)")
    if code[6:] == "00":
        return Problem(line, f"the village code {code} ends in 00, which is no หมู่ number")
    number_cell = _clean(cells[positions["village_no"]])
    number = _VILLAGE_NO.match(number_cell.translate(_THAI_DIGITS))
    if number is None:
        return Problem(line, f"the หมู่ number {number_cell!r} is not a number")
    village_no = int(number.group(1))
    if village_no != int(code[6:]):
        said = f"หมู่ {village_no} does not match the village code {code}"
        return Problem(line, f"{said}, whose last two digits say หมู่ {int(code[6:])}")
    name = _clean(cells[positions["name"]])
    if not name:
        return Problem(line, f"the village {code} has no name")
    if len(name) > MAX_NAME:
        return Problem(line, f"the name of village {code} is longer than {MAX_NAME} characters")
    if code in seen:
        return Problem(line, f"the village code {code} is listed on line {seen[code]} already")
    return Row(line, code, village_no, name)


async def check_subdistricts(session: AsyncSession, parsed: Parsed) -> None:
    """Move the rows whose subdistrict (the code's first 6 digits) is not in the area table to
    the problems, which stay in line order."""
    codes = {row.subdistrict_code for row in parsed.rows}
    known: set[str] = set()
    listed = sorted(codes)
    for start in range(0, len(listed), CHUNK):
        found = await session.execute(
            select(col(Area.code)).where(
                col(Area.level) == "subdistrict", col(Area.code).in_(listed[start : start + CHUNK])
            )
        )
        known.update(found.scalars())
    unknown = [row for row in parsed.rows if row.subdistrict_code not in known]
    if not unknown:
        return
    parsed.rows = [row for row in parsed.rows if row.subdistrict_code in known]
    parsed.problems += [
        Problem(
            row.line,
            f"the village code {row.code} begins with {row.subdistrict_code}, "
            "which is not a known subdistrict code",
        )
        for row in unknown
    ]
    parsed.problems.sort(key=lambda problem: problem.line)


@dataclass(frozen=True)
class Saved:
    """What an import changed. `missing`: villages of the file's districts, stored by an
    earlier import, that the file does not list (removed when replacing, else kept)."""

    added: int
    updated: int
    unchanged: int
    missing: int
    removed: int
    districts: dict[str, int]  # each district of the file: its villages now listed


async def save(
    session: AsyncSession,
    rows: Sequence[Row],
    now: dt.datetime,
    *,
    replace: bool = False,
    progress: Callable[[int], object] | None = None,
) -> Saved:
    """Store the rows: a village already listed (by its code) takes the new name, so loading
    the same list again changes nothing. With `replace`, the file is the whole list of each
    district it covers: villages of those districts it does not list are removed."""
    districts = sorted({row.district_code for row in rows})
    stored: dict[str, str] = {}
    for start in range(0, len(districts), CHUNK):
        found = await session.execute(
            select(col(Village.code), col(Village.name_th)).where(
                col(Village.district_code).in_(districts[start : start + CHUNK])
            )
        )
        stored.update({str(code): str(name) for code, name in found.all()})
    fresh = [row for row in rows if row.code not in stored]
    renamed = [row for row in rows if row.code in stored and stored[row.code] != row.name]
    unchanged = len(rows) - len(fresh) - len(renamed)
    if progress is not None and unchanged:
        progress(unchanged)
    writes = fresh + renamed
    # On the table, not the ORM class: many rows of parameters go as one executemany, where a
    # multi-row VALUES would be compiled value by value (seconds for a province's list).
    insert = insert_or_skip(session, Village.__table__)  # type: ignore[attr-defined]
    upsert = insert.on_conflict_do_update(
        index_elements=["code"],
        set_={"name_th": insert.excluded.name_th, "imported_at": insert.excluded.imported_at},
    )
    for start in range(0, len(writes), CHUNK):
        chunk = writes[start : start + CHUNK]
        await session.execute(upsert, [_values(row, now) for row in chunk])
        if progress is not None:
            progress(len(chunk))
    listed = {row.code for row in rows}
    gone = sorted(code for code in stored if code not in listed)
    if replace:
        for start in range(0, len(gone), CHUNK):
            await session.execute(
                delete(Village).where(col(Village.code).in_(gone[start : start + CHUNK]))
            )
    return Saved(
        added=len(fresh),
        updated=len(renamed),
        unchanged=unchanged,
        missing=len(gone),
        removed=len(gone) if replace else 0,
        districts=await counts(session, districts),
    )


def _values(row: Row, now: dt.datetime) -> dict[str, object]:
    return {
        "code": row.code,
        "province_code": row.code[:2],
        "district_code": row.district_code,
        "subdistrict_code": row.subdistrict_code,
        "village_no": row.village_no,
        "name_th": row.name,
        "imported_at": now,
    }


def _in(area: str) -> list[ColumnElement[bool]]:
    """The WHERE terms for the villages of `area` (TH, a province, district or subdistrict)."""
    if area == NATIONAL:
        return []
    column = {2: Village.province_code, 4: Village.district_code}.get(
        len(area), Village.subdistrict_code
    )
    return [col(column) == area]


async def counts(session: AsyncSession, districts: Iterable[str] | None = None) -> dict[str, int]:
    """The districts that have a list (only those of `districts`, when given), with how many
    villages each lists, by code."""
    query = select(col(Village.district_code), func.count()).group_by(col(Village.district_code))
    wanted = sorted(set(districts)) if districts is not None else None
    if wanted is None:
        return {str(d): int(n) for d, n in (await session.execute(query)).all()}
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = query.where(col(Village.district_code).in_(wanted[start : start + CHUNK]))
        found.update({str(d): int(n) for d, n in (await session.execute(chunk)).all()})
    return found


async def in_area(session: AsyncSession, area: str) -> list[Village]:
    """The listed villages of `area`, by subdistrict and หมู่ number."""
    query = (
        select(Village)
        .where(*_in(area))
        .order_by(col(Village.subdistrict_code), col(Village.village_no))
    )
    return list((await session.execute(query)).scalars())


async def subdistricts_listed(
    session: AsyncSession, districts: Sequence[str]
) -> dict[str, set[str]]:
    """For each of `districts`, the subdistricts whose villages are listed."""
    rows = await session.execute(
        select(col(Village.district_code), col(Village.subdistrict_code))
        .where(col(Village.district_code).in_(list(districts)))
        .distinct()
    )
    found: dict[str, set[str]] = {d: set() for d in districts}
    for district, subdistrict in rows.all():
        found.setdefault(str(district), set()).add(str(subdistrict))
    return found
