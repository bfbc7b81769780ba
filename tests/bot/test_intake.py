"""The intake (bot/intake.py) end to end over LINE: a flooding user is told once and the excess
recorded, memory is bounded without losing or reordering anything, a database hiccup is
waited out, and a fault of ours is recorded and apologised for in the user's language."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.server import INTAKE_KEY, build_app, settle
from bot.service import Core, build_core
from storage.models import InboxEvent
from tests.support.clock import Clock
from tests.support.fake_line import FakeLine, LineEvents, sign, text_of, webhook_body
from tests.support.settings import make_settings

SECRET = "intake-secret"

Started = tuple[FakeLine, TestClient[Any, Any], Core]


@pytest.fixture
def line_server(database_url: str, tmp_path: Path, clock: Clock) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[Started]:
        fake = FakeLine()
        async with TestServer(fake.app()) as api:
            base = str(api.make_url("")).rstrip("/")
            built = make_settings(
                database_url, tmp_path / "media", LINE_CHANNEL_SECRET=SECRET,
                LINE_CHANNEL_ACCESS_TOKEN="token", LINE_API_BASE_URL=base,
                LINE_DATA_API_BASE_URL=base, **settings,
            )  # fmt: skip
            core = await build_core(built)
            core.clock = clock
            try:
                async with TestClient(TestServer(build_app(core))) as client:
                    yield fake, client, core
            finally:
                await core.close()

    return start


async def post(client: TestClient[Any, Any], *events: dict[str, Any]) -> int:
    body = webhook_body(*events)
    response = await client.post(
        "/webhooks/line", data=body, headers={"X-Line-Signature": sign(SECRET, body)}
    )
    return response.status


def app_of(client: TestClient[Any, Any]) -> web.Application:
    return client.server.app  # type: ignore[attr-defined, no-any-return]


async def inbox_rows(core: Core) -> list[InboxEvent]:
    async with core.sessions() as session:
        return list((await session.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars())


async def test_a_flooding_user_is_told_once_and_the_excess_recorded(
    line_server: Callable[..., Any],
) -> None:
    async with line_server(FIELDBOT_FLOOD_PER_MINUTE=5) as (fake, client, core):
        flood = LineEvents(fake, "Uflood00000000000")
        calm = LineEvents(fake, "Ucalm000000000000")
        assert await post(client, *(flood.text(f"ข้อความ {n}") for n in range(9))) == 200
        assert await post(client, calm.follow()) == 200
        assert await post(client, flood.text("อีก")) == 200
        await settle(app_of(client))
        rows = await inbox_rows(core)
    by_sender: dict[str, list[str]] = {}
    for row in rows:
        by_sender.setdefault(row.sender, []).append(row.status)
    assert by_sender[flood.user_id] == ["done"] * 5 + ["dropped"] * 5  # recorded, not handled
    assert by_sender[calm.user_id] == ["done"]
    dropped = [r for r in rows if r.status == "dropped"]
    assert all("flood" in (r.note or "") for r in dropped)
    said = [text_of(m) for m in fake.messages()]
    slow = core.i18n.t("th", "flood.slow_down", limit=5)
    assert said.count(slow) == 1  # told once, however many were dropped
    assert sum("ยินดีต้อนรับ" in t for t in said) == 2  # the flooder's first answer, and calm's


async def test_past_its_capacity_the_intake_leaves_events_in_the_inbox_and_loses_none(
    line_server: Callable[..., Any],
) -> None:
    async with line_server(FIELDBOT_INTAKE_CAPACITY=2, FIELDBOT_INBOX_GRACE_SECONDS=0) as (
        fake,
        client,
        core,
    ):
        people = [LineEvents(fake, f"Ucap{n:014d}") for n in range(5)]
        # Each person: start, then choose English (the second answer depends on the first).
        for person in people:
            assert await post(client, person.follow()) == 200
        assert len(app_of(client)[INTAKE_KEY]) <= 2  # never more than its capacity in memory
        for person in people:
            assert await post(client, person.postback("a:language:en")) == 200
        # The sweeper takes what waited in the inbox; on a loaded machine (CI on two busy
        # cores) that can take many seconds: a generous bound, not a timing.
        for _ in range(600):
            await settle(app_of(client))
            rows = await inbox_rows(core)
            if all(r.status == "done" for r in rows) and len(rows) == 10:
                break
            await asyncio.sleep(0.1)
        assert [r.status for r in rows] == ["done"] * 10
    said = [text_of(m) for m in fake.messages()]
    # Everyone got both answers: the second (in English) could only follow the first.
    assert sum("ยินดีต้อนรับ" in t for t in said) == 5
    assert sum("Privacy notice" in t for t in said) == 5


async def test_a_database_failure_is_waited_out_and_keeps_the_order(
    line_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.channels.line.adapter
    import bot.intake

    monkeypatch.setattr(bot.intake, "RETRY_FIRST", 0.01)
    real = bot.channels.line.adapter.handle_locked
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))] * 2

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(*args, **kwargs)

    monkeypatch.setattr(bot.channels.line.adapter, "handle_locked", flaky)
    async with line_server() as (fake, client, core):
        user = LineEvents(fake, "Uflaky00000000000")
        await post(client, user.follow(), user.postback("a:language:en"))
        await settle(app_of(client))
        rows = await inbox_rows(core)
    assert [r.status for r in rows] == ["done", "done"]
    said = [text_of(m) for m in fake.messages()]
    welcome = next(i for i, t in enumerate(said) if "ยินดีต้อนรับ" in t)
    privacy = next(i for i, t in enumerate(said) if "Privacy notice" in t)
    assert welcome < privacy


async def test_a_fault_is_recorded_and_apologised_for_in_the_users_language(
    line_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.channels.line.adapter
    from storage import repo

    async with line_server() as (fake, client, core):
        user = LineEvents(fake, "Uenglish000000000")
        async with core.sessions() as session, session.begin():
            person = await repo.get_or_create_user(session, "line", user.user_id)
            person.language = "en"

        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(bot.channels.line.adapter, "handle_locked", broken)
        await post(client, user.text("menu"))
        await settle(app_of(client))
        rows = await inbox_rows(core)
    assert rows[-1].status == "failed" and "RuntimeError: a bug" in (rows[-1].note or "")
    assert text_of(fake.messages()[-1]) == core.i18n.t("en", "error.try_again")


async def test_an_event_alone_is_handled_before_its_webhook_is_answered_and_once(
    line_server: Callable[..., Any],
) -> None:
    """One event in a webhook, nothing of its sender's waiting: handled in the transaction
    that stores it, before the 200 (LINE's webhook redelivery on: a crash meanwhile loses
    nothing). Its redelivery is recorded as handled and not answered again."""
    async with line_server(LINE_WEBHOOK_REDELIVERY="true") as (fake, client, core):
        user = LineEvents(fake, "Unow0000000000000")
        event = user.follow()
        assert await post(client, event) == 200
        rows = await inbox_rows(core)  # no settling: it is done already
        assert [(r.event_id, r.status) for r in rows] == [(event["webhookEventId"], "done")]
        assert len(app_of(client)[INTAKE_KEY]) == 0  # it never waited in a line
        assert await post(client, event) == 200  # the platform sends it again
        await settle(app_of(client))
        assert [r.status for r in await inbox_rows(core)] == ["done"]
    said = [text_of(m) for m in fake.messages()]
    assert sum("ยินดีต้อนรับ" in t for t in said) == 1


async def test_a_senders_next_event_waits_for_the_one_handled_at_once(
    line_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first event is handled straight from its webhook, slowly, and then fails once (a
    database hiccup): it is stored for its line, and the sender's second event, which arrived
    meanwhile in a webhook of its own, is still handled after it."""
    import bot.channels.line.adapter
    import bot.intake

    monkeypatch.setattr(bot.intake, "RETRY_FIRST", 0.01)
    real = bot.channels.line.adapter.handle_locked
    first = asyncio.Event()
    calls = 0

    async def slow_then_flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            first.set()
            await asyncio.sleep(0.2)
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(bot.channels.line.adapter, "handle_locked", slow_then_flaky)
    async with line_server(LINE_WEBHOOK_REDELIVERY="true") as (fake, client, core):
        user = LineEvents(fake, "Uwait000000000000")
        one = asyncio.create_task(post(client, user.follow()))
        await first.wait()
        assert await post(client, user.postback("a:language:en")) == 200
        assert await one == 200
        await settle(app_of(client))
        rows = await inbox_rows(core)
    assert [r.status for r in rows] == ["done", "done"]
    said = [text_of(m) for m in fake.messages()]
    welcome = next(i for i, t in enumerate(said) if "ยินดีต้อนรับ" in t)
    privacy = next(i for i, t in enumerate(said) if "Privacy notice" in t)
    assert welcome < privacy


