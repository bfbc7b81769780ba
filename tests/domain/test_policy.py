"""The one decision on who may see and act on what (domain.policy), and its SQL forms: the
lists the database narrows down hold exactly what the decision allows, on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.service import Core
from domain import policy
from storage import broadcasts, cases
from storage.models import Broadcast, Report, User

NOW = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)

HELD: dict[str, list[tuple[str, str]]] = {
    "villager": [],
    "officer 5001": [("officer", "5001")],
    "officer of two": [("officer", "5001"), ("officer", "5002")],
    "officer and coordinator": [("officer", "1001"), ("coordinator", "50")],
    "coordinator 50": [("coordinator", "50")],
    "national coordinator": [("coordinator", "TH")],
    "admin": [("admin", "TH")],
}


@pytest.mark.parametrize(
    ("held_area", "area", "covered"),
    [
        ("5001", "5001", True),
        ("5001", "500101", True),
        ("5001", "50010103", True),  # a village
        ("5001", "5002", False),
        ("5001", "50", False),  # a district does not reach its province
        ("5001", "TH", False),
        ("50", "5001", True),
        ("50", "51", False),
        ("50", "5101", False),
        ("50", "TH", False),
        ("TH", "TH", True),
        ("TH", "9601", True),
        ("5001", None, False),
        ("TH", None, True),
    ],
)
def test_an_assignment_covers_its_area_and_what_is_inside(
    held_area: str, area: str | None, covered: bool
) -> None:
    assert policy.covers(held_area, area) is covered


def test_a_person_acts_where_any_assignment_covers() -> None:
    two = HELD["officer of two"]
    assert policy.may_act(two, "5001") and policy.may_act(two, "500201")
    assert not policy.may_act(two, "5003")
    mixed = HELD["officer and coordinator"]
    assert policy.may_act(mixed, "1001") and policy.may_act(mixed, "5007")
    assert not policy.may_act(mixed, "1002")
    assert not policy.may_act([], "5001")  # a home village gives no staff rights
    assert policy.case_area("5001", "50") == "5001" and policy.case_area(None, "50") == "50"


def test_the_areas_a_person_reads_out() -> None:
    assert policy.areas(HELD["officer of two"]) == ("5001", "5002")
    # The district inside the province they coordinate is read out with the province.
    assert policy.areas([("officer", "5001"), ("coordinator", "50")]) == ("50",)
    assert policy.areas(HELD["officer and coordinator"]) == ("1001", "50")
    assert policy.areas([("coordinator", "50"), ("coordinator", "TH")]) == ("TH",)
    assert policy.areas([]) == ()
    assert policy.is_admin(HELD["admin"]) and not policy.is_admin(HELD["national coordinator"])
    assert policy.is_staff(HELD["officer 5001"]) and not policy.is_staff(HELD["villager"])


PLACES = [("5001", "50"), ("5002", "50"), ("5007", "50"), ("1001", "10"), ("1002", "10"),
          (None, "50"), (None, None)]  # fmt: skip
AREAS = ["TH", "50", "10", "5001", "5002", "500101", "1001", "100101"]


async def test_the_sql_forms_agree_with_the_decision(core: Core) -> None:
    async with core.sessions() as session, session.begin():
        reporter = User(platform="console", platform_user_id="r")
        session.add(reporter)
        await session.flush()
        for n, (district, province) in enumerate(PLACES, start=1):
            session.add(Report(reference=f"PRB-2569-{n:06d}", kind="problem",
                               reporter_id=reporter.id or 0, district_code=district,
                               province_code=province, status="received", form_id="problem",
                               created_at=NOW, updated_at=NOW))  # fmt: skip
        for area in AREAS:
            session.add(Broadcast(roles=["reporter"], area=area, text=area, status="queued",
                                  send_at=NOW, created_at=NOW))  # fmt: skip
    async with core.sessions() as session:
        reports = list((await session.execute(select(Report))).scalars())
        for name, held in HELD.items():
            listed, total = await cases.open_cases(session, policy.visible_reports(held), limit=100)
            allowed = {r.reference for r in reports if policy.may_work(held, r)}
            assert {r.reference for r in listed} == allowed, name
            assert total == len(allowed), name
            seen = await broadcasts.recent(session, policy.visible_broadcasts(held), limit=100)
            assert {b.area for b in seen} == {a for a in AREAS if policy.may_act(held, a)}, name
    # Spot checks of what the decision says.
    by_place = {(r.district_code, r.province_code): r for r in reports}
    assert policy.may_work(HELD["officer of two"], by_place[("5002", "50")])
    assert not policy.may_work(HELD["officer 5001"], by_place[("5002", "50")])
    assert policy.may_work(HELD["coordinator 50"], by_place[(None, "50")])
    assert not policy.may_work(HELD["officer 5001"], by_place[(None, "50")])
    assert policy.may_work(HELD["admin"], by_place[(None, None)])
    assert not policy.may_work(HELD["coordinator 50"], by_place[(None, None)])
