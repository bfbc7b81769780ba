"""What every desk page knows: the core, the signed-in staff member (`Viewer`), their language,
and how a page is rendered from its template with the catalogs' sentences."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.service import Core
from domain import policy
from storage.models import DeskSession, User

CORE_KEY = web.AppKey("desk_core", Core)
VIEWER = "desk_viewer"
LANGUAGES = ("th", "en")


@dataclass(frozen=True)
class Viewer:
    """The signed-in staff member a request comes from."""

    user: User
    held: policy.Held
    session: DeskSession
    lang: str

    @property
    def csrf(self) -> str:
        return self.session.csrf


def viewer(request: web.Request) -> Viewer:
    found = request.get(VIEWER)
    assert isinstance(found, Viewer), "the desk's guard runs before every page"
    return found


def core_of(request: web.Request) -> Core:
    return request.app[CORE_KEY]


def language(request: web.Request) -> str:
    """The viewer's language; before signing in, the browser's (Thai unless it asks for
    English first)."""
    found = request.get(VIEWER)
    if isinstance(found, Viewer):
        return found.lang
    wanted = request.headers.get("Accept-Language", "")
    core = core_of(request)
    if wanted.lower().startswith("en"):
        return "en"
    return core.settings.default_language


def page(
    request: web.Request,
    template: str,
    data: dict[str, Any],
    *,
    status: int = 200,
    lang: str | None = None,
) -> web.Response:
    """A page (or, for htmx, a fragment) from its template, in the viewer's language (or in
    `lang`: a page that is someone's own without a session, as their copy of their data)."""
    core = core_of(request)
    lang = language(request) if lang is None or lang not in LANGUAGES else lang
    found = request.get(VIEWER)

    def t(key: str, **params: object) -> str:
        return core.i18n.t(lang, key, **params)

    def local(moment: dt.datetime | None) -> str:
        if moment is None:
            return ""
        return moment.astimezone(core.settings.tz).strftime("%Y-%m-%d %H:%M")

    context = {
        "t": t,
        "lang": lang,
        "languages": LANGUAGES,
        "viewer": found if isinstance(found, Viewer) else None,
        "csrf": found.csrf if isinstance(found, Viewer) else "",
        "admin": isinstance(found, Viewer) and policy.is_admin(found.held),
        "local": local,
        "path": request.path_qs,
        **data,
    }
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Content-Language"] = lang
    return response
