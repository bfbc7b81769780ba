"""`fieldbot serve`: the aiohttp application. Each channel that is on mounts its own routes
(bot.channels.registry); with none on the server still runs (health check, and `fieldbot chat`
works against the same database)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from importlib.metadata import version

from aiohttp import web
from sqlalchemy import text

from bot import desk, media_links
from bot.channels import catalog, registry
from bot.channels.base import Channel, Receive
from bot.config import Settings
from bot.intake import Intake
from bot.outbox import Dispatcher
from bot.redact import redact
from bot.scheduler import Scheduler
from bot.service import Core, build_core
from domain import retention
from storage import outbox
from storage.db import reading

log = logging.getLogger(__name__)
CORE_KEY = web.AppKey("core", Core)
# The channels that are on, by platform name.
CHANNELS_KEY: web.AppKey[dict[str, Channel]] = web.AppKey("channels")
DISPATCHER_KEY = web.AppKey("dispatcher", Dispatcher)
INTAKE_KEY = web.AppKey("intake", Intake)


def channel_status(settings: Settings) -> dict[str, bool]:
    return registry.status(settings)


async def healthz(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    uncovered: list[str] | None = None
    try:
        async with reading(core.sessions) as session:
            await session.execute(text("SELECT 1"))
        database = True
        uncovered = await pilot_districts_without_officer(core)
    except Exception:  # the answer must be a 503, whatever the database did
        log.exception("health check: database unreachable")
        database = False
    body = {
        "status": "ok" if database else "degraded",
        "database": database,
        "channels": channel_status(core.settings),
        # Problems there reach only coordinators (or the admins): worth knowing at a glance.
        "pilot_districts_without_officer": uncovered,
        "version": version("fieldbot"),
    }
    return web.json_response(body, status=200 if database else 503)


async def pilot_districts_without_officer(core: Core) -> list[str]:
    """The pilot districts that no reachable officer holds."""
    from storage import staff

    async with reading(core.sessions) as session:
        return await staff.districts_without_officer(session, sorted(core.lists.pilot_districts))


MAX_BODY = 1024 * 1024  # webhooks larger than this are answered 413


def build_app(core: Core, *, dispatch: bool = True) -> web.Application:
    """The application: health check, and a webhook for each channel whose credentials are
    set (a channel that is off has no route, so its webhook answers 404). A webhook stores its
    events in the inbox before it answers 200 (bot.intake handles them from there); the
    outbox dispatcher sends the replies. With `dispatch`, it sends the other pushes too
    (tests turn that off and deliver them step by step)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[CORE_KEY] = core
    app.router.add_get("/healthz", healthz)
    if media_links.enabled(core.settings):
        # Through core.clock, which tests replace after the app is built.
        app.router.add_get(
            "/media/{name}", media_links.handler(core.settings, lambda: core.clock())
        )
    desk.mount(app, core)
    channels = registry.open_server_channels(core)
    app[CHANNELS_KEY] = channels
    for channel in channels.values():
        app.on_startup.append(_calling(channel.start))
        app.on_cleanup.append(_calling(channel.close))
    settings = core.settings
    intake = Intake(
        core, {name: channel.handle for name, channel in channels.items()},
        capacity=settings.intake_capacity, per_minute=settings.flood_per_minute,
        grace=settings.inbox_grace_seconds,
        at_once=[name for name, channel in channels.items() if channel.redelivers],
    )  # fmt: skip
    app[INTAKE_KEY] = intake
    for name, channel in channels.items():
        app.router.add_routes(channel.routes(_webhook(name, channel, intake)))
    # Platforms that are off get a loop too: their rows are marked skipped, not left pending.
    dispatcher = Dispatcher(core, channels, platforms=catalog.server_platforms())
    app[DISPATCHER_KEY] = dispatcher
    core.on_outbox = dispatcher.wake
    core.send_reply, core.reply_token = dispatcher.send_reply, dispatcher.inline_token
    stop = asyncio.Event()
    sweeper: list[asyncio.Task[None]] = []

    async def start(_app: web.Application) -> None:
        dispatcher.start(outbox.LANES if dispatch else ("reply",))
        sweeper.append(asyncio.create_task(intake.run(stop), name="inbox-sweeper"))

    async def shut(_app: web.Application) -> None:
        stop.set()
        await asyncio.gather(*sweeper, return_exceptions=True)
        await intake.stop()
        await dispatcher.settle(within=5.0)
        await dispatcher.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(shut)
    return app