@pytest.mark.parametrize(("redelivery", "at_once"), [("true", [True, False]), ("false", [])])
async def test_a_photo_is_not_handled_while_its_webhook_waits(
    line_server: Callable[..., Any], redelivery: str, at_once: list[bool]
) -> None:
    """Handling a photo downloads it from the platform first: the webhook is answered once
    the event is stored, and the line handles it; a text is handled at once. Unless LINE's
    webhook redelivery is on, nothing is: a crash before the answer would lose the event."""
    from tests.support.images import png_bytes

    async with line_server(LINE_WEBHOOK_REDELIVERY=redelivery) as (fake, client, core):
        intake = app_of(client)[INTAKE_KEY]
        real = intake.handlers["line"]
        fresh: list[bool] = []

        async def recorded(item: Any) -> None:
            fresh.append(item.fresh)
            await real(item)

        intake.handlers["line"] = recorded
        user = LineEvents(fake, "Uphoto00000000000")
        assert await post(client, user.text("สวัสดี")) == 200
        assert await post(client, user.image(png_bytes(4, 4, (1, 2, 3)))) == 200
        await settle(app_of(client))
        assert [r.status for r in await inbox_rows(core)] == ["done", "done"]
    assert fresh == (at_once or [False, False])


async def test_an_event_does_not_overtake_one_of_its_sender_being_stored(
    line_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A photo (stored, not handled at once) is slow to store; the sender's text that
    arrives meanwhile waits and is handled after it, not at once before it."""
    from storage import inbox
    from tests.support.images import png_bytes

    real_store = inbox.store

    async def slow_store(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)
        return await real_store(*args, **kwargs)

    monkeypatch.setattr(inbox, "store", slow_store)
    async with line_server(LINE_WEBHOOK_REDELIVERY="true") as (fake, client, _core):
        intake = app_of(client)[INTAKE_KEY]
        real = intake.handlers["line"]
        handled: list[str] = []

        async def recorded(item: Any) -> None:
            handled.append(str(item.payload.get("message", {}).get("type")))
            await real(item)

        intake.handlers["line"] = recorded
        user = LineEvents(fake, "Uorder00000000000")
        photo = asyncio.create_task(post(client, user.image(png_bytes(4, 4, (1, 2, 3)))))
        await asyncio.sleep(0.05)  # the photo is being stored
        assert await post(client, user.text("สวัสดี")) == 200
        assert await photo == 200
        await settle(app_of(client))
    assert handled == ["image", "text"]
