"""A fake LINE Messaging API on loopback, for the official SDK to talk to in tests, and the
webhook bodies LINE would send, signed the way LINE signs them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.perf_counter)


@dataclass
class FakeLine:
    """Records every call; knows the reply tokens it issued and the content of each message."""

    calls: list[Call] = field(default_factory=list)
    reply_tokens: set[str] = field(default_factory=set)
    contents: dict[str, bytes] = field(default_factory=dict)
    on_send: Callable[[Call], None] | None = None  # for load tests: told of every reply/push
    hold: asyncio.Event | None = None  # when set up, replies wait until it is set
    push_failures: list[int] = field(default_factory=list)  # statuses to answer pushes with
    push_delay: float = 0.0  # seconds each accepted push takes (a slow platform)
    accepted_keys: set[str] = field(default_factory=set)
    delivered: list[dict[str, Any]] = field(default_factory=list)  # pushes LINE delivered
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/v2/bot/message/reply", self._reply)
        app.router.add_post("/v2/bot/message/push", self._push)
        app.router.add_post("/v2/bot/message/multicast", self._multicast)
        app.router.add_post("/v2/bot/chat/loading/start", self._accepted)
        app.router.add_get("/v2/bot/message/{message_id}/content", self._content)
        app.router.add_post("/v2/bot/richmenu", self._rich_menu)
        app.router.add_post("/v2/bot/richmenu/{rich_menu_id}/content", self._ok)
        app.router.add_post("/v2/bot/user/all/richmenu/{rich_menu_id}", self._ok)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        call = Call(request.method, request.path, dict(request.headers), body)
        self.calls.append(call)
        if self.on_send is not None and call.path.startswith("/v2/bot/message/"):
            self.on_send(call)
        response: web.StreamResponse = await handler(request)
        response.headers["x-line-request-id"] = str(uuid.uuid4())
        return response

    # -- API
    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        if problem := _invalid(body):
            return web.json_response({"message": problem}, status=400)
        if self.hold is not None:
            await self.hold.wait()
        token = body.get("replyToken")
        if token not in self.reply_tokens:
            return web.json_response({"message": "Invalid reply token"}, status=400)
        self.reply_tokens.discard(token)  # single use
        return web.json_response({"sentMessages": [{"id": str(next(self._ids))}]})

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.json()
        if problem := _invalid(body):
            return web.json_response({"message": problem}, status=400)
        if self.push_failures:
            status = self.push_failures.pop(0)
            headers = {"Retry-After": "1"} if status == 429 else {}
            return web.json_response({"message": "try again"}, status=status, headers=headers)
        key = request.headers.get("X-Line-Retry-Key")
        if key and key in self.accepted_keys:
            # What LINE does: the request was accepted before under this key; not sent again.
            return web.json_response({"message": "The retry key is already accepted"}, status=409)
        if self.push_delay:
            await asyncio.sleep(self.push_delay)
        if key:
            self.accepted_keys.add(key)
        self.delivered.append(body)
        return web.json_response({"sentMessages": [{"id": str(next(self._ids))}]})

    async def _multicast(self, request: web.Request) -> web.Response:
        """Like a push, to a list of 1 to 500 users; answers {} as LINE does."""
        body = await request.json()
        to = body.get("to") or []
        if not 1 <= len(to) <= 500:
            return web.json_response({"message": "to: 1 to 500 user ids"}, status=400)
        response = await self._push(request)
        if response.status == 200:
            return web.json_response({})
        return response

    async def _accepted(self, request: web.Request) -> web.Response:
        return web.json_response({}, status=202)

    async def _ok(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _rich_menu(self, request: web.Request) -> web.Response:
        return web.json_response({"richMenuId": f"richmenu-{next(self._ids)}"})

    async def _content(self, request: web.Request) -> web.Response:
        data = self.contents.get(request.match_info["message_id"])
        if data is None:
            return web.json_response({"message": "Not found"}, status=404)
        return web.Response(body=data, content_type="image/jpeg")

    # -- what the bot sent
    def sent(self) -> list[Call]:
        return [
            c for c in self.calls if c.path in ("/v2/bot/message/reply", "/v2/bot/message/push")
        ]

    def multicasts(self) -> list[dict[str, Any]]:
        """Multicast bodies LINE accepted and delivered."""
        return [body for body in self.delivered if isinstance(body.get("to"), list)]

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for call in self.sent():
            if to is None or call.path.endswith("reply") or call.body.get("to") == to:
                found += call.body["messages"]
        return found

    def last_quick_reply(self) -> list[dict[str, Any]]:
        """The buttons of the newest message that has any: quick replies, or a card's own."""
        for message in reversed(self.messages()):
            if buttons_of(message):
                return buttons_of(message)
        return []

    def texts(self) -> list[str]:
        out = []
        for message in self.messages():
            out.append(text_of(message))
        return out


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's tappable actions: its quick replies, or a Flex card's footer buttons."""
    if message.get("quickReply"):
        return [item["action"] for item in message["quickReply"]["items"]]
    footer = (message.get("contents") or {}).get("footer") or {}
    return [c["action"] for c in footer.get("contents", []) if c.get("type") == "button"]


def text_of(message: dict[str, Any]) -> str:
    """What the reader sees: a text, or a Flex card's alt text followed by its body's texts."""
    if message.get("type") != "flex":
        return str(message.get("text") or "")
    body = (message.get("contents") or {}).get("body") or {}
    texts: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "text":
            texts.append(str(node.get("text", "")))
        for child in node.get("contents", []) or []:
            walk(child)

    walk(body)
    return "\n".join([str(message.get("altText", "")), *texts])


def _invalid(body: dict[str, Any]) -> str | None:
    """What LINE would refuse in a reply or push (its documented limits), or None."""
    messages = body.get("messages") or []
    if not 1 <= len(messages) <= 5:
        return "messages: 1 to 5 per request"
    for message in messages:
        if message.get("type") == "text" and not 1 <= len(message.get("text", "")) <= 5000:
            return "text: 1 to 5000 characters"
        if message.get("type") == "flex" and not 1 <= len(message.get("altText", "")) <= 400:
            return "altText: 1 to 400 characters"
        if message.get("type") == "flex":
            for action in buttons_of(message) if not message.get("quickReply") else []:
                if not 1 <= len(action.get("label", "")) <= 20:
                    return "button label: 1 to 20 characters"
                if len(action.get("data", "")) > 300:
                    return "postback data: at most 300 characters"
        items = (message.get("quickReply") or {}).get("items", [])
        if len(items) > 13:
            return "quickReply: at most 13 items"
        for item in items:
            action = item["action"]
            if not 1 <= len(action.get("label", "")) <= 20:
                return "quickReply label: 1 to 20 characters"
            if len(action.get("data", "")) > 300:
                return "postback data: at most 300 characters"
    return None


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class LineEvents:
    """Webhook bodies for one LINE user, as LINE builds them."""

    def __init__(self, fake: FakeLine, user_id: str) -> None:
        self.fake = fake
        self.user_id = user_id

    def _base(self, kind: str, *, token: bool = True, **extra: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": self.user_id},
            "webhookEventId": uuid.uuid4().hex.upper()[:26],
            "deliveryContext": {"isRedelivery": False},
        }
        if token:
            reply_token = uuid.uuid4().hex
            self.fake.reply_tokens.add(reply_token)
            event["replyToken"] = reply_token
        event.update(extra)
        return event

    def text(self, text: str) -> dict[str, Any]:
        message = {
            "type": "text",
            "id": str(uuid.uuid4().int)[:18],
            "quoteToken": "q",
            "text": text,
        }
        return self._base("message", message=message)

    def postback(self, data: str) -> dict[str, Any]:
        return self._base("postback", postback={"data": data})

    def location(self, latitude: float, longitude: float) -> dict[str, Any]:
        message = {
            "type": "location",
            "id": str(uuid.uuid4().int)[:18],
            "latitude": latitude,
            "longitude": longitude,
            "address": "",
        }
        return self._base("message", message=message)

    def image(self, data: bytes) -> dict[str, Any]:
        message_id = str(uuid.uuid4().int)[:18]
        self.fake.contents[message_id] = data
        message = {
            "type": "image",
            "id": message_id,
            "quoteToken": "q",
            "contentProvider": {"type": "line"},
        }
        return self._base("message", message=message)

    def sticker(self) -> dict[str, Any]:
        message = {
            "type": "sticker",
            "id": str(uuid.uuid4().int)[:18],
            "quoteToken": "q",
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
        }
        return self._base("message", message=message)

    def follow(self) -> dict[str, Any]:
        return self._base("follow", follow={"isUnblocked": False})

    def unfollow(self) -> dict[str, Any]:
        return self._base("unfollow", token=False)


def webhook_body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": "Ubot", "events": list(events)}).encode()
