"""The desk's broadcasts: the ones the viewer may see with how their delivery goes (refreshed
while any is sending), and composing one: roles and an area among those the viewer may
address, the audience per platform shown before writing, the text and a photo, a preview,
then send now or at a local date and time. Drafts, confirmation, scheduling and queueing go
through domain.broadcasts and storage.broadcasts, as in chat and on the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from multidict import MultiDictProxy

from bot.channels import catalog
from bot.desk.context import Viewer, core_of, page, viewer
from bot.desk.filters import area_choices
from bot.service import Core, queue_broadcasts, save_photo
from domain import broadcasts as work
from domain import policy
from handlers import vocab
from handlers.router import describe_staff_area
from storage import broadcasts as store
from storage.media import PhotoTooLargeError
from storage.models import Broadcast, User

LISTED = 50  # the latest broadcasts on the list
POLL_SECONDS = 2


def _allowed(who: Viewer) -> None:
    if not policy.may_broadcast(who.held):
        raise web.HTTPNotFound(text="no broadcasts here")


def _roles(values: list[str]) -> list[str]:
    """The audiences asked for, in the form's order; unknown ones are dropped."""
    return [r for r in work.ROLES if r in values]


def _area(who: Viewer, value: str) -> str | None:
    """An area code as typed (TH, or 2, 4 or 6 digits), if the viewer may address it."""
    ok = value == vocab.NATIONAL or (
        value.isascii() and value.isdigit() and len(value) in (2, 4, 6)
    )
    return value if ok and policy.may_address(who.held, value) else None


def addressable(who: Viewer, core: Core) -> list[tuple[str, str]]:
    """The areas the viewer may broadcast to: each they hold and those one level inside."""
    found = area_choices(who.held, core, who.lang)
    if vocab.NATIONAL in policy.areas(who.held):
        found.insert(0, (vocab.NATIONAL, core.i18n.t(who.lang, "area.national")))
    return [(code, name) for code, name in found if policy.may_address(who.held, code)]


def _per_platform(reach: store.Reach) -> list[tuple[str, int]]:
    """People per platform: the platforms the server sends to always, others when they count."""
    shown = catalog.server_platforms()
    return [
        (name, reach.reachable.get(name, 0))
        for name in catalog.names()
        if name in shown or reach.reachable.get(name)
    ]


async def _reach(core: Core, roles: list[str], area: str | None) -> store.Reach:
    if not roles or area is None:
        return store.Reach({}, 0)
    async with core.sessions() as session:
        return await store.reach(session, roles, area)


def _audience(reach: store.Reach, asked: bool) -> dict[str, Any]:
    return {"platforms": _per_platform(reach), "total": reach.total,
            "blocked": reach.blocked, "asked": asked}  # fmt: skip


# ---------------------------------------------------------------- the list


async def _rows(core: Core, who: Viewer, only: Broadcast | None = None) -> dict[str, Any]:
    """The broadcasts to list with their delivery, and whether any is still sending."""
    now = core.clock()
    async with core.sessions() as session:
        chosen = [only] if only is not None else await store.recent(
            session, policy.visible_broadcasts(who.held), limit=LISTED
        )  # fmt: skip
        progress = [await store.progress(session, b) for b in chosen]
    rows = []
    sending = False
    for p in progress:
        b = p.broadcast
        going = (b.status == vocab.QUEUED and p.pending > 0) or (
            b.status == vocab.SCHEDULED and b.send_at <= now
        )
        sending = sending or going
        rows.append({
            "id": b.id, "send_at": b.send_at, "state": work.state(p), "text": b.text,
            "roles": b.roles, "area": describe_staff_area(b.area, who.lang, core.env(1)),
            "recipients": b.recipients, "sent": p.sent, "pending": p.pending,
            "failed": p.failed, "blocked": p.blocked, "sending": going,
            "may_cancel": b.status == vocab.SCHEDULED
            and policy.may_author(who.held, b.created_by_id, who.user.id),
        })  # fmt: skip
    poll = f"/desk/broadcasts/{only.id}/rows" if only is not None else "/desk/broadcasts/rows"
    return {"rows": rows, "sending": sending, "poll": poll, "poll_seconds": POLL_SECONDS}


