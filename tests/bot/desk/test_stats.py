"""The desk's statistics and exports: the numbers of a few cases with known times (worked
through domain.cases.act with the clock moved), each table as CSV, the case list exported as
CSV and XLSX exactly as filtered, and nobody counting or exporting another district's cases."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
from pydantic import SecretStr
from sqlmodel import col, select

from domain import cases as case_work
from storage import cases, export
from storage.models import Report, ReportPhoto, User
from tests.bot.desk.test_auth import CSRF, _sign_in
from tests.support.clock import START
from tests.support.desk import link_from_chat, officer
from tests.support.platforms import Platforms

# Tuesday 10 March 2026, 09:00 in Bangkok: the first case's filing, in the week of 9 March.
T0 = START - dt.timedelta(days=10)


async def _user(p: Platforms, platform_user_id: str) -> User:
    async with p.core.sessions() as session:
        found = (
            await session.execute(
                select(User).where(col(User.platform_user_id) == platform_user_id)
            )
        ).scalar_one()
        session.expunge_all()
    return found


async def _file(p: Platforms, reference: str, district: str, category: str, urgency: str,
                photos: int = 0) -> int:  # fmt: skip
    """A problem filed now (the test's clock) by a villager of `district`."""
    async with p.core.sessions() as session, session.begin():
        reporter = User(platform="line", platform_user_id=f"Ur{reference}", display_name="ชาวบ้าน",
                        province_code=district[:2], district_code=district,
                        language="th", created_at=p.clock(), updated_at=p.clock())  # fmt: skip
        session.add(reporter)
        await session.flush()
        report = Report(reference=reference, kind="problem", reporter_id=reporter.id or 0,
                        province_code=district[:2], district_code=district,
                        subdistrict_code=f"{district}01", village_no=2,
                        problem_category=category, urgency=urgency, form_id="problem",
                        description="ทดสอบ", created_at=p.clock(),
                        updated_at=p.clock())  # fmt: skip
        session.add(report)
        await session.flush()
        for n in range(photos):
            session.add(ReportPhoto(report_id=report.id or 0, position=n, sha256="a" * 64,
                                    path=f"ab/{'a' * 63}{n}.png", content_type="image/png",
                                    size_bytes=10))  # fmt: skip
        return report.id or 0


async def _act(p: Platforms, actor: User, report_id: int, action: str) -> None:
    async with p.core.sessions() as session, session.begin():
        found = await session.get(User, actor.id)
        assert found is not None
        note = "เสร็จแล้ว" if action == "resolve" else None
        acted = await case_work.act(session, p.core.env(13), found, report_id, action, note=note)
        assert acted.outcome == "done", acted


async def _cases(p: Platforms) -> None:
    """Three cases in district 5001 (A resolved in 10 hours, answered in 2 and rated 4; B
    answered in 4, resolved, then reopened by its reporter; C never answered) and one in
    5002 (D, answered in 1 hour)."""
    ours = await _user(p, "Uofficer0000000000")
    theirs = await _user(p, "Uother000000000000")
    p.clock.now = T0
    a = await _file(p, "PRB-2569-000101", "5001", "flood", "very_urgent", photos=2)
    d = await _file(p, "PRB-2569-000104", "5002", "flood", "normal")
    p.clock.advance(hours=1)
    await _act(p, theirs, d, "ack")
    p.clock.advance(hours=1)
    await _act(p, ours, a, "ack")
    p.clock.now = T0 + dt.timedelta(hours=10)
    await _act(p, ours, a, "resolve")
    p.clock.now = T0 + dt.timedelta(days=1)
    b = await _file(p, "PRB-2569-000102", "5001", "drought", "normal")
    p.clock.advance(hours=4)
    await _act(p, ours, b, "progress")
    p.clock.advance(hours=24)
    await _act(p, ours, b, "resolve")
    p.clock.advance(hours=2)
    async with p.core.sessions() as session, session.begin():
        reporter = await session.get(User, (await session.get(Report, b)).reporter_id)  # type: ignore[union-attr]
        assert (await cases.change(session, b, "reopen", reporter, now=p.clock())).ok
        report_a = await session.get(Report, a)
        assert report_a is not None
        report_a.rating = 4
    p.clock.now = T0 + dt.timedelta(days=2)
    await _file(p, "PRB-2569-000103", "5001", "flood", "urgent")
    p.clock.now = START


def _table(text: str, name: str) -> list[list[str]]:
    """The rows of one table on the page, as text."""
    found = re.search(rf'<table[^>]*id="table-{name}".*?</table>', text, re.S)
    assert found is not None, name
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S)
    cell = re.compile(r"<t[dh]>(.*?)</t[dh]>", re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in cell.findall(row)] for row in rows]


