"""Secrets stay out of log lines and stored errors: the redaction step itself, the log
handler `fieldbot` configures, and an outbox row whose sends meet a redirect loop (aiohttp's
error names the URL, which holds the bot token) on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot import redact
from bot.channels.telegram.adapter import TelegramChannel
from bot.cli import QUIET_LOGGERS, configure_logging
from bot.config import ChannelOffError
from bot.outbox import Dispatcher
from bot.service import Core, build_core
from handlers.messages import Outgoing
from storage import outbox, repo
from storage.models import OutboxMessage
from tests.support.cli import run_cli_async
from tests.support.clock import Clock
from tests.support.env import environment
from tests.support.fake_telegram import FakeTelegram
from tests.support.settings import make_settings, telegram_on

# Shaped like a real one: bot id, colon, 35 characters.
TOKEN = "7012345678:AAF3kq9Zp0x-Yw8vB2nC4dE6fG8hJ1kL3mN"
WEBHOOK_SECRET = "webhook-secret-value"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The log handler exactly as `fieldbot` sets it up, writing here."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    handler = configure_logging("DEBUG", stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


def test_secrets_and_token_shapes_are_taken_out() -> None:
    redact.register("a-configured-secret-value", None, "")
    shaped = "123456789:AAEhBOweik6ad9r_ZZ-1Q2w3E4r5T6y7U8i"  # not configured anywhere
    text = (
        "POST https://api.telegram.org/bot" + shaped + "/sendMessage failed; "
        "key a-configured-secret-value; file http://127.0.0.1:9/file/bot4242%3Ashort/p.jpg"
    )
    cleaned = redact.redact(text)
    assert shaped not in cleaned and "a-configured-secret-value" not in cleaned
    assert "4242%3Ashort" not in cleaned
    assert cleaned.count(redact.REDACTED) == 3
    assert "/bot[redacted]/sendMessage" in cleaned  # what failed is still readable
    # Ordinary text, numbers and times survive.
    plain = "row 12345 at 10:30:00, user 987654321: 30 chars? abc"
    assert redact.redact(plain) == plain


def test_redaction_does_not_backtrack_on_long_input() -> None:
    # A quadratic pattern would take minutes on these; a linear one, milliseconds.
    for text in ("7" * 200_000, "7" * 100_000 + ":" + "a" * 29, "/bot" + "1" * 200_000 + "x"):
        assert redact.redact(text) == text


def test_the_log_handler_redacts_messages_arguments_and_tracebacks(
    log_stream: io.StringIO,
) -> None:
    redact.register(WEBHOOK_SECRET)
    log = logging.getLogger("fieldbot.test")
    log.info("secret is %s", WEBHOOK_SECRET)
    try:
        try:
            raise OSError(f"GET http://x/bot{TOKEN}/getMe")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        log.exception("failed with %r", {"token": TOKEN})
    written = log_stream.getvalue()
    assert TOKEN not in written and WEBHOOK_SECRET not in written
    assert "secret is [redacted]" in written
    assert "OSError: GET http://x/bot[redacted]/getMe" in written  # the chained cause too

    # A call with the wrong arguments is left for the handler to report, not raised here.
    bad = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("one",), None)
    assert redact.RedactingFilter().filter(bad) and bad.args == ("one",)


@pytest.fixture
async def telegram_core(
    database_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[Core, FakeTelegram, TelegramChannel]]:
    fake = FakeTelegram(TOKEN)
    async with TestServer(fake.app()) as api:
        settings = make_settings(
            database_url,
            tmp_path / "media",
            **telegram_on(str(api.make_url("")), TOKEN, WEBHOOK_SECRET),
        )
        core = await build_core(settings)
        core.clock = clock
        channel = TelegramChannel(core)
        await channel.start()
        try:
            yield core, fake, channel
        finally:
            await channel.close()
            await core.close()


async def test_a_redirect_loop_leaves_the_token_out_of_logs_and_the_outbox(
    telegram_core: tuple[Core, FakeTelegram, TelegramChannel],
    log_stream: io.StringIO,
    clock: Clock,
) -> None:
    core, fake, channel = telegram_core
    async with core.sessions() as session, session.begin():
        officer = await repo.get_or_create_user(session, "telegram", "5150")
        await outbox.enqueue(session, officer, "alert", [Outgoing("น้ำท่วม")], now=clock.now)
    fake.redirect_loop.add("sendMessage")
    dispatcher = Dispatcher(core, {"telegram": channel})
    assert await dispatcher.deliver_due("telegram") == 1
    async with core.sessions() as session:
        row = (await session.execute(select(OutboxMessage))).scalar_one()
    assert row.status == "pending" and row.attempts == 1
    error = row.last_error or ""
    assert "TooManyRedirects" in error and "/bot[redacted]/sendMessage" in error
    written = log_stream.getvalue()
    assert "TooManyRedirects" in written  # the failure is logged…
    for where in (error, written):
        assert TOKEN not in where and TOKEN.split(":")[1] not in where  # …without the token


async def test_a_refused_token_is_not_quoted(database_url: str, tmp_path: Path) -> None:
    """PTB's InvalidToken quotes the token; the channel says which setting to check."""
    fake = FakeTelegram(TOKEN)
    fake.failures["getMe"] = [(401, {"error_code": 401, "description": "Unauthorized"})]
    async with TestServer(fake.app()) as api:
        settings = make_settings(
            database_url,
            tmp_path / "media",
            **telegram_on(str(api.make_url("")), TOKEN, WEBHOOK_SECRET),
        )
        core = await build_core(settings)
        channel = TelegramChannel(core)
        try:
            with pytest.raises(ChannelOffError, match="TELEGRAM_BOT_TOKEN") as raised:
                await channel.start()
        finally:
            await channel.close()
            await core.close()
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_telegram_out_of_reach_at_start_stops_nothing(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram's API cannot be reached when the service starts (the trial of issue 9 found
    the whole server, LINE too, stopped on it): the channel starts all the same and says so in
    one line without the token (test_telegram.py checks it reads commands once Telegram
    answers again)."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings = make_settings(
        database_url, tmp_path / "media", **telegram_on(dead, TOKEN, WEBHOOK_SECRET)
    )
    core = await build_core(settings)
    channel = TelegramChannel(core)
    try:
        with caplog.at_level(logging.WARNING):
            await channel.start()
    finally:
        await channel.close()
        await core.close()
    said = [r.getMessage() for r in caplog.records if "not reachable" in r.getMessage()]
    assert len(said) == 1 and TOKEN not in said[0] and TOKEN.split(":")[1] not in said[0]