async def broadcast_list(request: web.Request) -> web.Response:
    core, who = core_of(request), viewer(request)
    _allowed(who)
    return page(request, "broadcasts.html", await _rows(core, who))


async def broadcast_rows(request: web.Request) -> web.Response:
    """The list's rows alone, for htmx to swap in while broadcasts are sending."""
    core, who = core_of(request), viewer(request)
    _allowed(who)
    only = None
    if "id" in request.match_info:
        only = await _visible(request)
    return page(request, "_broadcast_rows.html", await _rows(core, who, only))


# ---------------------------------------------------------------- composing


def _form_data(core: Core, who: Viewer, values: Mapping[str, Any]) -> dict[str, Any]:
    today = core.clock().astimezone(core.settings.tz).date()
    return {
        "audiences": work.ROLES,
        "areas": addressable(who, core),
        "values": values,
        "text_min": work.TEXT_MIN,
        "text_max": work.TEXT_MAX,
        "today": today.isoformat(),
        "last_day": (today + dt.timedelta(days=work.DAYS_AHEAD)).isoformat(),
        "errors": [],
    }


async def compose(request: web.Request) -> web.Response:
    core, who = core_of(request), viewer(request)
    _allowed(who)
    choices = addressable(who, core)
    roles = _roles(request.query.getall("roles", []))
    area = _area(who, request.query.get("area", "")) or (choices[0][0] if choices else "")
    values = {"roles": roles, "area": area, "text": "", "when": "now", "send_date": "",
              "send_time": "09:00"}  # fmt: skip
    data = _form_data(core, who, values)
    data["audience"] = _audience(await _reach(core, roles, area or None), bool(roles))
    return page(request, "broadcast_new.html", data)


async def audience(request: web.Request) -> web.Response:
    """The people a choice of roles and area reaches, per platform (htmx, before writing)."""
    core, who = core_of(request), viewer(request)
    _allowed(who)
    roles = _roles(request.query.getall("roles", []))
    area = _area(who, request.query.get("area", ""))
    if area is None:
        raise web.HTTPNotFound(text="not an area of yours")
    reach = await _reach(core, roles, area)
    return page(request, "_audience.html", {"audience": _audience(reach, bool(roles))})


def _send_at(core: Core, form: MultiDictProxy[Any]) -> tuple[dt.datetime, str | None]:
    """When the composed broadcast goes (UTC), and what is wrong with the time asked for."""
    now = core.clock()
    if form.get("when") != "later":
        return now, None
    try:
        day = dt.date.fromisoformat(str(form.get("send_date") or ""))
        hour = dt.time.fromisoformat(str(form.get("send_time") or ""))
    except ValueError:
        return now, "when_invalid"
    local = dt.datetime.combine(day, hour.replace(second=0, microsecond=0),
                                tzinfo=core.settings.tz)  # fmt: skip
    send_at = local.astimezone(dt.UTC)
    return send_at, work.send_time_problem(send_at, now)


async def create(request: web.Request) -> web.StreamResponse:
    """The composed broadcast, saved as a draft (as the chat's form does), then its preview."""
    core, who = core_of(request), viewer(request)
    _allowed(who)
    form = await request.post()
    area = _area(who, str(form.get("area") or ""))
    if area is None:
        raise web.HTTPNotFound(text="not an area of yours")
    roles = _roles([str(r) for r in form.getall("roles", [])])
    text = str(form.get("text") or "").strip().replace("\r\n", "\n")
    send_at, problem = _send_at(core, form)
    errors = [problem] if problem else []
    if not roles:
        errors.append("roles")
    if len(text) < work.TEXT_MIN:
        errors.append("text_short")
    elif len(text) > work.TEXT_MAX:
        errors.append("text_long")
    image: str | None = None
    upload = form.get("photo")
    if not errors and isinstance(upload, web.FileField) and upload.filename:
        sent = await asyncio.to_thread(upload.file.read)
        if sent:
            try:
                saved = await save_photo(core, sent)
            except PhotoTooLargeError:
                saved = None
                errors.append("photo_large")
            if saved is not None and not saved.content_type.startswith("image/"):
                errors.append("not_photo")
            elif saved is not None:
                image = saved.path
    if errors:
        values = {key: str(form.get(key) or "") for key in ("area", "text", "when", "send_date",
                                                            "send_time")}  # fmt: skip
        data = _form_data(core, who, {**values, "roles": roles, "area": area})
        data["errors"] = errors
        data["audience"] = _audience(await _reach(core, roles, area), bool(roles))
        return page(request, "broadcast_new.html", data, status=400)
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        author = await session.get(User, who.user.id)
        assert author is not None
        broadcast, reach = await work.draft(
            session, creator=author, roles=roles, area=area, text=text, image=image,
            send_at=send_at, now=now,
        )  # fmt: skip
        broadcast_id = broadcast.id
    done = "?done=nobody" if reach.total == 0 else ""
    raise web.HTTPSeeOther(f"/desk/broadcasts/{broadcast_id}{done}")


