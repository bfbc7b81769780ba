"""The desk's map of cases and its completeness page.

The map: the case list's filters (bot/desk/filters.py) over a Leaflet map whose markers come
from /desk/map/cases.json, which answers only with the cases the viewer may see
(policy.visible_reports), as compact rows; past a cap of cases in view it answers with counts
per grid cell (storage.desk_map), so the whole country stays a small, fast answer.

Completeness: per district and per village of the viewer's areas (policy.areas), who filed an
activity report this week, as a table and on the map; villages silent while an open very
urgent case waits there come first, highlighted."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from bot.desk.context import core_of, page, viewer
from bot.desk.filters import case_filter, choices
from domain import completeness as week
from domain import policy
from handlers import vocab
from storage import desk, desk_map

# How many villages the completeness table lists below its district totals when no district
# is picked (the alarming ones are listed whatever their number).
VILLAGE_ROWS = 400


def _labels(core: Any, lang: str) -> dict[str, dict[str, str]]:
    t = core.i18n.t
    return {
        "status": {s: t(lang, f"status.{s}") for s in desk.STATUSES},
        "urgency": {u: t(lang, f"choice.urgency.{u}") for u in vocab.URGENCIES},
        "open": {"label": t(lang, "desk.map.open_case")},
    }


async def map_page(request: web.Request) -> web.Response:
    core, who = core_of(request), viewer(request)
    _where, kept = case_filter(request.query, core)
    data = {
        "kept": kept,
        **choices(who.held, core, who.lang),
        "tiles": core.settings.map_tiles,
        "attribution": core.settings.map_attribution,
        "labels": _labels(core, who.lang),
    }
    return page(request, "map.html", data)


def _box(text: str) -> desk_map.Box | None:
    """Leaflet's bounds as `west,south,east,north`; None for anything else."""
    parts = text.split(",")
    if len(parts) != 4:
        return None
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        return None
    if not all(math.isfinite(n) for n in (west, south, east, north)) or south > north:
        return None
    return desk_map.Box(max(south, -90.0), max(west, -180.0), min(north, 90.0), min(east, 180.0))


def _zoom(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 2 else 6


async def map_cases(request: web.Request) -> web.Response:
    """The map's data: only the cases this viewer may see, as few columns as a marker needs."""
    core, who = core_of(request), viewer(request)
    where, _kept = case_filter(request.query, core)
    box = _box(request.query.get("bbox", ""))
    zoom = _zoom(request.query.get("zoom", ""))
    async with core.sessions() as session:
        found = await desk_map.map_cases(
            session, policy.visible_reports(who.held), where, core.clock(),
            dict(core.settings.escalation_after), box=box, zoom=zoom, cap=desk_map.POINT_CAP,
        )  # fmt: skip
    t = core.i18n.t
    body: dict[str, Any] = {
        "clustered": found.clustered,
        "located": found.located,
        "unlocated": found.unlocated,
        "shown": t(who.lang, "desk.map.shown", count=found.located),
        "note": t(who.lang, "desk.map.unlocated", count=found.unlocated) if found.unlocated else "",
    }
    if found.clustered:
        body["fields"] = ["lat", "lon", "count", "urgent"]
        body["cells"] = [[round(c.lat, 5), round(c.lon, 5), c.count, c.urgent] for c in found.cells]
    else:
        body["fields"] = ["reference", "lat", "lon", "status", "urgency"]
        body["cases"] = [
            [p.reference, round(p.lat, 5), round(p.lon, 5), p.status, p.urgency or ""]
            for p in found.points
        ]
    return web.json_response(body, headers={"Cache-Control": "private, no-store"})


# ---------------------------------------------------------------- completeness


async def completeness_page(request: web.Request) -> web.Response:
    core, who = core_of(request), viewer(request)
    lang = who.lang
    async with core.sessions() as session:
        districts = await week.this_week(session, who.held, core.clock(), core.settings.tz)
    picked = request.query.get("district", "")
    if picked and not any(d.code == picked for d in districts):
        picked = ""  # not one of theirs (or no villages to count): the whole view
    areas, t = core.areas, core.i18n.t

    def subdistrict(code: str) -> str:
        place = areas.subdistrict(code)
        return place.name(lang) if place else code

    def district_name(code: str) -> str:
        place = areas.district(code)
        return place.name(lang) if place else code

    rows: list[dict[str, Any]] = []
    shown = [d for d in districts if not picked or d.code == picked]
    for district in shown:
        for village in district.villages:
            place = subdistrict(village.subdistrict_code)
            if village.name:
                label = t(lang, "desk.completeness.village_named", no=village.village_no,
                          name=village.name, subdistrict=place)  # fmt: skip
            else:
                label = t(lang, "desk.completeness.village", no=village.village_no,
                          subdistrict=place)  # fmt: skip
            rows.append({
                "label": label,
                "district": district_name(district.code),
                "reported": village.reported,
                "urgent": village.urgent,
                "alarming": village.alarming,
                "place": village.place,
                "cases": f"/desk/?status=open&urgency=very_urgent&area="
                         f"{village.subdistrict_code}&village={village.village_no}",
            })  # fmt: skip
    # Alarming villages first, across districts (the sort is stable: each district's order
    # stays); a large area lists its alarming villages and the first others, on the map too.
    rows.sort(key=lambda r: not r["alarming"])
    alarming = sum(r["alarming"] for r in rows)
    listed = rows[: max(alarming, VILLAGE_ROWS)]
    points = [
        [round(r["place"][0], 5), round(r["place"][1], 5),
         "alarming" if r["alarming"] else ("reported" if r["reported"] else "silent"), r["label"]]
        for r in listed if r["place"] is not None
    ]  # fmt: skip
    data = {
        "districts": [
            {
                "code": d.code,
                "name": district_name(d.code),
                "reported": d.reported,
                "total": len(d.villages),
                "alarming": d.alarming,
                "listed": d.listed,
            }
            for d in districts
        ],
        "picked": picked,
        "villages": listed,
        "more": len(rows) - len(listed),
        "points": points,
        "unplaced": len(listed) - len(points),
        "since": week.week_start(core.clock(), core.settings.tz),
        "tiles": core.settings.map_tiles,
        "attribution": core.settings.map_attribution,
    }
    return page(request, "completeness_page.html", data)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/map", map_page),
        web.get("/map/cases.json", map_cases),
        web.get("/completeness", completeness_page),
    ]
