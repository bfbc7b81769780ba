"""The desk's broadcasts: the audience per platform before writing, a preview, send now (it
reaches people on the fake LINE and Telegram) or at a local time, delivery followed on the
list; and an officer addresses their district only, as in chat."""

from __future__ import annotations

import datetime as dt
import re

from aiohttp import FormData
from sqlalchemy import select

from bot.service import queue_broadcasts
from storage.models import Broadcast, OutboxMessage
from tests.bot.desk.test_auth import CSRF, _sign_in
from tests.bot.test_broadcasts import _people
from tests.support.desk import link_from_chat, officer
from tests.support.images import png_bytes
from tests.support.platforms import Platforms, join_as_staff

BKK = dt.timezone(dt.timedelta(hours=7))
TEXT = "ประชุมประจำเดือนวันจันทร์ 9 โมง ที่ว่าการอำเภอ"


async def _csrf(p: Platforms, path: str = "/desk/broadcasts/new") -> str:
    found = CSRF.search(await (await p.client.get(path)).text())
    assert found is not None
    return found.group(1)


async def _audience(p: Platforms) -> None:
    await _people(p.core, 3)  # village heads of 5001, on LINE
    await _people(p.core, 2, platform="telegram", role="volunteer", district_code="5002",
                  subdistrict_code="500201", prefix="tg")  # fmt: skip
    await _people(p.core, 1, active=False, prefix="gone")  # blocked the bot
    await _people(p.core, 4, province_code="10", district_code="1001",
                  subdistrict_code="100101", prefix="bkk")  # another province  # fmt: skip


async def _outbox(p: Platforms) -> list[OutboxMessage]:
    async with p.core.sessions() as session:
        found = await session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "broadcast")
        )
        return list(found.scalars())


async def _compose(p: Platforms, token: str, **fields: str | list[str]) -> tuple[int, str, str]:
    """POST the compose form; the status, where it leads and the page shown."""
    data = FormData()
    data.add_field("csrf", token)
    for name, value in {"roles": ["reporter"], "area": "50", "text": TEXT, "when": "now",
                        **fields}.items():  # fmt: skip
        for one in value if isinstance(value, list) else [value]:
            data.add_field(name, one)
    sent = await p.client.post("/desk/broadcasts/new", data=data, allow_redirects=False)
    return sent.status, sent.headers.get("Location", ""), await sent.text()


async def test_a_coordinator_sees_the_audience_previews_and_sends(platforms: Platforms) -> None:
    p = platforms
    await _audience(p)
    coordinator = await join_as_staff(p)
    await _sign_in(p, await link_from_chat(p, coordinator))
    new = await (await p.client.get("/desk/broadcasts/new")).text()
    assert 'value="50"' in new and 'value="5001"' in new and 'value="10"' not in new
    assert "ผู้ใหญ่บ้าน" in new and "เลือกกลุ่มผู้รับ" in new  # counts come with roles

    # The counts, before a word is written (htmx asks on every change of roles or area).
    counts = await (await p.client.get("/desk/broadcasts/audience?roles=reporter&area=50")).text()
    assert "<html" not in counts
    assert "LINE: 3 คน" in counts and "Telegram: 2 คน" in counts and "รวม 5 คน" in counts
    assert "บล็อกบอตแล้ว (ไม่ส่ง) 1 คน" in counts
    counts = await (await p.client.get(
        "/desk/broadcasts/audience?roles=volunteer&roles=village_head&area=5001"
    )).text()  # fmt: skip
    assert "LINE: 3 คน" in counts and "Telegram: 0 คน" in counts
    assert (await p.client.get("/desk/broadcasts/audience?roles=reporter&area=10")).status == 404

    token = await _csrf(p)
    status, location, _page = await _compose(p, token)
    assert status == 303 and location == "/desk/broadcasts/1"
    preview = await (await p.client.get(location)).text()
    assert TEXT in preview and "LINE: 3 คน" in preview and "ยืนยันส่งเลย" in preview
    assert await _outbox(p) == []  # nothing goes before it is confirmed

    sent = await p.client.post("/desk/broadcasts/1/send", data={"csrf": token},
                               allow_redirects=False)  # fmt: skip
    assert sent.status == 303 and sent.headers["Location"].endswith("?done=queued")
    page = await (await p.client.get("/desk/broadcasts/1?done=queued")).text()
    assert "กำลังส่ง" in page and 'hx-trigger="every' in page  # it follows delivery
    await p.deliver()
    multicast = [c for c in p.line.calls if c.path == "/v2/bot/message/multicast"]
    assert len(multicast) == 1 and len(multicast[0].body["to"]) == 3
    assert multicast[0].body["messages"][0]["text"] == TEXT
    told = [c for c in p.telegram.calls if c.method == "sendMessage"
            and c.params.get("text") == TEXT]  # fmt: skip
    assert len(told) == 2
    listed = await (await p.client.get("/desk/broadcasts")).text()
    row = re.search(r'<tr id="broadcast-1".*?</tr>', listed, re.S)
    assert row is not None
    assert "ส่งครบแล้ว" in row.group(0) and '<td class="sent">5</td>' in row.group(0)
    assert '<td class="blocked">1</td>' in row.group(0)
    assert 'hx-trigger="every' not in listed  # nothing left sending: no more polling

    again = await p.client.post("/desk/broadcasts/1/send", data={"csrf": token},
                                allow_redirects=False)  # fmt: skip
    assert again.headers["Location"].endswith("?done=too_late")
    assert len(await _outbox(p)) == 3  # sent once
    refused = await p.client.post("/desk/broadcasts/new", data={"roles": "reporter",
                                  "area": "50", "text": TEXT, "when": "now"})  # fmt: skip
    assert refused.status == 403  # no CSRF token