async def test_command_line_failures_do_not_quote_the_token(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """`fieldbot` logs an unexpected error through its redacting handler (Python would print
    the traceback itself), and names a token Telegram refuses by its setting."""
    database = tmp_path / "cli.db"
    shutil.copy(sqlite_template, database)  # migrated already: a faster start
    fake = FakeTelegram(TOKEN)
    async with TestServer(fake.app()) as api:
        env = environment(
            drop=("LINE_", "TELEGRAM_"),
            DATABASE_URL=f"sqlite+aiosqlite:///{database}",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TELEGRAM_API_BASE_URL=str(api.make_url("")).rstrip("/"),
        )

        async def set_webhook() -> tuple[int, str]:
            ran = await run_cli_async(["telegram", "set-webhook", "https://x.test/h"], env)
            return ran.code, ran.out + ran.err

        fake.redirect_loop.add("setWebhook")
        code, output = await set_webhook()
        assert code == 1 and "fieldbot stopped on an unexpected error" in output
        assert "TooManyRedirects" in output and "/bot[redacted]/setWebhook" in output
        assert TOKEN.split(":")[1] not in output

        fake.failures["getMe"] = [(401, {"error_code": 401, "description": "Unauthorized"})]
        code, output = await set_webhook()
        assert code == 2 and "Traceback" not in output
        assert "fieldbot: Telegram refused TELEGRAM_BOT_TOKEN" in output
        assert TOKEN.split(":")[1] not in output