def _calling(
    step: Callable[[], Awaitable[None]],
) -> Callable[[web.Application], Awaitable[None]]:
    async def run(_app: web.Application) -> None:
        await step()

    return run


def _webhook(platform: str, channel: Channel, intake: Intake) -> Receive:
    async def webhook(request: web.Request) -> web.StreamResponse:
        events = await channel.read(request)  # raises the 4xx to answer
        try:
            await intake.accept(platform, events)
        except Exception as error:
            # Not stored, so not acknowledged: the platform sends it again.
            log.error("%s webhook could not be stored: %s", platform, redact(repr(error)))
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({})

    return webhook


async def settle(app: web.Application) -> None:
    """Wait until the events received so far are handled and their replies sent (tests)."""
    await app[INTAKE_KEY].drain()
    await app[DISPATCHER_KEY].settle()


HOUSEKEEPING_EVERY = 3600.0


async def housekeeping_once(core: Core) -> int:
    """Keep the inbox and the replies bounded by time (FIELDBOT_RETENTION_EVENT_DAYS: platforms
    redeliver within hours); returns how many rows were removed."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        done = await retention.forget_events(session, now, core.retention.events)
    if done.given_up:
        log.warning("gave up %d inbox event(s) pending for over %s", done.given_up,
                    retention.GIVE_UP_PENDING)  # fmt: skip
    return done.events + done.replies


async def _every(seconds: float, stop: asyncio.Event) -> bool:
    """Wait `seconds` or until `stop`; True when it is time to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _housekeeping(core: Core, stop: asyncio.Event) -> None:
    # Every instance forgets its own old event ids; no need to lead for that.
    while not stop.is_set():
        try:
            removed = await housekeeping_once(core)
            if removed:
                log.info("forgot %d old inbox events and replies", removed)
        except Exception:
            log.exception("housekeeping failed")
        if await _every(HOUSEKEEPING_EVERY, stop):
            return


async def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
    migrate: bool = True,
    announce: bool = True,
) -> None:
    """Run the server until SIGINT or SIGTERM. `reuse_port`, `migrate` and `announce` are for
    the workers of `serve --workers N` (bot.workers): they share the port, their parent has
    migrated the database, and it says once what is being served."""
    core = await build_core(settings, migrate=migrate)
    # SIGINT/SIGTERM stop the service cleanly from the moment it answers: a stop sent right
    # after the first /healthz must not kill it half-way (a supervisor does exactly that).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner: web.AppRunner | None = None
    scheduler: Scheduler | None = None
    timers: list[asyncio.Task[None]] = []
    try:  # whatever fails from here (a port in use, a database down) still closes what opened
        runner = web.AppRunner(build_app(core), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        for spec in catalog.SPECS if announce else ():
            on = channel_status(settings)[spec.name]
            hint = f"off ({spec.off_hint} to turn it on)" if spec.off_hint else "off"
            log.info("channel %s: %s", spec.name, "on" if on else hint)
        if announce:
            log.info(
                "fieldbot serving on http://%s:%s (health: /healthz); database %s",
                host,
                port,
                core.engine.url.render_as_string(hide_password=True),
            )
            log.info("try the bot without any platform: fieldbot chat --user YOUR_NAME")
        uncovered = await pilot_districts_without_officer(core) if announce else []
        if uncovered:
            names = ", ".join(f"{code} {core.areas.describe(code, 'en')}" for code in uncovered)
            log.warning(
                "%d pilot district(s) have no officer in the bot: their problems reach only "
                "coordinators (or the admins). Invite one with fieldbot invite create --role "
                "officer --area CODE: %s", len(uncovered), names,
            )  # fmt: skip
        timers.append(asyncio.create_task(_housekeeping(core, stop), name="housekeeping"))
        # Reminders, digests, nudges, scheduled broadcasts and escalation: on the one instance
        # that leads (bot.leader).
        scheduler = Scheduler(core)
        scheduler.start()
        await stop.wait()
    finally:
        log.info("shutting down")
        stop.set()  # the timers finish the round they are in
        await asyncio.gather(*timers, return_exceptions=True)
        if scheduler is not None:
            await scheduler.stop()
        if runner is not None:
            await runner.cleanup()
        await core.close()
