"""A person's one-time link to their own data (domain.data_copy): it works once, until it
expires, only its hash is stored; and the files it gives (the CSV of their reports, the ZIP)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.service import Core, build_core
from domain import data_copy
from handlers.i18n import load_translator
from storage.models import DataCopy, User
from tests.support.settings import make_settings

DAY = dt.timedelta(hours=24)


async def _person(core: Core, name: str = "สมชาย ใจดี", language: str = "th") -> int:
    async with core.sessions() as session, session.begin():
        user = User(platform="line", platform_user_id=f"U{name}", display_name=name,
                    language=language)  # fmt: skip
        session.add(user)
        await session.flush()
        assert user.id is not None
        return user.id


async def test_a_link_works_once_until_it_expires_and_only_its_hash_is_kept(core: Core) -> None:
    now = core.clock()
    user_id = await _person(core)
    async with core.sessions() as session, session.begin():
        token = await data_copy.issue(session, user_id, now, DAY)
        other = await data_copy.issue(session, user_id, now, DAY)
    assert token != other and len(token) >= 43  # 32 random bytes, base64url
    assert all(c.isalnum() or c in "-_" for c in token)
    assert data_copy.url("https://bot.example.go.th/", token) == (
        f"https://bot.example.go.th/desk/my-data/{token}"
    )
    async with core.sessions() as session:
        rows = list((await session.execute(select(DataCopy))).scalars())
    assert {r.token_hash for r in rows} == {data_copy.digest(token), data_copy.digest(other)}
    assert all(token not in (r.token_hash, str(r.user_id)) for r in rows)
    assert {r.expires_at for r in rows} == {now + DAY}

    async with core.sessions() as session, session.begin():
        # Looking does not spend it, however often.
        for _ in range(3):
            seen = await data_copy.peek(session, token, now)
            assert seen is not None and seen.id == user_id
        spent = await data_copy.redeem(session, token, now + dt.timedelta(hours=1))
        assert spent is not None and spent.display_name == "สมชาย ใจดี"
    async with core.sessions() as session, session.begin():
        later = now + dt.timedelta(hours=2)
        assert await data_copy.redeem(session, token, later) is None  # once only
        assert await data_copy.peek(session, token, later) is None
        found = await data_copy.find(session, token)
        assert found is not None and found.used_at == now + dt.timedelta(hours=1)

        # Expired: the other link, a moment after its day.
        assert await data_copy.peek(session, other, now + DAY - dt.timedelta(seconds=1))
        assert await data_copy.peek(session, other, now + DAY) is None
        assert await data_copy.redeem(session, other, now + DAY) is None
        # Unknown, empty, absurd.
        for wrong in ("x" * 43, "", "a" * 5000, token[:-1], token + "A"):
            assert await data_copy.peek(session, wrong, now) is None
            assert await data_copy.redeem(session, wrong, now) is None
            assert await data_copy.find(session, wrong) is None


async def test_the_setting_says_how_long_a_link_works(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "media", FIELDBOT_DATA_COPY_HOURS=2)
    built = await build_core(settings)
    try:
        assert built.rules.data_copy_valid == dt.timedelta(hours=2)  # what the chat issues with
    finally:
        await built.close()


async def test_an_erased_persons_link_gives_nothing(core: Core) -> None:
    now = core.clock()
    user_id = await _person(core)
    async with core.sessions() as session, session.begin():
        token = await data_copy.issue(session, user_id, now, DAY)
        user = await session.get(User, user_id)
        assert user is not None
        user.platform = "erased"  # as domain.privacy.erase leaves the row (were the link kept)
    async with core.sessions() as session, session.begin():
        assert await data_copy.peek(session, token, now) is None
        assert await data_copy.redeem(session, token, now) is None


COPY: dict[str, Any] = {
    "profile": {"id": 7, "name": "สมชาย ใจดี", "phone": "0812345678", "language": "th"},
    "consent": {"given_at": "2026-03-20T02:00:00+00:00"},
    "staff_roles": [],
    "reports": [
        {
            "reference": "PRB-2569-000001",
            "kind": "problem",
            "status": "received",
            "filed_at": "2026-03-20T02:00:00+00:00",
            "answers": {
                "category": "flood",
                "urgency": "very_urgent",
                "households": 25,
                "description": "=น้ำท่วมสะพาน, ข้ามไม่ได้\nรถผ่านไม่ได้",
                "photos": [{"sha256": "ab", "path": "ab/ab.png"}, {"sha256": "cd"}],
                "location": {"lat": 18.7953, "lon": 98.9523},
            },
        },
        {
            "reference": "ACT-2569-000002",
            "kind": "activity",
            "status": "submitted",
            "filed_at": "2026-03-21T03:30:00+00:00",
            "answers": {
                "activity_type": "other",
                "activity_other": "ขุดลอกคลอง",
                "date": "2026-03-21",
                "participants": 12,
                "sectors": ["government", "religion"],
                "description": "ร่วมกันขุดลอกคลองหน้าวัด",
                "retired_question": {"kept": "ค่าเก่า"},  # a question a later form dropped
            },
        },
    ],
    "messages_sent_to_you": [],
}


def _table(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # the BOM: Excel reads the file as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_reports_csv_has_a_row_per_report_and_a_column_per_answer() -> None:
    rows = _table(data_copy.reports_csv(COPY))
    assert [r["reference"] for r in rows] == ["PRB-2569-000001", "ACT-2569-000002"]
    problem, activity = rows
    assert problem["kind"] == "problem" and problem["status"] == "received"
    assert problem["filed_at"] == "2026-03-20T02:00:00+00:00"
    assert problem["topic"] == "flood" and problem["urgency"] == "very_urgent"
    assert problem["households"] == "25" and problem["photo_count"] == "2"
    assert (problem["latitude"], problem["longitude"]) == ("18.7953", "98.9523")
    # Typed text that starts like a formula is shown, never run; commas and lines survive.
    assert problem["description"] == "'=น้ำท่วมสะพาน, ข้ามไม่ได้\nรถผ่านไม่ได้"
    assert activity["topic"] == "other: ขุดลอกคลอง"
    assert activity["occurred_on"] == "2026-03-21" and activity["participants"] == "12"
    assert activity["sectors"] == "government; religion"
    assert activity["description"] == "ร่วมกันขุดลอกคลองหน้าวัด"
    assert json.loads(activity["retired_question"]) == {"kept": "ค่าเก่า"}
    assert problem["retired_question"] == "" and activity["households"] == ""
    assert "ab/ab.png" not in data_copy.reports_csv(COPY)  # no path on the server


def test_the_reports_csv_in_the_persons_words() -> None:
    i18n = load_translator()
    bangkok = dt.timezone(dt.timedelta(hours=7))
    text = data_copy.reports_csv(COPY, i18n=i18n, tz=bangkok)
    head = next(csv.reader(io.StringIO(text[1:])))
    assert head[:4] == ["เลขที่", "ประเภทรายงาน", "สถานะ", "วันเวลาที่ส่ง"]
    problem, activity = _table(text)
    assert problem["เลขที่"] == "PRB-2569-000001" and problem["ประเภทรายงาน"] == "ปัญหา"
    assert problem["วันเวลาที่ส่ง"] == "2026-03-20 09:00"
    assert problem["สถานะ"] == "รอรับเรื่อง" and "น้ำท่วม" in text and "ด่วนมาก" in text
    assert activity["ประเภทรายงาน"] == "กิจกรรม" and "อื่น ๆ: ขุดลอกคลอง" in activity.values()
    assert activity["วันเวลาที่ส่ง"] == "2026-03-21 10:30"
    english = dict(COPY, profile={**COPY["profile"], "language": "en"})
    rows = _table(data_copy.reports_csv(english, i18n=i18n))
    assert rows[0]["Reference"] == "PRB-2569-000001" and rows[0]["Kind"] == "Problem"
    assert "Flood" in rows[0].values()


def test_the_archive_holds_the_json_and_the_csv() -> None:
    packed = data_copy.archive(COPY)
    with zipfile.ZipFile(io.BytesIO(packed)) as bundle:
        assert sorted(bundle.namelist()) == ["my-data.json", "my-reports.csv"]
        text = bundle.read("my-data.json").decode()
        assert "สมชาย ใจดี" in text  # Thai as Thai, not \\u escapes
        assert json.loads(text) == COPY
        assert bundle.read("my-reports.csv").decode() == data_copy.reports_csv(COPY)
    assert data_copy.reports_csv(dict(COPY, reports=[])).count("\n") == 1  # the header only


def test_photos_as_the_copy_gives_them_are_counted_too() -> None:
    """privacy.copy_of gives a report's photos by their number ({"photos": 2}), not paths."""
    report = {**COPY["reports"][0]}
    report["answers"] = {**report["answers"], "photos": {"photos": 2}}
    rows = _table(data_copy.reports_csv({**COPY, "reports": [report]}))
    assert rows[0]["photo_count"] == "2"