def _figures(text: str) -> dict[str, str]:
    """The overview's figures on the page: label, value."""
    found = re.findall(r'<span class="label">(.*?)</span>\s*<strong>(.*?)</strong>', text, re.S)
    return {label.strip(): value.strip() for label, value in found}


async def _csv(p: Platforms, path: str) -> list[list[str]]:
    got = await p.client.get(path)
    assert got.status == 200, (path, got.status)
    assert got.content_type == "text/csv"
    body = await got.read()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_an_officer_reads_the_numbers_of_their_district(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p)
    await officer(p, "Uother000000000000", area="5002", name="ปลัดจอมทอง")
    await _cases(p)
    await _sign_in(p, await link_from_chat(p, who))
    text = await (await p.client.get("/desk/stats")).text()
    # The overview's figures, and each table's numbers, are on the page and in a CSV alike.
    rows = await _csv(p, "/desk/stats.csv?table=summary")
    figures = {row[0]: row[1] for row in rows[1:]}
    assert figures["จำนวนเรื่อง"] == "3"
    assert figures["ยังไม่ปิด"] == "2"
    assert figures["เกินเวลา"] == "2"  # B (reopened, waiting again) and C, never answered
    assert figures["ค่ากลางเวลาถึงการตอบรับครั้งแรก (ชม.)"] == "3.0"  # 2 and 4 hours
    assert figures["ค่ากลางเวลาถึงแก้ไขเสร็จ (ชม.)"] == "10.0"  # A; B is open again
    assert figures["คะแนนความพึงพอใจเฉลี่ย"] == "4.0"
    assert figures["เรื่องที่ถูกเปิดใหม่"] == "1"
    shown = _figures(text)
    assert shown["จำนวนเรื่อง"] == "3" and shown["ค่ากลางเวลาถึงแก้ไขเสร็จ (ชม.)"] == "10.0"
    assert _table(text, "status")[1:] == [["รอรับเรื่อง", "2"], ["เสร็จสิ้น", "1"]]
    status = await _csv(p, "/desk/stats.csv?table=status")
    assert status[1:] == [["รอรับเรื่อง", "2"], ["เสร็จสิ้น", "1"]]
    category = {row[0]: row[1] for row in (await _csv(p, "/desk/stats.csv?table=category"))[1:]}
    assert category == {"น้ำท่วม": "2", "ภัยแล้ง / ขาดน้ำ": "1"}
    ratings = {row[0]: row[1] for row in (await _csv(p, "/desk/stats.csv?table=ratings"))[1:]}
    assert ratings == {"★": "0", "★★": "0", "★★★": "0", "★★★★": "1", "★★★★★": "0"}
    # Over time: the week starting Monday 9 March holds all three; the week after, none.
    weeks = await _csv(p, "/desk/stats.csv?table=time&by=category")
    assert weeks[0][0] == "สัปดาห์ที่เริ่ม" and weeks[0][-1] == "รวม"
    by_week = {row[0]: row for row in weeks[1:]}
    assert by_week["2026-03-09"][-1] == "3" and by_week["2026-03-16"][-1] == "0"
    assert len(weeks) == 1 + 12  # twelve weeks by default
    months = await _csv(p, "/desk/stats.csv?table=time&unit=month&by=category")
    head = months[0]
    march = next(row for row in months if row[0] == "2026-03")
    assert march[head.index("น้ำท่วม")] == "2" and march[head.index("ภัยแล้ง / ขาดน้ำ")] == "1"
    # Filters narrow the numbers as they do the case list.
    narrowed = await _csv(p, "/desk/stats.csv?table=summary&category=drought")
    assert narrowed[1][1] == "1"
    assert (await _csv(p, "/desk/stats.csv?table=summary&since=2026-03-12"))[1][1] == "1"
    # By area: an officer's subdistricts; within a subdistrict, its villages.
    area = await _csv(p, "/desk/stats.csv?table=area")
    place = p.core.areas.subdistrict("500101").name("th")  # type: ignore[union-attr]
    assert area == [["ตำบล", "จำนวนเรื่อง"], [place, "3"]]
    area = await _csv(p, "/desk/stats.csv?table=area&area=500101")
    assert area[1:] == [[f"{place} 2", "3"]]
    # An officer compares no districts.
    assert 'id="table-districts"' not in text
    assert (await p.client.get("/desk/stats.csv?table=districts")).status == 404


