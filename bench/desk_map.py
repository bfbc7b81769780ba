"""The desk's map data at national scale (issue 13): 100,000 cases spread over every district of
the country (5% sent without a place), and the time `storage.desk_map.map_cases` takes, with the
JSON the endpoint makes of it, for a national coordinator (over the cap: grid cells), a
province's coordinator (points), the country's open very urgent cases, and a box in view.

    uv run python -m bench.desk_map --database-url sqlite+aiosqlite:////tmp/map.db
    (PostgreSQL: --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.broadcast_load import _settings
from bot.service import build_core
from domain import policy
from handlers import vocab as v
from storage import desk_map
from storage.desk import CaseFilter
from storage.models import Report, User

NOW = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)


async def _fill(core: object, cases: int) -> None:
    sessions = core.sessions  # type: ignore[attr-defined]
    async with sessions() as session:
        have = (await session.execute(select(func.count()).select_from(Report))).scalar_one()
    if have >= cases:
        return
    districts = [d.code for d in core.areas.all_districts()]  # type: ignore[attr-defined]
    rng = random.Random(13)
    async with sessions() as session, session.begin():
        user = User(platform="line", platform_user_id="Ubench", role="village_head",
                    consent_at=NOW)  # fmt: skip
        session.add(user)
        await session.flush()
        rows = []
        for n in range(have, cases):
            district = rng.choice(districts)
            placed = rng.random() > 0.05
            rows.append({
                "reference": f"PRB-2569-{n:07d}", "kind": v.PROBLEM, "reporter_id": user.id,
                "province_code": district[:2], "district_code": district,
                "subdistrict_code": f"{district}01", "village_no": rng.randint(1, 20),
                "problem_category": "flood", "urgency": rng.choice(v.URGENCIES),
                "status": rng.choice((*v.OPEN_STATUSES, "resolved", "resolved", "rejected")),
                "latitude": rng.uniform(6.0, 20.0) if placed else None,
                "longitude": rng.uniform(97.5, 105.5) if placed else None,
                "answers": {}, "form_id": "problem", "form_version": 1, "created_at": NOW,
                "updated_at": NOW, "reopen_count": 0, "escalation_level": 0,
            })  # fmt: skip
            if len(rows) == 5000:
                await session.execute(insert(Report), rows)
                rows = []
        if rows:
            await session.execute(insert(Report), rows)


async def run(args: argparse.Namespace) -> None:
    core = await build_core(_settings(args.database_url, Path(args.media)))
    try:
        await _fill(core, args.cases)
        limits = dict(core.settings.escalation_after)
        runs = [
            ("national, everything", [("coordinator", v.NATIONAL)], CaseFilter(), None, 6),
            ("national, open very urgent", [("coordinator", v.NATIONAL)],
             CaseFilter(status="open", urgency=v.VERY_URGENT), None, 6),
            ("national, a box at zoom 9", [("coordinator", v.NATIONAL)], CaseFilter(),
             desk_map.Box(18.0, 98.0, 19.5, 100.0), 9),
            ("a province (50)", [("coordinator", "50")], CaseFilter(), None, 8),
            ("a district (5001)", [("officer", "5001")], CaseFilter(), None, 10),
        ]  # fmt: skip
        print(f"{'what':32} {'answer':>22} {'bytes':>9} {'median ms':>10} {'max ms':>8}")
        for name, held, where, box, zoom in runs:
            times: list[float] = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                async with core.sessions() as session:
                    found = await desk_map.map_cases(
                        session, policy.visible_reports(held), where, NOW, limits, box=box,
                        zoom=zoom,
                    )  # fmt: skip
                body = json.dumps({
                    "cells": [[c.lat, c.lon, c.count, c.urgent] for c in found.cells],
                    "cases": [[p.reference, p.lat, p.lon, p.status, p.urgency]
                              for p in found.points],
                })  # fmt: skip
                times.append((time.perf_counter() - start) * 1000)
            answer = (f"{len(found.cells)} cells" if found.clustered
                      else f"{len(found.points)} points")  # fmt: skip
            print(f"{name:32} {answer:>22} {len(body):>9} {statistics.median(times):>10.1f} "
                  f"{max(times):>8.1f}")  # fmt: skip
    finally:
        await core.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--media", default=str(Path.cwd() / ".bench-media"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
