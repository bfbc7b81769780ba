"""The web desk at national scale (issue 13): a filtered page of cases under 300 ms of server
time, the map's data for the whole country under 500 ms.

Generates, with bulk inserts (SQLAlchemy Core), 75,000 villages spread over the subdistricts of
all 77 provinces (the areas table), 20,000 reporters living in them, 100,000 problem cases at
random villages (statuses, urgencies, categories, ratings, reopenings, dates over two years,
coordinates around their province), their audit trails, and as many activity reports (which
share the table). Then serves the desk in this process (aiohttp's test server, the load
generator being this same process) and times each request N times, signed in as a national
coordinator and as an officer of one district:

- server time: from the request reaching the desk's middlewares to the response being ready
  (a timing middleware in front of the desk's guard: the guard's session look-up, the queries,
  the template);
- round trip: the client's view, the same plus HTTP on loopback.

The map's data: when the desk has no map route yet, the query the map will run (reference,
latitude, longitude, status, urgency of every visible case the filter keeps) and its JSON.

    .venv/bin/python -m bench.desk --database-url sqlite+aiosqlite:////tmp/desk.db
    .venv/bin/python -m bench.desk \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_desk

`--keep` reuses the generated data of an earlier run (same sizes) instead of making it again.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import case, func, insert, select, text
from sqlmodel import col

from bench.broadcast_load import _fresh
from bot import desk as desk_web
from bot.config import Settings
from bot.desk.auth import COOKIE
from bot.service import Core, build_core
from domain import policy
from handlers import vocab
from storage import desk, staff
from storage.cases import URGENCY_ORDER
from storage.models import Area, CaseEvent, Report, StaffRole, User, Village

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
CATEGORIES = ("flood", "drought", "polluted_water", "road_bridge", "electricity", "health",
              "poverty", "drugs", "waste", "fire", "storm", "other")  # fmt: skip
# (status, share): most cases are closed, as a year's work leaves them.
STATUSES = (("received", 0.08), ("forwarded", 0.02), ("acknowledged", 0.07),
            ("in_progress", 0.08), ("resolved", 0.70), ("rejected", 0.05))  # fmt: skip
URGENCIES = ((vocab.URGENCIES[0], 0.15), (vocab.URGENCIES[1], 0.35), (vocab.URGENCIES[2], 0.50))
OFFICER_DISTRICT = "5001"  # เมืองเชียงใหม่
BATCH = 10_000


@dataclass(frozen=True)
class Sizes:
    cases: int
    villages: int
    reporters: int
    activities: int


def _settings(url: str, media: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=url, FIELDBOT_MEDIA_DIR=media, FIELDBOT_LOG_LEVEL="WARNING",
    )  # fmt: skip


def _pick(rng: random.Random, shares: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([s for s, _ in shares], weights=[w for _, w in shares])[0]


async def _insert(core: Core, table: Any, rows: list[dict[str, Any]]) -> None:
    async with core.sessions() as session, session.begin():
        for start in range(0, len(rows), BATCH):
            await session.execute(insert(table), rows[start : start + BATCH])


async def _villages(core: Core, count: int, rng: random.Random) -> list[str]:
    """`count` villages over every subdistrict, a few more where the draw puts them."""
    async with core.sessions() as session:
        subdistricts = list(
            (await session.execute(
                select(col(Area.code)).where(col(Area.level) == "subdistrict").order_by(Area.code)
            )).scalars()
        )  # fmt: skip
    numbers: dict[str, int] = dict.fromkeys(subdistricts, 0)
    for n in range(count):
        code = subdistricts[n] if n < len(subdistricts) else rng.choice(subdistricts)
        numbers[code] += 1
    rows, codes = [], []
    for sub, many in numbers.items():
        for no in range(1, min(many, 99) + 1):
            code = f"{sub}{no:02d}"
            codes.append(code)
            rows.append({"code": code, "province_code": sub[:2], "district_code": sub[:4],
                         "subdistrict_code": sub, "village_no": no,
                         "name_th": f"บ้านทดสอบ {code}", "imported_at": NOW})  # fmt: skip
    await _insert(core, Village, rows)
    return codes


async def _people(core: Core, villages: list[str], count: int, rng: random.Random) -> list[int]:
    rows = []
    for n in range(count):
        home = rng.choice(villages)
        rows.append({
            "platform": "line", "platform_user_id": f"Ubench{n:027d}",
            "display_name": f"ผู้แจ้ง {n}", "phone": f"08{n:08d}", "role": "village_head",
            "consent_at": NOW, "language": "th", "active": True, "province_code": home[:2],
            "district_code": home[:4], "subdistrict_code": home[:6], "village_no": int(home[6:]),
            "join_failures": 0, "created_at": NOW, "updated_at": NOW,
        })  # fmt: skip
    await _insert(core, User, rows)
    async with core.sessions() as session:
        ids = await session.execute(
            select(col(User.id)).where(col(User.platform_user_id).startswith("Ubench"))
        )
        return list(ids.scalars())


def _centre(province: str) -> tuple[float, float]:
    """A stand-in for the province's centre, inside Thailand, the same on every run."""
    draw = random.Random(int(province))
    return draw.uniform(6.5, 19.5), draw.uniform(98.5, 104.5)


