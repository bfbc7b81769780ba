"""Thai administrative areas for the area pick: provinces, districts, subdistricts from `geothai`
(Department of Provincial Administration codes), with pilot districts offered first."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import geothai
from pythainlp.util import collate

from handlers.thai import match_names, name_key, normalize_digits
from handlers.vocab import NATIONAL

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


NATIONAL_PLACE = Place(NATIONAL, "ประเทศไทย", "Thailand")
# What else people call the whole country (compared as name keys, like place names).
NATIONAL_NAMES = frozenset(name_key(n) for n in ("ประเทศไทย", "ไทย", "ทั่วประเทศ", "Thailand"))
LEVELS = ("national", "province", "district", "subdistrict")
_BY_LENGTH = {2: "province", 4: "district", 6: "subdistrict"}
# A name's prefix says which level is meant (จ.เชียงใหม่: the province, not ต.เชียงใหม่);
# longest first, so that กิ่งอำเภอ is not read as ... อำเภอ.
_LEVEL_PREFIXES = (("กิ่งอำเภอ", "district"), ("จังหวัด", "province"), ("อำเภอ", "district"),
                   ("ตำบล", "subdistrict"), ("แขวง", "subdistrict"), ("เขต", "district"),
                   ("จ.", "province"), ("อ.", "district"), ("ต.", "subdistrict"))  # fmt: skip


def level_of(code: str) -> str:
    """national, province, district or subdistrict: what an area code stands for."""
    return "national" if code == NATIONAL else _BY_LENGTH.get(len(code), "")


@dataclass(frozen=True)
class Resolved:
    """What an area typed as a code or a name comes to. `place`: the one area it stands for.
    Otherwise `candidates`, the areas it may mean: those it names alike (`named_alike`), or
    the nearest names when it names none exactly; none at all when nothing is like it.
    `by_name`: it was a name, not a code; `guessed`: a name with a typo, taken for the one
    area clearly nearest to it."""

    place: Place | None
    candidates: tuple[Place, ...] = ()
    by_name: bool = False
    guessed: bool = False
    named_alike: bool = False
    # Taken by a name without its เมือง (เชียงใหม่ for อ.เมืองเชียงใหม่), not its full name.
    inferred: bool = False


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
        places = self._every_place()
        by_code = {p.code: p for p in places}
        candidates = [(p.code, _names(p)) for p in places]
        return [by_code[code] for code, _score in match_names(text, candidates, limit=limit)]

    def resolve(self, text: str, levels: Collection[str] = LEVELS) -> Resolved:
        """The area `text` stands for: TH (or ประเทศไทย, Thailand), a code, or a name. A name
        may be Thai or English, with or without its จ./อ./ต. prefix (which says the level
        meant: จ.เชียงใหม่ is the province, ต.เชียงใหม่ the subdistrict), with a typo when one
        area is clearly the nearest. A name several areas share is not resolved (see
        `Resolved`), except that the areas of `levels` are preferred: for an option that takes
        districts, แม่ริม is the district, not the subdistrict of the same name, and
        เชียงใหม่ is อ.เมืองเชียงใหม่. An area of another level than `levels` is still returned
        when it is the only one, for the caller to refuse it by what it is."""
        text = text.strip()
        if text.upper() == NATIONAL or name_key(text) in NATIONAL_NAMES:
            return Resolved(NATIONAL_PLACE, by_name=text.upper() != NATIONAL)
        digits = normalize_digits(text).replace(" ", "")
        if digits.isascii() and digits.isdigit():
            look = {2: self.province, 4: self.district, 6: self.subdistrict}.get(len(digits))
            return Resolved(look(digits) if look else None)
        places = self._every_place()
        said = _level_said(text)
        if said is not None:
            found = _by_name(text, [p for p in places if level_of(p.code) == said], levels)
            if found.place is not None or found.named_alike:
                return found
        return _by_name(text, places, levels)

    def _every_place(self) -> list[Place]:
        places = list(self.provinces())
        for province in self.provinces():
            for district in self.districts(province.code):
                places.append(district)
                places.extend(self.subdistricts(district.code))
        return places

    def describe(self, district_code: str, lang: str | None) -> str:
        district = self.district(district_code)
        province = self.province(district_code[:2])
        if district is None or province is None:
            return district_code
        return f"{district.name(lang)}, {province.name(lang)}"


def _by_name(text: str, places: list[Place], levels: Collection[str]) -> Resolved:
    """`AreaDirectory.resolve` for a name, among `places`."""
    by_code = {p.code: p for p in places}
    candidates = [(p.code, _names(p)) for p in places]
    matched = match_names(text, candidates, limit=len(candidates))
    scored = [(by_code[code], score) for code, score in matched]
    key = name_key(text)
    exact = [p for p, score in scored if score >= 100]
    # A full name before a name matched without its เมือง prefix: เชียงใหม่ is the
    # province, not อ.เมืองเชียงใหม่.
    full = [p for p in exact if key in {name_key(name) for name in _names(p)}]
    for tier in (full, exact):  # an area of `levels`, when one of either tier is
        fitting_named = [p for p in tier if level_of(p.code) in levels]
        # A province shares its name with a subdistrict somewhere (เชียงใหม่ is also a
        # subdistrict in ร้อยเอ็ด): the province is what a name alone means.
        provinces = [p for p in fitting_named if level_of(p.code) == "province"]
        if len(fitting_named) > 1 and len(provinces) == 1:
            fitting_named = provinces
        if len(fitting_named) == 1:
            return Resolved(fitting_named[0], by_name=True, inferred=tier is not full)
        if fitting_named:
            return Resolved(None, tuple(fitting_named), by_name=True, named_alike=True)
    for tier in (full, exact):  # else the one area of the name, whatever its level
        if len(tier) == 1:
            return Resolved(tier[0], by_name=True, inferred=tier is not full)
        if tier:
            return Resolved(None, tuple(tier), by_name=True, named_alike=True)
    fitting = [(p, score) for p, score in scored if level_of(p.code) in levels] or scored
    if not fitting:
        return Resolved(None, by_name=True)
    (best, top), second = fitting[0], (fitting[1][1] if len(fitting) > 1 else 0.0)
    if top >= 85 and top - second >= 15:
        return Resolved(best, by_name=True, guessed=True)
    return Resolved(None, tuple(p for p, _score in fitting), by_name=True)


def _level_said(text: str) -> str | None:
    """The level a name's prefix gives (จ., อำเภอ, ต., …), if it has one. When nothing of
    that level has the name, `resolve` looks among all levels (a few names begin with เขต)."""
    for prefix, level in _LEVEL_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return level
    return None


def _names(place: Place) -> tuple[str, ...]:
    return (place.name_th, place.name_en, *NICKNAMES.get(place.code, ()))


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
