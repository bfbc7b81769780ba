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

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
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
from bot.channels import Background, RateLimiter, shorten, split_text
from bot.config import ChannelOffError
from bot.outbox import DeliveryError, PartSent
from bot.service import Core, handle_locked, save_photo, set_active, user_key
from handlers.messages import Inbound, Outgoing
from storage.media import PhotoTooLargeError

log = logging.getLogger(__name__)

PLATFORM = "line"
MAX_QUICK_REPLY = 13
PAGE_SIZE = MAX_QUICK_REPLY - 2  # room for the camera and camera-roll buttons
MAX_LABEL = 20
MAX_TEXT = 5000
MAX_CARD_TEXT = 2000  # a Flex message must stay under LINE's 30 KB per message
MAX_CARD_BUTTONS = 8
MAX_MESSAGES_PER_CALL = 5
MAX_MULTICAST = 500  # people per multicast call
# LINE says a reply token is good for about a minute; past this we push instead.
REPLY_TOKEN_FRESH = dt.timedelta(seconds=50)
PUSH_ATTEMPTS = 3
_RETRY_KEYS = uuid.UUID("5b3c1f0e-9f6d-4a57-8a61-2f4c1b7e9d20")  # namespace for retry keys


class LineChannel:
    """One per process: one API client for the Messaging API and one for its data host."""

    def __init__(self, core: Core) -> None:
        settings = core.settings
        if settings.line_channel_secret is None or settings.line_channel_access_token is None:
            raise ChannelOffError(
                "LINE is off: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN"
            )
        token = settings.line_channel_access_token.get_secret_value()
        self.core = core
        self.parser = WebhookParser(settings.line_channel_secret.get_secret_value())
        self._api_client = AsyncApiClient(
            Configuration(host=settings.line_api_base_url, access_token=token)
        )
        self._data_client = AsyncApiClient(
            Configuration(host=settings.line_data_api_base_url, access_token=token)
        )
        self.api = AsyncMessagingApi(self._api_client)
        self.blob = AsyncMessagingApiBlob(self._data_client)
        self.background = Background()
        self._secret = settings.line_channel_secret.get_secret_value().encode()
        # LINE allows 2,000 push requests a second; stay well under it.
        self.limiter = RateLimiter(overall=500, per_key=50)
        self.multicast_limiter = RateLimiter(overall=150, per_key=150)  # LINE allows 200/s
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests wait for nothing

    async def close(self) -> None:
        await self.background.drain()
        await self._api_client.close()
        await self._data_client.close()

    # ------------------------------------------------------------------ in

    async def webhook(self, request: web.Request) -> web.Response:
        signature = request.headers.get("X-Line-Signature", "")
        body = await request.read()  # aiohttp answers 413 past the app's client_max_size
        # The signature is checked on the raw bytes first: nothing else is looked at before.
        expected = base64.b64encode(hmac.new(self._secret, body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            log.warning("LINE webhook with a bad or missing signature refused")
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            events = self.parser.parse(body.decode("utf-8"), signature)
        except InvalidSignatureError:
            log.warning("LINE webhook with a bad signature refused")
            return web.json_response({"error": "bad signature"}, status=401)
        except (ValueError, KeyError, TypeError, AttributeError):  # not a webhook body
            return web.json_response({"error": "malformed body"}, status=400)
        received = self.core.clock()
        if events:
            self.background.start(self._process(events, received), "line-webhook")
        return web.json_response({})

    async def _process(self, events: Sequence[Any], received: dt.datetime) -> None:
        """Each user's events in order; different users' side by side, so one user's slow
        photo download does not age everybody else's reply token."""
        by_user: dict[str, list[Any]] = {}
        for event in events:
            source = getattr(event, "source", None)
            if isinstance(source, UserSource) and source.user_id:
                by_user.setdefault(source.user_id, []).append(event)
        await asyncio.gather(*(self._user_events(evs, received) for evs in by_user.values()))

    async def _user_events(self, events: Sequence[Any], received: dt.datetime) -> None:
        for event in events:
            try:
                await self._event(event, received)
            except Exception:
                log.exception("LINE event %s failed", getattr(event, "webhook_event_id", "?"))

    async def _apologise(self, user_id: str) -> None:
        """Tell the user their last message was not saved and should be sent again."""
        try:
            text = self.core.i18n.t(self.core.settings.default_language, "error.try_again")
            await self.push(user_id, [TextMessage(text=text)])
        except Exception:
            log.exception("LINE apology could not be sent either")

    async def _event(self, event: Any, received: dt.datetime) -> None:
        user_id: str = event.source.user_id  # groups and rooms were left out in _process
        event_id: str | None = getattr(event, "webhook_event_id", None)
        if isinstance(event, UnfollowEvent):
            await set_active(self.core, PLATFORM, user_id, False, event_id=event_id)
            return
        async with self.core.locks.hold(user_key(PLATFORM, user_id)):
            inbound = await self._inbound(event, user_id)
            if inbound is None:
                return
            try:
                messages = await handle_locked(
                    self.core, PLATFORM, user_id, inbound, page_size=PAGE_SIZE, event_id=event_id
                )
            except Exception:
                # Nothing was saved, and LINE had its 200, so it will not redeliver.
                log.exception("LINE event %s could not be handled", event_id)
                await self._apologise(user_id)
                return
            if messages:
                await self.send(
                    user_id, messages, getattr(event, "reply_token", None), received, event_id
                )

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

    async def send(
        self,
        user_id: str,
        outgoing: Sequence[Outgoing],
        reply_token: str | None = None,
        received: dt.datetime | None = None,
        event_id: str | None = None,
    ) -> None:
        """Reply while the token is fresh (it is free), push the rest (it counts to the quota).
        Pushes answering an event carry retry keys made from its id, so a retry after a lost
        answer is not delivered twice."""
        messages = [m for item in outgoing for m in render(self.core, item)]
        batches = [
            messages[i : i + MAX_MESSAGES_PER_CALL]
            for i in range(0, len(messages), MAX_MESSAGES_PER_CALL)
        ]
        fresh = received is not None and self.core.clock() - received < REPLY_TOKEN_FRESH
        for index, batch in enumerate(batches):
            if index == 0 and reply_token and fresh:
                try:
                    await self.api.reply_message(
                        ReplyMessageRequest(replyToken=reply_token, messages=batch)
                    )
                    continue
                except ApiException as error:
                    log.warning("LINE reply failed, pushing instead: %s", describe(error))
            key = str(uuid.uuid5(_RETRY_KEYS, f"{event_id}:{index}")) if event_id else None
            await self.push(user_id, batch, key)

    async def push(self, user_id: str, batch: Sequence[Any], retry_key: str | None = None) -> None:
        """Push with a retry key; network errors and 5xx are retried with the same key, which
        LINE uses to deliver the message once however many times we ask."""
        retry_key = retry_key or str(uuid.uuid4())
        request = PushMessageRequest(to=user_id, messages=list(batch))
        for attempt in range(PUSH_ATTEMPTS):
            try:
                await self.api.push_message(request, x_line_retry_key=retry_key)
                return
            except ApiException as error:
                if error.status == 409:  # already accepted under this retry key
                    return
                retryable = error.status is None or error.status >= 500 or error.status == 429
                if not retryable or attempt == PUSH_ATTEMPTS - 1:
                    log.error("LINE push to a user failed: %s", describe(error))
                    raise
            except (aiohttp.ClientError, TimeoutError) as error:
                if attempt == PUSH_ATTEMPTS - 1:
                    log.error("LINE push to a user failed: %s", error)
                    raise
            await self.sleep(0.5 * 2**attempt)

    async def deliver(
        self,
        recipient: str,
        messages: Sequence[Outgoing],
        retry_key: str,
        *,
        done: int = 0,
        on_part: PartSent | None = None,
        to: Sequence[str] | None = None,
    ) -> None:
        """Send one outbox row (for bot.outbox). Every call carries a retry key made from the
        row's, so a row sent again after a crash or a lost answer arrives once; parts (calls
        of up to five messages) LINE acknowledged before are not even asked again. A row
        with `to` goes to all of them in one multicast call (at most 500)."""
        rendered = [m for item in messages for m in render(self.core, item)]
        for part, index in enumerate(range(0, len(rendered), MAX_MESSAGES_PER_CALL)):
            if part < done:
                continue
            await (self.multicast_limiter if to is not None else self.limiter).wait(recipient)
            batch = rendered[index : index + MAX_MESSAGES_PER_CALL]
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
            if on_part is not None:
                await on_part(part + 1)


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
