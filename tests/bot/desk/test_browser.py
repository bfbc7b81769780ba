"""The desk in a real browser (Playwright driving Debian's Chromium, with Thai fonts): an
officer signs in from the link the bot sent, filters the list, opens a case (its photos, its
place on a map whose tiles are intercepted), acts on it, and the reporter's notice arrives on
the fake LINE. Skipped, with the reason, where Chromium or Playwright is missing
(`apt-get install chromium fonts-thai-tlwg`; `.ci/run` installs them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot.test_alerts import _urgent_problem
from tests.support.desk import link_from_chat, officer
from tests.support.fake_line import LineEvents
from tests.support.images import png_bytes
from tests.support.platforms import Platforms, line_texts

CHROMIUM = os.environ.get("FIELDBOT_CHROMIUM") or shutil.which("chromium") or ""
CASE = "PRB-2569-000001"
TILE = png_bytes(256, 256, (230, 230, 230))
# FIELDBOT_DESK_SCREENSHOTS=docs/desk writes the pages' screenshots there (the README's).
SHOTS = os.environ.get("FIELDBOT_DESK_SCREENSHOTS")

playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright is not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="no Chromium: apt-get install chromium fonts-thai-tlwg (.ci/run does)"
)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _page(browser: Any, p: Platforms, locale: str = "th-TH") -> Any:
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    # Map tiles come from the internet in production; here every tile is one grey square.
    await page.route("https://tile.openstreetmap.org/**",
                     lambda route: route.fulfill(body=TILE, content_type="image/png"))  # fmt: skip
    return page


async def _shot(page: Any, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def test_an_officer_signs_in_filters_opens_and_acts(
    platforms: Platforms, browser: Any
) -> None:
    p = platforms
    who = await officer(p)
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photos=2, phone="0812345678")
    link = await link_from_chat(p, who)
    page = await _page(browser, p)
    await page.goto(str(p.client.make_url(link)))
    await page.click("#sign-in")
    await page.wait_for_url("**/desk/")
    assert CASE in await page.inner_text("#results")
    await _shot(page, "cases")

    # A filter swaps the table in place (htmx) and the address keeps it.
    await page.select_option("select[name=status]", "resolved")
    await page.wait_for_function("!document.querySelector('#results').innerText.includes('PRB')")
    assert "status=resolved" in page.url
    await page.select_option("select[name=status]", "open")
    await page.wait_for_selector(f"text={CASE}")

    await page.click(f"text={CASE}")
    await page.wait_for_url(f"**/desk/cases/{CASE}")
    assert "0812345678" in await page.inner_text("main")
    assert await page.locator(".photos img").count() == 2
    assert await page.evaluate("document.querySelector('.photos img').naturalWidth") > 0
    await page.wait_for_selector(".leaflet-marker-icon")  # the place, on the map
    await _shot(page, "case")

    since = len(p.line.calls)
    await page.fill("#act-progress textarea[name=note]", "ทีมช่างออกไปดูแล้วค่ะ")
    await page.click("#act-progress button")
    await page.wait_for_selector("#outcome")
    assert "กำลังดำเนินการ" in await page.inner_text("#status")
    assert "ทีมช่างออกไปดูแล้วค่ะ" in await page.inner_text(".timeline")
    await p.deliver()
    told = line_texts(p, villager.user_id, since)
    assert any("ทีมช่างออกไปดูแล้วค่ะ" in t for t in told), told


async def test_the_desk_in_english_on_a_phone(platforms: Platforms, browser: Any) -> None:
    p = platforms
    who = await officer(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    page = await _page(browser, p, locale="en-US")
    await page.set_viewport_size({"width": 390, "height": 800})  # a phone, LINE's browser
    await page.goto(str(p.client.make_url(await link_from_chat(p, who))))
    assert "Sign in" in await page.inner_text("#sign-in")  # the browser's language
    await page.click("#sign-in")
    await page.wait_for_url("**/desk/")
    await page.click("button[name=lang][value=en]")
    await page.wait_for_selector("text=Cases")
    assert "Flood" in await page.inner_text("#results")
    assert "Very urgent" in await page.inner_text("#results")
    await _shot(page, "cases-phone-en")
    await page.click("text=Sign out")
    await page.wait_for_selector("text=You are signed out.")
    assert await page.locator("text=Sign out").count() == 0
    await page.goto(str(p.client.make_url("/desk/")))
    assert "Sign in" in await page.inner_text("h1")
