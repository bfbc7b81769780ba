"""Photo links for LINE: signed with FIELDBOT_SECRET_KEY, good for FIELDBOT_MEDIA_LINK_DAYS,
the same URL all day (LINE caches by URL), refused once expired, altered or signed the old
way."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import media_links
from bot.config import Settings
from storage.media import MediaStore
from tests.support.clock import Clock
from tests.support.images import png_bytes
from tests.support.settings import make_settings

KEY = "k" * 16 + "-media-links-test"
PHOTO = png_bytes(3, 3, (10, 200, 30))


def _settings(tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "FIELDBOT_PUBLIC_URL": "https://bot.example.org/",
        "FIELDBOT_SECRET_KEY": KEY,
    }
    values.update(extra)
    return make_settings("sqlite+aiosqlite:///unused.db", tmp_path / "media", **values)


@pytest.fixture
async def served(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Settings, str, Any]]:
    """Settings, a stored photo's path in the store, and a client of the /media route."""
    settings = _settings(tmp_path)
    stored = MediaStore(settings.media_dir).save(PHOTO).path
    app = web.Application()
    app.router.add_get("/media/{name}", media_links.handler(settings, clock))
    async with TestClient(TestServer(app)) as client:
        yield settings, stored, client


def _local(link: str | None) -> str:
    assert link is not None
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def test_a_fresh_link_works_and_an_expired_one_is_gone(
    served: tuple[Settings, str, Any], clock: Clock
) -> None:
    settings, stored, client = served
    link = media_links.public_link(settings, stored, clock.now)
    assert link is not None and link.startswith("https://bot.example.org/media/")
    answer = await client.get(_local(link))
    assert answer.status == 200 and await answer.read() == PHOTO
    clock.advance(days=30)
    assert (await client.get(_local(link))).status == 200  # 30 days, rounded up to midnight
    clock.advance(days=1)
    gone = await client.get(_local(link))
    assert gone.status == 410


async def test_links_are_the_same_all_day_and_expire_at_midnight(
    served: tuple[Settings, str, Any], clock: Clock
) -> None:
    settings, stored, _client = served
    morning = media_links.public_link(settings, stored, clock.now)
    evening = media_links.public_link(settings, stored, clock.now + dt.timedelta(hours=21))
    assert morning == evening  # LINE caches images by URL
    exp = int(parse_qs(urlsplit(morning or "").query)["exp"][0])
    assert exp % 86400 == 0
    assert dt.timedelta(days=30) <= dt.datetime.fromtimestamp(exp, dt.UTC) - clock.now
    assert dt.datetime.fromtimestamp(exp, dt.UTC) - clock.now < dt.timedelta(days=31)
    shorter = _settings(settings.media_dir.parent, FIELDBOT_MEDIA_LINK_DAYS=2)
    assert media_links.public_link(shorter, stored, clock.now) != morning


async def test_altered_and_old_style_links_are_refused(
    served: tuple[Settings, str, Any], clock: Clock
) -> None:
    settings, stored, client = served
    link = _local(media_links.public_link(settings, stored, clock.now))
    path, query = link.split("?")
    exp = parse_qs(query)["exp"][0]
    sig = parse_qs(query)["sig"][0]
    later = str(int(exp) + 365 * 86400)
    name = path.rsplit("/", 1)[1]
    old_key = hashlib.sha256(b"fieldbot media links:line-secret").digest()
    old_sig = hmac.new(old_key, name.encode(), hashlib.sha256).hexdigest()[:32]
    for refused in (
        f"{path}?sig={old_sig}",  # signed the old way: no expiry
        f"{path}?sig={sig}",  # the expiry left out
        f"{path}?exp={later}&sig={sig}",  # the expiry moved on
        f"{path}?exp={exp}&sig={'0' * len(sig)}",  # a made-up signature
        f"{path}?exp={exp}&sig=ลายเซ็น",  # not even hexadecimal
        f"{path}?exp=soon&sig={sig}",
        f"{path}?exp={'9' * 40}&sig={sig}",
        f"{path}?exp={exp}",
    ):
        assert (await client.get(refused)).status == 403, refused
    sneaky = f"/media/{name[:64]}.d%2F..%2F..%2Fsecret.txt?exp={exp}&sig={sig}"
    assert (await client.get(sneaky)).status == 404  # nothing but a photo's own name


async def test_links_need_the_secret_key_not_the_line_secret(tmp_path: Path, clock: Clock) -> None:
    """Photo links no longer hang on LINE's channel secret: they are signed with a key of
    their own, and are off without a public address."""
    with_line = _settings(tmp_path, LINE_CHANNEL_SECRET="line-secret")
    other_line = _settings(tmp_path, LINE_CHANNEL_SECRET="another-secret")
    assert media_links.public_link(with_line, "ab/x.png", clock.now) == media_links.public_link(
        other_line, "ab/x.png", clock.now
    )
    other_key = _settings(tmp_path, FIELDBOT_SECRET_KEY="another key of 16 chars")
    assert media_links.public_link(other_key, "ab/x.png", clock.now) != media_links.public_link(
        with_line, "ab/x.png", clock.now
    )
    no_address = make_settings("sqlite://", tmp_path, FIELDBOT_SECRET_KEY=KEY)
    assert not media_links.enabled(no_address)
    assert media_links.public_link(no_address, "ab/x.png", clock.now) is None
    assert media_links.enabled(_settings(tmp_path))  # with no LINE credentials at all
