"""`fieldbot villages`: loading official village lists (`import`) and showing them (`list`).
The file is read and checked by storage.villages; this prints what it found and did."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from bot.area_option import area_option
from bot.config import Settings
from bot.service import build_core
from handlers.areas import AreaDirectory
from handlers.vocab import NATIONAL
from storage import villages
from storage.villages import Parsed, Problem, Saved

SHOWN_PROBLEMS = 100  # bad rows printed before "and N more"
DISTRICT_LINES = 30  # an import of more districts than this is summed up by province


class _DryRunError(Exception):
    """Rolls the import's transaction back (`--dry-run`), carrying what it did."""

    def __init__(self, saved: Saved) -> None:
        super().__init__("dry run")
        self.saved = saved


async def villages_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.villages_command == "list":
        area = None
        if args.area is not None:
            area = area_option(args.area, ("national", "province", "district", "subdistrict"))
        core = await build_core(settings)
        try:
            async with core.sessions() as session:
                if area is None or area == NATIONAL:
                    return await _districts_listed(session)
                return await _villages_of(session, area)
        finally:
            await core.close()
    return await _import(args, settings)


def _count(number: int, noun: str) -> str:
    """ "1 village", "3 villages"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _district(directory: AreaDirectory, code: str) -> str:
    return f"{directory.describe(code, 'th')} / {directory.describe(code, 'en')}"


async def _districts_listed(session: AsyncSession) -> int:
    counts = await villages.counts(session)
    if not counts:
        print("(no village list is loaded yet: fieldbot villages import FILE.csv)")
        return 0
    directory = AreaDirectory()
    print("district\tvillages\tname")
    for code, count in sorted(counts.items()):
        print(f"{code}\t{count}\t{_district(directory, code)}")
    print(f"{_count(sum(counts.values()), 'village')} listed in {_count(len(counts), 'district')}")
    return 0


async def _villages_of(session: AsyncSession, area: str) -> int:
    directory = AreaDirectory()
    found = await villages.in_area(session, area)
    if not found:
        print(f"(no village of {area} is listed yet: fieldbot villages import FILE.csv)")
        return 0
    print("code\tหมู่\tname\tsubdistrict")
    for village in found:
        subdistrict = directory.subdistrict(village.subdistrict_code)
        where = subdistrict.name_th if subdistrict else village.subdistrict_code
        print(f"{village.code}\t{village.village_no}\t{village.name_th}\t{where}")
    print(_count(len(found), "village"))
    if len(area) == 2:
        districts = directory.districts(area)
        listed = await villages.counts(session, [d.code for d in districts])
        unlisted = [d for d in districts if d.code not in listed]
        if unlisted:
            names = ", ".join(f"{d.code} {d.name_th}" for d in unlisted)
            print(f"no list yet for {_count(len(unlisted), 'district')} of {area}: {names}")
    return 0


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    file: Path = args.file
    parsed = villages.parse(await asyncio.to_thread(file.read_bytes))
    covered: dict[str, set[str]] = {}
    core = await build_core(settings)
    try:
        async with core.writing(), core.sessions() as session:
            try:
                async with session.begin():
                    saved = await _check_and_save(session, parsed, core.clock(), args)
                    if saved is not None:
                        covered = await villages.subdistricts_listed(session, list(saved.districts))
                    if saved is not None and args.dry_run:
                        _warn_partial(covered)
                        raise _DryRunError(saved)
            except _DryRunError as dry:
                saved = dry.saved
    finally:
        await core.close()
    if saved is None:
        return 1
    _print_saved(args, saved, skipped=len(parsed.problems))
    if not args.dry_run:
        _warn_partial(covered)
    return 0


def _warn_partial(covered: dict[str, set[str]]) -> None:
    """Say so when a district's list names villages in only some of its subdistricts: its
    completeness would count the listed ones only, and call that district complete."""
    directory = AreaDirectory()
    for district, listed in sorted(covered.items()):
        every = {s.code for s in directory.subdistricts(district)}
        left = every - listed
        if every and left:
            print(f"warning: district {district} ({_district(directory, district)}): the list "
                  f"names villages in {len(every & listed)} of its {len(every)} subdistricts; "
                  f"villages of the other {len(left)} are not counted by completeness until "
                  "they are listed too", file=sys.stderr)  # fmt: skip


async def _check_and_save(
    session: AsyncSession, parsed: Parsed, now: dt.datetime, args: argparse.Namespace
) -> Saved | None:
    """Check the rows against the area table, print the bad ones, and store the good ones
    with a progress bar, unless a bad one stops it all (None)."""
    file: Path = args.file
    if not parsed.fatal:
        await villages.check_subdistricts(session, parsed)
    if parsed.problems:
        _print_problems(file, parsed.problems, len(parsed.rows), fatal=parsed.fatal)
        if parsed.fatal or not args.skip_bad:
            good = len(parsed.rows) if not parsed.fatal else 0
            hint = f": mend those lines, or give --skip-bad to load the other {good}"
            print(f"nothing loaded{hint if good else ''}", file=sys.stderr)
            return None
        if args.replace:
            # What a skipped row lists would be removed as missing from the file.
            print("nothing loaded: --replace needs a file without bad rows", file=sys.stderr)
            return None
    if not parsed.rows:
        print(f"fieldbot: {file}: no village to load", file=sys.stderr)
        return None
    with tqdm(total=len(parsed.rows), unit="village", desc="import", file=sys.stderr,
              disable=None) as bar:  # fmt: skip
        return await villages.save(session, parsed.rows, now, replace=args.replace,
                                   progress=bar.update)  # fmt: skip


def _print_problems(file: Path, problems: Sequence[Problem], good: int, *, fatal: bool) -> None:
    if fatal:
        print(f"fieldbot: {file} cannot be read:", file=sys.stderr)
    else:
        total = good + len(problems)
        print(f"fieldbot: {file}: {len(problems)} of {_count(total, 'row')} cannot be loaded:",
              file=sys.stderr)  # fmt: skip
    for problem in problems[:SHOWN_PROBLEMS]:
        print(f"  line {problem.line}: {problem.message}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"  … and {len(problems) - SHOWN_PROBLEMS} more", file=sys.stderr)


def _print_saved(args: argparse.Namespace, saved: Saved, *, skipped: int) -> None:
    directory = AreaDirectory()
    total = saved.added + saved.updated + saved.unchanged
    verb = "would load" if args.dry_run else "loaded"
    print(f"{verb} {_count(total, 'village')} from {args.file}: {saved.added} new, "
          f"{saved.updated} with a new name, {saved.unchanged} unchanged")  # fmt: skip
    if skipped:
        print(f"{_count(skipped, 'bad row')} left out (listed above)")
    districts = saved.districts
    if len(districts) <= DISTRICT_LINES:
        print("district\tvillages\tname")
        for code, count in sorted(districts.items()):
            print(f"{code}\t{count}\t{_district(directory, code)}")
    else:
        by_province: dict[str, list[int]] = {}
        for code, count in districts.items():
            by_province.setdefault(code[:2], []).append(count)
        print("province\tdistricts\tvillages\tname")
        for code, counts in sorted(by_province.items()):
            place = directory.province(code)
            name = f"{place.name_th} / {place.name_en}" if place else code
            print(f"{code}\t{len(counts)}\t{sum(counts)}\t{name}")
    if saved.removed:
        verb = "would remove" if args.dry_run else "removed"
        print(f"{verb} {_count(saved.removed, 'village')} of these districts that the file "
              "leaves out")  # fmt: skip
    elif saved.missing:
        print(f"{_count(saved.missing, 'village')} of these districts, listed before, not in the "
              "file: kept (--replace removes them)")  # fmt: skip
    if args.dry_run:
        print("dry run: nothing loaded")
    else:
        these = "this district" if len(districts) == 1 else f"these {len(districts)} districts"
        print(f"reporting completeness now counts every listed village of {these}")
