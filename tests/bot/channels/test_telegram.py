"""Telegram end to end: webhook updates over real HTTP with the secret header, the official
SDK (python-telegram-bot) talking to a fake Bot API on loopback, and the stored rows."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.channels.base import DeliveryError
from bot.channels.telegram.adapter import TelegramChannel
from bot.server import CHANNELS_KEY, DISPATCHER_KEY, build_app, settle
from bot.service import Core, build_core
from handlers.messages import Choice, Outgoing
from storage.models import OutboxMessage, Report, ReportPhoto, User
from tests.support.cli import run_cli_async
from tests.support.clock import Clock
from tests.support.env import environment
from tests.support.fake_telegram import FakeTelegram, TelegramUpdates
from tests.support.images import png_bytes
from tests.support.settings import make_settings, telegram_on

TOKEN = "123456:TEST-token"
SECRET = "telegram-webhook-secret"


@dataclass
class Telegram:
    fake: FakeTelegram
    client: TestClient[Any, Any]
    channel: TelegramChannel
    core: Core
    user: TelegramUpdates
    api_base: str

    @property
    def app(self) -> web.Application:
        return self.client.server.app  # type: ignore[attr-defined, no-any-return]

    async def post(self, body: bytes, secret: str | None = SECRET) -> ClientResponse:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        response = await self.client.post("/webhooks/telegram", data=body, headers=headers)
        await settle(self.app)
        return response

    async def send(self, update: dict[str, Any]) -> list[str]:
        before = len(self.fake.sent())
        response = await self.post(json.dumps(update).encode())
        assert response.status == 200
        return [str(p["text"]) for p in self.fake.sent()[before:]]

    async def say(self, text: str) -> list[str]:
        return await self.send(self.user.text(text))

    async def tap(self, label: str) -> list[str]:
        buttons = self.fake.last_keyboard()
        for button in buttons:
            if button["text"].startswith(label):
                if "callback_data" in button:
                    return await self.send(self.user.callback(button["callback_data"]))
                return await self.say(button["text"])  # a reply-keyboard button sends its text
        raise AssertionError(f"no button {label!r} in {[b['text'] for b in buttons]}")


@contextlib.asynccontextmanager
async def open_telegram(
    fake: FakeTelegram, database_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[Telegram]:
    """The server with its Telegram channel on, the SDK pointed at `fake` on loopback."""
    async with TestServer(fake.app()) as api:
        settings = make_settings(
            database_url, tmp_path / "media", **telegram_on(str(api.make_url("")), TOKEN, SECRET)
        )
        core = await build_core(settings)
        core.clock = clock
        app = build_app(core)
        try:
            async with TestClient(TestServer(app)) as client:
                yield Telegram(
                    fake, client, app[CHANNELS_KEY]["telegram"], core, TelegramUpdates(fake, 4242),
                    settings.telegram_api_base_url,
                )  # fmt: skip
        finally:
            await core.close()


@pytest.fixture
async def telegram(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Telegram]:
    async with open_telegram(FakeTelegram(TOKEN), database_url, tmp_path, clock) as opened:
        yield opened


async def register(tg: Telegram) -> None:
    await tg.say("/start")
    await tg.tap("ภาษาไทย")
    await tg.tap("ยินยอม")
    await tg.say("สมหญิง รักดี")
    await tg.say("0812345678")
    await tg.tap("อสม.")
    await tg.say("ขอนแก่น")
    await tg.say("เมืองขอนแก่น")
    await tg.say("ในเมือง")
    await tg.say("หมู่ ๔")
    texts = await tg.tap("ยืนยันส่ง")
    assert any("ลงทะเบียนเรียบร้อย" in t for t in texts)


async def test_start_registers_and_asks_with_inline_keyboards(telegram: Telegram) -> None:
    texts = await telegram.say("/start")
    assert any("ยินดีต้อนรับ" in t for t in texts)
    assert [b["text"] for b in telegram.fake.last_keyboard()][:2] == ["ภาษาไทย", "English"]
    assert "getMe" in telegram.fake.methods()  # credentials checked at start-up


async def test_activity_with_photo_by_buttons(telegram: Telegram) -> None:
    await register(telegram)
    await telegram.tap("รายงานกิจกรรม")
    await telegram.tap("ปลูกผักสวนครัว")
    await telegram.tap("วันนี้")
    keyboard = telegram.fake.sent()[-1]["reply_markup"]
    assert keyboard["keyboard"][0][0]["request_location"] is True
    await telegram.tap("ที่หมู่บ้านของฉัน")
    await telegram.say("๔๕")
    await telegram.tap("ภาคประชาชน")
    await telegram.tap("เสร็จ")
    await telegram.say("ปลูกผักสวนครัวรั้วกินได้ทุกหลังคาเรือน")
    photo = png_bytes(6, 6, (0, 90, 200))
    texts = await telegram.send(telegram.user.photo(photo))
    assert any("1/5" in t for t in texts)
    await telegram.tap("เสร็จ")
    texts = await telegram.tap("ยืนยันส่ง")
    assert any("ACT-2569-000001" in t for t in texts)
    async with telegram.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
        stored = (await session.execute(select(ReportPhoto))).scalar_one()
    assert (report.activity_type, report.participants) == ("kitchen_garden", 45)
    assert report.village_code == "40010104"
    assert (telegram.core.settings.media_dir / stored.path).read_bytes() == photo


async def test_problem_by_typing_with_location(telegram: Telegram) -> None:
    await register(telegram)
    await telegram.say("/problem")
    await telegram.say("ไฟฟ้า")
    await telegram.say("ด่วน")
    await telegram.say("8")
    await telegram.say("เสาไฟล้มขวางทาง ไฟดับทั้งซอย")
    await telegram.say("ไม่มีรูป")
    await telegram.send(telegram.user.location(16.4419, 102.8360))
    texts = await telegram.say("ยืนยัน")
    assert any("PRB-2569-000001" in t for t in texts)
    async with telegram.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert (report.problem_category, report.urgency, report.households) == (
        "electricity",
        "urgent",
        8,
    )
    assert (report.latitude, report.longitude) == (16.4419, 102.836)


async def test_pressed_keyboard_is_removed_and_the_press_answered(telegram: Telegram) -> None:
    await telegram.say("/start")
    await telegram.tap("ภาษาไทย")
    methods = telegram.fake.methods()
    assert "answerCallbackQuery" in methods
    assert "editMessageReplyMarkup" in methods


async def test_wrong_or_missing_secret_is_refused(telegram: Telegram) -> None:
    body = json.dumps(telegram.user.text("/start")).encode()
    assert (await telegram.post(body, secret="wrong")).status == 403
    assert (await telegram.post(body, secret=None)).status == 403
    assert telegram.fake.sent() == []


async def test_malformed_and_oversized_bodies(telegram: Telegram) -> None:
    assert (await telegram.post(b"{oops")).status == 400
    assert (await telegram.post(b"[1, 2]")).status == 400
    huge = json.dumps(telegram.user.text("ก" * (1024 * 1024))).encode()
    assert (await telegram.post(huge)).status == 413
    assert telegram.fake.sent() == []


async def test_duplicated_update_is_processed_once(telegram: Telegram) -> None:
    update = telegram.user.text("/start")
    first = await telegram.send(update)
    again = await telegram.send(update)
    assert first and again == []


async def test_block_and_unblock(telegram: Telegram) -> None:
    await register(telegram)
    await telegram.send(telegram.user.member("kicked"))
    async with telegram.core.sessions() as session:
        assert (await session.execute(select(User.active))).scalar_one() is False
    await telegram.send(telegram.user.member("member"))
    async with telegram.core.sessions() as session:
        assert (await session.execute(select(User.active))).scalar_one() is True


async def test_a_user_who_blocked_the_bot_is_marked_inactive_on_send(telegram: Telegram) -> None:
    await register(telegram)
    telegram.fake.failures["sendMessage"] = [
        (403, {"error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    ]
    await telegram.say("เมนู")
    async with telegram.core.sessions() as session:
        assert (await session.execute(select(User.active))).scalar_one() is False


async def test_a_reply_that_meets_flood_control_is_sent_after_retry_after(
    telegram: Telegram, clock: Clock
) -> None:
    too_many = {
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    telegram.fake.failures["sendMessage"] = [(429, too_many)]
    await telegram.say("/start")
    assert telegram.fake.delivered == []  # refused for now: it waits in the outbox
    async with telegram.core.sessions() as session:
        reply = (await session.execute(select(OutboxMessage))).scalar_one()
    assert reply.kind == "reply" and reply.status == "pending"
    assert reply.next_attempt_at == clock.now + dt.timedelta(seconds=7)
    clock.advance(seconds=6)
    telegram.app[DISPATCHER_KEY].wake()
    await settle(telegram.app)
    assert telegram.fake.delivered == []  # not before Telegram said
    clock.advance(seconds=1)
    telegram.app[DISPATCHER_KEY].wake()
    await settle(telegram.app)
    assert any("ยินดีต้อนรับ" in str(c.params["text"]) for c in telegram.fake.delivered)


async def test_replies_to_one_chat_keep_their_order_across_a_retry(
    telegram: Telegram, clock: Clock
) -> None:
    """A reply waiting for its retry holds the chat's next replies back, not anyone else's."""
    telegram.fake.failures["sendMessage"] = [
        (502, {"error_code": 502, "description": "Bad Gateway"})
    ]
    await telegram.say("/start")  # the welcome meets a 502: it waits for its retry
    await telegram.say("English")  # answered, but the answer must wait behind the welcome
    other = TelegramUpdates(telegram.fake, 5151)
    await telegram.send(other.text("/start"))
    assert {c.params["chat_id"] for c in telegram.fake.delivered} == {5151}  # not held up
    clock.advance(minutes=10)
    telegram.app[DISPATCHER_KEY].wake()
    await settle(telegram.app)
    mine = [str(c.params["text"]) for c in telegram.fake.delivered if c.params["chat_id"] == 4242]
    welcome = next(i for i, t in enumerate(mine) if "ยินดีต้อนรับ" in t)
    consent = next(i for i, t in enumerate(mine) if "Privacy notice" in t)
    assert welcome < consent


async def test_unsupported_messages_get_a_friendly_answer(telegram: Telegram) -> None:
    await register(telegram)
    texts = await telegram.send(telegram.user.sticker())
    assert any("ข้อความ ปุ่ม รูปภาพ และตำแหน่ง" in t for t in texts)


async def test_long_text_is_split_under_the_limit(telegram: Telegram) -> None:
    long_text = "\n".join(f"บรรทัดที่ {n} " + "ก" * 80 for n in range(120))
    await telegram.channel.deliver("4242", [Outgoing(long_text)], "key", extra={"kind": "reply"})
    pieces = telegram.fake.texts()
    assert len(pieces) >= 3
    assert all(len(p) <= 4096 for p in pieces)
    assert "".join(p.replace("\n", "") for p in pieces) == long_text.replace("\n", "")


async def test_callback_data_fits_telegram(telegram: Telegram) -> None:
    await register(telegram)
    await telegram.tap("รายงานกิจกรรม")
    for button in telegram.fake.last_keyboard():
        assert len(button["callback_data"].encode()) <= 64


async def test_set_webhook_with_secret_and_command_lists(telegram: Telegram) -> None:
    await telegram.channel.set_webhook("https://bot.example.org/webhooks/telegram")
    hook = next(c.params for c in telegram.fake.calls if c.method == "setWebhook")
    assert hook["url"] == "https://bot.example.org/webhooks/telegram"
    assert hook["secret_token"] == SECRET
    lists = [c.params for c in telegram.fake.calls if c.method == "setMyCommands"]
    languages = [p.get("language_code") for p in lists]
    assert set(languages) == {"th", "en", None}
    thai = next(p for p in lists if p.get("language_code") == "th")
    assert {"command": "problem", "description": "แจ้งปัญหา"} in thai["commands"]


async def test_command_words_from_the_list_work(telegram: Telegram) -> None:
    await register(telegram)
    texts = await telegram.say("/myreports")
    assert any("คุณยังไม่มีรายงาน" in t for t in texts)
    texts = await telegram.say("/activity")
    assert any("กิจกรรมอะไร" in t for t in texts)
    texts = await telegram.say("/cancel")
    assert any("ยกเลิกแล้ว" in t for t in texts)
    texts = await telegram.say("/mydata")
    assert any("ข้อมูลของคุณที่เราเก็บไว้" in t for t in texts)
    texts = await telegram.say("/delete")
    assert any("สิ่งที่จะถูกลบ" in t for t in texts)
    texts = await telegram.say("ไม่ลบ")
    assert any("ไม่ได้ลบ" in t for t in texts)


async def test_activity_by_typing_and_problem_by_buttons(telegram: Telegram) -> None:
    await register(telegram)
    for text in ("/activity", "อบรม", "วันนี้", "ที่หมู่บ้านของฉัน", "30", "ภาครัฐ",
                 "อบรมการทำปุ๋ยหมัก", "ไม่มีรูป", "ยืนยัน"):  # fmt: skip
        texts = await telegram.say(text)
    assert any("ACT-2569-000001" in t for t in texts)
    await telegram.tap("แจ้งปัญหา")
    await telegram.tap("น้ำเสีย")
    await telegram.tap("ด่วน")
    await telegram.say("20")
    await telegram.say("น้ำในคลองเน่าเหม็น ปลาตาย")
    await telegram.tap("ไม่มีรูป")
    await telegram.tap("ที่หมู่บ้านของฉัน")
    texts = await telegram.tap("ยืนยันส่ง")
    assert any("PRB-2569-000001" in t for t in texts)


async def test_a_tap_then_quick_typing_stays_in_order(telegram: Telegram) -> None:
    await register(telegram)
    await telegram.say("แจ้งปัญหา")
    button = next(b for b in telegram.fake.last_keyboard() if b["text"] == "ภัยแล้ง / ขาดน้ำ")
    tap = json.dumps(telegram.user.callback(button["callback_data"])).encode()
    typed = json.dumps(telegram.user.text("ด่วนมาก")).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    before = len(telegram.fake.sent())
    await telegram.client.post("/webhooks/telegram", data=tap, headers=headers)
    await telegram.client.post("/webhooks/telegram", data=typed, headers=headers)
    await settle(telegram.app)
    texts = [str(p["text"]) for p in telegram.fake.sent()[before:]]
    assert "ด่วนแค่ไหน" in texts[0]
    assert "ครัวเรือน" in texts[1]


async def test_start_with_a_payload_or_a_bot_name(telegram: Telegram) -> None:
    await register(telegram)
    await telegram.say("แจ้งปัญหา")
    await telegram.say("ขยะ")
    texts = await telegram.say("/start ref123")
    assert any("ยังทำไม่เสร็จ" in t for t in texts)  # a start, not an answer
    await telegram.tap("ทิ้งฉบับร่าง")
    texts = await telegram.say("/problem@fieldbot")
    assert any("ปัญหาเรื่องอะไร" in t for t in texts)


async def test_location_keyboard_is_removed_after_the_location_question(telegram: Telegram) -> None:
    await register(telegram)
    for text in ("แจ้งปัญหา", "ขยะ", "ปกติ", "1", "ขยะล้นถังหน้าวัด", "ไม่มีรูป"):
        await telegram.say(text)
    assert "keyboard" in telegram.fake.sent()[-1]["reply_markup"]
    await telegram.send(telegram.user.location(16.4, 102.8))
    after = telegram.fake.sent()[-2:]
    assert after[0]["reply_markup"] == {"remove_keyboard": True}
    assert "inline_keyboard" in after[1]["reply_markup"]  # the summary's buttons follow


async def test_the_keyboard_goes_even_when_another_worker_asked_the_location(
    telegram: Telegram,
) -> None:
    """With `serve --workers N` the location question may have gone out from another process:
    the answer's reply says itself that it follows the location question."""
    await register(telegram)
    for text in ("แจ้งปัญหา", "ขยะ", "ปกติ", "1", "ขยะล้นถังหน้าวัด", "ไม่มีรูป"):
        await telegram.say(text)
    assert "keyboard" in telegram.fake.sent()[-1]["reply_markup"]
    telegram.channel._reply_keyboard.clear()  # this process did not send it
    await telegram.send(telegram.user.location(16.4, 102.8))
    after = telegram.fake.sent()[-2:]
    assert after[0]["reply_markup"] == {"remove_keyboard": True}
    assert "inline_keyboard" in after[1]["reply_markup"]


