"""PTB's networking on aiohttp: what a send looks like to Telegram, and failures as PTB's own
errors (the outbox retries on NetworkError and TimedOut)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram.http import AiohttpRequest
from tests.support.fake_telegram import FakeTelegram

TOKEN = "42:http"


async def test_sends_texts_and_photos_through_ptb() -> None:
    fake = FakeTelegram(TOKEN)
    async with TestServer(fake.app()) as api:
        base = str(api.make_url("")).rstrip("/")
        bot = Bot(TOKEN, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot",
                  request=AiohttpRequest())  # fmt: skip
        async with bot:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("ตกลง", callback_data="ok")]])
            sent = await bot.send_message(5, "สวัสดี", reply_markup=markup)
            assert sent.text == "สวัสดี"
            await bot.send_photo(5, b"\x89PNG fake", caption="รูป")
    text, photo = [c for c in fake.calls if c.method in ("sendMessage", "sendPhoto")]
    assert text.params["text"] == "สวัสดี"
    assert text.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
    assert photo.params["caption"] == "รูป"


async def test_failures_become_ptb_errors() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"http://127.0.0.1:{port}/x", "POST")
    await request.initialize()
    try:
        with pytest.raises(NetworkError):
            await request.do_request(f"http://127.0.0.1:{port}/x", "POST")

        async def slow(_request: web.Request) -> web.Response:
            await asyncio.sleep(2)
            return web.Response()

        app = web.Application()
        app.router.add_post("/slow", slow)
        async with TestServer(app) as server:
            with pytest.raises(TimedOut):
                await request.do_request(str(server.make_url("/slow")), "POST", read_timeout=0.2)
    finally:
        await request.shutdown()
