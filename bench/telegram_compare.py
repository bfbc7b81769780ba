"""fieldbot on Telegram against the python-telegram-bot peer (../shared/peers/ptb_conv.py), side
by side in one run: the same fake Telegram API, the same number of simulated users who each wait
for the answer before typing again, alternating the two servers round by round, and the ratio.

    .venv/bin/python -m bench.telegram_compare --users 50 --rounds 2 \\
        --database-url sqlite+aiosqlite:////tmp/tg-bench.db \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/tgbench

Give --database-url once per database: each round runs fieldbot on each, then the peer, and
the end prints a table with the ratios per database. Each server runs as a process of its own
(with --workers N, fieldbot's N worker processes); the load generator and the fake Telegram
API share another, so the server's CPU (read from /proc, the process tree) is its own.

A step is one user input answered: fieldbot's users register and file activity reports; the
peer's users answer its three-question form over and over. fieldbot may answer one input with
several messages (a confirmation and the menu): a first user walks the conversation alone to
learn how many each input gets, and under load an input counts as answered when its last
message arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url

from bench import pieces as bench_pieces
from bench.line_load import REGISTER, _cpu_seconds, _free_port, _pct

ROOT = Path(__file__).parent.parent
PEER = ROOT.parent / "shared" / "peers" / "ptb_conv.py"
TOKEN = "123456:bench-token"
SECRET = "bench-webhook-secret"
ACTIVITY = ["รายงานกิจกรรม", "ฝายชะลอน้ำ", "เมื่อวาน", "ที่หมู่บ้านของฉัน", "25", "ภาครัฐ",
            "ซ่อมฝายกับชาวบ้าน", "ไม่มีรูป", "ยืนยัน"]  # fmt: skip
PEER_FORM = ["สวัสดี", "ทำฝาย", "25", "ซ่อมฝายกับชาวบ้าน"]


@dataclass
class FakeApi:
    """Just enough of the Bot API for both servers: getMe, setWebhook, sendMessage (and the
    like) answered at once, each sent message counted per chat."""

    sent: dict[str, int] = field(default_factory=dict)
    waiters: dict[str, list[tuple[int, asyncio.Future[float]]]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/bot{TOKEN}/{{method}}", self._api)
        return app

    def wait_for(self, chat: str, count: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if self.sent.get(chat, 0) >= count:
            future.set_result(time.perf_counter())
        else:
            self.waiters.setdefault(chat, []).append((count, future))
        return future

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "id": 123456,
                        "is_bot": True,
                        "first_name": "bench",
                        "username": "bench_bot",
                    },
                }
            )
        if method.startswith("send"):
            data = dict(await request.post())
            chat = str(data.get("chat_id"))
            self.sent[chat] = self.sent.get(chat, 0) + 1
            now = time.perf_counter()
            keep = []
            for count, future in self.waiters.get(chat, []):
                if self.sent[chat] >= count and not future.done():
                    future.set_result(now)
                elif not future.done():
                    keep.append((count, future))
            self.waiters[chat] = keep
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "message_id": next(self.ids),
                        "date": int(time.time()),
                        "chat": {"id": int(chat), "type": "private"},
                        "text": str(data.get("text", "")),
                    },
                }
            )
        return web.json_response({"ok": True, "result": True})


def _update(update_id: int, chat: int, text: str) -> bytes:
    user = {"id": chat, "is_bot": False, "first_name": "ทดสอบ"}
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
        "from": user, "text": text}}).encode()  # fmt: skip


@dataclass
class Outcome:
    database: str
    target: str
    steps: int
    seconds: float
    replies: list[float]
    cpu: float

    def row(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "target": self.target,
            "steps": self.steps,
            "steps_per_second": round(self.steps / self.seconds, 1),
            "reply_ms_p50": round(_pct(self.replies, 0.5), 1),
            "reply_ms_p99": round(_pct(self.replies, 0.99), 1),
            "reply_ms_mean": round(statistics.mean(self.replies) * 1000, 1),
            "server_cpu_ms_per_step": round(self.cpu / self.steps * 1000, 2),
        }


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux); none once it is gone."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree_cpu(pid: int, *, root: bool = True) -> float:
    """CPU seconds of a process and every process below it (a server's workers); without
    `root` (py-spy, which starts the server) only of those below it."""
    total = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            if root or current != pid:
                total += _cpu_seconds(current)
        except OSError:
            continue
        todo += _children(current)
    return total


CGROUPS = Path("/sys/fs/cgroup/cpu")  # cgroup v1's cpu controller (as on this machine)


def _servers(pid: int) -> list[int]:
    """The processes that answer webhooks: the workers of `serve --workers N`, else the one."""
    found = [c for c in _children(pid)
             if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]  # fmt: skip
    return found or [pid]


def _limit(pids: Sequence[int], cpu: float) -> list[Path]:
    """Give each process `cpu` of one core (a CFS quota in a cgroup of its own): each worker as
    if on a slow core of its own, leaving the rest of the machine to the load and the database."""
    made = []
    for pid in pids:
        group = CGROUPS / f"fieldbot-bench-{pid}"
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text("100000")
        (group / "cpu.cfs_quota_us").write_text(str(int(cpu * 100000)))
        (group / "cgroup.procs").write_text(str(pid))
        made.append(group)
    return made


async def _start(
    target: str,
    api: str,
    database_url: str,
    profile: str | None = None,
    peer: Path = PEER,
    workers: int = 1,
    spy: str | None = None,
) -> tuple[Any, int]:
    port = _free_port()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": api,
        "FIELDBOT_LOG_LEVEL": os.environ.get("BENCH_LOG", "WARNING"),
        "FIELDBOT_FLOOD_PER_MINUTE": "1000000",  # simulated users type far faster than people
        "TELEGRAM_MAX_PER_SECOND": "100000",  # the fake API has no 30/s limit to keep
        "DATABASE_URL": database_url,
        "FIELDBOT_MEDIA_DIR": tempfile.mkdtemp(prefix="tg-bench-media-"),
        "FIELDBOT_PORT": str(port),
    }
    fieldbot = [*(["-m", "cProfile", "-o", profile] if profile else []), "-m", "bot.cli", "serve",
                "--workers", str(workers)]  # fmt: skip
    argv = [sys.executable, *fieldbot] if target == "fieldbot" else [
        sys.executable, str(peer), "--port", str(port)]  # fmt: skip
    if spy and target == "fieldbot":
        # Sampled, every process of the tree: py-spy writes the stacks when we send SIGINT.
        argv = ["py-spy", "record", "--subprocesses", "-r", "250", "-f", "raw", "-o", spy,
                "--", *argv]  # fmt: skip
    process = await asyncio.create_subprocess_exec(*argv, env=env, cwd=ROOT)
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return process, port
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{target} did not start")


async def _round(
    target: str,
    users: int,
    reports: int,
    database_url: str,
    profile: str | None = None,
    peer: Path = PEER,
    workers: int = 1,
    spy: str | None = None,
    worker_cpu: float | None = None,
) -> Outcome:
    fake = FakeApi()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    api_port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    api = f"http://127.0.0.1:{api_port}"
    process, port = await _start(target, api, database_url, profile, peer, workers, spy)
    groups: list[Path] = []
    if worker_cpu is not None and not spy:
        for _ in range(100):  # the workers start after the parent answers
            if target == "peer" or workers == 1 or len(_servers(process.pid)) == workers:
                break
            await asyncio.sleep(0.1)
        groups = _limit(_servers(process.pid), worker_cpu)
    update_ids = itertools.count(int(time.time() * 1000))  # unique across rounds: fieldbot dedups
    base = 10_000_000 * (1 + os.getpid() % 100) + int(time.time()) % 1_000_000 * 100
    script = REGISTER + ACTIVITY * reports if target == "fieldbot" else PEER_FORM * (2 + reports)
    replies: list[float] = []
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/webhooks/telegram"
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET,
                       "Content-Type": "application/json"}  # fmt: skip

            async def walk(chat: int, expected: Sequence[int] | None) -> list[int]:
                """One user through the script; returns the messages each input got."""
                counts: list[int] = []
                for index, text in enumerate(script):
                    before = fake.sent.get(str(chat), 0)
                    want = before + (expected[index] if expected else 1)
                    waiting = fake.wait_for(str(chat), want)
                    started = time.perf_counter()
                    body = _update(next(update_ids), chat, text)
                    async with http.post(url, data=body, headers=headers) as answer:
                        assert answer.status == 200, answer.status
                    try:
                        done = await asyncio.wait_for(waiting, 60)
                    except TimeoutError:
                        got = fake.sent.get(str(chat), 0)
                        raise RuntimeError(
                            f"user {chat}, input {index} ({text}): {got} "
                            f"messages after 60 s, {want} expected"
                        ) from None
                    if expected is None:  # learning: wait until the answer is complete
                        await asyncio.sleep(0.3)
                        counts.append(fake.sent.get(str(chat), 0) - before)
                    else:
                        replies.append(done - started)
                return counts

            expected = await walk(base, None)  # one user alone: how many messages each input gets
            spied = bool(spy) and target == "fieldbot"
            cpu_before = _tree_cpu(process.pid, root=not spied)
            began = time.perf_counter()
            await asyncio.gather(*(walk(base + 1 + n, expected) for n in range(users)))
            seconds = time.perf_counter() - began
            cpu = _tree_cpu(process.pid, root=not spied) - cpu_before
    finally:
        process.send_signal(signal.SIGINT if spy and target == "fieldbot" else signal.SIGTERM)
        await process.wait()
        await runner.cleanup()
        for group in groups:
            group.rmdir()
    database = make_url(database_url).get_backend_name()
    return Outcome(database, target, len(replies), seconds, replies, cpu)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users at once (50)")
    parser.add_argument("--reports", type=int, default=2, help="activity reports per user (2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each target (2)")
    parser.add_argument(
        "--database-url", required=True, action="append",
        help="fieldbot's database; give it once per database to compare",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="fieldbot serve --workers N (1)")
    parser.add_argument(
        "--worker-cpu", type=float, metavar="FRACTION",
        help="give each server process (each worker; the peer too) this share of one core "
        "(cgroup v1 CPU quota; root): as if each had a slow core of its own",
    )  # fmt: skip
    parser.add_argument("--profile", metavar="FILE", help="run fieldbot under cProfile into FILE")
    parser.add_argument(
        "--spy", metavar="FILE",
        help="sample fieldbot with py-spy (on PATH) into FILE.<database>.<round> and print "
        "where its CPU per step goes (bench.pieces)",
    )  # fmt: skip
    parser.add_argument("--peer", type=Path, default=PEER, help=f"the peer bot (default {PEER})")
    args = parser.parse_args()
    if not args.peer.exists():
        parser.error(f"the peer is not at {args.peer} (--peer PATH)")
    outcomes: list[Outcome] = []
    pieces: list[str] = []
    for number in range(args.rounds):
        for url in args.database_url:
            for target in ("fieldbot", "peer"):
                database = make_url(url).get_backend_name()
                spy = f"{args.spy}.{database}.{number + 1}" if args.spy else None
                outcome = await _round(
                    target, args.users, args.reports, url,
                    args.profile if target == "fieldbot" else None, args.peer, args.workers,
                    spy, args.worker_cpu,
                )  # fmt: skip
                print(json.dumps(outcome.row(), ensure_ascii=False), flush=True)
                outcomes.append(outcome)
                if spy and target == "fieldbot":
                    samples = Path(spy).read_text("utf-8").splitlines()  # noqa: ASYNC240
                    per_step = outcome.cpu / outcome.steps * 1000
                    pieces.append(f"{database}, round {number + 1} ({spy}):\n\n"
                                  + bench_pieces.table(samples, per_step))  # fmt: skip
    print()
    print("| database | target | steps/s | reply p50 / p99 ms | server CPU ms/step |")
    print("| --- | --- | --- | --- | --- |")
    for o in outcomes:
        r = o.row()
        print(f"| {o.database} | {o.target} | {r['steps_per_second']} | "
              f"{r['reply_ms_p50']:,.0f} / {r['reply_ms_p99']:,.0f} | "
              f"{r['server_cpu_ms_per_step']} |")  # fmt: skip
    for text in pieces:
        print(f"\nWhere fieldbot's CPU per step goes, {text}")
    print()
    for database in dict.fromkeys(o.database for o in outcomes):
        ours = [o for o in outcomes if o.database == database and o.target == "fieldbot"]
        theirs = [o for o in outcomes if o.database == database and o.target == "peer"]
        rate = statistics.mean(o.steps / o.seconds for o in ours) / statistics.mean(
            o.steps / o.seconds for o in theirs
        )
        p99 = statistics.mean(_pct(o.replies, 0.99) for o in ours) / statistics.mean(
            _pct(o.replies, 0.99) for o in theirs
        )
        cpu = statistics.mean(o.cpu / o.steps * 1000 for o in ours)
        print(json.dumps({"database": database, "workers": args.workers,
                          "throughput_ratio": round(rate, 2), "p99_ratio": round(p99, 2),
                          "fieldbot_cpu_ms_per_step": round(cpu, 2)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
