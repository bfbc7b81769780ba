"""`fieldbot serve --workers N`: N server processes on one port, on PostgreSQL.

One Python process answers on one core. Each worker here is a whole `fieldbot serve` (webhooks,
intake, outbox dispatcher) listening on the same address with SO_REUSEPORT, so the kernel
spreads connections over them. What they share is in the database and already safe for several
instances: each step locks its user's row, outbox claims skip locked rows, the intake's sweeper
leaves other instances' fresh events alone, and one instance leads the scheduler (bot.leader).
What one process keeps in memory is its own: a user's events are in order within a worker, and
two that reach two workers at the same moment are handled one after the other in either order.
SQLite takes one writer at a time, so more processes would only queue: the command refuses.

This process migrates the database once, starts the workers, restarts one that dies, and on
SIGINT / SIGTERM stops them all (each finishes what it is doing, as `serve` does).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)

RESTART_PAUSE = 1.0  # seconds before a worker that died is started again
EARLY = 10.0  # a worker that dies this soon after its start failed to start
EARLY_DEATHS = 3  # in a row: give up (a port in use, a database out of reach)
STOP_GRACE = 45.0  # seconds a worker has to finish after SIGTERM (its own shutdown waits ~30)


def _worker(host: str, port: int, setup: Callable[[str], Any], parent: int) -> None:
    """One worker process (started with `spawn`: nothing of the parent's loop comes along).
    It stops by itself when its parent is gone (killed with SIGKILL): workers left behind
    would go on sharing the port with the next `serve`."""
    from bot import redact
    from bot.lists import ConfigError
    from bot.server import serve

    settings = Settings()
    redact.register_settings(settings)
    setup(settings.log_level)

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        log.error("the parent process is gone: this worker stops")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=orphaned, name="parent-watch", daemon=True).start()
    try:
        asyncio.run(serve(settings, host, port, reuse_port=True, migrate=False, announce=False))
    except ConfigError as error:
        log.error("configuration error: %s", error)
        sys.exit(2)


async def _migrate(settings: Settings) -> None:
    from bot.service import build_core

    core = await build_core(settings)  # migrates and loads the areas, once for all workers
    await core.close()


def run(settings: Settings, host: str, port: int, workers: int, setup: Callable[[str], Any]) -> int:
    """Serve with `workers` processes until SIGINT or SIGTERM; `setup(level)` configures a
    worker's logging (bot.cli.configure_logging)."""
    asyncio.run(_migrate(settings))
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)

    def start(index: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(
            target=_worker, args=(host, port, setup, os.getpid()), name=f"fieldbot-worker-{index}"
        )
        process.start()
        return process

    running = [start(index) for index in range(workers)]
    started = [time.monotonic()] * workers
    early = 0
    log.info("fieldbot serving on http://%s:%s with %d worker processes", host, port, workers)
    while not stopping and early < EARLY_DEATHS:
        time.sleep(0.2)
        for index, process in enumerate(running):
            if process.is_alive() or stopping:
                continue
            early = early + 1 if time.monotonic() - started[index] < EARLY else 0
            if early >= EARLY_DEATHS:
                log.error("workers keep failing as they start (see above); stopping")
                break
            log.error("worker %d stopped (exit code %s); starting it again", index,
                      process.exitcode)  # fmt: skip
            time.sleep(RESTART_PAUSE)
            if not stopping:  # (a stop may have come during the pause)
                running[index], started[index] = start(index), time.monotonic()
    log.info("stopping %d workers", len(running))
    for process in running:
        if process.is_alive() and process.pid is not None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for process in running:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.error("%s did not stop in %.0f s: killed", process.name, STOP_GRACE)
            process.kill()
            process.join()
    return 1 if early >= EARLY_DEATHS else 0
