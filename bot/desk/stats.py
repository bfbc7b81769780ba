"""The desk's statistics page: cases by status, category and area, over time by week or
month; median time to the first response and to resolution; overdue counts, ratings and
reopenings; and for coordinators the same per district. Each chart's numbers are also a table
on the page and a CSV (`/desk/stats.csv?table=…`). The database counts (storage.stats), only
over the cases domain.policy lets the viewer see, narrowed by the case list's filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDict

from bot.desk.context import core_of, page, viewer
from bot.desk.filters import area_choices
from bot.desk.filters import case_filter as _filter
from bot.desk.filters import query_string as _query
from bot.service import Core
from domain import policy
from handlers import vocab
from storage import desk, export, stats

# The case list's filters the statistics take (the rest would make a chart of one bar).
FILTERS = ("area", "village", "category", "urgency", "since", "until")
DEFAULT_SPAN = {"week": 12, "month": 12}
TABLES = ("summary", "time", "status", "category", "area", "ratings", "districts")
HOUR = 3600.0

Cell = str | int | float | None


@dataclass
class Table:
    """One table of numbers (and the chart drawn from it): its name, its columns' headings,
    its rows; `chart` is what Chart.js draws (None: a table only)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: dict[str, Any] | None = None


@dataclass(frozen=True)
class Asked:
    """What the page was asked for: the filter, the query string kept, the time unit and
    what the time chart is split by."""

    where: desk.CaseFilter
    kept: dict[str, str]
    unit: str
    by: str


def _asked(query: Any, core: Core) -> Asked:
    narrowed: MultiDict[str] = MultiDict((k, str(query[k])) for k in FILTERS if k in query)
    where, kept = _filter(narrowed, core)
    unit = str(query.get("unit", ""))
    unit = unit if unit in stats.UNITS else "week"
    by = str(query.get("by", ""))
    by = by if by in stats.DIMENSIONS else "status"
    if unit != "week":
        kept["unit"] = unit
    if by != "status":
        kept["by"] = by
    return Asked(where, kept, unit, by)


def coordinates(held: policy.Held) -> bool:
    """A coordinator's view: the person holds a province or the country."""
    return any(area == vocab.NATIONAL or len(area) == 2 for area in policy.areas(held))


def _level(where: desk.CaseFilter, held: policy.Held) -> int:
    """The level of the areas the by-area chart compares: one below the area the filter
    names, else below the one area the person holds (provinces for the country)."""
    tops = policy.areas(held)
    base = where.area or (tops[0] if len(tops) == 1 else None)
    if base == vocab.NATIONAL:
        return 2
    if base is None:
        return max(2, min(len(top) for top in tops)) if tops else 2
    return min(len(base) + 2, 8)


def _area_name(core: Core, code: str, lang: str, none: str) -> str:
    areas = core.areas
    if not code:
        return none
    if len(code) == 8:
        place = areas.subdistrict(code[:6])
        return f"{place.name(lang) if place else code[:6]} {int(code[6:])}"
    found = {2: areas.province, 4: areas.district, 6: areas.subdistrict}[len(code)](code)
    return found.name(lang) if found else code


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 1)