async def _cases(
    core: Core, villages: list[str], reporters: list[int], sizes: Sizes, rng: random.Random
) -> None:
    reports: list[dict[str, Any]] = []
    for n in range(1, sizes.cases + 1):
        village = rng.choice(villages)
        filed = NOW - dt.timedelta(days=rng.uniform(0, 730) ** 1.3 / 730**0.3)
        status = _pick(rng, STATUSES)
        urgency = _pick(rng, URGENCIES)
        category = rng.choice(CATEGORIES)
        lat, lon = _centre(village[:2])
        lat, lon = lat + rng.gauss(0, 0.25), lon + rng.gauss(0, 0.25)
        changed = (
            filed + dt.timedelta(hours=rng.uniform(1, 24 * 20)) if status != "received" else filed
        )
        description = f"เรื่องทดสอบที่ {n}: {category} ในหมู่บ้าน {village}"
        households = rng.randrange(1, 200)
        reports.append({
            "reference": f"PRB-{filed.year + 543}-{n:06d}", "kind": vocab.PROBLEM,
            "reporter_id": rng.choice(reporters), "province_code": village[:2],
            "district_code": village[:4], "subdistrict_code": village[:6],
            "village_no": int(village[6:]), "village_code": village,
            "problem_category": category, "urgency": urgency, "households": households,
            "description": description, "latitude": lat, "longitude": lon,
            "answers": {"category": category, "urgency": urgency, "households": households,
                        "description": description, "photos": [],
                        "location": {"latitude": lat, "longitude": lon}},
            "status": status, "acknowledged_at": changed if status != "received" else None,
            "resolved_at": changed if status == "resolved" else None,
            "reopen_count": 1 if rng.random() < 0.04 else 0,
            "rating": rng.randint(1, 5) if status == "resolved" and rng.random() < 0.6 else None,
            "escalation_level": 0, "form_id": "problem", "form_version": 1,
            "created_at": filed, "updated_at": changed,
        })  # fmt: skip
    await _insert(core, Report, reports)
    # Their audit trails: filed, and each change since.
    async with core.sessions() as session:
        found = await session.execute(
            select(col(Report.id), col(Report.status), col(Report.created_at),
                   col(Report.updated_at), col(Report.reporter_id))
            .where(col(Report.kind) == vocab.PROBLEM)
        )  # fmt: skip
        rows = found.all()
    events: list[dict[str, Any]] = []
    for report_id, status, filed, changed, reporter in rows:
        events.append({"report_id": report_id, "actor_id": reporter, "from_status": None,
                       "to_status": "received", "at": filed})  # fmt: skip
        if status != "received":
            events.append({"report_id": report_id, "actor_id": None, "from_status": "received",
                           "to_status": status, "note": "บันทึกทดสอบ", "at": changed})  # fmt: skip
    await _insert(core, CaseEvent, events)


async def _activities(core: Core, villages: list[str], reporters: list[int], count: int,
                      rng: random.Random) -> None:  # fmt: skip
    rows = []
    for n in range(count):
        village = rng.choice(villages)
        at = NOW - dt.timedelta(days=rng.uniform(0, 730))
        rows.append({
            "reference": f"ACT-B-{n:09d}", "kind": "activity",
            "reporter_id": rng.choice(reporters), "province_code": village[:2],
            "district_code": village[:4], "subdistrict_code": village[:6],
            "village_no": int(village[6:]), "village_code": village, "answers": {},
            "status": "received", "reopen_count": 0, "escalation_level": 0,
            "form_id": "activity", "form_version": 1, "created_at": at, "updated_at": at,
        })  # fmt: skip
    await _insert(core, Report, rows)


async def _staff(core: Core, district: str) -> None:
    """A national coordinator and an officer of `district`."""
    for n, (role, area) in enumerate((("coordinator", vocab.NATIONAL),
                                      ("officer", district))):  # fmt: skip
        async with core.sessions() as session, session.begin():
            user = User(platform="line", platform_user_id=f"Ustaff{n:027d}",
                        display_name=f"เจ้าหน้าที่ {n}", language="th",
                        consent_at=NOW, active=True, created_at=NOW, updated_at=NOW)  # fmt: skip
            session.add(user)
            await session.flush()
            await staff.grant(session, user, role, area, NOW)


