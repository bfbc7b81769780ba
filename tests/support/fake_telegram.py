"""A fake Telegram Bot API on loopback for python-telegram-bot to talk to in tests, and the
updates Telegram would post to the webhook."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeTelegram:
    token: str
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    # method name -> list of canned failures to answer before succeeding (status, payload)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    # method name -> the number of the next call of it (counted from now) to answer 500, once
    fail_nth: dict[str, int] = field(default_factory=dict)
    # seconds to take over each answer (the call is recorded first, as if Telegram got it)
    delay: float = 0.0
    # methods answered with a redirect to themselves, for ever (the client gives up)
    redirect_loop: set[str] = field(default_factory=set)
    # messages Telegram accepted and answered (what the users' phones show)
    delivered: list[Call] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    # Telegram numbers updates for the bot as a whole, not per user.
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/bot{self.token}/{{method}}", self._api)
        app.router.add_get(f"/bot{self.token}/{{method}}", self._redirected)
        app.router.add_get(f"/file/bot{self.token}/{{path:.+}}", self._file)
        return app

    async def _redirected(self, request: web.Request) -> web.Response:
        # A client follows a 302 with a GET.
        if request.match_info["method"] in self.redirect_loop:
            raise web.HTTPFound(request.path)
        raise web.HTTPMethodNotAllowed(request.method, ["POST"])

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method in self.redirect_loop:
            self.calls.append(Call(method, {}))
            raise web.HTTPFound(request.path)
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = value if isinstance(value, str) else ""
            try:
                params[key] = json.loads(text)
            except ValueError:
                params[key] = text
        self.calls.append(Call(method, params))
        if problem := _invalid(method, params):
            return web.json_response(
                {"ok": False, "error_code": 400, "description": problem}, status=400
            )
        if method in self.fail_nth:
            self.fail_nth[method] -= 1
            if self.fail_nth[method] == 0:
                del self.fail_nth[method]
                return web.json_response(
                    {"ok": False, "error_code": 500, "description": "Internal Server Error"},
                    status=500,
                )
        queued = self.failures.get(method)
        if queued:
            status, payload = queued.pop(0)
            return web.json_response({"ok": False, **payload}, status=status)
        if method in ("sendMessage", "sendPhoto"):
            self.delivered.append(Call(method, params))  # on the phone, answer or not
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 999, "is_bot": True, "first_name": "fieldbot", "username": "fieldbot"}
        if method == "sendMessage":
            return {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        if method == "getFile":
            file_id = str(params["file_id"])
            return {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": len(self.files.get(file_id, b"")),
                "file_path": f"photos/{file_id}.jpg",
            }
        if method == "editMessageReplyMarkup":
            return True
        return True

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")
        data = self.files.get(name)
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data)

    # -- what the bot sent
    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            c.params
            for c in self.calls
            if c.method == "sendMessage"
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def texts(self) -> list[str]:
        return [str(p["text"]) for p in self.sent()]

    def last_keyboard(self) -> list[dict[str, Any]]:
        for params in reversed(self.sent()):
            markup = params.get("reply_markup")
            if markup:
                if "inline_keyboard" in markup:
                    return [b for row in markup["inline_keyboard"] for b in row]
                return [b for row in markup["keyboard"] for b in row]
        return []

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]


def _invalid(method: str, params: dict[str, Any]) -> str | None:
    """What the Bot API would refuse (its documented limits), or None."""
    if method == "sendMessage" and not 1 <= len(str(params.get("text", ""))) <= 4096:
        return "Bad Request: message text must be 1-4096 characters"
    markup = params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if len(button.get("callback_data", "").encode()) > 64:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None


class TelegramUpdates:
    """Updates from one private-chat user, as Telegram builds them."""

    def __init__(self, fake: FakeTelegram, user_id: int) -> None:
        self.fake = fake
        self.user_id = user_id
        self._ids = fake.update_ids
        self._messages = itertools.count(1)

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "สมชาย", "language_code": "th"}

    def _message(self, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": next(self._messages),
            "date": int(time.time()),
            "chat": {"id": self.user_id, "type": "private", "first_name": "สมชาย"},
            "from": self._user(),
            **content,
        }
        return {"update_id": next(self._ids), "message": message}

    def text(self, text: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if text.startswith("/"):
            extra["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return self._message(text=text, **extra)

    def location(self, latitude: float, longitude: float) -> dict[str, Any]:
        return self._message(location={"latitude": latitude, "longitude": longitude})

    def photo(self, data: bytes) -> dict[str, Any]:
        file_id = f"photo{next(self._ids)}"
        self.fake.files[file_id] = data
        sizes = [
            {"file_id": f"{file_id}small", "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": file_id, "file_unique_id": "b", "width": 800, "height": 800},
        ]
        return self._message(photo=sizes)

    def sticker(self) -> dict[str, Any]:
        sticker = {
            "file_id": "st",
            "file_unique_id": "st",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._message(sticker=sticker)

    def callback(self, data: str, message_id: int = 1) -> dict[str, Any]:
        query = {
            "id": str(next(self._ids)),
            "from": self._user(),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": self.user_id, "type": "private"},
                "text": "question",
                "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": data}]]},
            },
        }
        return {"update_id": next(self._ids), "callback_query": query}

    def member(self, status: str) -> dict[str, Any]:
        old = "member" if status == "kicked" else "kicked"
        bot = {"id": 999, "is_bot": True, "first_name": "fieldbot"}
        return {
            "update_id": next(self._ids),
            "my_chat_member": {
                "chat": {"id": self.user_id, "type": "private"},
                "from": self._user(),
                "date": int(time.time()),
                "old_chat_member": {"user": bot, "status": old, **_until(old)},
                "new_chat_member": {"user": bot, "status": status, **_until(status)},
            },
        }


def _until(status: str) -> dict[str, Any]:
    return {"until_date": 0} if status == "kicked" else {}