async def gather(core: Core, held: policy.Held, lang: str, asked: Asked) -> list[Table]:
    """Every table of the page, for a person holding `held`, in `lang`."""

    def t(key: str, **params: object) -> str:
        return str(core.i18n.t(lang, key, **params))

    none = t("desk.stats.none")
    labels: dict[str, Callable[[str], str]] = {
        "status": lambda s: t(f"status.{s}") if s else none,
        "category": lambda c: t(f"choice.problem_categories.{c}") if c else none,
        "urgency": lambda u: t(f"choice.urgency.{u}") if u else none,
    }
    now = core.clock()
    limits = dict(core.settings.escalation_after)
    where = [policy.visible_reports(held), *asked.where.clauses(now, limits)]
    level = _level(asked.where, held)
    until = asked.where.until or now
    bounds = stats.edges(asked.unit, core.settings.tz, min(until, now), asked.where.since,
                         DEFAULT_SPAN[asked.unit])  # fmt: skip
    async with core.sessions() as session:
        total = (await stats.totals(session, where, now, limits)).get("", stats.Totals())
        waits = (await stats.times(session, where)).get("", stats.Times())
        timed = await stats.over_time(session, where, bounds, asked.by)
        by_status = await stats.counts(session, where, "status")
        by_category = await stats.counts(session, where, "category")
        by_area = await stats.by_area(session, where, level)
        stars = await stats.ratings(session, where)
        districts: dict[str, stats.Totals] = {}
        district_waits: dict[str, stats.Times] = {}
        if coordinates(held):
            column = stats.area_column(4)
            districts = await stats.totals(session, where, now, limits, group=column)
            district_waits = await stats.times(session, where, group=column)

    tables: list[Table] = []
    summary = Table("summary", t("desk.stats.summary"), [t("desk.stats.measure"),
                    t("desk.stats.value")])  # fmt: skip
    summary.rows = [
        [t("desk.stats.cases"), total.cases],
        [t("desk.stats.open"), total.open],
        [t("desk.stats.overdue"), total.overdue],
        [t("desk.stats.to_response"), _hours(waits.to_response)],
        [t("desk.stats.to_resolve"), _hours(waits.to_resolve)],
        [t("desk.stats.rating"), round(total.rating, 2) if total.rating is not None else None],
        [t("desk.stats.rated"), total.rated],
        [t("desk.stats.reopened"), total.reopened],
        [t("desk.stats.reopenings"), total.reopenings],
    ]
    tables.append(summary)

    # Over time: one row per week or month, one column per value of what it is split by.
    fmt = "%Y-%m-%d" if asked.unit == "week" else "%Y-%m"
    periods = [b.astimezone(core.settings.tz).strftime(fmt) for b in bounds[:-1]]
    values = sorted({value for _i, value in timed}, key=lambda x: (x == "", x))
    if asked.by == "status":
        order = {s: i for i, s in enumerate(vocab.CASE_STATUSES)}
        values.sort(key=lambda s: order.get(s, 99))
    series = [labels[asked.by](value) for value in values]
    title = t(f"desk.stats.time.{asked.unit}", by=t(f"desk.stats.by.{asked.by}"))
    heads = [t(f"desk.stats.period.{asked.unit}"), *series, t("desk.stats.total")]
    time_table = Table("time", title, heads)
    for i, period in enumerate(periods):
        row = [timed.get((i, value), 0) for value in values]
        time_table.rows.append([period, *row, sum(row)])
    time_table.chart = {
        "type": "bar",
        "stacked": True,
        "labels": periods,
        "datasets": [
            {"label": name, "data": [timed.get((i, value), 0) for i in range(len(periods))]}
            for value, name in zip(values, series, strict=True)
        ],
    }
    tables.append(time_table)

    def simple(name: str, heading: str, found: dict[str, int], label: Callable[[str], str],
               order: Sequence[str] | None = None) -> Table:  # fmt: skip
        keys = order if order is not None else sorted(found, key=lambda k: (-found[k], k))
        table = Table(name, t(f"desk.stats.by_{name}"), [heading, t("desk.stats.cases")])
        table.rows = [[label(k), found.get(k, 0)] for k in keys]
        table.chart = {
            "type": "bar",
            "labels": [str(row[0]) for row in table.rows],
            "datasets": [{"label": t("desk.stats.cases"), "data": [r[1] for r in table.rows]}],
        }
        return table

    statuses = [s for s in vocab.CASE_STATUSES if s in by_status]
    tables.append(simple("status", t("desk.col.status"), by_status, labels["status"], statuses))
    tables.append(simple("category", t("desk.col.category"), by_category, labels["category"]))
    tables.append(simple("area", t(f"desk.stats.level.{level}"), by_area,
                         lambda code: _area_name(core, code, lang, none)))  # fmt: skip
    tables.append(simple("ratings", t("desk.stats.stars"), {str(k): n for k, n in stars.items()},
                         lambda k: "★" * int(k), [str(k) for k in range(1, 6)]))  # fmt: skip

    if coordinates(held):
        comparison = Table("districts", t("desk.stats.by_districts"), [
            t("desk.stats.level.4"), t("desk.stats.cases"), t("desk.stats.open"),
            t("desk.stats.overdue"), t("desk.stats.to_response"), t("desk.stats.to_resolve"),
            t("desk.stats.rating"), t("desk.stats.reopened"),
        ])  # fmt: skip
        for code in sorted(districts, key=lambda c: _area_name(core, c, lang, none)):
            sums, waited = districts[code], district_waits.get(code, stats.Times())
            comparison.rows.append([
                _area_name(core, code, lang, none), sums.cases, sums.open, sums.overdue,
                _hours(waited.to_response), _hours(waited.to_resolve),
                round(sums.rating, 2) if sums.rating is not None else None, sums.reopened,
            ])  # fmt: skip
        tables.append(comparison)
    return tables


async def stats_page(request: web.Request) -> web.Response:
    core, who = core_of(request), viewer(request)
    asked = _asked(request.query, core)
    tables = await gather(core, who.held, who.lang, asked)
    summary = {row[0]: row[1] for row in tables[0].rows}
    data = {
        "tables": tables[1:],
        "summary": tables[0],
        "figures": summary,
        "kept": asked.kept,
        "unit": asked.unit,
        "by": asked.by,
        "units": stats.UNITS,
        "dimensions": stats.DIMENSIONS,
        "query": lambda **change: _query(asked.kept, change),
        "categories": core.lists.options.get("problem_categories", ()),
        "urgencies": vocab.URGENCIES,
        "areas": area_choices(who.held, core, who.lang),
    }
    return page(request, "stats.html", data)


async def stats_csv(request: web.Request) -> web.Response:
    """One table of the page as CSV (UTF-8 with the byte-order mark Excel needs for Thai)."""
    core, who = core_of(request), viewer(request)
    name = request.query.get("table", "summary")
    if name not in TABLES:
        raise web.HTTPNotFound(text="no such table")
    tables = await gather(core, who.held, who.lang, _asked(request.query, core))
    found = next((table for table in tables if table.name == name), None)
    if found is None:  # the districts table, for someone who coordinates nothing
        raise web.HTTPNotFound(text="no such table")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(export.csv_cells(found.columns))
    for row in found.rows:
        writer.writerow(export.csv_cells(row))
    day = core.clock().astimezone(core.settings.tz).strftime("%Y%m%d")
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="stats-{name}-{day}.csv"'},
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/stats", stats_page), web.get("/stats.csv", stats_csv)]
