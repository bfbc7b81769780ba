"""Who may see and act on what: the one place that decides it.

A person's staff assignments are (role, area) pairs: an officer of a district (4 digits), a
coordinator of a province (2 digits) or of the country (TH), an admin of the country. Each
assignment covers its area and everything inside it, whatever the role; a person may act
where any of their assignments covers. Their home village gives them no staff rights at all.

`may_act` is the decision; the questions the chat, the command line and the desk ask (may this
person work this case, address this audience, broadcast at all) are all answered from it here.
The query filters below are the same decision written in SQL, for lists the database narrows
down (tests/domain/test_policy.py checks that both agree). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col

from handlers.vocab import ADMIN, NATIONAL
from storage.models import Broadcast, Report

# (role, area) of each assignment a person holds.
Held = Sequence[tuple[str, str]]


def covers(held_area: str, area: str | None) -> bool:
    """An assignment for `held_area` reaches `area` (TH, or a province, district, subdistrict
    or village code): the country reaches everything, any other area itself and its parts."""
    if held_area == NATIONAL:
        return True
    return area is not None and area != NATIONAL and area.startswith(held_area)


def may_act(held: Held, area: str | None) -> bool:
    """May a person holding `held` see and act on `area` (a case's district, a broadcast's
    audience, a completeness read-out)?"""
    return any(covers(held_area, area) for _role, held_area in held)


def case_area(district_code: str | None, province_code: str | None) -> str | None:
    """The area a case belongs to: its district, or its province when it has none."""
    return district_code or province_code


def may_work(held: Held, report: Report) -> bool:
    """May a person holding `held` see and work `report`: officers their districts' cases,
    coordinators their provinces' (or all, national), admins all."""
    return may_act(held, case_area(report.district_code, report.province_code))


def may_address(held: Held, area: str) -> bool:
    """May they broadcast to `area`: coordinators their provinces or parts of them (national
    ones anywhere), officers their districts or parts of them, admins anywhere."""
    return may_act(held, area)


def may_broadcast(held: Held) -> bool:
    """May they compose broadcasts at all (to some area of theirs)."""
    return is_staff(held)


def may_author(held: Held, author_id: int | None, user_id: int | None) -> bool:
    """May they confirm or cancel a broadcast: its author, or an admin."""
    return (author_id is not None and author_id == user_id) or is_admin(held)


def visible_reports(held: Held) -> ColumnElement[bool]:
    """`may_work` as a filter on reports."""
    return case_clause(held, col(Report.district_code), col(Report.province_code))


def visible_broadcasts(held: Held) -> ColumnElement[bool]:
    """`may_address` as a filter on broadcasts."""
    return area_clause(held, col(Broadcast.area))


def is_staff(held: Held) -> bool:
    return len(held) > 0


def is_admin(held: Held) -> bool:
    return any(role == ADMIN for role, _area in held)


def areas(held: Held) -> tuple[str, ...]:
    """The areas a person acts on, each once, leaving out those inside another they hold (an
    officer of 5001 who coordinates 50 acts on 50): what read-outs show one by one."""
    codes = sorted({area for _role, area in held})
    if NATIONAL in codes:
        return (NATIONAL,)
    return tuple(a for a in codes if not any(b != a and covers(b, a) for b in codes))


def case_clause(held: Held, district: Any, province: Any) -> ColumnElement[bool]:
    """`may_act` for rows that carry a district and a province column (reports): true where
    the row's `case_area` is covered. Equality on the indexed columns, not a prefix match,
    because a row's province is always its district's first two digits."""
    tops = areas(held)
    if NATIONAL in tops:
        return true()
    districts = [a for a in tops if len(a) == 4]
    provinces = [a for a in tops if len(a) == 2]
    terms: list[ColumnElement[bool]] = []
    if districts:
        terms.append(district.in_(districts))
    if provinces:
        terms.append(province.in_(provinces))
    return or_(*terms) if terms else false()


def area_clause(held: Held, column: Any) -> ColumnElement[bool]:
    """`may_act` for rows that carry one area code of any level (a broadcast's area)."""
    tops = areas(held)
    if NATIONAL in tops:
        return true()
    terms = [column.startswith(a) for a in tops]
    return or_(*terms) if terms else false()
