"""The LINE channel, through line-bot-sdk v3 (async API).

In: the webhook is checked against `X-Line-Signature` on the raw body, answered at once, and its
events handled afterwards, each user's in order. Every event is handled once (webhookEventId).
Out: choices become quick replies (postbacks), a location question gets LINE's location button,
a photo question its camera buttons, the summary a Flex card. Replies use the reply token while
it is fresh and fall back to a push with a retry key.

Postback data only ever answers the sender's own conversation: the user comes from the signed
webhook, never from the data, so a forged postback cannot reach another user's session.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from linebot.v3 import WebhookParser
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    CameraAction,
    CameraRollAction,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexSeparator,
    FlexText,
    ImageMessage,
    LocationAction,
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from bot import media_links
from bot.channels.base import DeliveryError, PartSent, Receive
from bot.channels.line import CAPABILITIES, MAX_QUICK_REPLY, NAME, OFF_HINT
from bot.channels.shared import RateLimiter, load_json, malformed, shorten, split_text
from bot.config import ChannelOffError
from bot.service import Core, give_up, handle_locked, save_photo, set_active
from handlers.messages import Inbound, Outgoing
from storage.inbox import NewEvent, Stored
from storage.media import PhotoTooLargeError

log = logging.getLogger(__name__)

PLATFORM = NAME
PAGE_SIZE = CAPABILITIES.page_size
MAX_LABEL = 20
MAX_TEXT = CAPABILITIES.max_text
MAX_CARD_TEXT = 2000  # a Flex message must stay under LINE's 30 KB per message
MAX_CARD_BUTTONS = 8
MAX_MESSAGES_PER_CALL = 5
MAX_MULTICAST = CAPABILITIES.multicast  # people per multicast call
# LINE says a reply token is good for about a minute; past this we push instead.
REPLY_TOKEN_FRESH = dt.timedelta(seconds=50)
_RETRY_KEYS = uuid.UUID("5b3c1f0e-9f6d-4a57-8a61-2f4c1b7e9d20")  # namespace for retry keys


class LineChannel:
    """One per process: one API client for the Messaging API and one for its data host."""

    name = NAME
    capabilities = CAPABILITIES

    def __init__(self, core: Core) -> None:
        settings = core.settings
        if settings.line_channel_secret is None or settings.line_channel_access_token is None:
            raise ChannelOffError(f"LINE is off: {OFF_HINT}")
        token = settings.line_channel_access_token.get_secret_value()
        self.core = core
        self.redelivers = core.settings.line_webhook_redelivery
        self.parser = WebhookParser(settings.line_channel_secret.get_secret_value())
        self._api_client = AsyncApiClient(
            Configuration(host=settings.line_api_base_url, access_token=token)
        )
        self._data_client = AsyncApiClient(
            Configuration(host=settings.line_data_api_base_url, access_token=token)
        )
        self.api = AsyncMessagingApi(self._api_client)
        self.blob = AsyncMessagingApiBlob(self._data_client)
        self._secret = settings.line_channel_secret.get_secret_value().encode()
        # LINE allows 2,000 push requests a second; stay well under it.
        self.limiter = RateLimiter(overall=500, per_key=50)
        self.multicast_limiter = RateLimiter(overall=150, per_key=150)  # LINE allows 200/s

    async def start(self) -> None:
        """Nothing to ask LINE at start: a wrong token shows up at the first send."""

    async def close(self) -> None:
        await self._api_client.close()
        await self._data_client.close()

    def render(self, outgoing: Outgoing) -> list[Any]:
        """LINE messages (SDK models): text in pieces of 5,000 characters, choices as quick
        replies (a Flex card for standing buttons and the summary), a photo by its signed
        public link."""
        return render(self.core, outgoing)

    def routes(self, receive: Receive) -> list[web.RouteDef]:
        return [web.post(f"/webhooks/{PLATFORM}", receive)]

    # ------------------------------------------------------------------ in

    async def read(self, request: web.Request) -> list[NewEvent]:
        """The events of one webhook, checked and cleaned, for the inbox (bot.intake stores
        them before the webhook is answered). Raises the HTTP error to answer otherwise."""
        signature = request.headers.get("X-Line-Signature", "")
        body = await request.read()  # aiohttp answers 413 past the app's client_max_size
        # The signature is checked on the raw bytes first: nothing else is looked at before.
        expected = base64.b64encode(hmac.new(self._secret, body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            log.warning("LINE webhook with a bad or missing signature refused")
            raise web.HTTPUnauthorized(text='{"error": "bad signature"}',
                                       content_type="application/json")  # fmt: skip
        data = load_json(body)
        raw = data.get("events") if isinstance(data, dict) else None
        if not isinstance(raw, list):
            raise malformed()
        found: list[NewEvent] = []
        for item in raw:
            if not isinstance(item, dict):
                raise malformed()
            try:
                event = Event.from_dict(item)
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
                log.info("LINE event of a kind we do not read skipped")
                continue
            source = getattr(event, "source", None)
            if not isinstance(source, UserSource) or not source.user_id:
                continue  # groups and rooms: the bot talks to people one to one
            event_id = str(item.get("webhookEventId") or _digest(item))
            photo = isinstance(getattr(event, "message", None), ImageMessageContent)
            found.append(NewEvent(event_id, str(source.user_id), item, parsed=event, slow=photo))
        return found

    async def handle(self, item: Stored) -> None:
        """One stored event, in its sender's order (bot.intake calls this). Errors are left
        to the intake, which retries what a database hiccup caused and gives up on the rest."""
        user_id = item.sender
        try:
            event = item.parsed if isinstance(item.parsed, Event) else Event.from_dict(item.payload)
        except (ValueError, TypeError, KeyError, AttributeError):
            await give_up(self.core, PLATFORM, user_id, item.source, "unreadable event", tell=False)
            return
        if isinstance(event, UnfollowEvent):
            await set_active(self.core, PLATFORM, user_id, False, event=item.source)
            return
        inbound = await self._inbound(event, user_id)
        if inbound is None:
            await set_active(self.core, PLATFORM, user_id, True, event=item.source)
            return
        reply: dict[str, Any] = {"received_at": item.received_at.isoformat()}
        token = getattr(event, "reply_token", None)
        if token:
            reply["reply_token"] = str(token)
        await handle_locked(
            self.core, PLATFORM, user_id, inbound, page_size=PAGE_SIZE, event=item.source,
            reply=reply,
        )  # fmt: skip

    async def _inbound(self, event: Any, user_id: str) -> Inbound | None:
        if isinstance(event, FollowEvent):
            return Inbound("start")
        if isinstance(event, PostbackEvent):
            return Inbound("choice", value=str(event.postback.data))
        if not isinstance(event, MessageEvent):
            return None
        message = event.message
        if isinstance(message, TextMessageContent):
            return Inbound("text", text=str(message.text))
        if isinstance(message, LocationMessageContent):
            return Inbound(
                "location", latitude=float(message.latitude), longitude=float(message.longitude)
            )
        if isinstance(message, ImageMessageContent):
            await self._loading(user_id)
            try:
                data = await self.blob.get_message_content(message.id)
                photo = await save_photo(self.core, bytes(data))
            except ApiException as error:
                log.error("LINE photo download failed: %s", describe(error))
                return Inbound("photo_failed")
            except PhotoTooLargeError:
                return Inbound("photo_failed")
            return Inbound("photo", photo=photo)
        return Inbound("unsupported")  # stickers, video, audio, files

    async def _loading(self, user_id: str) -> None:
        try:
            await self.api.show_loading_animation(
                ShowLoadingAnimationRequest(chatId=user_id, loadingSeconds=10)
            )
        except ApiException as error:  # a missing animation is no reason to stop
            log.warning("LINE loading animation failed: %s", describe(error))

    # ------------------------------------------------------------------ out

    async def deliver(
        self,
        recipient: str,
        messages: Sequence[Outgoing],
        retry_key: str,
        *,
        done: int = 0,
        on_part: PartSent | None = None,
        to: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Send one outbox row (for bot.outbox). A reply goes with the event's reply token
        while it is fresh (a reply is free; a push counts against the quota), and by push
        after that. Every push carries a retry key made from the row's, so a row sent again
        after a crash or a lost answer arrives once; parts (calls of up to five messages) LINE
        acknowledged before are not even asked again. A row with `to` goes to all of them in
        one multicast call (at most 500)."""
        rendered = [m for item in messages for m in self.render(item)]
        token = self._fresh_token(extra or {})
        parts = -(-len(rendered) // MAX_MESSAGES_PER_CALL)
        for part, index in enumerate(range(0, len(rendered), MAX_MESSAGES_PER_CALL)):
            if part < done:
                continue
            batch = rendered[index : index + MAX_MESSAGES_PER_CALL]
            if part == 0 and token is not None and await self._reply(token, batch):
                if on_part is not None and part + 1 < parts:
                    await on_part(part + 1)  # the last part is recorded with the row itself
                continue
            await (self.multicast_limiter if to is not None else self.limiter).wait(recipient)
            key = retry_key if index == 0 else str(uuid.uuid5(_RETRY_KEYS, f"{retry_key}:{index}"))
            try:
                if to is not None:
                    await self.api.multicast(
                        MulticastRequest(to=list(to)[:MAX_MULTICAST], messages=batch),
                        x_line_retry_key=key,
                    )
                else:
                    await self.api.push_message(
                        PushMessageRequest(to=recipient, messages=batch), x_line_retry_key=key
                    )
            except ApiException as error:
                if error.status == 409:  # LINE already accepted this retry key
                    continue
                raise _delivery_error(error) from error
            except (aiohttp.ClientError, TimeoutError) as error:
                raise DeliveryError("retry", f"network: {error}") from error
            if on_part is not None and part + 1 < parts:
                await on_part(part + 1)

    def _fresh_token(self, extra: Mapping[str, Any]) -> str | None:
        """The reply token stored with a reply, while LINE still takes it."""
        token, received = extra.get("reply_token"), extra.get("received_at")
        if not token or not received:
            return None
        try:
            age = self.core.clock() - dt.datetime.fromisoformat(str(received))
        except (TypeError, ValueError):
            return None
        return str(token) if age < REPLY_TOKEN_FRESH else None

    async def _reply(self, token: str, batch: Sequence[Any]) -> bool:
        """Answer with the reply token; False when LINE refused it (used or expired: push)."""
        await self.limiter.wait("reply", per_key=False)
        try:
            await self.api.reply_message(ReplyMessageRequest(replyToken=token, messages=batch))
        except ApiException as error:
            if error.status is not None and 400 <= error.status < 500 and error.status != 429:
                log.warning("LINE reply refused, pushing instead: %s", describe(error))
                return False
            raise _delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError("retry", f"network: {error}") from error
        return True


def _delivery_error(error: ApiException) -> DeliveryError:
    status = error.status
    if status == 429:
        headers = dict(error.headers or {})
        after = headers.get("Retry-After") or headers.get("retry-after")
        return DeliveryError("retry", describe(error), float(after) if after else 60.0)
    if status is None or status >= 500:
        return DeliveryError("retry", describe(error))
    # A 403 from LINE is about the channel's permissions, not the user: unfollows arrive as
    # webhook events and mark the user inactive there.
    return DeliveryError("permanent", describe(error))


def describe(error: ApiException) -> str:
    """An API error with LINE's request id, for the log (never the token)."""
    headers = dict(error.headers or {})
    request_id = headers.get("x-line-request-id") or headers.get("X-Line-Request-Id") or "-"
    body = error.body.decode("utf-8", "replace") if isinstance(error.body, bytes) else error.body
    return f"status {error.status}, request id {request_id}, {shorten(str(body), 300)}"


def render(core: Core, outgoing: Outgoing) -> list[Any]:
    """One neutral message as LINE messages; its choices as quick replies on the last one."""
    t = core.i18n.t
    lang = outgoing.language
    items: list[QuickReplyItem] = []
    if outgoing.ask == "location":
        items.append(QuickReplyItem(action=LocationAction(label=t(lang, "line.share_location"))))
    if outgoing.ask == "photos":
        items.append(QuickReplyItem(action=CameraAction(label=t(lang, "line.camera"))))
        items.append(QuickReplyItem(action=CameraRollAction(label=t(lang, "line.camera_roll"))))
    for choice in outgoing.choices:
        items.append(
            QuickReplyItem(
                action=PostbackAction(
                    label=shorten(choice.label, MAX_LABEL),
                    data=choice.value,
                    displayText=shorten(choice.label, 300),
                )
            )
        )
    quick = QuickReply(items=items[:MAX_QUICK_REPLY]) if items else None
    photo: list[Any] = []
    link = (
        media_links.public_link(core.settings, outgoing.image, core.clock())
        if outgoing.image
        else None
    )
    if link:
        photo.append(ImageMessage(originalContentUrl=link, previewImageUrl=link))
    if outgoing.summary:
        return [*photo, _summary_card(outgoing, quick, t(lang, "summary.how_to_edit"))]
    if outgoing.standing and outgoing.choices:
        return [*photo, _button_card(outgoing)]
    pieces = split_text(outgoing.text, MAX_TEXT)
    return [
        *photo,
        *(
            TextMessage(text=piece, quickReply=quick if i == len(pieces) - 1 else None)
            for i, piece in enumerate(pieces)
        ),
    ]


def _button_card(outgoing: Outgoing) -> FlexMessage:
    """Text with its buttons on the card itself: quick replies vanish as soon as another
    message arrives, but an officer acts on an alert hours later, among other pushes."""
    body = FlexBox(
        layout="vertical",
        contents=[FlexText(text=shorten(outgoing.text, MAX_CARD_TEXT), size="sm", wrap=True)],
    )
    buttons = [
        FlexButton(
            action=PostbackAction(
                label=shorten(choice.label, MAX_LABEL),
                data=choice.value,
                displayText=shorten(choice.label, 300),
            ),
            style="secondary" if i else "primary",
            height="sm",
        )
        for i, choice in enumerate(outgoing.choices[:MAX_CARD_BUTTONS])
    ]
    footer = FlexBox(layout="vertical", spacing="sm", contents=buttons)
    bubble = FlexBubble(body=body, footer=footer)
    return FlexMessage(altText=shorten(outgoing.text, 400), contents=bubble)


def _summary_card(outgoing: Outgoing, quick: QuickReply | None, footer: str) -> FlexMessage:
    title = (outgoing.text.splitlines() or [""])[0]
    rows: list[Any] = [FlexText(text=title, weight="bold", size="md", wrap=True), FlexSeparator()]
    for label, value in outgoing.summary:
        rows.append(
            FlexBox(
                layout="baseline",
                spacing="sm",
                contents=[
                    FlexText(text=label, size="sm", color="#888888", flex=2, wrap=True),
                    FlexText(text=value or "-", size="sm", flex=4, wrap=True),
                ],
            )
        )
    if footer:
        rows.append(FlexSeparator())
        rows.append(FlexText(text=footer, size="xs", color="#888888", wrap=True))
    bubble = FlexBubble(body=FlexBox(layout="vertical", spacing="sm", contents=rows))
    return FlexMessage(altText=shorten(outgoing.text, 400), contents=bubble, quickReply=quick)


def _digest(event: Mapping[str, Any]) -> str:
    """An id for an event that came without LINE's webhookEventId (the same event, the same id)."""
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False).encode("utf-8", "replace")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()
