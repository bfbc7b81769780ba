"""The desk's map of cases and its completeness page, over HTTP: the map's data holds only what
the viewer may see, compact, filtered like the list, counted per grid cell past a cap; the
completeness page puts a village that went silent during an open very urgent case first."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from storage import desk_map
from storage.models import Report, User
from tests.bot.desk.test_auth import CSRF, _sign_in
from tests.bot.test_alerts import _urgent_problem
from tests.support.desk import link_from_chat, officer
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms

CASE = "PRB-2569-000001"
PLACE = [18.7953, 98.9523]  # where _urgent_problem's villager sends the problem from


async def _cases(p: Platforms, query: str = "") -> dict[str, object]:
    answer = await p.client.get(f"/desk/map/cases.json{query}")
    assert answer.status == 200 and answer.content_type == "application/json"
    found: dict[str, object] = await answer.json()
    return found


async def add_reports(
    p: Platforms, subdistrict: str, places: list[tuple[float, float] | None], *,
    kind: str = "problem", start: int = 100, status: str = "received",
    urgency: str | None = "urgent", village: int = 1, when: dt.datetime | None = None,
) -> None:  # fmt: skip
    """Reports filed straight into the database (many of them, faster than by chat)."""
    now = when or p.core.clock()
    async with p.core.sessions() as session, session.begin():
        user = User(platform="line", platform_user_id=f"Ubulk{subdistrict}{start}",
                    role="village_head", consent_at=now, province_code=subdistrict[:2],
                    district_code=subdistrict[:4], subdistrict_code=subdistrict,
                    village_no=village)  # fmt: skip
        session.add(user)
        await session.flush()
        for n, place in enumerate(places, start):
            prefix = "PRB" if kind == "problem" else "ACT"
            session.add(Report(
                reference=f"{prefix}-2569-{n:06d}", kind=kind, reporter_id=user.id or 0,
                province_code=subdistrict[:2], district_code=subdistrict[:4],
                subdistrict_code=subdistrict, village_no=village, form_id=kind,
                status=status if kind == "problem" else "received",
                urgency=urgency if kind == "problem" else None,
                latitude=place[0] if place else None, longitude=place[1] if place else None,
                created_at=now, updated_at=now,
            ))  # fmt: skip


async def test_the_map_shows_an_officers_cases_compactly_and_filtered(
    platforms: Platforms,
) -> None:
    p = platforms
    who = await officer(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    await add_reports(p, "500108", [None, None], start=50)  # their district, no place sent
    await _sign_in(p, await link_from_chat(p, who))

    shown = await p.client.get("/desk/map?status=open")
    page = await shown.text()
    assert shown.status == 200 and 'id="cases-map"' in page
    assert "leaflet.markercluster.js" in page and "tile.openstreetmap.org" in page
    assert "OpenStreetMap" in page  # the attribution
    assert '<option value="open" selected>' in page  # the list's filters, kept
    found = await _cases(p)
    assert found["cases"] == [[CASE, *PLACE, "received", "very_urgent"]]
    assert found["fields"] == ["reference", "lat", "lon", "status", "urgency"]
    assert found["clustered"] is False and found["located"] == 1
    assert found["unlocated"] == 2 and "2 เรื่องไม่มีตำแหน่ง" in str(found["note"])
    # The list's filters, the same parsing.
    assert (await _cases(p, "?urgency=very_urgent&area=500108&village=3"))["located"] == 1
    assert (await _cases(p, "?status=resolved"))["cases"] == []
    assert (await _cases(p, "?area=500108&village=4"))["cases"] == []
    assert (await _cases(p, "?q=000001"))["unlocated"] == 0
    # A box in view that leaves the case out.
    assert (await _cases(p, "?bbox=100,10,101,11&zoom=9"))["cases"] == []
    assert (await _cases(p, "?bbox=98,18,99,19&zoom=9"))["located"] == 1


async def test_another_districts_officer_gets_none_of_these_cases(
    platforms: Platforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = platforms
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    await add_reports(p, "500108", [(18.8, 98.9)] * 5 + [None])
    other = await officer(p, "Uother000000000000", area="5002", name="ปลัดแม่ริม")
    await _sign_in(p, await link_from_chat(p, other))
    for query in ("", "?status=open", "?area=5001", "?area=500108&village=3", "?q=PRB",
                  "?bbox=-180,-90,180,90&zoom=3"):  # fmt: skip
        found = await _cases(p, query)
        assert found["cases"] == [] and found["located"] == 0 and found["unlocated"] == 0
    monkeypatch.setattr(desk_map, "POINT_CAP", 0)  # grid cells: none either
    found = await _cases(p)
    assert found["located"] == 0 and found.get("cells", []) == [] and "cases" in found
    page = await (await p.client.get("/desk/completeness")).text()
    assert "สุเทพ" not in page  # their district has no villages to count


async def test_over_the_cap_the_server_counts_cases_per_grid_cell(
    platforms: Platforms, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = platforms
    who = await officer(p)
    # 12 cases near Chiang Mai's old city, 8 near Doi Suthep (0.1° apart), 3 without a place;
    # 4 in another district that this officer may not see.
    await add_reports(p, "500101", [(18.79 + i * 1e-4, 98.99) for i in range(12)], start=100)
    await add_reports(p, "500108", [(18.80, 98.89 + i * 1e-4) for i in range(8)], start=200,
                      urgency="very_urgent")  # fmt: skip
    await add_reports(p, "500108", [None] * 3, start=300)
    await add_reports(p, "500201", [(18.9, 98.9)] * 4, start=400)
    await _sign_in(p, await link_from_chat(p, who))
    assert len((await _cases(p))["cases"]) == 20  # type: ignore[arg-type]

    monkeypatch.setattr(desk_map, "POINT_CAP", 10)
    found = await _cases(p, "?zoom=6")  # cells of 1.4°: one
    assert found["clustered"] is True and "cases" not in found
    assert found["fields"] == ["lat", "lon", "count", "urgent"]
    assert found["cells"] == [[pytest.approx(18.794, abs=1e-3), pytest.approx(98.95, abs=1e-2),
                               20, 8]]  # fmt: skip
    assert found["located"] == 20 and found["unlocated"] == 3
    found = await _cases(p, "?zoom=12")  # cells of 0.022°: the two groups apart
    cells = sorted(found["cells"], key=lambda c: c[2])  # type: ignore[arg-type]
    assert [c[2:] for c in cells] == [[8, 8], [12, 0]]
    # Zoomed into one group: under the cap again, its points.
    found = await _cases(p, "?zoom=15&bbox=98.88,18.79,98.9,18.81")
    assert found["clustered"] is False and len(found["cases"]) == 8  # type: ignore[arg-type]
    assert found["located"] == 8 and found["unlocated"] == 3
    # The filters narrow the cells too.
    found = await _cases(p, "?zoom=6&urgency=very_urgent")
    assert found["clustered"] is False and len(found["cases"]) == 8  # type: ignore[arg-type]


async def test_completeness_puts_a_silent_village_with_a_very_urgent_case_first(
    platforms: Platforms,
) -> None:
    p = platforms
    who = await officer(p)
    # ม.3 สุเทพ: registered, a very urgent case open, no activity report this week.
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    # ม.1 ศรีภูมิ: reported an activity this week (from a place); ม.2 ศรีภูมิ: silent, no case.
    await add_reports(p, "500101", [(18.79, 98.99)], kind="activity", start=500, village=1)
    last_month = p.core.clock() - dt.timedelta(days=30)  # ม.2 reported, not this week
    await add_reports(p, "500101", [None], kind="activity", start=600, village=2, when=last_month)
    await _sign_in(p, await link_from_chat(p, who))

    answer = await p.client.get("/desk/completeness")
    page = await answer.text()
    assert answer.status == 200
    assert "2/3 หมู่บ้าน" not in page and "1/3 หมู่บ้าน" in page  # the district's total
    rows = page.split('<table class="cases" id="villages">')[1].split("<tr")[2:]
    assert 'class="alarming"' in rows[0] and "หมู่ 3 ต.สุเทพ" in rows[0]
    assert "มีเรื่องด่วนมากค้างอยู่ 1 เรื่อง" in rows[0]
    assert "/desk/?status=open&amp;urgency=very_urgent&amp;area=500108&amp;village=3" in rows[0]
    assert 'class="silent"' in rows[1] and "หมู่ 2 ต.ศรีภูมิ" in rows[1]
    assert 'class="reported"' in rows[2] and "หมู่ 1 ต.ศรีภูมิ" in rows[2]
    # On the map: ม.3 (its case's place) and ม.1; ม.2 sent no place: said, not drawn.
    points = json.loads(page.split('id="village-points">')[1].split("</script>")[0])
    assert sorted((state, label) for _lat, _lon, state, label in points) == [
        ("alarming", "หมู่ 3 ต.สุเทพ"), ("reported", "หมู่ 1 ต.ศรีภูมิ")]  # fmt: skip
    assert [18.79, 98.99, "reported", "หมู่ 1 ต.ศรีภูมิ"] in points
    assert "1 หมู่บ้านยังไม่ทราบตำแหน่ง" in page

    await p.client.post("/desk/language", data={"lang": "en", "csrf": _token(page)})
    english = await (await p.client.get("/desk/completeness")).text()
    assert "Activity reports this week" in english and "very urgent cases open: 1" in english


def _token(page: str) -> str:
    found = CSRF.search(page)
    assert found is not None
    return found.group(1)
