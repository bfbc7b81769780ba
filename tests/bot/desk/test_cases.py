"""The desk's cases: the list an officer sees (theirs only, filtered, paged), a case with its
photos, and the chat's actions taken from the desk, with the reporter told on the platform."""

from __future__ import annotations

import re

from aiohttp import FormData
from pydantic import SecretStr

from tests.bot.desk.test_auth import CSRF, _sign_in
from tests.bot.test_alerts import _urgent_problem
from tests.support.desk import link_from_chat, officer
from tests.support.fake_line import LineEvents
from tests.support.images import png_bytes
from tests.support.platforms import Platforms, line_texts

CASE = "PRB-2569-000001"


async def _csrf(p: Platforms, path: str = "/desk/") -> str:
    found = CSRF.search(await (await p.client.get(path)).text())
    assert found is not None
    return found.group(1)


async def test_an_officer_works_a_case_from_the_desk(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p)
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photos=2, phone="0812345678")
    await _sign_in(p, await link_from_chat(p, who))
    listed = await (await p.client.get("/desk/")).text()
    assert CASE in listed and "น้ำท่วม" in listed and "ด่วนมาก" in listed
    page = await (await p.client.get(f"/desk/cases/{CASE}")).text()
    assert "0812345678" in page and "สมชาย ใจดี" in page
    assert f"/desk/cases/{CASE}/photos/1" in page and 'id="map"' in page
    shown = await p.client.get(f"/desk/cases/{CASE}/photos/1")
    assert shown.status == 200 and shown.content_type == "image/png"
    token = CSRF.search(page)
    assert token is not None
    since = len(p.line.calls)
    acted = await p.client.post(
        f"/desk/cases/{CASE}/act", data={"csrf": token.group(1), "action": "ack"},
        allow_redirects=False,
    )  # fmt: skip
    assert acted.status == 303 and acted.headers["Location"].endswith("?done=ack")
    await p.deliver()
    told = line_texts(p, villager.user_id, since)
    assert any(CASE in t and "รับเรื่อง" in t for t in told), told
    page = await (await p.client.get(f"/desk/cases/{CASE}?done=ack")).text()
    assert "รับเรื่องแล้ว ผู้แจ้งได้รับแจ้งแล้ว" in page and "ปลัดสมศักดิ์" in page
    again = await p.client.post(
        f"/desk/cases/{CASE}/act", data={"csrf": token.group(1), "action": "ack"},
        allow_redirects=False,
    )  # fmt: skip
    assert again.headers["Location"].endswith("?done=too_late")
    form = FormData()
    for name, value in (("csrf", token.group(1)), ("action", "resolve"),
                        ("note", "ซ่อมสะพานแล้ว")):  # fmt: skip
        form.add_field(name, value)
    form.add_field("photo", png_bytes(6, 6, (0, 200, 0)), filename="done.png",
                   content_type="image/png")  # fmt: skip
    resolved = await p.client.post(f"/desk/cases/{CASE}/act", data=form, allow_redirects=False)
    assert resolved.headers["Location"].endswith("?done=resolve")
    # The result's photo: on the case's timeline, and with the reporter's notice.
    page = await (await p.client.get(f"/desk/cases/{CASE}")).text()
    found = re.search(rf"/desk/cases/{CASE}/events/(\d+)/photo", page)
    assert found is not None
    shown = await p.client.get(found.group(0))
    assert shown.status == 200 and await shown.read() == png_bytes(6, 6, (0, 200, 0))
    notices = [r for r in await p.rows() if r.kind == "status"]
    assert notices[-1].payload["messages"][0]["image"]  # the stored photo's path
    await p.deliver()
    assert any("ซ่อมสะพานแล้ว" in t for t in line_texts(p, villager.user_id, since))


