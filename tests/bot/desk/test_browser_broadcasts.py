"""Broadcasts on the desk in a real browser: a coordinator picks roles and an area and sees
the audience per platform change (htmx), writes, previews, sends, and the delivery row turns
to "sent" by itself (htmx polling) once the fake platforms have taken the messages. In Thai on
a desktop, and in English on a phone. Skipped like tests/bot/desk/test_browser.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.desk.test_browser import CHROMIUM, _page, _shot, browser
from tests.bot.test_broadcasts import _people
from tests.support.desk import link_from_chat
from tests.support.platforms import Platforms, join_as_staff

pytest.importorskip("playwright.async_api", reason="Playwright is not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="no Chromium: apt-get install chromium fonts-thai-tlwg (.ci/run does)"
)
__all__ = ["browser"]  # the fixture, shared with test_browser.py

TEXT = "ประชุมประจำเดือนวันจันทร์ 9 โมง ที่ว่าการอำเภอ"


async def _audience(p: Platforms) -> None:
    await _people(p.core, 3)  # village heads of 5001, on LINE
    await _people(p.core, 2, platform="telegram", role="volunteer", district_code="5002",
                  subdistrict_code="500201", prefix="tg")  # fmt: skip
    await _people(p.core, 1, role=None, staff=[("officer", "5001")], prefix="off")


async def _signed_in(browser: Any, p: Platforms, locale: str) -> Any:
    coordinator = await join_as_staff(p)
    page = await _page(browser, p, locale=locale)
    await page.goto(str(p.client.make_url(await link_from_chat(p, coordinator))))
    await page.click("#sign-in")
    await page.wait_for_url("**/desk/")
    return page


async def test_a_coordinator_composes_previews_sends_and_follows_it(
    platforms: Platforms, browser: Any
) -> None:
    p = platforms
    await _audience(p)
    page = await _signed_in(browser, p, "th-TH")
    await page.click("nav >> text=ประกาศ")
    await page.wait_for_url("**/desk/broadcasts")
    assert "ยังไม่มีประกาศ" in await page.inner_text("main")
    await page.click("#new-broadcast")
    await page.wait_for_url("**/desk/broadcasts/new")
    assert "เลือกกลุ่มผู้รับ" in await page.inner_text("#audience")

    # The counts follow the choice of roles and area, before anything is written.
    await page.check("input[name=roles][value=reporter]")
    await page.wait_for_selector("#audience >> text=รวม 5 คน")
    assert "LINE: 3 คน" in await page.inner_text("#audience")
    assert "Telegram: 2 คน" in await page.inner_text("#audience")
    await page.select_option("select[name=area]", "5001")
    await page.wait_for_selector("#audience >> text=รวม 3 คน")
    await page.check("input[name=roles][value=officer]")
    await page.wait_for_selector("#audience >> text=รวม 4 คน")
    await page.select_option("select[name=area]", "50")
    await page.wait_for_selector("#audience >> text=รวม 6 คน")
    await page.uncheck("input[name=roles][value=officer]")
    await page.wait_for_selector("#audience >> text=รวม 5 คน")
    assert not await page.is_visible("input[name=send_date]")  # until "later" is chosen
    await page.check("input[name=when][value=later]")
    assert await page.is_visible("input[name=send_date]")
    await page.check("input[name=when][value=now]")
    await page.fill("textarea[name=text]", TEXT)
    await _shot(page, "broadcast-new")

    await page.click("#preview")
    await page.wait_for_url("**/desk/broadcasts/1")
    assert TEXT in await page.inner_text("#message")
    assert "LINE: 3 คน" in await page.inner_text("#audience")
    await _shot(page, "broadcast-preview")
    assert p.line.calls == [] or not any(
        c.path == "/v2/bot/message/multicast" for c in p.line.calls
    )

    await page.click("#send")
    await page.wait_for_selector("#outcome")
    assert "กำลังส่ง" in await page.inner_text("#broadcast-1 .state")
    await p.deliver()
    # The row refreshes itself (htmx polling) and reaches "sent".
    await page.wait_for_selector("#broadcast-1 >> text=ส่งครบแล้ว", timeout=10_000)
    assert await page.inner_text("#broadcast-1 .sent") == "5"
    multicast = [c for c in p.line.calls if c.path == "/v2/bot/message/multicast"]
    assert len(multicast) == 1 and multicast[0].body["messages"][0]["text"] == TEXT
    assert sum(c.method == "sendMessage" and c.params.get("text") == TEXT
               for c in p.telegram.calls) == 2  # fmt: skip
    await page.click("nav >> text=ประกาศ")
    await page.wait_for_selector("#broadcast-1 >> text=ส่งครบแล้ว")
    await _shot(page, "broadcasts")


async def test_broadcasts_in_english_on_a_phone(platforms: Platforms, browser: Any) -> None:
    p = platforms
    await _audience(p)
    page = await _signed_in(browser, p, "en-US")
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.click("button[name=lang][value=en]")
    await page.wait_for_selector("text=Cases")
    await page.goto(str(p.client.make_url("/desk/broadcasts/new")))
    await page.check("input[name=roles][value=village_head]")
    await page.wait_for_selector("#audience >> text=In all: 3")
    assert "LINE: 3" in await page.inner_text("#audience")
    await page.fill("textarea[name=text]", "Health check tomorrow")
    await page.check("input[name=when][value=later]")
    today = p.clock.now.astimezone(p.core.settings.tz).date()
    await page.fill("input[name=send_date]", today.replace(year=today.year - 1).isoformat())
    await page.fill("input[name=send_time]", "09:00")
    # The browser's own check (min date) would stop it; the server's is what counts here.
    await page.eval_on_selector("#compose", "f => f.noValidate = true")
    await page.click("#preview")
    await page.wait_for_selector("#errors")
    assert "That time has passed" in await page.inner_text("#errors")
    await page.fill("input[name=send_date]", today.isoformat())
    await page.fill("input[name=send_time]", "23:30")
    await page.click("#preview")
    await page.wait_for_url("**/desk/broadcasts/1")
    assert "Health check tomorrow" in await page.inner_text("#message")
    await _shot(page, "broadcast-preview-phone-en")
    await page.click("#send")
    await page.wait_for_selector("#outcome")
    assert "Scheduled for" in await page.inner_text("#outcome")
    assert "Scheduled" in await page.inner_text("#broadcast-1 .state")
