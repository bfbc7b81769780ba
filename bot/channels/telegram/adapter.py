"""The Telegram channel, through python-telegram-bot (its `Bot` for the API, `Update` to read
webhooks; not its Application, whose in-memory conversation state we must not depend on).

In: the webhook is checked against `X-Telegram-Bot-Api-Secret-Token`, answered at once, and the
update handled afterwards, once (update_id). Out: choices become inline keyboards whose keyboard
is taken off once pressed; a location question gets the request-location reply keyboard."""

from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBUserWarning

from bot.channels.base import DeliveryError, PartSent, Receive
from bot.channels.shared import RateLimiter, load_json, malformed, split_text
from bot.channels.telegram import CAPABILITIES, NAME, OFF_HINT
from bot.channels.telegram.http import AiohttpRequest
from bot.config import ChannelOffError
from bot.redact import redact
from bot.service import Core, handle_locked, private_only, save_photo, set_active
from handlers.cases import keeps_buttons
from handlers.messages import Inbound, Outgoing
from storage.inbox import NewEvent, Source, Stored
from storage.media import PhotoTooLargeError, sniff_content_type

log = logging.getLogger(__name__)

# Pushes use the raw sendMessage call on purpose (no Message object built from each answer);
# PTB warns about that once per process, which would only confuse an operator.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)

PLATFORM = NAME
PAGE_SIZE = CAPABILITIES.page_size
MAX_TEXT = CAPABILITIES.max_text
MAX_CAPTION = 1024
SHORT_LABEL = 14  # labels this short go two to a keyboard row
COMMANDS = ("start", "menu", "activity", "problem", "myreports", "language", "mydata", "delete",
            "help", "cancel")  # fmt: skip


@dataclass(frozen=True)
class Part:
    """One Telegram call of a rendered message: `sendMessage` (text, markup) or `sendPhoto`
    (the stored photo `photo`, `text` as its caption)."""

    method: Literal["sendMessage", "sendPhoto"]
    text: str | None
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None
    photo: str | None = None
    last: bool = False  # the message's last text: where the keyboard state is settled