async def test_another_districts_officer_sees_nothing_of_it(platforms: Platforms) -> None:
    p = platforms
    p.core.settings.public_url = None
    p.core.settings.secret_key = SecretStr("k")
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photos=1)
    other = await officer(p, "Uother000000000000", area="5002", name="ปลัดแม่ริม")
    await _sign_in(p, await link_from_chat(p, other))
    listed = await (await p.client.get("/desk/?status=open")).text()
    assert CASE not in listed and "ไม่พบเรื่อง" in listed
    for path in (f"/desk/cases/{CASE}", f"/desk/cases/{CASE}/photos/0"):
        assert (await p.client.get(path)).status == 404
    refused = await (await p.client.get(f"/desk/cases/{CASE}")).text()
    assert "ไม่พบหน้านี้ หรือคุณไม่มีสิทธิ์ดูเรื่องนี้" in refused  # a page, in their language
    token = await _csrf(p)
    refused = await p.client.post(f"/desk/cases/{CASE}/act",
                                  data={"csrf": token, "action": "ack"})  # fmt: skip
    assert refused.status == 404


async def test_filters_narrow_the_list(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    await _sign_in(p, await link_from_chat(p, who))

    async def found(query: str) -> bool:
        return CASE in await (await p.client.get(f"/desk/{query}")).text()

    assert await found("?status=received&category=flood&urgency=very_urgent")
    assert await found("?area=5001") and await found("?area=500108&village=3")
    assert not await found("?area=500108&village=4")
    assert not await found("?status=resolved") and not await found("?category=drought")
    assert await found("?q=000001") and not await found("?q=000002")
    assert not await found("?reopened=1") and not await found("?rating=5")
    assert await found("?since=2026-01-01") and not await found("?until=2020-01-01")
    fragment = await (
        await p.client.get("/desk/?status=open", headers={"HX-Request": "true"})
    ).text()
    assert "<html" not in fragment and CASE in fragment  # htmx swaps the table only
    assert re.search(r"พบ 1 เรื่อง", fragment)


async def test_a_forwarded_case_leaves_the_officer_at_the_list_saying_so(
    platforms: Platforms,
) -> None:
    p = platforms
    who = await officer(p)
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    await _sign_in(p, await link_from_chat(p, who))
    token = await _csrf(p, f"/desk/cases/{CASE}")
    moved = await p.client.post(
        f"/desk/cases/{CASE}/act",
        data={"csrf": token, "action": "forward", "district": "5015", "note": "อยู่ในเขตสารภี"},
    )
    assert moved.status == 200 and "/desk/?forwarded=" in str(moved.url)
    page = await moved.text()
    assert f"ส่งต่อเรื่อง {CASE} แล้ว" in page
    assert (await p.client.get(f"/desk/cases/{CASE}")).status == 404  # the other district's now


async def test_a_coordinator_can_filter_down_to_a_village(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p, "Ucoordinator000000", area="50", role="coordinator", name="ผู้ประสาน")
    await _urgent_problem(p, LineEvents(p.line, "Uvillager000000000"), photo=False)
    await _sign_in(p, await link_from_chat(p, who))
    page = await (await p.client.get("/desk/")).text()
    assert 'value="5001"' in page and 'value="500108"' in page  # district, then subdistrict
    assert CASE in await (await p.client.get("/desk/?area=500108&village=3")).text()


async def test_a_case_whose_reporter_withdrew_says_so_and_tells_nobody(
    platforms: Platforms,
) -> None:
    p = platforms
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photo=False, phone="0812345678")
    await p.line_say(villager, "ลบข้อมูลของฉัน", "ลบข้อมูล")
    await _sign_in(p, await link_from_chat(p, await officer(p)))
    page = await (await p.client.get(f"/desk/cases/{CASE}")).text()
    assert "ผู้แจ้ง: ข้อมูลส่วนตัวถูกลบแล้ว" in page and "สมชาย ใจดี" not in page
    assert "ผู้แจ้งจะไม่เห็น" in page  # the note is for the history only
    token = await _csrf(p, f"/desk/cases/{CASE}")
    done = await p.client.post(f"/desk/cases/{CASE}/act", data={"csrf": token, "action": "ack"})
    said = await done.text()
    assert "จึงไม่ได้แจ้งผู้แจ้ง" in said and "ผู้แจ้งได้รับแจ้งแล้ว" not in said