# ---------------------------------------------------------------- one broadcast


async def _visible(request: web.Request) -> Broadcast:
    """The broadcast the URL names, if the viewer wrote it or may address its area."""
    core, who = core_of(request), viewer(request)
    _allowed(who)
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise web.HTTPNotFound(text="no such broadcast")
    async with core.sessions() as session:
        found = await session.get(Broadcast, int(text))
        session.expunge_all()
    if found is None or not (
        policy.may_author(who.held, found.created_by_id, who.user.id)
        or policy.may_address(who.held, found.area)
    ):
        raise web.HTTPNotFound(text="no such broadcast")
    return found


async def broadcast_page(request: web.Request) -> web.Response:
    """A draft's preview (how it will read, whom it reaches, when) with send and cancel; or,
    once confirmed, how its delivery goes."""
    core, who = core_of(request), viewer(request)
    broadcast = await _visible(request)
    reach = await _reach(core, broadcast.roles, broadcast.area)
    data = {
        "b": broadcast,
        "area": describe_staff_area(broadcast.area, who.lang, core.env(1)),
        "audience": _audience(reach, True),
        "later": broadcast.send_at > core.clock(),
        "is_draft": broadcast.status == vocab.DRAFT,
        "mine": policy.may_author(who.held, broadcast.created_by_id, who.user.id),
        "done": request.query.get("done", ""),
        "released": core.not_before(),
        **await _rows(core, who, broadcast),
    }
    return page(request, "broadcast_page.html", data)


async def photo(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    broadcast = await _visible(request)
    if not broadcast.image:
        raise web.HTTPNotFound(text="no photo")
    path = core.media.path(broadcast.image)
    if not await asyncio.to_thread(Path(path).is_file):
        raise web.HTTPNotFound(text="photo file missing")
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


async def _decide(request: web.Request, action: Literal["send", "cancel"]) -> web.StreamResponse:
    """Confirm or cancel, as the chat's buttons do; a confirmed broadcast whose time has come
    is queued at once and the outbox woken (queue_broadcasts)."""
    core, who = core_of(request), viewer(request)
    broadcast = await _visible(request)
    async with core.writing(), core.sessions() as session, session.begin():
        decided = await work.decide(session, who.held, who.user.id, broadcast.id or 0, action,
                                    core.clock())  # fmt: skip
    outcome: str = decided.outcome
    if outcome == "due":
        await queue_broadcasts(core)
        outcome = "queued_quiet" if core.not_before() > core.clock() else "queued"
    raise web.HTTPSeeOther(f"/desk/broadcasts/{broadcast.id}?done={outcome}")


async def send(request: web.Request) -> web.StreamResponse:
    return await _decide(request, "send")


async def cancel(request: web.Request) -> web.StreamResponse:
    return await _decide(request, "cancel")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/broadcasts", broadcast_list),
        web.get("/broadcasts/rows", broadcast_rows),
        web.get("/broadcasts/new", compose),
        web.post("/broadcasts/new", create),
        web.get("/broadcasts/audience", audience),
        web.get("/broadcasts/{id}", broadcast_page),
        web.get("/broadcasts/{id}/rows", broadcast_rows),
        web.get("/broadcasts/{id}/photo", photo),
        web.post("/broadcasts/{id}/send", send),
        web.post("/broadcasts/{id}/cancel", cancel),
    ]
