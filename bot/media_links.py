"""Signed links to stored photos, for platforms that fetch images by URL (LINE)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

from aiohttp import web

from bot.config import Settings

SIGNATURE_LENGTH = 32


def sign(settings: Settings, name: str) -> str:
    digest = hmac.new(settings.media_key(), name.encode(), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_LENGTH]


def public_link(settings: Settings, relative_path: str) -> str | None:
    """`https://host/media/<file>?sig=…` for a photo in the media store, or None without a
    public address."""
    if not settings.public_url:
        return None
    name = PurePosixPath(relative_path).name
    return f"{settings.public_url.rstrip('/')}/media/{name}?sig={sign(settings, name)}"


def handler(settings: Settings) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve_photo(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        given = request.query.get("sig", "")
        stem = name.split(".", 1)[0]
        if len(stem) != 64 or not all(c in "0123456789abcdef" for c in stem):
            raise web.HTTPNotFound()
        if not hmac.compare_digest(given, sign(settings, name)):
            raise web.HTTPForbidden()
        path = settings.media_dir / stem[:2] / name
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "private, max-age=86400"})

    return serve_photo