async def test_scheduled_for_a_local_time_and_checked(platforms: Platforms) -> None:
    p = platforms
    await _audience(p)
    coordinator = await join_as_staff(p)
    await _sign_in(p, await link_from_chat(p, coordinator))
    token = await _csrf(p)
    today = p.clock.now.astimezone(BKK).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()

    status, _to, page = await _compose(p, token, when="later", send_date=today.isoformat(),
                                       send_time="00:00")  # fmt: skip
    assert status == 400 and "เวลาที่ตั้งผ่านไปแล้ว" in page
    far = (today + dt.timedelta(days=90)).isoformat()
    status, _to, page = await _compose(p, token, when="later", send_date=far, send_time="09:00")
    assert status == 400 and "ตั้งเวลาได้ไม่เกินวันที่" in page
    status, _to, page = await _compose(p, token, when="later", send_date="", send_time="09:00")
    assert status == 400 and "ใส่วันที่และเวลาที่จะส่ง" in page
    status, _to, page = await _compose(p, token, roles=[])
    assert status == 400 and "เลือกกลุ่มผู้รับอย่างน้อยหนึ่งกลุ่ม" in page
    status, _to, page = await _compose(p, token, text="x" * 2001)
    assert status == 400 and "ข้อความยาวเกินไป" in page and "x" * 2001 in page  # kept
    async with p.core.sessions() as session:
        assert (await session.execute(select(Broadcast))).first() is None

    status, location, _page = await _compose(p, token, when="later", send_date=tomorrow,
                                             send_time="09:30", roles=["village_head"])  # fmt: skip
    assert status == 303
    preview = await (await p.client.get(location)).text()
    assert f"{tomorrow} 09:30" in preview and "ยืนยันตั้งเวลาส่ง" in preview
    done = await p.client.post(f"{location}/send", data={"csrf": token}, allow_redirects=False)
    assert done.headers["Location"].endswith("?done=scheduled")
    assert "ตั้งเวลาส่งไว้ที่" in await (await p.client.get(done.headers["Location"])).text()
    assert await queue_broadcasts(p.core) == 0 and await _outbox(p) == []
    listed = await (await p.client.get("/desk/broadcasts")).text()
    assert "ตั้งเวลาไว้" in listed and "/desk/broadcasts/1/cancel" in listed  # its author's

    local = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(9, 30), tzinfo=BKK)
    p.clock.now = local.astimezone(dt.UTC)
    assert await queue_broadcasts(p.core) == 3  # as the scheduler does
    await p.deliver()
    multicast = [c for c in p.line.calls if c.path == "/v2/bot/message/multicast"]
    assert len(multicast) == 1 and len(multicast[0].body["to"]) == 3

    # A scheduled one can still be cancelled from the list; a sent one cannot.
    await _sign_in(p, await link_from_chat(p, coordinator))  # a day later: signed out when idle
    token = await _csrf(p)
    status, location, _page = await _compose(p, token, when="later", send_date=(
        today + dt.timedelta(days=3)).isoformat(), send_time="07:00")  # fmt: skip
    await p.client.post(f"{location}/send", data={"csrf": token})
    cancelled = await p.client.post(f"{location}/cancel", data={"csrf": token},
                                    allow_redirects=False)  # fmt: skip
    assert cancelled.headers["Location"].endswith("?done=cancelled")
    late = await p.client.post("/desk/broadcasts/1/cancel", data={"csrf": token},
                               allow_redirects=False)  # fmt: skip
    assert late.headers["Location"].endswith("?done=too_late")


