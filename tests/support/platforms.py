"""The bot's server in-process with LINE and Telegram faked behind it: officers and villagers
write through the webhooks, the dispatcher delivers through the official SDKs to the fakes.
The `platforms` fixture (tests/bot/conftest.py) is one of these."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlmodel import col

from bot.outbox import Dispatcher
from bot.server import DISPATCHER_KEY, build_app, settle
from bot.service import Core, build_core
from storage import staff
from storage.models import OutboxMessage, User
from tests.support.clock import Clock
from tests.support.fake_line import FakeLine, LineEvents, sign, text_of, webhook_body
from tests.support.fake_telegram import FakeTelegram, TelegramUpdates
from tests.support.settings import make_settings

LINE_SECRET = "line-secret"
TG_TOKEN = "777:alerts"
TG_SECRET = "tg-secret"


@dataclass
class Platforms:
    core: Core
    client: TestClient[Any, Any]
    app: Any
    line: FakeLine
    telegram: FakeTelegram
    clock: Clock

    @property
    def dispatcher(self) -> Dispatcher:
        return self.app[DISPATCHER_KEY]

    async def line_send(self, events: LineEvents, *items: dict[str, Any]) -> None:
        body = webhook_body(*items)
        await self.client.post(
            "/webhooks/line", data=body, headers={"X-Line-Signature": sign(LINE_SECRET, body)}
        )
        await settle(self.app)

    async def line_say(self, events: LineEvents, *texts: str) -> None:
        for text in texts:
            await self.line_send(events, events.text(text))

    async def tg_say(self, updates: TelegramUpdates, *texts: str) -> None:
        for text in texts:
            await self.client.post(
                "/webhooks/telegram",
                data=json.dumps(updates.text(text)),
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
            )
            await settle(self.app)

    async def deliver(self) -> int:
        return sum([await self.dispatcher.deliver_due(p) for p in ("line", "telegram")])

    async def rows(self) -> list[OutboxMessage]:
        """The pushes (the replies to what people typed are rows too, on a lane of their own)."""
        async with self.core.sessions() as session:
            found = await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.kind != "reply")  # type: ignore[arg-type]
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
            )
            return list(found.scalars())


@asynccontextmanager
async def open_platforms(
    database_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[Platforms]:
    """Both fake platforms, a core on `database_url` configured for them, and the server's app
    (its dispatcher not running: the tests call `deliver`)."""
    line, telegram = FakeLine(), FakeTelegram(TG_TOKEN)
    async with TestServer(line.app()) as line_api, TestServer(telegram.app()) as tg_api:
        line_base = str(line_api.make_url("")).rstrip("/")
        settings = make_settings(
            database_url,
            tmp_path / "media",
            LINE_CHANNEL_SECRET=LINE_SECRET,
            LINE_CHANNEL_ACCESS_TOKEN="line-token",
            LINE_API_BASE_URL=line_base,
            LINE_DATA_API_BASE_URL=line_base,
            TELEGRAM_BOT_TOKEN=TG_TOKEN,
            TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
            TELEGRAM_API_BASE_URL=str(tg_api.make_url("")).rstrip("/"),
        )
        core = await build_core(settings)
        core.clock = clock
        app = build_app(core, dispatch=False)
        try:
            async with TestClient(TestServer(app)) as client:
                yield Platforms(core, client, app, line, telegram, clock)
        finally:
            await core.close()


def line_texts(p: Platforms, user_id: str, since: int = 0) -> list[str]:
    """The texts LINE was asked to show `user_id` (pushes to them, and every reply) from the
    fake's call number `since` on."""
    texts = []
    for call in p.line.calls[since:]:
        if call.path.startswith("/v2/bot/message/") and (
            call.body.get("to") == user_id or call.path.endswith("/reply")
        ):
            texts += [text_of(m) for m in call.body["messages"]]
    return texts


async def join_as_staff(p: Platforms, area: str = "50", role: str = "coordinator") -> LineEvents:
    """Someone on LINE who joins with an invitation to `role` of `area` (a coordinator of
    Chiang Mai unless told)."""
    async with p.core.sessions() as session, session.begin():
        code = await staff.create_invite(
            session, role, area, expires_in=dt.timedelta(days=1), now=p.clock.now
        )
    who = LineEvents(p.line, f"Ucoord{area}{role}00000")
    await p.line_say(who, f"/join {code}", "ภาษาไทย", "ยินยอม", "ผู้ประสาน", "ข้าม", "ยืนยัน")
    return who


async def grant_role(p: Platforms, who: LineEvents, role: str, area: str) -> None:
    """As `fieldbot users grant` does it."""
    async with p.core.sessions() as session, session.begin():
        user = (
            await session.execute(select(User).where(col(User.platform_user_id) == who.user_id))
        ).scalar_one()
        await staff.grant(session, user, role, area)
