"""The case filters the desk's pages share (the case list, the map, exports): what a query
string asks for, as a `storage.desk.CaseFilter`, and the values kept to build links again."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from domain import policy
from handlers import vocab
from storage import desk


def case_filter(query: Any, core: Any) -> tuple[desk.CaseFilter, dict[str, str]]:
    """The case filter the query string asks for; unknown values are ignored, not errors."""
    tz = core.settings.tz
    kept: dict[str, str] = {}

    def pick(name: str, allowed: tuple[str, ...]) -> str | None:
        value = str(query.get(name, ""))
        if value in allowed:
            kept[name] = value
            return value
        return None

    def day(name: str) -> dt.datetime | None:
        value = str(query.get(name, ""))
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            return None
        kept[name] = value
        return dt.datetime.combine(parsed, dt.time(), tz).astimezone(dt.UTC)

    status = pick("status", ("open", *desk.STATUSES))
    category = pick("category", tuple(core.lists.options.get("problem_categories", ())))
    urgency = pick("urgency", vocab.URGENCIES)
    area = str(query.get("area", ""))
    area = area if area.isdigit() and len(area) in (2, 4, 6) else ""
    village = str(query.get("village", ""))
    if area:
        kept["area"] = area
        if len(area) == 6 and village.isdigit() and 0 < int(village) < 100:
            kept["village"] = village
            area = f"{area}{int(village):02d}"
    since, until = day("since"), day("until")
    rating_text = pick("rating", ("0", "1", "2", "3", "4", "5"))
    reference = str(query.get("q", "")).strip()[:32]
    if reference:
        kept["q"] = reference
    overdue = query.get("overdue") == "1"
    reopened = query.get("reopened") == "1"
    if overdue:
        kept["overdue"] = "1"
    if reopened:
        kept["reopened"] = "1"
    where = desk.CaseFilter(
        status=status, category=category, urgency=urgency, area=area or None, since=since,
        until=until + dt.timedelta(days=1) if until else None, overdue=overdue,
        reopened=reopened, rating=int(rating_text) if rating_text else None,
        reference=reference or None,
    )  # fmt: skip
    return where, kept


def area_choices(held: policy.Held, core: Any, lang: str) -> list[tuple[str, str]]:
    """The areas to filter by: each area the person holds and the areas inside it, down to the
    subdistricts (whose หมู่ the village field then picks); for the whole country, provinces."""
    areas = core.areas
    found: list[tuple[str, str]] = []
    for top in policy.areas(held):
        if top == vocab.NATIONAL:
            found += [(p.code, p.name(lang)) for p in areas.provinces(lang)]
        elif len(top) == 2:  # a province's districts, and their subdistricts (for the หมู่)
            province = areas.province(top)
            found.append((top, province.name(lang) if province else top))
            for d in areas.districts(top, lang):
                found.append((d.code, "— " + d.name(lang)))
                found += [(s.code, "—— " + s.name(lang)) for s in areas.subdistricts(d.code, lang)]
        elif len(top) == 4:
            found.append((top, areas.describe(top, lang)))
            found += [(s.code, "— " + s.name(lang)) for s in areas.subdistricts(top, lang)]
    return found


def query_string(kept: dict[str, str], change: dict[str, Any]) -> str:
    merged = {**kept, **{k: str(v) for k, v in change.items() if v is not None}}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in ("", "0") or k == "rating"})


def choices(held: policy.Held, core: Any, lang: str) -> dict[str, Any]:
    """What the filter fields (templates/_filter_fields.html) offer."""
    return {
        "statuses": ("open", *desk.STATUSES),
        "categories": core.lists.options.get("problem_categories", ()),
        "urgencies": vocab.URGENCIES,
        "areas": area_choices(held, core, lang),
    }
