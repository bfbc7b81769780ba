"""Signed links to stored photos, for platforms that fetch images by URL (LINE).

A link is `{FIELDBOT_PUBLIC_URL}/media/{name}?exp={unix seconds}&sig={hex}`. The signature is
an HMAC-SHA256 of the name and the expiry, under a key derived from FIELDBOT_SECRET_KEY, so a
link can be neither pointed at another photo nor made to last longer. The expiry is
FIELDBOT_MEDIA_LINK_DAYS ahead, rounded up to the next midnight (UTC): every link made on one
day to one photo is the same URL, which LINE can cache, and a forwarded link stops working.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

from aiohttp import web

from bot.config import Settings

DAY = 86400  # seconds
Clock = Callable[[], dt.datetime]

_NAME = re.compile(r"^[0-9a-f]{64}\.(?:jpg|png|webp|gif)$")
_EXPIRY = re.compile(r"^[0-9]{1,12}$")
# Changing this (or FIELDBOT_SECRET_KEY) ends every link given out so far.
_PURPOSE = b"fieldbot photo links v2"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enabled(settings: Settings) -> bool:
    """Links need a public address and the key that signs them."""
    return bool(settings.public_url) and settings.secret_key is not None


def _key(settings: Settings) -> bytes:
    if settings.secret_key is None:
        raise RuntimeError("photo links are off: FIELDBOT_SECRET_KEY is not set")
    secret = settings.secret_key.get_secret_value().encode()
    # A key for this use only, so the same secret can sign other things later without
    # one signature standing in for another.
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def sign(settings: Settings, name: str, expires: int) -> str:
    return hmac.new(_key(settings), f"{name}\n{expires}".encode(), hashlib.sha256).hexdigest()


def expiry(settings: Settings, now: dt.datetime) -> int:
    """Unix seconds of the midnight (UTC) on or after `now` + FIELDBOT_MEDIA_LINK_DAYS."""
    earliest = int(now.timestamp()) + settings.media_link_days * DAY
    return -(-earliest // DAY) * DAY


def public_link(settings: Settings, relative_path: str, now: dt.datetime) -> str | None:
    """`https://host/media/<file>?exp=…&sig=…` for a photo in the media store, or None when
    links are off."""
    if not enabled(settings) or settings.public_url is None:
        return None
    name = PurePosixPath(relative_path).name
    expires = expiry(settings, now)
    return (
        f"{settings.public_url.rstrip('/')}/media/{name}"
        f"?exp={expires}&sig={sign(settings, name, expires)}"
    )


def handler(
    settings: Settings, clock: Clock = _now
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The `/media/{name}` route: 404 for anything but a stored photo's name, 403 for a
    missing or wrong signature (links signed before expiries existed included), 410 once the
    link has expired."""

    async def serve_photo(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not _NAME.match(name):  # a stored photo's name, nothing else (no paths)
            raise web.HTTPNotFound()
        given_expiry = request.query.get("exp", "")
        given = request.query.get("sig", "").encode("utf-8", "replace")
        if not _EXPIRY.match(given_expiry):
            raise web.HTTPForbidden()
        expires = int(given_expiry)
        if not hmac.compare_digest(given, sign(settings, name, expires).encode()):
            raise web.HTTPForbidden()
        left = expires - int(clock().timestamp())
        if left <= 0:
            raise web.HTTPGone()
        path = settings.media_dir / name[:2] / name
        if not path.is_file():
            raise web.HTTPNotFound()
        # Caches may keep it for a day, never past the link's own end.
        return web.FileResponse(
            path, headers={"Cache-Control": f"private, max-age={min(left, DAY)}"}
        )

    return serve_photo