async def test_garbage_updates_are_400(telegram: Telegram) -> None:
    assert (await telegram.post(b'{"update_id": 9, "message": "garbage"}')).status == 400


async def test_a_file_that_is_no_image_is_refused_as_a_photo(telegram: Telegram) -> None:
    await register(telegram)
    for text in ("แจ้งปัญหา", "ขยะ", "ปกติ", "1", "ขยะล้นถังหน้าวัด"):
        await telegram.say(text)
    update = telegram.user.photo(b"this is not an image")
    texts = await telegram.send(update)
    assert any("รับรูปนี้ไม่สำเร็จ" in t for t in texts)


async def test_the_bot_token_never_reaches_the_log(telegram: Telegram, tmp_path: Path) -> None:
    env = environment(
        drop=("LINE_", "TELEGRAM_"),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=telegram.api_base,
        FIELDBOT_LOG_LEVEL="INFO",
    )
    ran = await run_cli_async(["telegram", "set-webhook", "https://x.example/hook"], env)
    output = ran.out + ran.err
    assert ran.code == 0, output
    assert "Telegram webhook set" in output
    assert TOKEN.split(":")[1] not in output
    assert "setWebhook" in telegram.fake.methods()


async def test_reports_from_telegram_appear_in_the_export(telegram: Telegram) -> None:
    from storage import export

    await register(telegram)
    for text in ("/problem", "ไฟฟ้า", "ด่วน", "3", "ไฟทางดับทั้งซอย", "ไม่มีรูป"):
        await telegram.say(text)
    await telegram.send(telegram.user.location(16.44, 102.83))
    await telegram.say("ยืนยัน")
    async with telegram.core.sessions() as session:
        rows = [
            row
            async for row in export.report_rows(
                session,
                export.ExportFilter(kind="problem"),
                lambda key: telegram.core.i18n.t("th", key),
                telegram.core.settings.tz,
            )
        ]
    header = export.headers(lambda key: key)
    row = dict(zip(header, rows[0], strict=True))
    assert row["export.reference"] == "PRB-2569-000001"
    assert row["export.reporter"] == "สมหญิง รักดี"
    assert (row["export.latitude"], row["export.longitude"]) == (16.44, 102.83)


