"""Who is at the desk: sign-in from a one-time link, the session cookie, CSRF on every change.

A staff member gets a link in chat (/desk, or "เปิดหน้าเว็บ" in the staff menu) or from
`fieldbot desk link`. Opening it shows a page with one button; the link is used up only when
that button is pressed (a POST), because chat apps fetch links to draw previews, and a preview
must not spend a sign-in. The session cookie is HttpOnly, SameSite=Lax, Secure behind HTTPS;
the session ends when signed out, revoked, or unused for FIELDBOT_DESK_IDLE_MINUTES. Every
POST carries the session's CSRF token (a form field, or the X-CSRF-Token header htmx sends).
Villagers, and anyone whose staff roles were taken away, get no desk."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.desk.context import VIEWER, Viewer, page
from bot.service import Core
from domain import policy
from storage import desk, staff
from storage.models import User

COOKIE = "fieldbot_desk"
# Reachable without a session: the sign-in page, the static files, and a person's own copy of
# their data (its one-time token is the key: bot/desk/my_data.py).
OPEN_PATHS = ("/desk/login", "/desk/static/", "/desk/my-data/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def idle(core: Core) -> dt.timedelta:
    return dt.timedelta(minutes=core.settings.desk_idle_minutes)


async def find_viewer(core: Core, cookie: str | None) -> Viewer | None:
    """The staff member a session cookie signs in, if it is live and they are still staff."""
    if not cookie:
        return None
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        found = await desk.find_session(session, cookie, now, idle(core))
        if found is None:
            return None
        user = await session.get(User, found.user_id)
        held = await staff.assignments(session, found.user_id)
        if user is None or not policy.is_staff(held):
            return None
        lang = found.language or user.language or core.settings.default_language
        session.expunge_all()
    return Viewer(user, tuple(held), found, lang)


def guard(core: Core) -> Middleware:
    """The middleware in front of every desk page: a live staff session, and on a POST the
    session's CSRF token; anything else gets the sign-in page (401) or a refusal (403)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(OPEN_PATHS):
            return await handler(request)
        found = await find_viewer(core, request.cookies.get(COOKIE))
        if found is None:
            return page(request, "signed_out.html", {"bye": False}, status=401)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get("X-CSRF-Token")
            if sent is None and request.content_type in (
                "application/x-www-form-urlencoded", "multipart/form-data",
            ):  # fmt: skip
                sent = str((await request.post()).get("csrf") or "")
            if not sent or not secrets.compare_digest(sent, found.csrf):
                request[VIEWER] = found
                return _refusal(request, 403)
        request[VIEWER] = found
        try:
            response = await handler(request)
        except web.HTTPException as refused:
            if refused.status not in _REFUSALS:
                raise  # a redirect, or what the desk does not word
            return _refusal(request, refused.status)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware


# Refusals the desk words for people (a page in their language, with the header), not as
# aiohttp's bare English text: the catalog's desk.refused.<status>.
_REFUSALS = (400, 403, 404)


def _refusal(request: web.Request, status: int) -> web.Response:
    # The language form returns to the list, not to the refused address (never echoed).
    response = page(request, "refused.html", {"status": status, "path": "/desk/"}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_cookie(response: web.StreamResponse, core: Core, value: str) -> None:
    secure = (core.settings.public_url or "").startswith("https://")
    response.set_cookie(COOKIE, value, path="/desk", httponly=True, samesite="Lax",
                        secure=secure)  # fmt: skip


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/desk")
