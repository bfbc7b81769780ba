"""Thai administrative areas for the area pick: provinces, districts, subdistricts from `geothai`
(Department of Provincial Administration codes), with pilot districts offered first."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import geothai
from pythainlp.util import collate

from handlers.thai import match_names

# What people call some provinces instead of their official names (matched like names).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "10": ("กทม", "กรุงเทพ", "กรุงเทพฯ", "bkk"),
    "14": ("อยุธยา", "ayutthaya"),
    "30": ("โคราช", "korat"),
    "34": ("อุบล", "ubon"),
    "41": ("อุดร", "udon"),
    "80": ("นครศรี", "นครศรีฯ"),
    "84": ("สุราษ", "สุราษฎร์", "surat"),
    "65": ("พิดโลก",),
    "24": ("แปดริ้ว",),
}


@dataclass(frozen=True)
class Place:
    code: str
    name_th: str
    name_en: str

    def name(self, lang: str | None) -> str:
        return self.name_en if lang == "en" else self.name_th


def _place(area: object) -> Place:
    return Place(str(area.code), str(area.name_th), str(area.name_en))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AreaDirectory:
    """Read-only look-ups over the national area list. `pilot_districts` (4-digit codes) are
    listed before the others; empty means every district is equal."""

    pilot_districts: frozenset[str] = field(default_factory=frozenset)

    def provinces(self, lang: str | None = None) -> list[Place]:
        """Every province, the pilot districts' first, each group in the order of its names
        in `lang` (Thai by default)."""
        pilot_provinces = frozenset(code[:2] for code in self.pilot_districts)
        return list(_in_order("", lang == "en", pilot_provinces))

    def districts(self, province_code: str, lang: str | None = None) -> list[Place]:
        return list(_in_order(province_code, lang == "en", self.pilot_districts))

    def subdistricts(self, district_code: str, lang: str | None = None) -> list[Place]:
        return list(_in_order(district_code, lang == "en", frozenset()))

    def province(self, code: str) -> Place | None:
        found = geothai.province(code)
        return _place(found) if found else None

    def district(self, code: str) -> Place | None:
        found = geothai.district(code)
        return _place(found) if found else None

    def subdistrict(self, code: str) -> Place | None:
        found = geothai.subdistrict(code)
        return _place(found) if found else None

    def all_districts(self) -> list[Place]:
        return [d for p in self.provinces() for d in self.districts(p.code)]

    def match(self, text: str, places: Iterable[Place], limit: int = 5) -> list[Place]:
        """Places whose names match what the user typed, best first (typos, missing prefixes).
        When one match is clearly the one meant (exact, or far ahead of the rest) it comes alone."""
        by_code = {p.code: p for p in places}
        candidates = [
            (p.code, (p.name_th, p.name_en, *NICKNAMES.get(p.code, ()))) for p in by_code.values()
        ]
        scored = match_names(text, candidates, limit=limit)
        if len(scored) > 1:
            (best, top), (_, second) = scored[0], scored[1]
            if (top >= 100 > second) or (top >= 85 and top - second >= 15):
                scored = [(best, top)]
        return [by_code[code] for code, _score in scored]

    def is_exact(self, text: str, place: Place) -> bool:
        """Whether `text` names `place` exactly (apart from prefixes, spaces and case)."""
        candidates = [(place.code, (place.name_th, place.name_en))]
        return any(score >= 100 for _code, score in match_names(text, candidates, limit=1))

    def search(self, text: str, limit: int = 10) -> list[Place]:
        """Provinces, districts and subdistricts whose Thai or English name matches `text`
        (typos and missing prefixes forgiven, as in the chat), best first: for looking codes
        up (`fieldbot areas search`)."""
        places = list(self.provinces())
        for province in self.provinces():
            for district in self.districts(province.code):
                places.append(district)
                places.extend(self.subdistricts(district.code))
        by_code = {p.code: p for p in places}
        candidates = [(p.code, (p.name_th, p.name_en, *NICKNAMES.get(p.code, ()))) for p in places]
        return [by_code[code] for code, _score in match_names(text, candidates, limit=limit)]

    def describe(self, district_code: str, lang: str | None) -> str:
        district = self.district(district_code)
        province = self.province(district_code[:2])
        if district is None or province is None:
            return district_code
        return f"{district.name(lang)}, {province.name(lang)}"


@functools.lru_cache(maxsize=2048)
def _in_order(parent: str, english: bool, first: frozenset[str]) -> tuple[Place, ...]:
    """The places under `parent` (provinces: ""), those in `first` first, in the order of their
    names: Thai names by Thai collation (pythainlp: a leading vowel sorts by its consonant, so
    เมืองเชียงใหม่ comes under ม), English names alphabetically."""
    found: Iterable[object]
    if not parent:
        found = geothai.provinces()
    elif len(parent) == 2:
        found = geothai.districts(parent)
    else:
        found = geothai.subdistricts(parent)
    places = [_place(area) for area in found]
    if english:
        rank = {p.code: p.name_en.casefold() for p in places}
        return tuple(sorted(places, key=lambda p: (p.code not in first, rank[p.code], p.code)))
    order = {name: index for index, name in enumerate(collate([p.name_th for p in places]))}
    return tuple(sorted(places, key=lambda p: (p.code not in first, order[p.name_th], p.code)))


def validate_pilot_districts(codes: Iterable[str]) -> list[str]:
    """Codes that are not 4-digit district codes known to geothai (empty when all are fine)."""
    return [c for c in codes if not (len(c) == 4 and c.isdigit() and geothai.district(c))]