async def test_a_coordinator_compares_districts_and_the_other_district_sees_only_its_own(
    platforms: Platforms,
) -> None:
    p = platforms
    await officer(p)
    other = await officer(p, "Uother000000000000", area="5002", name="ปลัดจอมทอง")
    boss = await officer(p, "Ucoordinator000000", area="50", role="coordinator", name="ผู้ประสาน")
    await _cases(p)
    await _sign_in(p, await link_from_chat(p, boss))
    rows = await _csv(p, "/desk/stats.csv?table=districts")
    by_name = {row[0]: row for row in rows[1:]}
    mueang = p.core.areas.district("5001").name("th")  # type: ignore[union-attr]
    second = p.core.areas.district("5002").name("th")  # type: ignore[union-attr]
    assert by_name[mueang][1:4] == ["3", "2", "2"]  # cases, open, overdue
    assert by_name[mueang][4:7] == ["3.0", "10.0", "4.0"]
    assert by_name[second][1:5] == ["1", "1", "0", "1.0"]
    page = await (await p.client.get("/desk/stats")).text()
    assert 'id="table-districts"' in page and 'id="chart-time"' in page
    areas = {row[0]: row[1] for row in (await _csv(p, "/desk/stats.csv?table=area"))[1:]}
    assert areas == {mueang: "3", second: "1"}

    # The other district's officer counts its one case, never ours.
    p.client.session.cookie_jar.clear()
    await _sign_in(p, await link_from_chat(p, other))
    figures = {r[0]: r[1] for r in (await _csv(p, "/desk/stats.csv?table=summary"))[1:]}
    assert figures["จำนวนเรื่อง"] == "1"
    export = await (await p.client.get("/desk/cases.csv")).read()
    assert b"PRB-2569-000104" in export and b"PRB-2569-000101" not in export
    asked_ours = await (await p.client.get("/desk/cases.csv?area=5001")).read()
    assert b"PRB-2569-0001" not in asked_ours


async def test_the_case_list_exports_what_it_shows(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p)
    await officer(p, "Uother000000000000", area="5002", name="ปลัดจอมทอง")
    await _cases(p)
    await _sign_in(p, await link_from_chat(p, who))
    listed = await (await p.client.get("/desk/?category=flood")).text()
    assert 'href="/desk/cases.csv?category=flood"' in listed
    rows = await _csv(p, "/desk/cases.csv?category=flood")
    header = rows[0]
    assert header == export.headers(lambda key: p.core.i18n.t("th", key))
    refs = [row[0] for row in rows[1:]]
    assert refs == ["PRB-2569-000101", "PRB-2569-000103"]  # flood, ours; not D (5002)
    a = dict(zip(header, rows[1], strict=True))
    # Photos as their number while the server has no public address: never a path.
    assert "2" in a.values() and not any("ab/" in value for value in a.values())
    assert any(value == "2026-03-10 09:00" for value in a.values())  # filed, local time

    got = await p.client.get("/desk/cases.xlsx?category=flood")
    assert got.status == 200 and "attachment" in got.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await got.read()))
    sheet = book.active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert [row[0] for row in cells[1:]] == ["PRB-2569-000101", "PRB-2569-000103"]
    assert cells[0] == header
    created = cells[1][header.index(next(h for h in header if a[h] == "2026-03-10 09:00"))]
    assert created == dt.datetime(2026, 3, 10, 9, 0)  # a date cell, in local time

    # With a public address and a key, photos are signed links.
    p.core.settings.public_url = "https://desk.example"
    p.core.settings.secret_key = SecretStr("k")
    rows = await _csv(p, "/desk/cases.csv?q=000101")
    assert len(rows) == 2 and "https://desk.example/media/" in ",".join(rows[1])

    # In the viewer's language: English once they choose it.
    token = CSRF.search(listed)
    assert token is not None
    await p.client.post("/desk/language", data={"csrf": token.group(1), "lang": "en"})
    english = await _csv(p, "/desk/cases.csv?q=000101")
    assert english[0] == export.headers(lambda key: p.core.i18n.t("en", key))
    assert "Chiang Mai" in english[1] and "done" in english[1]
