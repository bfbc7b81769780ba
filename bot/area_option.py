"""What every --area option of the command line takes, read in one place: TH (or ประเทศไทย), an
area code, or a name that stands for one area, Thai or English, with or without its จ./อ./ต.
prefix, typos forgiven as by `fieldbot areas search`. A name that several areas share is
refused with their codes; a name with a typo is taken only when one area is clearly the
nearest, and what it was taken for is said (on standard error, which leaves standard output
to the command)."""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import NoReturn

from handlers.areas import LEVELS, AreaDirectory, Place, level_of

SHOWN = 12  # candidates listed before "and N more"
_A_LEVEL = {"national": "the whole country", "province": "a province", "district": "a district",
            "subdistrict": "a subdistrict"}  # fmt: skip
_TAKEN = {"national": "TH", "province": "a province", "district": "a district",
          "subdistrict": "a subdistrict"}  # fmt: skip


def describe(directory: AreaDirectory, place: Place) -> str:
    """One area on a line: code, level, Thai / English name, and the province (and district)
    it is in: what `fieldbot areas search` prints."""
    within = ""
    if len(place.code) == 4:
        parent = directory.province(place.code[:2])
        within = f"  ({parent.name_th} / {parent.name_en})" if parent else ""
    elif len(place.code) == 6:
        within = f"  ({directory.describe(place.code[:4], 'th')} / "
        within += f"{directory.describe(place.code[:4], 'en')})"
    level = level_of(place.code)
    return f"{place.code:<6}  {level:<11}  {place.name_th} / {place.name_en}{within}"


def takes(levels: Collection[str]) -> str:
    """What an option of these levels takes, in words: "TH, a province or a district"."""
    words = [_TAKEN[level] for level in LEVELS if level in levels]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _refuse(message: str) -> NoReturn:
    print(f"fieldbot: {message}", file=sys.stderr)
    raise SystemExit(2)


def area_option(
    text: str,
    levels: Collection[str] = LEVELS,
    *,
    option: str = "--area",
    other_level: str | None = None,
    exact: bool = False,
) -> str:
    """The area code `text` stands for (TH, or a province, district or subdistrict code), of
    one of `levels`. Anything else ends the command (exit status 2) with one line saying why,
    followed by the areas it could mean. `other_level` is what to say of an area of another
    level (by default: which levels the option takes). `exact` (an area a permission is given
    for): a name must be the area's full name, neither a typo nor without its เมือง."""
    directory = AreaDirectory()
    found = directory.resolve(text, levels)
    place = found.place
    if place is None:
        if not found.by_name:
            _refuse(f"{option} {text}: no area has this code "
                    "(`fieldbot areas search NAME` finds codes)")  # fmt: skip
        if not found.candidates:
            _refuse(f"{option} {text!r}: no area has a name like this "
                    "(`fieldbot areas search NAME` finds names and their codes)")  # fmt: skip
        count = len(found.candidates)
        if found.named_alike:
            said = f"{option} {text!r}: {count} areas have this name; give the code of the one "
            said += "you mean:"
        else:
            said = f"{option} {text!r}: no area has this name; the nearest are:"
        lines = [said, *(f"  {describe(directory, p)}" for p in found.candidates[:SHOWN])]
        if count > SHOWN:
            lines.append(f"  … and {count - SHOWN} more")
        _refuse("\n".join(lines))
    level = level_of(place.code)
    if level not in levels:
        shown = text if not found.by_name else f"{text!r} ({place.code})"
        why = other_level or f"{option} takes {takes(levels)} here"
        _refuse(f"{option} {shown} is {place.name_th} / {place.name_en}, {_A_LEVEL[level]}: "
                f"{why}")  # fmt: skip
    if exact and (found.guessed or found.inferred):  # a permission is never given on a guess
        _refuse(f"{option} {text!r} is not the full name of an area; did you mean "
                f"{place.code} {place.name_th} / {place.name_en}? Give its code or its full "
                "name")  # fmt: skip
    if found.by_name:
        nearest = " (the nearest name)" if found.guessed else ""
        print(f"{option} {text!r}: {place.code} {place.name_th} / {place.name_en}, "
              f"{_A_LEVEL[level]}{nearest}", file=sys.stderr)  # fmt: skip
    return place.code
