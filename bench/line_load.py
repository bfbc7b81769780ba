"""Load generator: many simulated LINE users register and file activity reports through signed
webhooks against a running `fieldbot serve`, with a fake LINE API on loopback taking the replies.

Reports form steps handled per second end to end, the webhook's answer time (p50/p99) and the
time from posting an event to the bot's reply reaching LINE (p50/p99).

    uv run python -m bench.line_load --users 50 --database-url sqlite+aiosqlite:////tmp/b.db
    uv run python -m bench.line_load --users 50 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.support.fake_line import Call, FakeLine, LineEvents, sign, webhook_body

SECRET = "bench-secret"
REGISTER = ["สวัสดี", "ภาษาไทย", "ยินยอม", "สมชาย ทดสอบ", "ข้าม", "ผู้ใหญ่บ้าน", "เชียงใหม่",
            "เมืองเชียงใหม่", "สุเทพ", "ม.3", "ยืนยัน"]  # fmt: skip
ACTIVITY = ["รายงานกิจกรรม", "ฝายชะลอน้ำ", "เมื่อวาน", "ที่หมู่บ้านของฉัน", "25", "ภาครัฐ",
            "ซ่อมฝายกับชาวบ้าน", "ไม่มีรูป", "ยืนยัน"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users at once")
    parser.add_argument("--reports", type=int, default=2, help="activity reports per user")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile into FILE")
    args = parser.parse_args()

    fake = FakeLine()
    waiting: dict[str, asyncio.Future[float]] = {}

    def on_send(call: Call) -> None:
        token = (call.body or {}).get("replyToken") or (call.body or {}).get("to")
        future = waiting.pop(token, None)
        if future is not None and not future.done():
            future.set_result(call.at)

    fake.on_send = on_send
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    api_port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "FIELDBOT_PORT": str(port),
        "FIELDBOT_MEDIA_DIR": "/tmp/fieldbot-bench-media",
        "FIELDBOT_LOG_LEVEL": "WARNING",
        # Simulated users answer the moment the reply arrives, far faster than people type.
        "FIELDBOT_FLOOD_PER_MINUTE": "1000000",
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": "bench-token",
        "LINE_API_BASE_URL": f"http://127.0.0.1:{api_port}",
        "LINE_DATA_API_BASE_URL": f"http://127.0.0.1:{api_port}",
    }
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        *profile,
        "-m",
        "bot.cli",
        "serve",
        env=env,
        cwd=Path(__file__).parent.parent,
    )
    answer_times: list[float] = []
    reply_times: list[float] = []
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/webhooks/line"
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)

            async def step(user: LineEvents, text: str) -> None:
                event = user.text(text)
                loop = asyncio.get_running_loop()
                future: asyncio.Future[float] = loop.create_future()
                waiting[event["replyToken"]] = future
                body = webhook_body(event)
                started = time.perf_counter()
                async with http.post(
                    url,
                    data=body,
                    headers={
                        "X-Line-Signature": sign(SECRET, body),
                        "Content-Type": "application/json",
                    },
                ) as response:
                    assert response.status == 200, response.status
                answer_times.append(time.perf_counter() - started)
                replied = await asyncio.wait_for(future, 30)
                reply_times.append(replied - started)

            async def one_user(n: int) -> None:
                user = LineEvents(fake, f"Ubench{n:05d}{os.getpid()}")
                for text in REGISTER:
                    await step(user, text)
                for _ in range(args.reports):
                    for text in ACTIVITY:
                        await step(user, text)

            cpu_before = _cpu_seconds(server.pid)
            began = time.perf_counter()
            await asyncio.gather(*(one_user(n) for n in range(args.users)))
            elapsed = time.perf_counter() - began
            server_cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()
        await runner.cleanup()

    steps = len(reply_times)
    result = {
        "database": args.database_url.split(":")[0],
        "users": args.users,
        "form_steps": steps,
        "seconds": round(elapsed, 2),
        "steps_per_second": round(steps / elapsed, 1),
        "webhook_answer_ms_p50": round(_pct(answer_times, 0.50), 1),
        "webhook_answer_ms_p99": round(_pct(answer_times, 0.99), 1),
        "reply_ms_p50": round(_pct(reply_times, 0.50), 1),
        "reply_ms_p99": round(_pct(reply_times, 0.99), 1),
        "reply_ms_mean": round(statistics.mean(reply_times) * 1000, 1),
        "server_cpu_ms_per_step": round(server_cpu / steps * 1000, 2),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