async def test_groups_and_channels_are_told_once_to_talk_one_to_one(telegram: Telegram) -> None:
    group = {"id": -100123, "type": "supergroup", "title": "หมู่ 3"}
    person = {"id": 777, "is_bot": False, "first_name": "ก"}

    def group_message(text: str) -> dict[str, Any]:
        message = {"message_id": 1, "date": 0, "chat": group, "from": person, "text": text}
        return {"update_id": next(telegram.fake.update_ids), "message": message}

    added = {
        "update_id": next(telegram.fake.update_ids),
        "my_chat_member": {
            "chat": group, "from": person, "date": 0,
            "old_chat_member": {"user": {"id": 999, "is_bot": True, "first_name": "b"},
                                "status": "left"},
            "new_chat_member": {"user": {"id": 999, "is_bot": True, "first_name": "b"},
                                "status": "member"},
        },
    }  # fmt: skip
    await telegram.send(added)
    await telegram.send(group_message("สวัสดี"))
    await telegram.send(group_message("/start"))
    channel = {"id": -100999, "type": "channel", "title": "ข่าว"}
    post = {
        "update_id": next(telegram.fake.update_ids),
        "channel_post": {"message_id": 2, "date": 0, "text": "ข่าว", "chat": channel},
    }
    await telegram.send(post)
    told = [c.params for c in telegram.fake.delivered]
    assert [p["chat_id"] for p in told] == [-100123, -100999]  # once each
    assert telegram.core.i18n.t("th", "group.private_only") in told[0]["text"]
    assert telegram.core.i18n.t("en", "group.private_only") in told[0]["text"]
    async with telegram.core.sessions() as session:
        assert (await session.execute(select(User))).first() is None  # nobody became a user


