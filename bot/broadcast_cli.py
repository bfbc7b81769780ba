"""`fieldbot broadcast`: the command-line side of broadcasts (domain.broadcasts is the chat side;
both write the same rows)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from tqdm import tqdm

from bot.area_option import area_option
from bot.channels import catalog
from bot.config import Settings
from bot.outbox import Dispatcher
from bot.service import Core, build_core, queue_broadcasts
from domain import broadcasts
from domain.quiet import parse_window, release_time
from storage import broadcasts as store
from storage.models import Broadcast


def _fail(message: str) -> int:
    print(f"fieldbot: {message}", file=sys.stderr)
    return 2


def _local(broadcast: Broadcast, settings: Settings) -> str:
    return broadcast.send_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


async def broadcast_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.broadcast_command == "status":
        given = [f"--{name.replace('_', '-')}" for name in ("role", "area", "text", "image", "at",
                 "dry_run") if getattr(args, name) not in (None, False)]  # fmt: skip
        if given:
            return _fail(f"`broadcast status` sends nothing: leave out {', '.join(given)}")
    core = await build_core(settings)
    try:
        if args.broadcast_command == "status":
            return await _status(core, args.id)
        return await _send(core, args)
    finally:
        await core.close()


async def _status(core: Core, broadcast_id: int | None) -> int:
    async with core.sessions() as session:
        if broadcast_id is not None:
            found = await session.get(Broadcast, broadcast_id)
            if found is None:
                return _fail(f"no broadcast #{broadcast_id}")
            chosen = [found]
        else:
            chosen = await store.recent(session, None, limit=20)
        print("id\tsend_at\tstatus\trecipients\tsent\tpending\tfailed\tblocked\troles\tarea")
        for b in chosen:
            p = await store.progress(session, b)
            state = "done" if p.done else b.status
            cells = (b.id, _local(b, core.settings), state, b.recipients, p.sent, p.pending,
                     p.failed, p.blocked, ",".join(b.roles), b.area)  # fmt: skip
            print("\t".join(str(cell) for cell in cells))
        if not chosen:
            print("(no broadcasts yet)")
    return 0


async def _send(core: Core, args: argparse.Namespace) -> int:
    settings = core.settings
    if not (args.role and args.area and args.text):
        return _fail("broadcast needs --role, --area and --text (see fieldbot broadcast --help)")
    roles = [r.strip() for r in args.role.split(",") if r.strip()]
    unknown = [r for r in roles if r not in store.ROLES]
    if unknown:
        return _fail(f"unknown role {', '.join(unknown)}; roles: {', '.join(store.ROLES)}")
    area = area_option(args.area)
    text = args.text.strip()
    if not text:
        return _fail("--text is empty")
    now = core.clock()
    send_at = now
    if args.at:
        try:
            local = dt.datetime.strptime(args.at, "%Y-%m-%d %H:%M").replace(tzinfo=settings.tz)
        except ValueError:
            return _fail(f'--at {args.at!r}: use "YYYY-MM-DD HH:MM", e.g. "2026-04-01 09:00"')
        send_at = local.astimezone(dt.UTC)
        problem = broadcasts.send_time_problem(send_at, now)
        if problem == "past":
            return _fail(f"--at {args.at!r} is in the past")
        if problem == "too_far":
            return _fail(f"--at {args.at!r} is more than {broadcasts.DAYS_AHEAD} days ahead")
    image = None
    if args.image is not None:
        try:
            data = args.image.read_bytes()
        except OSError as error:
            return _fail(f"cannot read --image: {error}")
        image = core.media.save(data).path

    async with core.sessions() as session:
        reach = await store.reach(session, roles, area)
    per_platform = ", ".join(
        f"{catalog.title(name)} {reach.reachable[name]}"
        for name in catalog.names() if reach.reachable.get(name)
    ) or "0"  # fmt: skip
    print(f"recipients: {per_platform}; blocked the bot (skipped): {reach.blocked}")
    if args.dry_run:
        print("dry run: nothing sent")
        return 0
    if reach.total == 0:
        return _fail("nobody to send to")
    async with core.writing(), core.sessions() as session, session.begin():
        broadcast = await broadcasts.create(
            session, creator=None, roles=roles, area=area, text=text, image=image,
            send_at=send_at, status="scheduled", now=now,
        )  # fmt: skip
        broadcast_id = broadcast.id or 0
    if send_at > now:
        print(f"broadcast #{broadcast_id} scheduled for {args.at}; `fieldbot serve` sends it")
        return 0
    await queue_broadcasts(core)
    window = parse_window(settings.quiet_hours)
    if release_time(now, settings.tz, window) > now:
        print(f"broadcast #{broadcast_id} queued; it is quiet hours ({settings.quiet_hours}), "
              "so `fieldbot serve` sends it when they end")  # fmt: skip
        return 0
    return await _follow(core, broadcast_id, reach.total)


async def _only_off_left(core: Core, broadcast_id: int, off: list[str]) -> bool:
    from sqlalchemy import func, select
    from sqlmodel import col

    from storage.models import OutboxMessage

    async with core.sessions() as session:
        left = await session.execute(
            select(col(OutboxMessage.platform), func.count())
            .where(col(OutboxMessage.broadcast_id) == broadcast_id,
                   col(OutboxMessage.status).in_(("pending", "sending")))
            .group_by(col(OutboxMessage.platform))
        )  # fmt: skip
        return all(platform in off for platform, _n in left.all())


async def _follow(core: Core, broadcast_id: int, total: int) -> int:
    """Send the broadcast's rows (alongside any `fieldbot serve` running) with a progress bar."""
    from bot.channels import registry

    async with registry.senders(core) as senders:
        dispatcher = Dispatcher(core, senders, broadcast_id=broadcast_id)
        with tqdm(total=total, unit="people", desc=f"broadcast #{broadcast_id}") as bar:
            while True:
                tried = sum([await dispatcher.deliver_due(p) for p in dispatcher.platforms])
                async with core.sessions() as session:
                    broadcast = await session.get(Broadcast, broadcast_id)
                    assert broadcast is not None
                    p = await store.progress(session, broadcast)
                bar.n = p.sent + p.failed + (p.blocked - broadcast.blocked)
                bar.refresh()
                if p.pending == 0:
                    break
                off = [x for x in catalog.names() if x not in senders]
                if not tried and off and await _only_off_left(core, broadcast_id, off):
                    print(f"\nthe rest goes through {', '.join(off)}, not sent from here: "
                          "`fieldbot serve` sends it (with the credentials set), and console "
                          "users see it in `fieldbot chat`", file=sys.stderr)  # fmt: skip
                    break
                if not tried:
                    await asyncio.sleep(0.5)  # waiting for retries, or for another sender
    print(f"broadcast #{broadcast_id}: sent {p.sent}, failed {p.failed}, blocked {p.blocked}")
    return 0 if p.failed == 0 else 1
