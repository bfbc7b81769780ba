"""The desk's list of cases at national scale: its index exists on both databases, and on
SQLite the list is counted and sorted from that index alone (bench/desk.py measures it)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.dialects import sqlite

from bot.service import Core
from domain import policy
from storage import desk

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
LIMITS = {"very_urgent": dt.timedelta(hours=2), "urgent": dt.timedelta(hours=24),
          "normal": dt.timedelta(hours=72)}  # fmt: skip


async def test_the_case_list_index_exists(core: Core) -> None:
    async with core.engine.connect() as conn:
        indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("reports"))
    found = {i["name"]: i["column_names"] for i in indexes}
    assert found["ix_reports_desk_list"][:3] == ["kind", "status", "urgency"]


def test_a_national_list_is_counted_and_sorted_from_an_index(sqlite_template: Path) -> None:
    def plan(query: object) -> str:
        sql = str(query.compile(dialect=sqlite.dialect(),  # type: ignore[attr-defined]
                                compile_kwargs={"literal_binds": True}))  # fmt: skip
        connection = sqlite3.connect(sqlite_template)
        try:
            rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        finally:
            connection.close()
        return "\n".join(str(row[-1]) for row in rows)

    national = policy.visible_reports([("coordinator", "TH")])
    for where in (desk.CaseFilter(), desk.CaseFilter(status="open", urgency="very_urgent"),
                  desk.CaseFilter(category="flood", reference="0123"),
                  desk.CaseFilter(overdue=True)):  # fmt: skip
        ids, count = desk.list_queries(national, where, NOW, LIMITS)
        # Neither reads the reports' rows: an index holds all they need.
        for query in (ids, count):
            found = plan(query)
            assert "COVERING INDEX" in found, (where, found)
        assert "COVERING INDEX ix_reports_desk_list" in plan(ids), where
