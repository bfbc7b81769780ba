"""Signed links to stored photos, for platforms that fetch images by URL (LINE)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

from aiohttp import web

from bot.config import Settings

SIGNATURE_LENGTH = 32


def sign(settings: Settings, name: str) -> str:
    digest = hmac.new(settings.media_key(), name.encode(), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_LENGTH]


_NAME = re.compile(r"^[0-9a-f]{64}\.(?:jpg|png|webp|gif)$")


def enabled(settings: Settings) -> bool:
    """Links need a public address, and a real secret to sign them with (the LINE secret)."""
    return bool(settings.public_url) and settings.line_channel_secret is not None


def public_link(settings: Settings, relative_path: str) -> str | None:
    """`https://host/media/<file>?sig=…` for a photo in the media store, or None when links
    are off."""
    if not enabled(settings) or settings.public_url is None:
        return None
    name = PurePosixPath(relative_path).name
    return f"{settings.public_url.rstrip('/')}/media/{name}?sig={sign(settings, name)}"


def handler(settings: Settings) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve_photo(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        given = request.query.get("sig", "")
        if not _NAME.match(name):  # a stored photo's name, nothing else (no paths)
            raise web.HTTPNotFound()
        stem = name.split(".", 1)[0]
        if not hmac.compare_digest(given, sign(settings, name)):
            raise web.HTTPForbidden()
        path = settings.media_dir / stem[:2] / name
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "private, max-age=86400"})

    return serve_photo
