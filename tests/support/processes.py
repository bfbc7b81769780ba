"""`fieldbot serve` as a process of its own, for the tests that kill it with SIGKILL. (Every
other command is run in-process: tests/support/cli.py.)"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from aiohttp import ClientError, ClientSession

from tests.support.env import environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    """This environment without platform credentials, plus the test's settings."""
    return environment(
        drop=("LINE_", "TELEGRAM_"),
        DATABASE_URL=database_url,
        FIELDBOT_MEDIA_DIR=str(tmp_path / "media"),
        FIELDBOT_LOG_LEVEL="WARNING",
        **settings,
    )


async def serve(env: dict[str, str], port: int, *extra: str) -> asyncio.subprocess.Process:
    """Start `fieldbot serve` (with `extra` arguments) and wait until its health check
    answers."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(port), *extra, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            except ClientError:
                pass
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    raise AssertionError("server did not start")


async def kill(process: asyncio.subprocess.Process) -> None:
    process.kill()  # SIGKILL: no clean-up of any kind
    await process.wait()


async def stop(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    await process.wait()
