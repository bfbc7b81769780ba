"""The statistics page in a real browser (Chromium through Playwright, as test_browser.py):
each chart is drawn by the vendored Chart.js from the same numbers as the table beside it, in
Thai on a desktop and in English on a phone."""

from __future__ import annotations

from typing import Any

from tests.bot.desk.test_browser import _page, _shot, browser, pytestmark
from tests.bot.desk.test_stats import _cases
from tests.support.desk import link_from_chat, officer
from tests.support.platforms import Platforms

__all__ = ["browser", "pytestmark"]  # the fixture and the skip without Chromium, shared

CHART = """name => {
  const chart = Chart.getChart(document.getElementById('chart-' + name));
  return chart && {labels: chart.data.labels, data: chart.data.datasets.map(d => d.data),
                   width: chart.width};
}"""
TABLE = """name => [...document.querySelectorAll('#table-' + name + ' tbody tr')]
  .map(tr => [...tr.cells].map(td => td.innerText.trim()))"""


async def _chart(page: Any, name: str) -> dict[str, Any]:
    await page.wait_for_function(f"!!Chart.getChart(document.getElementById('chart-{name}'))")
    found: dict[str, Any] = await page.evaluate(CHART, name)
    return found


async def test_a_coordinator_reads_the_charts_in_thai(platforms: Platforms, browser: Any) -> None:
    p = platforms
    await officer(p)
    await officer(p, "Uother000000000000", area="5002", name="ปลัดจอมทอง")
    boss = await officer(p, "Ucoordinator000000", area="50", role="coordinator", name="ผู้ประสาน")
    await _cases(p)
    page = await _page(browser, p)
    await page.goto(str(p.client.make_url(await link_from_chat(p, boss))))
    await page.click("#sign-in")
    await page.wait_for_url("**/desk/")
    await page.click("text=สถิติ")
    await page.wait_for_url("**/desk/stats")
    category = await _chart(page, "category")
    rows = await page.evaluate(TABLE, "category")
    assert category["labels"] == [row[0] for row in rows] == ["น้ำท่วม", "ภัยแล้ง / ขาดน้ำ"]
    assert category["data"] == [[int(row[1]) for row in rows]] == [[3, 1]]
    assert category["width"] > 0  # drawn
    status = await _chart(page, "status")
    assert dict(zip(status["labels"], status["data"][0], strict=True)) == {
        "รอรับเรื่อง": 2, "รับเรื่องแล้ว": 1, "เสร็จสิ้น": 1,
    }  # fmt: skip
    weekly = await _chart(page, "time")
    assert sum(sum(series) for series in weekly["data"]) == 4 and len(weekly["labels"]) == 12
    districts = await page.evaluate(TABLE, "districts")
    assert sorted(row[1] for row in districts) == ["1", "3"]  # a row per district
    await _shot(page, "stats")

    # Monthly, split by category: the address keeps the choice, the chart follows.
    await page.select_option("select[name=unit]", "month")
    await page.select_option("select[name=by]", "category")
    await page.click("#stats-filters button[type=submit]")
    await page.wait_for_url("**/desk/stats?*unit=month*")
    monthly = await _chart(page, "time")
    march = monthly["labels"].index("2026-03")
    assert sorted(series[march] for series in monthly["data"]) == [1, 3]


async def test_the_statistics_in_english_on_a_phone(platforms: Platforms, browser: Any) -> None:
    p = platforms
    who = await officer(p)
    await officer(p, "Uother000000000000", area="5002", name="ปลัดจอมทอง")
    await _cases(p)
    page = await _page(browser, p, locale="en-US")
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto(str(p.client.make_url(await link_from_chat(p, who))))
    await page.click("#sign-in")
    await page.wait_for_url("**/desk/")
    await page.click("button[name=lang][value=en]")
    await page.wait_for_selector("text=Statistics")
    await page.click("text=Statistics")
    await page.wait_for_selector("h1:has-text('Case statistics')")
    status = await _chart(page, "status")
    assert dict(zip(status["labels"], status["data"][0], strict=True)) == {"waiting": 2, "done": 1}
    rows = await page.evaluate(TABLE, "status")
    assert [row[0] for row in rows] == status["labels"]
    assert "Median time to resolve (hours)" in await page.inner_text("#summary")
    assert await page.locator("#table-districts").count() == 0  # an officer compares none
    await _shot(page, "stats-phone-en")
