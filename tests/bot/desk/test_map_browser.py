"""The map of cases and the completeness page in a real browser (the fixtures and the reason
they skip are test_browser.py's): markers and clusters appear, a marker's popup opens its case,
the filters redraw the map, the server's grid cells show past the cap; the completeness table
puts a silent village with an open very urgent case first, highlighted; in Thai and, on a
phone, in English."""

from __future__ import annotations

from typing import Any

import pytest

from storage import desk_map
from tests.bot.desk.test_browser import CHROMIUM, _page, _shot, browser
from tests.bot.desk.test_map import add_reports
from tests.bot.test_alerts import _urgent_problem
from tests.support.desk import link_from_chat, officer
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms

__all__ = ["browser"]  # the fixture, shared

CASE = "PRB-2569-000001"

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="no Chromium: apt-get install chromium fonts-thai-tlwg (.ci/run does)"
)


# One cluster (of 3) and one marker, the zoom animation over.
SETTLED = (
    "document.querySelectorAll('.marker-cluster').length === 1 && "
    "document.querySelectorAll('.leaflet-marker-icon.case-marker').length === 1 && "
    "!document.querySelector('.leaflet-zoom-anim')"
)


STILL = "!document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim')"


async def _click_marker(page: Any, reference: str) -> None:
    """Click a case's marker once the map has stopped moving (a click on a marker that an
    animation is carrying away lands on the map instead)."""
    await page.wait_for_function(STILL)
    await page.wait_for_timeout(300)  # Leaflet's last animation frame
    await page.click(f".leaflet-marker-icon[title='{reference}']")


async def _signed_in(p: Platforms, browser: Any, locale: str = "th-TH") -> Any:
    who = await officer(p)
    page = await _page(browser, p, locale=locale)
    await page.goto(str(p.client.make_url(await link_from_chat(p, who))))
    await page.click("#sign-in")
    await page.wait_for_url("**/desk/")
    return page


async def test_the_map_shows_clustered_markers_and_a_click_opens_the_case(
    platforms: Platforms, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = platforms
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    # Three urgent cases at one spot in ดอยสุเทพ, some 7 km away, and one with no place.
    await add_reports(p, "500108", [(18.80, 98.89)] * 3 + [None])
    page = await _signed_in(p, browser)
    await page.click("text=แผนที่")
    await page.wait_for_url("**/desk/map")
    await page.wait_for_selector(".leaflet-marker-icon.case-marker")  # fitted to the cases
    # The map fits itself to the cases with an animation: clusters split while it zooms.
    await page.wait_for_function(SETTLED)
    assert await page.locator(".marker-cluster").count() == 1
    assert "3" in await page.inner_text(".marker-cluster")
    assert await page.locator(".leaflet-marker-icon.case-marker").count() == 1
    assert await page.locator(".urgency-very_urgent.status-received").count() == 1
    assert "บนแผนที่ 4 เรื่อง" in await page.inner_text("#shown")
    assert "1 เรื่องไม่มีตำแหน่ง" in await page.inner_text("#unlocated")
    assert "OpenStreetMap" in await page.inner_text(".leaflet-control-attribution")
    assert "สีของจุด: สถานะ" in await page.inner_text("#legend")
    await _shot(page, "map")

    # A filter redraws the map (and the address keeps it).
    await page.click(".map-filters summary")
    await page.select_option("select[name=urgency]", "very_urgent")
    await page.wait_for_function("!document.querySelector('.marker-cluster')")
    assert "urgency=very_urgent" in page.url
    assert await page.locator(".leaflet-marker-icon").count() == 1

    # A click on the marker opens its popup, and the popup the case.
    await _click_marker(page, CASE)
    await page.wait_for_selector(".case-popup")
    assert "รอรับเรื่อง · ด่วนมาก" in await page.inner_text(".case-popup")
    await page.click(".case-popup .open-case")
    await page.wait_for_url(f"**/desk/cases/{CASE}")

    # Past the cap, the server counts per grid cell; a click on a cell zooms in.
    monkeypatch.setattr(desk_map, "POINT_CAP", 1)
    await page.goto(str(p.client.make_url("/desk/map")))
    await page.wait_for_selector(".server-cell")
    counts = await page.locator(".server-cell").all_inner_texts()
    assert sum(int(n) for n in counts) == 4, counts
    assert await page.locator(".server-cell.has-urgent").count() >= 1


async def test_completeness_highlights_a_silent_village_with_a_very_urgent_case(
    platforms: Platforms, browser: Any
) -> None:
    p = platforms
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    await add_reports(p, "500101", [(18.79, 98.99)], kind="activity", start=500, village=1)
    page = await _signed_in(p, browser)
    await page.click("text=การรายงาน")
    await page.wait_for_url("**/desk/completeness")
    first = page.locator("#villages tbody tr").first
    assert "หมู่ 3 ต.สุเทพ" in await first.inner_text()
    assert await first.get_attribute("class") == "alarming"
    colour = await first.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), colour
    assert "มีเรื่องด่วนมากค้างอยู่ 1 เรื่อง" in await first.inner_text()
    assert "1/2 หมู่บ้าน" in await page.inner_text("#districts")
    await page.wait_for_selector("path.village-alarming")  # on the map too
    assert await page.locator("path.village-reported").count() == 1
    await _shot(page, "completeness")
    await first.locator("a.alarm").click()  # to the village's open very urgent cases
    await page.wait_for_selector(f"text={CASE}")


async def test_the_map_and_completeness_in_english_on_a_phone(
    platforms: Platforms, browser: Any
) -> None:
    p = platforms
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    page = await _signed_in(p, browser, locale="en-US")
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.click("button[name=lang][value=en]")
    await page.wait_for_selector("text=Cases")
    await page.click("text=Map")
    await page.wait_for_selector(".leaflet-marker-icon.case-marker")
    assert "Cases on the map: 1" in await page.inner_text("#shown")
    assert "Ring: urgency" in await page.inner_text("#legend")
    box = await page.locator("#cases-map").bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] >= 300
    await _click_marker(page, CASE)
    assert "waiting · Very urgent" in await page.inner_text(".case-popup")
    await _shot(page, "map-phone-en")
    await page.click("text=Reporting")
    await page.wait_for_selector("text=Activity reports this week")
    first = page.locator("#villages tbody tr").first
    assert "Village 3, Suthep" in await first.inner_text()
    assert "very urgent cases open: 1" in await first.inner_text()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # no sideways scrolling on a phone