async def test_a_photo_goes_with_the_text(platforms: Platforms) -> None:
    p = platforms
    await _audience(p)
    coordinator = await join_as_staff(p)
    await _sign_in(p, await link_from_chat(p, coordinator))
    token = await _csrf(p)
    data = FormData()
    for name, value in (("csrf", token), ("roles", "reporter"), ("area", "5001"),
                        ("text", TEXT), ("when", "now")):  # fmt: skip
        data.add_field(name, value)
    data.add_field("photo", png_bytes(40, 30, (200, 10, 10)), filename="poster.png",
                   content_type="image/png")  # fmt: skip
    sent = await p.client.post("/desk/broadcasts/new", data=data, allow_redirects=False)
    assert sent.status == 303
    preview = await (await p.client.get(sent.headers["Location"])).text()
    assert "/desk/broadcasts/1/photo" in preview
    shown = await p.client.get("/desk/broadcasts/1/photo")
    assert shown.status == 200 and shown.content_type == "image/png"
    async with p.core.sessions() as session:
        broadcast = await session.get(Broadcast, 1)
        assert broadcast is not None and broadcast.image and broadcast.area == "5001"
    data = FormData()
    for name, value in (("csrf", token), ("roles", "reporter"), ("area", "5001"),
                        ("text", TEXT), ("when", "now")):  # fmt: skip
        data.add_field(name, value)
    data.add_field("photo", b"not a picture at all", filename="x.png", content_type="image/png")
    refused = await p.client.post("/desk/broadcasts/new", data=data)
    assert refused.status == 400 and "ไม่ใช่รูปภาพ" in await refused.text()


async def test_an_officer_addresses_their_district_only(platforms: Platforms) -> None:
    p = platforms
    await _audience(p)
    coordinator = await join_as_staff(p)
    await _sign_in(p, await link_from_chat(p, coordinator))
    token = await _csrf(p)
    _status, location, _page = await _compose(p, token)  # the coordinator's, to all of 50
    await p.client.post(f"{location}/send", data={"csrf": token})

    p.client.session.cookie_jar.clear()
    who = await officer(p)  # of 5001
    await _sign_in(p, await link_from_chat(p, who))
    new = await (await p.client.get("/desk/broadcasts/new")).text()
    assert 'value="5001"' in new and 'value="500101"' in new
    assert 'value="50"' not in new and 'value="5002"' not in new
    for area in ("50", "5002", "TH", "10"):
        asked = await p.client.get(f"/desk/broadcasts/audience?roles=reporter&area={area}")
        assert asked.status == 404, area
    counts = await (await p.client.get("/desk/broadcasts/audience?roles=reporter&area=5001")).text()
    assert "LINE: 3 คน" in counts and "Telegram: 0 คน" in counts  # their district's only
    token = await _csrf(p)
    for area in ("50", "5002", "1001", "TH"):
        status, _to, _page = await _compose(p, token, area=area)
        assert status == 404, area
    # The province's broadcast is not the district officer's to see or touch.
    assert "#1" not in await (await p.client.get("/desk/broadcasts")).text()
    for path in ("/desk/broadcasts/1", "/desk/broadcasts/1/rows"):
        assert (await p.client.get(path)).status == 404
    for path in ("/desk/broadcasts/1/send", "/desk/broadcasts/1/cancel"):
        assert (await p.client.post(path, data={"csrf": token})).status == 404
    status, location, _page = await _compose(p, token, area="5001")
    assert status == 303 and location == "/desk/broadcasts/2"
    sent = await p.client.post(f"{location}/send", data={"csrf": token}, allow_redirects=False)
    assert sent.headers["Location"].endswith("?done=queued")


async def test_send_now_in_quiet_hours_says_when_it_goes(platforms: Platforms) -> None:
    p = platforms
    await _audience(p)
    coordinator = await join_as_staff(p)
    p.clock.now = dt.datetime(2026, 3, 20, 22, 0, tzinfo=BKK).astimezone(dt.UTC)
    await _sign_in(p, await link_from_chat(p, coordinator))
    token = await _csrf(p)
    _status, location, _page = await _compose(p, token)
    sent = await p.client.post(f"{location}/send", data={"csrf": token}, allow_redirects=False)
    assert sent.headers["Location"].endswith("?done=queued_quiet")
    page = await (await p.client.get(sent.headers["Location"])).text()
    assert "ระบบจะส่งเวลา 2026-03-21 07:00" in page
    assert len(await _outbox(p)) == 3 and await p.deliver() == 0  # held until the morning
