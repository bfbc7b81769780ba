"""`fieldbot serve --workers N` (bot/workers.py): several server processes on one port, on
PostgreSQL. Every user gets every answer whichever worker a webhook reaches; a worker killed
with SIGKILL is started again; SIGTERM stops them all. SQLite is refused with the reason."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from tests.support.cli import run_cli
from tests.support.env import environment
from tests.support.fake_telegram import FakeTelegram, TelegramUpdates
from tests.support.processes import free_port, serve, server_env

TOKEN = "123456:workers-token"
SECRET = "workers-secret"


def _workers(pid: int) -> list[int]:
    """The worker processes of `serve` (not multiprocessing's resource tracker)."""
    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [c for c in children
            if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]  # fmt: skip


async def _walk(port: int, fake: FakeTelegram, people: list[TelegramUpdates]) -> None:
    """Each person says hello (the welcome) and picks Thai (the privacy notice), in order."""
    url = f"http://127.0.0.1:{port}/webhooks/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with ClientSession() as http:
        for text in ("สวัสดี", "ภาษาไทย"):
            for person in people:
                body = json.dumps(person.text(text))
                async with http.post(url, data=body, headers=headers) as answer:
                    assert answer.status == 200
            for _ in range(200):  # every person's answer to this input, whichever worker
                if all(_said(fake, p, "ยินยอม" if text == "ภาษาไทย" else "ยินดีต้อนรับ")
                       for p in people):  # fmt: skip
                    break
                await asyncio.sleep(0.05)


def _said(fake: FakeTelegram, person: TelegramUpdates, words: str) -> bool:
    return any(words in str(m.get("text")) for m in fake.sent(person.user_id))


async def test_workers_share_the_port_and_the_users(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("--workers is for PostgreSQL (SQLite is refused: the next test)")
    fake = FakeTelegram(TOKEN)
    async with TestServer(fake.app()) as api:
        base = str(api.make_url("")).rstrip("/")
        env = server_env(
            database_url, tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
            TELEGRAM_API_BASE_URL=base,
        )  # fmt: skip
        port = free_port()
        process = await serve(env, port, "--workers", "2")
        try:
            for _ in range(100):
                if len(_workers(process.pid)) == 2:
                    break
                await asyncio.sleep(0.1)
            first = _workers(process.pid)
            assert len(first) == 2
            people = [TelegramUpdates(fake, 7000 + n) for n in range(12)]
            await _walk(port, fake, people[:6])
            # A worker that dies is started again; the service goes on meanwhile.
            os.kill(first[0], signal.SIGKILL)
            for _ in range(100):
                now = _workers(process.pid)
                if len(now) == 2 and first[0] not in now:
                    break
                await asyncio.sleep(0.1)
            assert len(now) == 2 and first[0] not in now and first[1] in now
            await _walk(port, fake, people[6:])
        finally:
            process.terminate()
            code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0
    assert all(not os.path.exists(f"/proc/{pid}") for pid in now)  # noqa: ASYNC240, PTH110
    for person in people:
        said = [str(m["text"]) for m in fake.sent(person.user_id)]
        assert "ยินดีต้อนรับ" in said[0] and "ยินยอม" in said[-1], said
        assert sum("ยินดีต้อนรับ" in t for t in said) == 1  # each input answered once


def test_sqlite_is_refused_with_the_reason(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the refusal is SQLite's")
    ran = run_cli(["serve", "--workers", "2"],
                  environment(drop=("LINE_", "TELEGRAM_"), DATABASE_URL=database_url))  # fmt: skip
    assert ran.code == 2
    assert "--workers needs PostgreSQL" in ran.err and "one writer at a time" in ran.err


async def test_workers_stop_when_their_parent_is_killed(database_url: str, tmp_path: Path) -> None:
    """Workers left behind by a parent killed with SIGKILL would go on sharing the port with
    the next `serve`: they stop by themselves."""
    if database_url.startswith("sqlite"):
        pytest.skip("--workers is for PostgreSQL")
    port = free_port()
    process = await serve(server_env(database_url, tmp_path), port, "--workers", "2")
    for _ in range(100):
        workers = _workers(process.pid)
        if len(workers) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(workers) == 2
    process.kill()
    await process.wait()
    for _ in range(100):
        if not any(os.path.exists(f"/proc/{pid}") for pid in workers):  # noqa: ASYNC240, PTH110
            break
        await asyncio.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers), "workers left behind"  # noqa: ASYNC240, PTH110