class TelegramChannel:
    """One per process, with one HTTP client (PTB's) for its whole life."""

    name = NAME
    capabilities = CAPABILITIES
    redelivers = CAPABILITIES.redelivers

    def __init__(self, core: Core) -> None:
        settings = core.settings
        if settings.telegram_bot_token is None or settings.telegram_webhook_secret is None:
            raise ChannelOffError(f"Telegram is off: {OFF_HINT}")
        # Pushes in flight at once (bot.outbox): 30 a second at ~0.25 s a round trip needs
        # eight; sixteen leaves room for a slow answer.
        self.concurrency = 16
        base = settings.telegram_api_base_url
        self.core = core
        self.secret = settings.telegram_webhook_secret.get_secret_value()
        self.bot = Bot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=AiohttpRequest(connections=self.concurrency + 8),
        )
        self.limiter = RateLimiter(overall=core.settings.telegram_max_per_second, per_key=1)
        # Chats showing our location keyboard (in memory: after a restart at worst it lingers).
        self._reply_keyboard: set[str] = set()

    async def start(self) -> None:
        try:
            await self.bot.initialize()  # getMe: a wrong token shows up at start, not at a user
        except InvalidToken:
            # PTB's own message quotes the token.
            raise ChannelOffError(
                "Telegram refused TELEGRAM_BOT_TOKEN (revoked or mistyped?): "
                "check it with @BotFather"
            ) from None
        except NetworkError as error:
            # Telegram out of reach (a network down, a proxy): the rest of the service must
            # not stop for it. Webhooks are still stored, and the outbox retries every send.
            log.warning("Telegram API not reachable at start (%s): its webhooks are still "
                        "accepted; sends are retried", redact(str(error)))  # fmt: skip

    async def close(self) -> None:
        await self.bot.shutdown()

    def routes(self, receive: Receive) -> list[web.RouteDef]:
        return [web.post(f"/webhooks/{PLATFORM}", receive)]

    # ------------------------------------------------------------------ in

    async def read(self, request: web.Request) -> list[NewEvent]:
        """The update of one webhook call, checked and cleaned, for the inbox (bot.intake
        stores it before the webhook is answered). Raises the HTTP error to answer otherwise."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("Telegram webhook with a wrong secret refused")
            raise web.HTTPForbidden(text='{"error": "forbidden"}', content_type="application/json")
        data = load_json(await request.read())  # aiohttp answers 413 past client_max_size
        try:
            update = Update.de_json(data, self.bot) if isinstance(data, dict) else None
        except Exception:  # whatever the body is, it is not an update we can read
            update = None
        if update is None:
            raise malformed()
        message = update.message
        photo = message is not None and bool(message.photo or message.document)
        return [NewEvent(str(update.update_id), _sender(update), data, parsed=update, slow=photo)]

    async def handle(self, item: Stored) -> None:
        """One stored update, in its sender's order (bot.intake calls this). Errors are left
        to the intake, which retries what a database hiccup caused and gives up on the rest."""
        update = item.parsed if isinstance(item.parsed, Update) else None
        if update is None:
            update = Update.de_json(item.payload, self.bot)
        member = update.my_chat_member
        if member is not None and member.chat.type == ChatType.PRIVATE:
            status = member.new_chat_member.status
            active = status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
            await set_active(
                self.core, PLATFORM, str(member.from_user.id), active, event=item.source
            )
            return
        chat = update.effective_chat
        if chat is not None and chat.type != ChatType.PRIVATE:
            # Groups and channels: told once to talk one to one; nobody becomes a user.
            await private_only(self.core, PLATFORM, str(chat.id), item.source)
            return
        query = update.callback_query
        message = update.message
        if query is not None:
            await self._callback(query, item.source)
        elif message is not None and message.from_user is not None:
            user_id = str(message.from_user.id)
            await self._handle(user_id, await self._inbound(message), item.source)
        else:  # an edited message and such: nothing to do, but it is done
            await set_active(self.core, PLATFORM, item.sender, True, event=item.source)

    async def _handle(self, user_id: str, inbound: Inbound, event: Source) -> None:
        await handle_locked(
            self.core, PLATFORM, user_id, inbound, page_size=PAGE_SIZE, event=event,
            reply={},
        )  # fmt: skip

    async def _callback(self, query: CallbackQuery, event: Source) -> None:
        user_id = str(query.from_user.id)
        try:
            await self.limiter.wait(user_id, per_key=False)
            await query.answer()  # stops the button's spinner
            pressed = query.message
            if (isinstance(pressed, Message) and pressed.reply_markup
                    and not keeps_buttons(query.data or "")):  # fmt: skip
                # A pressed question's keyboard goes away, so it cannot be pressed twice;
                # a case card keeps its buttons for the next step of the case.
                await self.limiter.wait(user_id, per_key=False)
                await pressed.edit_reply_markup(reply_markup=None)
        except TelegramError as error:
            log.warning("Telegram callback answer failed: %s", redact(str(error)))
        await self._handle(user_id, Inbound("choice", value=query.data or ""), event)

    async def _username(self) -> str | None:
        """The bot's own @name, learnt at start; when Telegram could not be reached then, asked
        now (None while it still cannot be: a private chat's command is ours anyway)."""
        try:
            return self.bot.username
        except RuntimeError:  # getMe never answered
            try:
                await self.bot.initialize()
                return self.bot.username
            except (TelegramError, RuntimeError) as error:
                log.warning("Telegram getMe still fails: %s", redact(str(error)))
                return None

    async def _inbound(self, message: Message) -> Inbound:
        if message.text is not None:
            text = message.text.strip()
            if text.startswith("/"):
                # "/start payload", "/problem@fieldbot": the command word is what counts.
                command, _, rest = text.partition(" ")
                name, _, addressee = command.partition("@")
                mine = await self._username()
                if addressee and mine is not None and addressee.lower() != mine.lower():
                    return Inbound("unsupported")  # a command for another bot in the chat
                if name == "/start":
                    return Inbound("start")
                text = f"{name} {rest}".strip()
            return Inbound("text", text=text)
        if message.location is not None:
            return Inbound(
                "location",
                latitude=message.location.latitude,
                longitude=message.location.longitude,
            )
        file_id = None
        if message.photo:
            file_id = message.photo[-1].file_id  # the largest size
        elif message.document and (message.document.mime_type or "").startswith("image/"):
            file_id = message.document.file_id
        if file_id is None:
            return Inbound("unsupported")  # stickers, voice, video, other files
        try:
            await self.limiter.wait(str(message.chat_id), per_key=False)
            await self.bot.send_chat_action(message.chat_id, "upload_photo")
            telegram_file = await self.bot.get_file(file_id)
            data = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as error:
            log.error("Telegram photo download failed: %s", redact(str(error)))
            return Inbound("photo_failed")
        if sniff_content_type(data) == "application/octet-stream":
            return Inbound("photo_failed")  # a "photo" file that is no image we can read
        try:
            return Inbound("photo", photo=await save_photo(self.core, data))
        except PhotoTooLargeError:
            return Inbound("photo_failed")

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
        """Send one outbox row (for bot.outbox), every message through the limiter: at most
        30 a second in all, and (but for a reply, a burst Telegram allows) one a second to a
        chat. Telegram has no retry key, so each message it acknowledges is reported
        (`on_part`) and never sent again when the row is retried."""
        reply = (extra or {}).get("kind") in ("reply", "private_only")
        sends: list[Callable[[], Awaitable[object]]] = []
        # Whether the chat shows our location keyboard, as the calls leave it: recorded only
        # once they all went, so a retry splits the row into the same calls again. A reply to
        # the location question says so itself: another worker process may have asked it.
        keyboard = recipient in self._reply_keyboard or bool((extra or {}).get("location_keyboard"))
        for item in messages:
            for part in self.render(item):
                calls, keyboard = await self._sends(recipient, item, part, keyboard)
                sends += calls
        try:
            for number, send in enumerate(sends, start=1):
                if number <= done:
                    continue  # acknowledged on an earlier attempt
                await self.limiter.wait(recipient, per_key=not reply)
                await send()
                if on_part is not None and number < len(sends):
                    await on_part(number)  # the last part is recorded with the row itself
        except RetryAfter as error:
            wait = error.retry_after
            seconds = float(wait if isinstance(wait, int) else wait.total_seconds())
            raise DeliveryError("retry", redact(str(error)), seconds) from error
        except Forbidden as error:
            # A group's chat id is negative: no person to mark as having blocked us.
            person = not recipient.startswith("-")
            raise DeliveryError("blocked", redact(str(error)), person=person) from error
        except BadRequest as error:
            raise DeliveryError("permanent", redact(str(error))) from error
        except (NetworkError, OSError) as error:  # includes TimedOut; the platform may be down
            raise DeliveryError("retry", redact(str(error))) from error
        if keyboard:
            self._reply_keyboard.add(recipient)
        else:
            self._reply_keyboard.discard(recipient)

    def render(self, outgoing: Outgoing) -> list[Part]:
        """Telegram calls for one message: a photo with the text as its caption when it fits
        (1,024 characters), else the photo and then the text in pieces of 4,096; the choices
        (`markup`) on the last piece."""
        markup = self.markup(outgoing)
        if outgoing.image and len(outgoing.text) <= MAX_CAPTION:
            return [Part("sendPhoto", outgoing.text, markup, photo=outgoing.image)]
        parts = [Part("sendPhoto", None, None, photo=outgoing.image)] if outgoing.image else []
        pieces = split_text(outgoing.text, MAX_TEXT)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            parts.append(Part("sendMessage", piece, markup if last else None, last=last))
        return parts

    async def _sends(
        self, recipient: str, item: Outgoing, part: Part, keyboard: bool
    ) -> tuple[list[Callable[[], Awaitable[object]]], bool]:
        """The calls that send `part` to `recipient` (each one counts as a part acknowledged),
        and whether the chat shows the location keyboard after them (`keyboard`: before): a
        location keyboard shown is removed by the next message that has none."""
        if part.method == "sendPhoto":
            photo = await self._photo(part.photo) if part.photo else None
            if photo is not None:
                return [partial(self.bot.send_photo, recipient, photo, caption=part.text,
                                reply_markup=part.markup)], keyboard  # fmt: skip
            # The photo is gone from the media store: its caption goes as text.
            if part.text is None:
                return [], keyboard
            part = Part("sendMessage", part.text, part.markup, last=True)
        params: dict[str, Any] = {"chat_id": recipient, "text": part.text}
        sends: list[Callable[[], Awaitable[object]]] = []
        if part.last and part.markup is not None:
            if isinstance(part.markup, ReplyKeyboardMarkup):
                keyboard = True
            elif keyboard:
                # The location keyboard must go; one message cannot both remove it and carry
                # inline buttons, so the buttons follow on their own.
                keyboard = False
                removal = {"chat_id": recipient, "text": part.text,
                           "reply_markup": ReplyKeyboardRemove()}  # fmt: skip
                sends.append(partial(self.bot.do_api_request, "sendMessage", removal))
                params["text"] = self.core.i18n.t(item.language, "telegram.buttons")
            params["reply_markup"] = part.markup
        elif part.last and keyboard:
            keyboard = False
            params["reply_markup"] = ReplyKeyboardRemove()
        # The raw call: a push needs no Message object built from Telegram's answer (that was
        # a quarter of a broadcast's CPU); errors are the same exceptions.
        sends.append(partial(self.bot.do_api_request, "sendMessage", params))
        return sends, keyboard

    async def _photo(self, path: str) -> bytes | None:
        """The stored photo, or None when it is gone (the alert then goes as text)."""
        try:
            return await asyncio.to_thread(self.core.media.path(path).read_bytes)
        except OSError:
            log.warning("photo %s is missing from the media store; sending text only", path)
            return None

    def markup(self, outgoing: Outgoing) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
        """Choices as an inline keyboard; a location question as a reply keyboard whose first
        button shares the location (Telegram cannot mix the two in one message)."""
        if outgoing.ask == "location":
            label = self.core.i18n.t(outgoing.language, "telegram.share_location")
            keys = [[KeyboardButton(label, request_location=True)]]
            keys += [[KeyboardButton(choice.label)] for choice in outgoing.choices]
            return ReplyKeyboardMarkup(keys, resize_keyboard=True, one_time_keyboard=True)
        if not outgoing.choices:
            return None
        rows: list[list[InlineKeyboardButton]] = []
        for choice in outgoing.choices:
            button = InlineKeyboardButton(choice.label, callback_data=choice.value)
            short = len(choice.label) <= SHORT_LABEL
            if short and rows and len(rows[-1]) == 1 and len(rows[-1][0].text) <= SHORT_LABEL:
                rows[-1].append(button)
            else:
                rows.append([button])
        return InlineKeyboardMarkup(rows)

    # ------------------------------------------------------------------ set-up

    async def set_webhook(self, url: str) -> None:
        """Point Telegram at `url` with our secret, and publish the command lists."""
        await self.bot.set_webhook(
            url,
            secret_token=self.secret,
            allowed_updates=["message", "callback_query", "my_chat_member"],
        )
        for lang in self.core.i18n.languages:
            commands = [
                BotCommand(name, self.core.i18n.t(lang, f"telegram.command.{name}"))
                for name in COMMANDS
            ]
            await self.bot.set_my_commands(commands, language_code=lang)
        default = [
            BotCommand(
                name,
                self.core.i18n.t(self.core.settings.default_language, f"telegram.command.{name}"),
            )
            for name in COMMANDS
        ]
        await self.bot.set_my_commands(default)


def _sender(update: Update) -> str:
    """Whose order an update keeps: the person's id in a private chat, else the chat's."""
    chat = update.effective_chat
    user = update.effective_user
    if (chat is None or chat.type == ChatType.PRIVATE) and user is not None:
        return str(user.id)
    return f"chat:{chat.id}" if chat is not None else "unknown"
