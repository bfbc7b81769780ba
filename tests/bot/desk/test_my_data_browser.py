"""A villager downloads their own data in a real browser (Chromium through Playwright, as
test_browser.py): the link opens a Thai page, its button downloads the ZIP, and the file holds
their name, their report and its CSV; the link then works no more."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import col

from domain import data_copy
from storage.models import User
from tests.bot.desk.test_browser import _page, _shot, browser, pytestmark
from tests.bot.test_alerts import _urgent_problem
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms

__all__ = ["browser", "pytestmark"]  # the fixture and the skip without Chromium, shared

NAME, LINE_ID, CASE = "สมชาย ใจดี", "Uvillager000000000", "PRB-2569-000001"


async def test_a_villager_downloads_their_data(
    platforms: Platforms, browser: Any, tmp_path: Path
) -> None:
    p = platforms
    await _urgent_problem(p, LineEvents(p.line, LINE_ID), photo=False, phone="0812345678")
    async with p.core.sessions() as session, session.begin():
        user_id = (
            await session.execute(select(col(User.id)).where(col(User.platform_user_id) == LINE_ID))
        ).scalar_one()
        token = await data_copy.issue(session, user_id, p.clock(), p.core.rules.data_copy_valid)
    path = urlsplit(data_copy.url(p.core.rules.desk_url, token)).path

    # On a phone, whose browser asks for English: the page speaks the person's Thai.
    page = await _page(browser, p, locale="en-US")
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto(str(p.client.make_url(path)))
    assert await page.inner_text("h1") == "ข้อมูลของฉัน"
    assert "รายงานที่คุณส่ง: 1 เรื่อง" in await page.inner_text("#counts")
    assert await page.evaluate("document.documentElement.lang") == "th"
    await _shot(page, "my-data")

    async with page.expect_download() as waiting:
        await page.click("#download")
    download = await waiting.value
    assert download.suggested_filename == "fieldbot-my-data.zip"
    saved = tmp_path / download.suggested_filename
    await download.save_as(str(saved))
    with zipfile.ZipFile(saved) as bundle:
        assert sorted(bundle.namelist()) == ["my-data.json", "my-reports.csv"]
        copy = json.loads(bundle.read("my-data.json"))
        table = bundle.read("my-reports.csv").decode("utf-8-sig")
    assert copy["profile"]["name"] == NAME
    assert [r["reference"] for r in copy["reports"]] == [CASE]
    assert [r["เลขที่"] for r in csv.DictReader(io.StringIO(table))] == [CASE]

    # The page stays; pressing again finds the link spent, said in Thai and English.
    await page.click("#download")
    await page.wait_for_selector("#refused")
    refused = await page.inner_text("#refused")
    assert "ลิงก์นี้ใช้ไม่ได้แล้ว" in refused and "This link no longer works" in refused
    assert NAME not in await page.content()
    await _shot(page, "my-data-refused")
