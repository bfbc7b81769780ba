"""LINE end to end: signed webhooks over real HTTP into the application, the official SDK
talking to a fake LINE API on loopback, and the rows that end up in the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.channels.line.adapter import LineChannel
from bot.server import CHANNELS_KEY, DISPATCHER_KEY, INTAKE_KEY, build_app, settle
from bot.service import Core, build_core
from storage.models import InboxEvent, OutboxMessage, Report, ReportPhoto, User
from tests.support.clock import Clock
from tests.support.fake_line import FakeLine, LineEvents, sign, text_of, webhook_body
from tests.support.images import png_bytes
from tests.support.settings import make_settings

SECRET = "line-channel-secret"


@dataclass
class Line:
    fake: FakeLine
    client: TestClient[Any, Any]
    channel: LineChannel
    core: Core
    user: LineEvents

    @property
    def app(self) -> web.Application:
        return self.client.server.app  # type: ignore[attr-defined, no-any-return]

    async def post(self, body: bytes, signature: str | None = "sign") -> ClientResponse:
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Line-Signature"] = sign(SECRET, body)
        elif signature is not None:
            headers["X-Line-Signature"] = signature
        response = await self.client.post("/webhooks/line", data=body, headers=headers)
        await settle(self.app)
        return response

    async def send(self, *events: dict[str, Any]) -> list[str]:
        before = len(self.fake.messages())
        response = await self.post(webhook_body(*events))
        assert response.status == 200
        return [text_of(m) for m in self.fake.messages()[before:]]

    async def say(self, text: str) -> list[str]:
        return await self.send(self.user.text(text))

    async def tap(self, label: str) -> list[str]:
        actions = self.fake.last_quick_reply()
        for action in actions:
            if action["type"] == "postback" and action["label"].startswith(label):
                return await self.send(self.user.postback(action["data"]))
        raise AssertionError(f"no button {label!r} in {[a.get('label') for a in actions]}")

    def buttons(self) -> list[str]:
        return [a.get("label", "") for a in self.fake.last_quick_reply()]


@pytest.fixture
async def line(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Line]:
    fake = FakeLine()
    async with TestServer(fake.app()) as api:
        base = str(api.make_url("")).rstrip("/")
        settings = make_settings(
            database_url,
            tmp_path / "media",
            LINE_CHANNEL_SECRET=SECRET,
            LINE_CHANNEL_ACCESS_TOKEN="line-access-token",
            LINE_API_BASE_URL=base,
            LINE_DATA_API_BASE_URL=base,
        )
        core = await build_core(settings)
        core.clock = clock
        app = build_app(core)
        try:
            async with TestClient(TestServer(app)) as client:
                yield Line(
                    fake,
                    client,
                    app[CHANNELS_KEY]["line"],
                    core,
                    LineEvents(fake, "U1234567890abcdef"),
                )
        finally:
            await core.close()


async def register(line: Line) -> None:
    await line.send(line.user.follow())
    await line.tap("ภาษาไทย")
    await line.tap("ยินยอม")
    await line.say("สมชาย ใจดี")
    await line.tap("ข้าม")
    await line.tap("ผู้ใหญ่บ้าน")
    await line.say("เชียงใหม่")
    await line.say("เมืองเชียงใหม่")
    await line.say("สุเทพ")
    await line.tap("ม.3")
    texts = await line.tap("ยืนยันส่ง")
    assert any("ลงทะเบียนเรียบร้อย" in t for t in texts)


async def test_follow_starts_registration_with_buttons(line: Line) -> None:
    texts = await line.send(line.user.follow())
    assert any("ยินดีต้อนรับ" in t for t in texts)
    assert line.buttons()[:2] == ["ภาษาไทย", "English"]
    reply = line.fake.sent()[-1]
    assert reply.path == "/v2/bot/message/reply"  # the free reply, not a push
    assert reply.headers["Authorization"] == "Bearer line-access-token"


async def test_registration_activity_with_photo_by_buttons(line: Line) -> None:
    await register(line)
    await line.tap("รายงานกิจกรรม")
    await line.tap("ฝายชะลอน้ำ")
    await line.tap("เมื่อวาน")
    assert "📍 ส่งตำแหน่ง" in line.buttons()
    await line.tap("ที่หมู่บ้านของฉัน")
    await line.say("25")
    await line.tap("ภาครัฐ")
    await line.tap("ภาคศาสนา")
    await line.tap("เสร็จ")
    await line.say("สร้างฝายชะลอน้ำร่วมกับวัดและโรงเรียน")
    assert {"📷 ถ่ายรูป", "🖼 เลือกรูป"} <= set(line.buttons())
    photo = png_bytes(8, 8, (10, 200, 30))
    texts = await line.send(line.user.image(photo))
    assert any("1/5" in t for t in texts)
    assert any(c.path == "/v2/bot/chat/loading/start" for c in line.fake.calls)
    await line.tap("เสร็จ")
    summary = line.fake.messages()[-1]
    assert summary["type"] == "flex"  # the summary before submit is a card
    texts = await line.tap("ยืนยันส่ง")
    assert any("ACT-2569-000001" in t for t in texts)

    async with line.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
        photos = (await session.execute(select(ReportPhoto))).scalars().all()
    assert report.activity_type == "check_dam" and report.participants == 25
    assert report.answers["sectors"] == ["government", "religion"]
    assert report.village_code == "50010803"
    assert len(photos) == 1
    assert (line.core.settings.media_dir / photos[0].path).read_bytes() == photo


async def test_problem_report_by_typing_with_a_location(line: Line) -> None:
    await register(line)
    await line.say("แจ้งปัญหา")
    await line.say("ภัยแล้ง")
    await line.say("ด่วนมาก")
    await line.say("สามสิบ")
    await line.say("บ่อน้ำตื้นแห้งหมด ชาวบ้านไม่มีน้ำใช้")
    await line.say("ไม่มีรูป")
    texts = await line.send(line.user.location(18.7953, 98.9523))
    assert any("ตรวจสอบการแจ้งปัญหา" in t for t in texts)
    texts = await line.say("ยืนยัน")
    assert any("PRB-2569-000001" in t for t in texts)
    async with line.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert (report.problem_category, report.urgency, report.households) == (
        "drought",
        "very_urgent",
        30,
    )
    assert (report.latitude, report.longitude) == (18.7953, 98.9523)


async def test_bad_or_missing_signature_is_refused_and_nothing_is_processed(line: Line) -> None:
    body = webhook_body(line.user.text("สวัสดี"))
    assert (await line.post(body, signature=None)).status == 401
    assert (await line.post(body, signature=sign("another-secret", body))).status == 401
    assert line.fake.sent() == []
    async with line.core.sessions() as session:
        assert (await session.execute(select(User))).first() is None


async def test_malformed_and_oversized_bodies(line: Line) -> None:
    assert (await line.post(b"{not json")).status == 400
    assert (await line.post(b'{"destination": "U"}')).status == 400
    huge = webhook_body(line.user.text("ก" * (1024 * 1024)))
    assert (await line.post(huge)).status == 413
    assert line.fake.sent() == []


async def test_redelivered_event_is_processed_once(line: Line) -> None:
    await register(line)
    await line.say("แจ้งปัญหา")
    event = line.user.text("น้ำท่วม")
    first = await line.send(event)
    again = await line.send({**event, "deliveryContext": {"isRedelivery": True}})
    assert any("ด่วนแค่ไหน" in t for t in first)
    assert again == []  # nothing processed, nothing sent


async def test_expired_reply_token_falls_back_to_push_with_retry_key(line: Line) -> None:
    event = line.user.follow()
    line.fake.reply_tokens.discard(event["replyToken"])  # LINE no longer accepts it
    await line.send(event)
    kinds = [c.path for c in line.fake.sent()]
    assert kinds == ["/v2/bot/message/reply", "/v2/bot/message/push"]
    push = line.fake.sent()[-1]
    assert push.body["to"] == line.user.user_id
    assert len(push.headers["X-Line-Retry-Key"]) == 36


async def test_old_reply_token_is_not_tried(line: Line, clock: Clock) -> None:
    from handlers.messages import Outgoing

    received = clock.now
    line.fake.reply_tokens.add("token")
    clock.advance(minutes=2)
    extra = {"kind": "reply", "reply_token": "token", "received_at": received.isoformat()}
    await line.channel.deliver(line.user.user_id, [Outgoing("hello")], "key", extra=extra)
    assert [c.path for c in line.fake.sent()] == ["/v2/bot/message/push"]


async def test_unfollow_marks_inactive_and_follow_greets_a_returning_user(line: Line) -> None:
    await register(line)
    await line.send(line.user.unfollow())
    async with line.core.sessions() as session:
        assert (await session.execute(select(User.active))).scalar_one() is False
    texts = await line.send(line.user.follow())
    assert any("ยินดีต้อนรับกลับมา" in t for t in texts)
    async with line.core.sessions() as session:
        assert (await session.execute(select(User.active))).scalar_one() is True


async def test_unsupported_messages_get_a_friendly_answer(line: Line) -> None:
    await register(line)
    texts = await line.send(line.user.sticker())
    assert any("ข้อความ ปุ่ม รูปภาพ และตำแหน่ง" in t for t in texts)


async def test_quick_replies_respect_line_limits(line: Line) -> None:
    await line.send(line.user.follow())
    await line.tap("ภาษาไทย")
    await line.tap("ยินยอม")
    await line.say("สมชาย ใจดี")
    await line.tap("ข้าม")
    await line.tap("ผู้ใหญ่บ้าน")  # now the 77 provinces
    actions = line.fake.last_quick_reply()
    assert len(actions) <= 13
    assert all(len(a["label"]) <= 20 for a in actions)
    assert all(len(a.get("data", "")) <= 300 for a in actions)
    assert any(a["label"].startswith("ถัดไป") for a in actions)
    first_page = line.buttons()
    await line.tap("ถัดไป")
    assert line.buttons() != first_page


async def test_a_channel_without_credentials_has_no_webhook(core: Core) -> None:
    async with TestClient(TestServer(build_app(core))) as client:
        response = await client.post("/webhooks/line", data=b"{}")
    assert response.status == 404


async def test_setup_rich_menu_creates_uploads_and_sets_default(line: Line) -> None:
    import io

    from PIL import Image

    from bot.channels.line.richmenu import setup_rich_menu

    rich_menu_id = await setup_rich_menu(line.channel)
    paths = [c.path for c in line.fake.calls]
    assert paths == [
        "/v2/bot/richmenu",
        f"/v2/bot/richmenu/{rich_menu_id}/content",
        f"/v2/bot/user/all/richmenu/{rich_menu_id}",
    ]
    created = line.fake.calls[0].body
    assert [a["action"]["data"] for a in created["areas"]] == [
        "menu:activity",
        "menu:problem",
        "menu:my_reports",
        "menu:help",
    ]
    assert [a["action"]["label"] for a in created["areas"]][:2] == ["รายงานกิจกรรม", "แจ้งปัญหา"]
    upload = line.fake.calls[1]
    assert upload.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(upload.body))
    assert image.size == (2500, 1686)


async def test_rich_menu_buttons_work_as_menu_choices(line: Line) -> None:
    await register(line)
    texts = await line.send(line.user.postback("menu:problem"))
    assert any("ปัญหาเรื่องอะไร" in t for t in texts)


async def test_activity_by_typing_and_problem_by_buttons_then_export(line: Line) -> None:
    from storage import export

    await register(line)
    for text in ("รายงานกิจกรรม", "ธนาคารน้ำใต้ดิน", "เมื่อวาน", "ที่หมู่บ้านของฉัน", "๑๒",
                 "ภาคประชาชน", "ขุดบ่อธนาคารน้ำใต้ดินสามบ่อ", "ไม่มีรูป", "ยืนยัน"):  # fmt: skip
        texts = await line.say(text)
    assert any("ACT-2569-000001" in t for t in texts)
    await line.tap("แจ้งปัญหา")
    await line.tap("ถนน / สะพาน")
    await line.tap("ปกติ")
    await line.say("5")
    await line.say("สะพานไม้ข้ามคลองผุ เดินผ่านไม่ได้")
    await line.tap("ไม่มีรูป")
    await line.tap("ที่หมู่บ้านของฉัน")
    texts = await line.tap("ยืนยันส่ง")
    assert any("PRB-2569-000001" in t for t in texts)

    async with line.core.sessions() as session:
        rows = [
            row
            async for row in export.report_rows(
                session,
                export.ExportFilter(),
                lambda key: line.core.i18n.t("th", key),
                line.core.settings.tz,
            )
        ]
    assert [row[0] for row in rows] == ["ACT-2569-000001", "PRB-2569-000001"]


async def test_webhook_answers_before_the_reply_is_sent(line: Line) -> None:
    line.fake.hold = asyncio.Event()  # LINE's reply endpoint stalls
    body = webhook_body(line.user.follow())
    response = await line.client.post(
        "/webhooks/line", data=body, headers={"X-Line-Signature": sign(SECRET, body)}
    )
    assert response.status == 200  # answered while the reply is still on its way
    await line.app[INTAKE_KEY].drain()
    async with line.core.sessions() as session:
        reply = (await session.execute(select(OutboxMessage))).scalar_one()
    assert reply.kind == "reply" and reply.status in ("pending", "sending")
    line.fake.hold.set()
    await settle(line.app)
    assert line.fake.sent()


async def test_the_same_event_delivered_twice_at_once_is_handled_once(line: Line) -> None:
    event = line.user.follow()
    body = webhook_body(event)
    headers = {"X-Line-Signature": sign(SECRET, body)}
    await asyncio.gather(
        line.client.post("/webhooks/line", data=body, headers=headers),
        line.client.post("/webhooks/line", data=body, headers=headers),
    )
    await settle(line.app)
    assert len(line.fake.sent()) == 1


async def test_not_utf8_with_a_bad_signature_is_401(line: Line) -> None:
    assert (await line.post(b"\xff\xfe\x00garbage", signature="bm90IGEgc2lnbmF0dXJl")).status == 401


async def test_failed_photo_download_says_so(line: Line) -> None:
    await register(line)
    await line.say("แจ้งปัญหา")
    for text in ("ขยะ", "ปกติ", "1", "ขยะล้นถังหน้าวัด"):
        await line.say(text)
    event = line.user.image(b"")
    line.fake.contents.pop(event["message"]["id"])  # LINE no longer has it
    texts = await line.send(event)
    assert any("รับรูปนี้ไม่สำเร็จ" in t for t in texts)
    assert any("ส่งรูปปัญหา" in t for t in texts)  # and the question again


async def test_flex_summary_footer_is_the_closing_sentence_only(line: Line) -> None:
    await register(line)
    for text in ("แจ้งปัญหา", "ขยะ", "ปกติ", "1", "บรรทัดแรก\nบรรทัดที่สองของรายละเอียด", "ไม่มีรูป"):
        await line.say(text)
    await line.tap("ที่หมู่บ้านของฉัน")
    card = line.fake.messages()[-1]
    footer = card["contents"]["body"]["contents"][-1]["text"]
    assert "บรรทัดที่สอง" not in footer
    assert footer == line.core.i18n.t("th", "summary.how_to_edit")


async def test_a_reply_that_fails_is_retried_with_the_same_retry_key(
    line: Line, clock: Clock
) -> None:
    event = line.user.follow()
    line.fake.reply_tokens.discard(event["replyToken"])  # the reply token is refused: push
    line.fake.push_failures = [500, 502]
    await line.send(event)
    for _ in range(2):  # each failure waits for its retry time, then goes again
        clock.advance(minutes=10)
        line.app[DISPATCHER_KEY].wake()
        await settle(line.app)
    pushes = [c for c in line.fake.calls if c.path == "/v2/bot/message/push"]
    assert len(pushes) == 3
    assert len({c.headers["X-Line-Retry-Key"] for c in pushes}) == 1
    assert any("ยินดีต้อนรับ" in text_of(m) for m in line.fake.messages())
    async with line.core.sessions() as session:
        reply = (await session.execute(select(OutboxMessage))).scalar_one()
    assert (reply.status, reply.attempts) == ("sent", 3)


async def test_a_failure_while_handling_asks_the_user_to_send_again(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.channels.line.adapter

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(bot.channels.line.adapter, "handle_locked", broken)
    texts = await line.say("สวัสดี")
    assert texts == [line.core.i18n.t("th", "error.try_again")]


async def test_two_users_in_one_webhook_both_answered(line: Line) -> None:
    other = LineEvents(line.fake, "Uother000000000000")
    texts = await line.send(line.user.follow(), other.follow())
    assert sum("ยินดีต้อนรับ" in t for t in texts) == 2


async def test_old_event_ids_are_forgotten(line: Line, clock: Clock) -> None:
    from bot.server import housekeeping_once

    await line.send(line.user.follow())
    assert await housekeeping_once(line.core) == 0
    clock.advance(days=3)
    assert await housekeeping_once(line.core) == 2  # the event's inbox row and its reply


async def test_deeply_nested_json_is_a_bad_request(line: Line) -> None:
    body = b'{"destination": "U", "events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    assert (await line.post(body)).status == 400
    shallow_but_deep = webhook_body({**line.user.text("hi"), "x": _nested(40)})
    assert (await line.post(shallow_but_deep)).status == 400
    assert line.fake.sent() == []


def _nested(depth: int) -> Any:
    value: Any = "end"
    for _ in range(depth):
        value = {"a": [value]}
    return value


async def test_control_characters_nul_and_lone_surrogates_never_reach_the_database(
    line: Line,
) -> None:
    """A NUL (refused by PostgreSQL) or a lone surrogate (refused by the UTF-8 encoder) in a
    name used to be accepted at its step and then fail every submit for good."""
    await line.send(line.user.follow())
    await line.tap("ภาษาไทย")
    await line.tap("ยินยอม")
    await line.say("สมชาย\u0000 ใจ\ud800ดี\u0007\r\n")
    await line.tap("ข้าม")
    await line.tap("ผู้ใหญ่บ้าน")
    for text in ("เชียงใหม่", "เมืองเชียงใหม่", "สุเทพ"):
        await line.say(text)
    await line.tap("ม.3")
    texts = await line.tap("ยืนยันส่ง")
    assert any("ลงทะเบียนเรียบร้อย" in t for t in texts)
    async with line.core.sessions() as session:
        name = (await session.execute(select(User.display_name))).scalar_one()
    assert name == "สมชาย ใจดี"


async def test_the_apology_after_a_fault_is_in_the_users_language(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.channels.line.adapter

    await line.send(line.user.follow())
    await line.tap("English")
    await line.tap("I agree")
    for text in ("Somchai Jaidee", "skip", "Village head", "Chiang Mai", "Mueang Chiang Mai",
                 "Suthep", "3", "submit"):  # fmt: skip
        texts = await line.say(text)
    assert any("registered" in t.lower() for t in texts), texts

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(bot.channels.line.adapter, "handle_locked", broken)
    assert await line.say("menu") == [line.core.i18n.t("en", "error.try_again")]


async def test_a_button_with_a_number_out_of_range_is_refused_kindly(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    await register(line)
    invalid = line.core.i18n.t("th", "button.invalid")
    for data in ("case:99999999999999999999:ack", "case:²:ack", "feedback:4294967296:yes",
                 "bcast:1e9:send", "cases:page:99999999999"):  # fmt: skip
        texts = await line.send(line.user.postback(data))
        assert invalid in texts, data
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    async with line.core.sessions() as session:
        statuses = set((await session.execute(select(InboxEvent.status))).scalars())
    assert statuses == {"done"}