async def generate(core: Core, sizes: Sizes, seed: int = 13) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    villages = await _villages(core, sizes.villages, rng)
    reporters = await _people(core, villages, sizes.reporters, rng)
    await _cases(core, villages, reporters, sizes, rng)
    await _activities(core, villages, reporters, sizes.activities, rng)
    # The officer's district: Mueang Chiang Mai, or (with tiny sizes) one that has villages.
    await _staff(core, OFFICER_DISTRICT if any(v.startswith(OFFICER_DISTRICT) for v in villages)
                 else villages[0][:4])  # fmt: skip
    async with core.engine.connect() as conn:  # fresh statistics, as a live database has
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    print(f"generated {len(villages):,} villages, {sizes.cases:,} cases, "
          f"{sizes.activities:,} activity reports in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)  # fmt: skip


async def map_data(core: Core, held: policy.Held, where: desk.CaseFilter) -> bytes:
    """The map's data as the map page will ask for it: every visible case the filter keeps,
    with a place, as JSON. (Used when the desk has no map route of its own yet.)"""
    query = (
        select(col(Report.reference), col(Report.latitude), col(Report.longitude),
               col(Report.status), col(Report.urgency))
        .where(policy.visible_reports(held), *where.clauses(core.clock(),
               dict(core.settings.escalation_after)), col(Report.latitude).is_not(None))
    )  # fmt: skip
    async with core.sessions() as session:
        rows = (await session.execute(query)).all()
    return json.dumps([[r, round(la, 5), round(lo, 5), s, u] for r, la, lo, s, u in rows],
                      ensure_ascii=False).encode()  # fmt: skip


async def map_cells(core: Core, held: policy.Held, where: desk.CaseFilter,
                    cell: float = 0.1) -> bytes:  # fmt: skip
    """The map's data clustered on the server: cases counted per grid cell of `cell` degrees
    (about 11 km), with the cell's mean position and its most urgent case's urgency; what a
    map of the whole country needs, instead of 100,000 markers."""
    lat, lon = col(Report.latitude), col(Report.longitude)
    row, column = func.floor(lat / cell), func.floor(lon / cell)
    rank = case(URGENCY_ORDER, value=col(Report.urgency), else_=3)
    query = (
        select(func.count(), func.avg(lat), func.avg(lon), func.min(rank))
        .where(policy.visible_reports(held), *where.clauses(core.clock(),
               dict(core.settings.escalation_after)), lat.is_not(None))
        .group_by(row, column)
    )  # fmt: skip
    async with core.sessions() as session:
        rows = (await session.execute(query)).all()
    return json.dumps([[n, round(la, 4), round(lo, 4), u] for n, la, lo, u in rows]).encode()


def _timer(spent: list[float]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        spent.append(time.perf_counter() - started)
        return response

    return middleware


@dataclass
class Result:
    name: str
    server: list[float]
    trip: list[float]
    size: int


def _stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def _time(name: str, runs: int, call: Callable[[], Awaitable[int]],
                spent: list[float]) -> Result:  # fmt: skip
    await call()  # warm: templates compiled, caches filled
    server, trip, size = [], [], 0
    for _ in range(runs):
        spent.clear()
        started = time.perf_counter()
        size = await call()
        trip.append(time.perf_counter() - started)
        server.append(spent[-1] if spent else trip[-1])
    return Result(name, server, trip, size)


LISTS = (
    ("national", ""),
    ("national", "?status=open"),
    ("national", "?status=open&urgency=very_urgent"),
    ("national", "?status=resolved&area=50"),
    ("national", "?category=flood&since=2026-01-01&until=2026-06-30"),
    ("national", "?overdue=1"),
    ("national", "?q=012345"),
    ("national", "?page=400"),
    ("officer", ""),
    ("officer", "?status=open"),
    ("officer", "?area={subdistrict}&status=resolved&rating=5"),
)


async def measure(core: Core, runs: int, only: str | None = None) -> list[Result]:
    spent: list[float] = []
    app = web.Application(middlewares=[_timer(spent)])
    desk_web.mount(app, core)
    async with core.sessions() as session, session.begin():
        ids = list((await session.execute(
            select(col(User.id)).where(col(User.platform_user_id).startswith("Ustaff"))
            .order_by(col(User.id))
        )).scalars())  # fmt: skip
        cookies = {who: (await desk.open_session(session, user_id, NOW)).cookie
                   for who, user_id in zip(("national", "officer"), ids, strict=True)}  # fmt: skip
        district = (await session.execute(
            select(col(StaffRole.area)).where(col(StaffRole.role) == "officer")
        )).scalar_one()  # fmt: skip
        theirs = select(Report).where(col(Report.kind) == vocab.PROBLEM,
                                      col(Report.district_code) == district)  # fmt: skip
        many = (await session.execute(select(func.count()).select_from(theirs.subquery()))
                ).scalar_one()  # fmt: skip
        case = (await session.execute(
            theirs.order_by(col(Report.id)).limit(1).offset(many // 2)
        )).scalar_one()  # fmt: skip
        reference, subdistrict = case.reference, case.subdistrict_code
    has_map = any("map" in (r.resource.canonical if r.resource else "")
                  for r in desk_web.desk_app(core).router.routes())  # fmt: skip
    results = []
    async with TestClient(TestServer(app)) as client:

        def getter(who: str, path: str) -> Callable[[], Awaitable[int]]:
            async def call() -> int:
                response = await client.get(path, cookies={COOKIE: cookies[who]})
                body = await response.read()
                assert response.status == 200, (path, response.status, body[:300])
                return len(body)

            return call

        for who, query in LISTS:
            query = query.format(subdistrict=subdistrict)
            name = f"case list, {who} {query or '(no filter)'}"
            if only and only not in name:
                continue
            results.append(await _time(name, runs, getter(who, f"/desk/{query}"), spent))
        case_page = getter("officer", f"/desk/cases/{reference}")
        results.append(await _time("case page (officer)", runs, case_page, spent))
        if has_map:  # the map page's own data route, as the browser asks for it
            for who in ("national", "officer"):
                for label, query in (("all", ""), ("open", "?status=open")):
                    name = f"map route /desk/map/cases.json{query}, {who}, {label}"
                    results.append(await _time(
                        name, runs, getter(who, f"/desk/map/cases.json{query}"), spent
                    ))  # fmt: skip
        for who, held in (("national", [("coordinator", vocab.NATIONAL)]),
                          ("officer", [("officer", district)])):  # fmt: skip
            for label, where in (("all", desk.CaseFilter()),
                                 ("open", desk.CaseFilter(status="open"))):  # fmt: skip

                async def query_map(held: policy.Held = held,
                                    where: desk.CaseFilter = where) -> int:  # fmt: skip
                    started = time.perf_counter()
                    body = await map_data(core, held, where)
                    spent.append(time.perf_counter() - started)
                    return len(body)

                results.append(await _time(f"map data (query + JSON), {who}, {label}", runs,
                                           query_map, spent))  # fmt: skip

                async def query_cells(held: policy.Held = held,
                                      where: desk.CaseFilter = where) -> int:  # fmt: skip
                    started = time.perf_counter()
                    body = await map_cells(core, held, where)
                    spent.append(time.perf_counter() - started)
                    return len(body)

                results.append(await _time(f"map data clustered per 0.1° cell, {who}, {label}",
                                           runs, query_cells, spent))  # fmt: skip
    return results


def report(results: list[Result], database: str, runs: int) -> str:
    lines = [f"database: {database}; {runs} runs each",
             "| what | server median / p95 (ms) | round trip median / p95 (ms) | bytes |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    for r in results:
        s50, s95 = _stats(r.server)
        t50, t95 = _stats(r.trip)
        lines.append(f"| {r.name} | {s50:.0f} / {s95:.0f} | {t50:.0f} / {t95:.0f} | {r.size:,} |")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> str:
    sizes = Sizes(args.cases, args.villages, args.reporters, args.activities)
    if not args.keep:
        await _fresh(args.database_url)
    media = Path(args.media or tempfile.mkdtemp(prefix="fieldbot-bench-"))
    core = await build_core(_settings(args.database_url, media))
    core.clock = lambda: NOW
    try:
        async with core.sessions() as session:
            have = (await session.execute(select(func.count()).select_from(Village))).scalar_one()
        if not (args.keep and have):
            await generate(core, sizes)
        results = await measure(core, args.runs, args.only)
        out = report(results, core.engine.dialect.name, args.runs)
    finally:
        await core.close()
    print(out)
    return out


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    found.add_argument("--database-url", required=True)
    found.add_argument("--cases", type=int, default=100_000)
    found.add_argument("--villages", type=int, default=75_000)
    found.add_argument("--reporters", type=int, default=20_000)
    found.add_argument("--activities", type=int, default=100_000)
    found.add_argument("--runs", type=int, default=30)
    found.add_argument("--only", help="time only the case lists whose name has this")
    found.add_argument("--keep", action="store_true", help="reuse the data of an earlier run")
    found.add_argument("--media")
    return found


def main() -> None:
    asyncio.run(run(parser().parse_args()))


if __name__ == "__main__":
    main()