async def test_deeply_nested_json_is_a_bad_request(telegram: Telegram) -> None:
    body = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert (await telegram.post(body)).status == 400


async def test_a_start_without_telegram_still_reads_commands_addressed_to_the_bot(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Telegram out of reach when the service starts: the channel starts anyway, and a command
    addressed to the bot by name ("/problem@fieldbot") is read once Telegram answers again
    (the bot's own name is learnt then), not failed for want of it."""
    fake = FakeTelegram(TOKEN)
    fake.failures["getMe"] = [(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})]
    async with open_telegram(fake, database_url, tmp_path, clock) as tg:
        assert fake.methods().count("getMe") == 1  # refused at start
        await register(tg)
        texts = await tg.say("/problem@fieldbot")
        assert any("ปัญหาเรื่องอะไร" in t for t in texts), texts


async def test_a_retry_after_the_keyboard_went_still_sends_the_buttons(telegram: Telegram) -> None:
    """A chat shows the location keyboard; a message with buttons goes as two calls (the
    keyboard's removal, then the buttons). The first is acknowledged, the second fails: the
    retry splits the row into the same two calls and sends the second (the keyboard state is
    recorded only once every call went, so the buttons are not taken as sent)."""
    tg = telegram
    chat = "4242"
    tg.channel._reply_keyboard.add(chat)
    message = Outgoing("ด่วนแค่ไหน?", (Choice("a:urgency:urgent", "ด่วน"),), "choice")
    tg.fake.fail_nth["sendMessage"] = 2
    acknowledged: list[int] = []

    async def on_part(count: int) -> None:
        acknowledged.append(count)

    with pytest.raises(DeliveryError):
        await tg.channel.deliver(chat, [message], "key", on_part=on_part)
    assert acknowledged == [1]  # the removal went
    await tg.channel.deliver(chat, [message], "key", done=1)
    on_the_phone = [c.params for c in tg.fake.delivered if c.method == "sendMessage"]
    assert on_the_phone[-2]["reply_markup"] == {"remove_keyboard": True}
    assert "inline_keyboard" in on_the_phone[-1]["reply_markup"]  # the buttons arrived
    assert chat not in tg.channel._reply_keyboard
