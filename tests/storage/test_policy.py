"""The one decision on who may see and act on what (storage.policy)."""

from __future__ import annotations

import pytest

from storage import policy

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
