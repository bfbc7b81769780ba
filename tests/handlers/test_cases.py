"""Case and feedback buttons: the values pushes carry, and what a forged or stale one reads as."""

from __future__ import annotations

import pytest

from handlers.cases import (
    CaseView,
    action_choices,
    case_card,
    case_value,
    feedback_value,
    parse_case_value,
    parse_feedback_value,
)
from handlers.engine import Env


def test_case_values_round_trip() -> None:
    assert parse_case_value(case_value(2_147_483_647, "resolve")) == (2_147_483_647, "resolve")
    assert parse_feedback_value(feedback_value(12, "yes")) == (12, "yes")


@pytest.mark.parametrize(
    "value",
    [
        "case:²:ack",  # "²".isdigit() is true, but int("²") raises
        "case:٣:ack",
        "case:2147483648:ack",  # more than a database integer holds
        "case:12345678901:ack",
        "case:" + "1" * 5000 + ":ack",  # int() refuses over 4,300 digits
        "case:-1:ack",
        "case:1:eat",
        "case:1",
        "cases:page:1",
        "feedback:1:ack",
    ],
)
def test_not_a_case_button(value: str) -> None:
    assert parse_case_value(value) is None


@pytest.mark.parametrize(
    "value",
    ["feedback:²:yes", "feedback:2147483648:no", "feedback:1:6", "feedback:1", "case:1:ack"],
)
def test_not_a_feedback_button(value: str) -> None:
    assert parse_feedback_value(value) is None


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("received", ["ack", "progress", "resolve", "forward", "reject"]),
        ("forwarded", ["ack", "progress", "resolve", "forward", "reject"]),
        ("acknowledged", ["progress", "resolve", "forward", "reject"]),  # not "acknowledge"
        ("in_progress", ["resolve", "forward", "reject"]),
        ("resolved", []),
    ],
)
def test_a_case_offers_only_the_actions_its_status_allows(
    env: Env, status: str, actions: list[str]
) -> None:
    case = CaseView(report_id=7, reference="PRB-2569-000007", area={}, status=status)
    offered = [parse_case_value(c.value) for c in action_choices(case, "th", env)]
    assert [found[1] for found in offered if found is not None] == actions


def test_a_case_card_says_when_it_was_filed_and_how_to_call_the_reporter(env: Env) -> None:
    """The phone is on the card of those who may work the case (the officers of its district,
    as the privacy notice says), not on anyone else's."""
    import datetime as dt

    case = CaseView(
        report_id=7, reference="PRB-2569-000007", area={}, status="received",
        reporter="สมศรี", reporter_phone="0812345678",
        filed_at=dt.datetime(2026, 3, 20, 2, 5, tzinfo=dt.UTC),  # 09:05 in Bangkok
    )  # fmt: skip
    mine = case_card(case, [], "th", env, can_act=True).text
    assert env.i18n.t("th", "alert.filed", when="20 มี.ค. 69 09:05") in mine
    assert env.i18n.t("th", "case.call_reporter", phone="0812345678") in mine
    theirs = case_card(case, [], "th", env, can_act=False).text
    assert "0812345678" not in theirs and "09:05" in theirs
    assert "Filed: 20 Mar 2026 09:05" in case_card(case, [], "en", env, can_act=True).text


def test_a_case_card_brings_every_photo(env: Env) -> None:
    from handlers.cases import more_photos

    case = CaseView(report_id=7, reference="PRB-2569-000007", area={}, status="received",
                    photos=("a/1.jpg", "b/2.jpg", "c/3.jpg"))  # fmt: skip
    assert case_card(case, [], "th", env, can_act=True).image == "a/1.jpg"
    more = more_photos(case, "en", env)
    assert [m.image for m in more] == ["b/2.jpg", "c/3.jpg"]
    assert more[0].text == "📷 Photo 2 of 3 · PRB-2569-000007"
    assert more_photos(CaseView(report_id=7, reference="x", area={}, status="received"),
                       "th", env) == []  # fmt: skip
