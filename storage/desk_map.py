"""The desk's maps. Cases: those a filter keeps, as points carrying only what a marker needs
(reference, place, status, urgency); when more than a cap of them lie in view, counted per cell
of a grid whose size follows the zoom instead, so that the whole country stays one small
answer. Villages: where each village is (the centroid of the places its reports were sent
from) and which have an open very urgent case, for the completeness page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers import vocab as v
from handlers.vocab import NATIONAL
from storage.desk import CaseFilter
from storage.models import Report

# More points in view than this and the map gets grid cells instead.
POINT_CAP = 5000
# A cell is about a quarter of a 256-pixel tile wide: 90° at zoom 0, halved at each zoom.
CELL_AT_ZOOM_0 = 90.0
MAX_ZOOM = 19


@dataclass(frozen=True)
class Box:
    """The part of the map in view, in degrees."""

    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True)
class Point:
    reference: str
    lat: float
    lon: float
    status: str
    urgency: str | None


@dataclass(frozen=True)
class Cell:
    """Cases counted together: where their centroid is, how many, how many open very urgent."""

    lat: float
    lon: float
    count: int
    urgent: int


@dataclass(frozen=True)
class MapCases:
    points: list[Point]
    cells: list[Cell]  # instead of points, when `located` exceeds the cap
    located: int  # cases kept with a place (in view, when a box is given)
    unlocated: int  # cases kept without a place

    @property
    def clustered(self) -> bool:
        return bool(self.cells)


def cell_size(zoom: int) -> float:
    return CELL_AT_ZOOM_0 / float(2 ** max(0, min(zoom, MAX_ZOOM)))


def _has_place() -> ColumnElement[bool]:
    return and_(col(Report.latitude).is_not(None), col(Report.longitude).is_not(None))


def _in_box(box: Box) -> ColumnElement[bool]:
    lat, lon = col(Report.latitude), col(Report.longitude)
    return and_(lat >= box.south, lat <= box.north, lon >= box.west, lon <= box.east)


async def map_cases(
    session: AsyncSession,
    visible: ColumnElement[bool],
    where: CaseFilter,
    now: dt.datetime,
    limits: dict[str, dt.timedelta],
    *,
    box: Box | None = None,
    zoom: int = 6,
    cap: int = POINT_CAP,
) -> MapCases:
    """The cases `visible` lets through and `where` keeps, for the map. One pass counts them
    per cell of the grid (those without a place fall in a cell of their own); over `cap`, the
    cells are the answer, else a second query fetches the points (five columns)."""
    terms = [visible, *where.clauses(now, limits)]
    placed = _has_place() if box is None else and_(_has_place(), _in_box(box))
    size = cell_size(zoom)
    # Shifted to be positive, so that truncation (SQLite's CAST) is the floor (PostgreSQL's
    # CAST rounds: it gets floor()). No place: both NULL, one group.
    floor = _floor(session)
    row = floor((col(Report.latitude) + 90.0) / size)
    column = floor((col(Report.longitude) + 180.0) / size)
    urgent = and_(col(Report.urgency) == v.VERY_URGENT, col(Report.status).in_(v.OPEN_STATUSES))
    wanted = [*terms, or_(placed, ~_has_place())] if box is not None else terms
    grouped = await session.execute(
        select(
            row, func.avg(col(Report.latitude)), func.avg(col(Report.longitude)), func.count(),
            func.sum(case((urgent, 1), else_=0)),
        )
        .where(*wanted)
        .group_by(row, column)
        .order_by(row, column)
    )  # fmt: skip
    cells: list[Cell] = []
    unlocated = 0
    for key, lat, lon, count, very in grouped.all():
        if key is None or lat is None or lon is None:
            unlocated += int(count)
        else:
            cells.append(Cell(float(lat), float(lon), int(count), int(very or 0)))
    located = sum(c.count for c in cells)
    if located > cap:
        return MapCases([], cells, located, unlocated)
    rows = await session.execute(
        select(
            col(Report.reference), col(Report.latitude), col(Report.longitude),
            col(Report.status), col(Report.urgency),
        )
        .where(*terms, placed)
        .order_by(col(Report.id))
    )  # fmt: skip
    points = [Point(r, float(la or 0), float(lo or 0), s, u) for r, la, lo, s, u in rows.all()]
    return MapCases(points, [], located, unlocated)


def _floor(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.floor
    return lambda value: cast(value, Integer)


# ---------------------------------------------------------------- villages


def _report_in(area: str) -> list[ColumnElement[bool]]:
    if area == NATIONAL:
        return []
    if len(area) == 2:
        return [col(Report.province_code) == area]
    return [col(Report.district_code) == area]


async def village_places(
    session: AsyncSession, area: str
) -> dict[tuple[str, int], tuple[float, float]]:
    """Where each village of `area` (TH, a province or a district) is, as far as its reports
    tell: the centroid of the places they were sent from, by (subdistrict, หมู่)."""
    query = (
        select(
            col(Report.subdistrict_code), col(Report.village_no),
            func.avg(col(Report.latitude)), func.avg(col(Report.longitude)),
        )
        .where(
            *_report_in(area), _has_place(), col(Report.subdistrict_code).is_not(None),
            col(Report.village_no).is_not(None),
        )
        .group_by(col(Report.subdistrict_code), col(Report.village_no))
    )  # fmt: skip
    return {
        (str(s), int(n)): (float(la), float(lo))
        for s, n, la, lo in (await session.execute(query)).all()
    }


async def urgent_villages(session: AsyncSession, area: str) -> dict[tuple[str, int], int]:
    """The villages of `area` with an open very urgent case, and how many they have."""
    query = (
        select(col(Report.subdistrict_code), col(Report.village_no), func.count())
        .where(
            *_report_in(area), col(Report.kind) == v.PROBLEM,
            col(Report.urgency) == v.VERY_URGENT, col(Report.status).in_(v.OPEN_STATUSES),
            col(Report.subdistrict_code).is_not(None), col(Report.village_no).is_not(None),
        )
        .group_by(col(Report.subdistrict_code), col(Report.village_no))
    )  # fmt: skip
    return {(str(s), int(n or 0)): int(c) for s, n, c in (await session.execute(query)).all()}
