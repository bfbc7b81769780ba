"""The register of personal-data requests on the desk: the admins see every request with its
deadline, filter it, and read it in Chromium; an officer gets nothing (404), and the page
names nobody (user ids only)."""

from __future__ import annotations

from typing import Any

from tests.bot.desk.test_auth import _sign_in
from tests.bot.desk.test_browser import _page, _shot, browser, pytestmark
from tests.bot.test_alerts import _urgent_problem
from tests.support.desk import link_from_chat, officer
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms

__all__ = ["browser", "pytestmark"]  # the fixture and the skip without Chromium, shared

NAME, LINE_ID = "สมชาย ใจดี", "Uvillager000000000"


async def _requests(p: Platforms) -> None:
    """A villager sees their data, turns reminders off, then deletes everything."""
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False, phone="0812345678")
    await p.line_say(villager, "ข้อมูลของฉัน", "หยุดเตือน", "ลบข้อมูลของฉัน", "ลบข้อมูล")


async def test_the_admins_read_the_register_and_officers_do_not(platforms: Platforms) -> None:
    p = platforms
    await _requests(p)
    district = await officer(p)
    await _sign_in(p, await link_from_chat(p, district))
    page = await p.client.get("/desk/")
    assert "/desk/privacy" not in await page.text()  # not in an officer's menu
    assert (await p.client.get("/desk/privacy")).status == 404
    p.client.session.cookie_jar.clear()

    admin = await officer(p, "Uadmin000000000000", area="TH", role="admin", name="แอดมิน")
    await _sign_in(p, await link_from_chat(p, admin))
    shown = await p.client.get("/desk/privacy")
    assert shown.status == 200
    body = await shown.text()
    assert 'href="/desk/privacy"' in body  # in the admin's menu
    for word in ("ขอดูข้อมูล", "ถอนความยินยอม", "ลบข้อมูล", "แชท", "3 คำขอ"):
        assert word in body, word
    assert NAME not in body and "0812345678" not in body and LINE_ID not in body
    only = await (await p.client.get("/desk/privacy?kind=withdraw")).text()
    assert "1 คำขอ" in only and "reminders" in only
    none = await (await p.client.get("/desk/privacy?outcome=refused")).text()
    assert "ยังไม่มีคำขอที่ตรงกับตัวกรองนี้" in none
    odd = await p.client.get("/desk/privacy?kind=drop&page=-4")
    assert odd.status == 200 and "3 คำขอ" in await odd.text()


async def test_the_register_in_a_browser(platforms: Platforms, browser: Any) -> None:
    p = platforms
    await _requests(p)
    admin = await officer(p, "Uadmin000000000000", area="TH", role="admin", name="แอดมิน")
    link = await link_from_chat(p, admin)
    page = await _page(browser, p)
    await page.goto(str(p.client.make_url(link)))
    await page.click("#sign-in")
    await page.wait_for_url("**/desk/")
    await page.click("a[href='/desk/privacy']")
    await page.wait_for_url("**/desk/privacy")
    assert "3 คำขอ" in await page.inner_text("#count")
    await page.select_option("select[name=kind]", "erase")
    await page.click("#privacy-filters button")
    await page.wait_for_url("**/desk/privacy?kind=erase*")
    rows = await page.locator("#register tbody tr").all_inner_texts()
    assert len(rows) == 1 and "ลบข้อมูล" in rows[0] and "asked in chat" in rows[0]
    await _shot(page, "privacy-register")
