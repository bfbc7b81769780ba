"""A person's own copy of their data over HTTP (bot/desk/my_data.py): the link's page spends
nothing, its button gives the ZIP once and records it in the register; a used, expired or
unknown link is refused in Thai and English; the page speaks the person's language."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import col

from domain import data_copy, privacy
from storage.models import DataCopy, PrivacyRequest, User
from tests.bot.test_alerts import _urgent_problem
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms

NAME, PHONE, LINE_ID, CASE = "สมชาย ใจดี", "0812345678", "Uvillager000000000", "PRB-2569-000001"
FORM_TOKEN = re.compile(r'name="token" value="([\w-]+)"')


async def _villager_with_link(p: Platforms, valid: dt.timedelta | None = None) -> tuple[int, str]:
    """A villager who filed a problem, and a link to their data (as the chat will issue it)."""
    await _urgent_problem(p, LineEvents(p.line, LINE_ID), photo=False, phone=PHONE)
    async with p.core.sessions() as session, session.begin():
        user_id = (
            await session.execute(select(col(User.id)).where(col(User.platform_user_id) == LINE_ID))
        ).scalar_one()
        token = await data_copy.issue(
            session, user_id, p.clock(), valid or p.core.rules.data_copy_valid
        )
    return user_id, token


def _path(token: str) -> str:
    return urlsplit(data_copy.url("http://127.0.0.1:8080", token)).path


async def _used_at(p: Platforms, token: str) -> dt.datetime | None:
    async with p.core.sessions() as session:
        found = await session.get(DataCopy, data_copy.digest(token))
        assert found is not None
        return found.used_at


def _private(response: Any) -> None:
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


async def test_the_page_spends_nothing_and_the_button_gives_the_zip_once(
    platforms: Platforms,
) -> None:
    p = platforms
    user_id, token = await _villager_with_link(p)
    assert p.core.rules.data_copy_valid == dt.timedelta(hours=24)  # FIELDBOT_DATA_COPY_HOURS

    # Opened (a chat app drawing a preview, then the person), twice: nothing is spent.
    for _ in range(2):
        shown = await p.client.get(_path(token))
        assert shown.status == 200
        _private(shown)
        page = await shown.text()
        assert "ข้อมูลของฉัน" in page and "ดาวน์โหลดข้อมูลของฉัน" in page
        assert "รายงานที่คุณส่ง: 1 เรื่อง" in page
        assert NAME not in page and PHONE not in page  # a preview shows nothing of theirs
        assert "my-data.json" in page and "my-reports.csv" in page
        assert "ถึง 21 มี.ค. 69 09:00 น." in page  # until when, local time, Buddhist Era
    assert (await p.client.head(_path(token))).status == 200
    assert await _used_at(p, token) is None

    # A POST without the page's form (the token in its body) is refused and spends nothing.
    bare = await p.client.post(_path(token))
    assert bare.status == 403 and await _used_at(p, token) is None
    wrong = await p.client.post(_path(token), data={"token": "x" * 43})
    assert wrong.status == 403 and await _used_at(p, token) is None

    found = FORM_TOKEN.search(page)
    assert found is not None and found.group(1) == token
    p.clock.advance(hours=1)
    got = await p.client.post(_path(token), data={"token": token})
    assert got.status == 200, await got.text()
    _private(got)
    assert got.headers["Content-Type"] == "application/zip"
    assert got.headers["Content-Disposition"] == 'attachment; filename="fieldbot-my-data.zip"'
    with zipfile.ZipFile(io.BytesIO(await got.read())) as bundle:
        assert sorted(bundle.namelist()) == ["my-data.json", "my-reports.csv"]
        copy = json.loads(bundle.read("my-data.json"))
        table = bundle.read("my-reports.csv").decode("utf-8")
    assert copy["profile"]["name"] == NAME and copy["profile"]["phone"] == PHONE
    assert [r["reference"] for r in copy["reports"]] == [CASE]
    assert table.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(table[1:])))
    assert [r["เลขที่"] for r in rows] == [CASE]  # the person's language (Thai)
    assert rows[0]["ประเภทรายงาน"] == "ปัญหา" and "น้ำท่วมสะพาน ข้ามไม่ได้" in rows[0].values()
    assert await _used_at(p, token) == p.clock()

    async with p.core.sessions() as session:
        register = list((await session.execute(select(PrivacyRequest))).scalars())
    assert [(r.user_id, r.kind, r.via, r.outcome, r.note) for r in register] == [
        (user_id, "export", "chat", "done", "copy downloaded")
    ]

    # Spent: the button again, and the page, are refused in both languages.
    again = await p.client.post(_path(token), data={"token": token})
    assert again.status == 410
    _private(again)
    text = await again.text()
    assert "ลิงก์นี้ใช้ไม่ได้แล้ว" in text and "This link no longer works" in text
    assert NAME not in text
    reopened = await p.client.get(_path(token))
    assert reopened.status == 410 and "ข้อมูลของฉัน" in await reopened.text()
    async with p.core.sessions() as session:
        assert len(list((await session.execute(select(PrivacyRequest))).scalars())) == 1


async def test_an_expired_or_unknown_link_is_refused(platforms: Platforms) -> None:
    p = platforms
    _user_id, token = await _villager_with_link(p, dt.timedelta(hours=2))
    assert (await p.client.get(_path(token))).status == 200
    p.clock.advance(hours=2)
    for response in (
        await p.client.get(_path(token)),
        await p.client.post(_path(token), data={"token": token}),
    ):
        assert response.status == 410
        _private(response)
        text = await response.text()
        assert "หมดอายุ" in text and "expired" in text and NAME not in text
    assert await _used_at(p, token) is None
    for unknown in ("x" * 43, "a" * 300, "%E0%B8%81"):
        response = await p.client.get(f"/desk/my-data/{unknown}")
        assert response.status == 404 and "This link no longer works" in await response.text()
        posted = await p.client.post(f"/desk/my-data/{unknown}", data={"token": unknown})
        assert posted.status in (403, 404)
    assert (await p.client.get("/desk/my-data/")).status == 404


async def test_the_page_in_english_for_an_english_speaker(platforms: Platforms) -> None:
    p = platforms
    user_id, token = await _villager_with_link(p)
    async with p.core.sessions() as session, session.begin():
        user = await session.get(User, user_id)
        assert user is not None
        user.language = "en"
    # Whatever the browser asks for: the person chose English in the chat.
    shown = await p.client.get(_path(token), headers={"Accept-Language": "th-TH"})
    assert shown.status == 200 and shown.headers["Content-Language"] == "en"
    page = await shown.text()
    assert "Download my data" in page and "Reports you filed: 1" in page
    assert "ดาวน์โหลด" not in page
    got = await p.client.post(_path(token), data={"token": token})
    with zipfile.ZipFile(io.BytesIO(await got.read())) as bundle:
        table = bundle.read("my-reports.csv").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(table[1:])))
    assert [r["Reference"] for r in rows] == [CASE] and rows[0]["Kind"] == "Problem"


async def test_an_erased_persons_link_is_gone(platforms: Platforms) -> None:
    p = platforms
    user_id, token = await _villager_with_link(p)
    async with p.core.sessions() as session, session.begin():
        user = await session.get(User, user_id)
        assert user is not None
        await privacy.erase(session, user, p.clock(), "cli")
    assert (await p.client.get(_path(token))).status == 404
    response = await p.client.post(_path(token), data={"token": token})
    assert response.status == 404 and NAME not in await response.text()
