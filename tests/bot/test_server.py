"""`fieldbot serve`: the health check, in-process and as the real command (a process of its
own: its start-up, its channels report and its stop on SIGTERM)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.server import build_app
from bot.service import Core, build_core
from tests.support.env import environment
from tests.support.processes import free_port


async def test_healthz_reports_database_and_channels(core: Core) -> None:
    async with TestClient(TestServer(build_app(core))) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 200
    assert body["database"] is True
    assert body["channels"] == {"line": False, "telegram": False, "console": True}
    assert body["pilot_districts_without_officer"] == []  # no pilot districts configured
    assert body["version"]


async def test_healthz_names_the_pilot_districts_no_officer_holds(
    database_url: str, tmp_path: Path
) -> None:
    from storage import repo, staff
    from tests.support.settings import make_settings

    pilots = tmp_path / "pilots.toml"
    pilots.write_text('districts = ["5001", "4001", "1001"]\n', encoding="utf-8")
    settings = make_settings(database_url, tmp_path / "media",
                             FIELDBOT_PILOT_DISTRICTS_FILE=pilots)  # fmt: skip
    core = await build_core(settings)
    try:
        async with core.sessions() as session, session.begin():
            officer = await repo.get_or_create_user(session, "line", "Uofficer")
            await staff.grant(session, officer, "officer", "5001")
            blocked = await repo.get_or_create_user(session, "line", "Ublocked")
            blocked.active = False
            await staff.grant(session, blocked, "officer", "4001")  # cannot be reached
        async with TestClient(TestServer(build_app(core))) as client:
            body = await (await client.get("/healthz")).json()
    finally:
        await core.close()
    assert body["pilot_districts_without_officer"] == ["1001", "4001"]


async def test_healthz_says_when_the_database_is_gone(core: Core) -> None:
    await core.engine.dispose()
    if core.engine.dialect.name == "sqlite":
        database = Path(core.engine.url.database or "")
        database.unlink()  # noqa: ASYNC240 (test set-up)
        database.mkdir()  # noqa: ASYNC240 (a directory cannot be opened as a database)
    else:
        core.engine.url = core.engine.url.set(port=1)  # nothing listens there
        from storage.db import create_engine, session_factory

        core.engine = create_engine(core.engine.url.render_as_string(hide_password=False))
        core.sessions = session_factory(core.engine)
    async with TestClient(TestServer(build_app(core))) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 503
    assert body["database"] is False


def test_serve_starts_with_no_credentials_and_says_channels_are_off(tmp_path: Path) -> None:
    port = free_port()
    pilots = tmp_path / "pilots.toml"
    pilots.write_text('districts = ["5001"]\n', encoding="utf-8")
    env = environment(
        drop=("LINE_", "TELEGRAM_"),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        FIELDBOT_MEDIA_DIR=str(tmp_path / "media"),
        FIELDBOT_PORT=str(port),
        FIELDBOT_PILOT_DISTRICTS_FILE=str(pilots),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "server did not answer /healthz"
        assert body["status"] == "ok"
        assert body["channels"] == {"line": False, "telegram": False, "console": True}
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "channel line: off" in output
    assert "channel telegram: off" in output
    assert "fieldbot chat" in output
    assert "1 pilot district(s) have no officer in the bot" in output
    assert "5001 Mueang Chiang Mai" in output
