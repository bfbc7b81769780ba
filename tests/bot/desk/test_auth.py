"""Signing in to the desk: a one-time link from the chat, a session cookie, CSRF on changes,
idle expiry, signing out; and nobody sees more than the chat lets them see."""

from __future__ import annotations

import re

from aiohttp import ClientResponse

from tests.bot.test_alerts import _urgent_problem
from tests.support.desk import link_from_chat, officer
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms, line_texts

CSRF = re.compile(r'name="csrf" value="([\w-]+)"')


async def _sign_in(p: Platforms, path: str) -> ClientResponse:
    """Open the link, press its button (the POST that spends it)."""
    shown = await p.client.get(path)
    assert shown.status == 200 and 'id="sign-in"' in await shown.text()
    token = path.split("token=")[1]
    return await p.client.post("/desk/login", data={"token": token}, allow_redirects=False)


async def test_a_link_from_the_chat_signs_an_officer_in_once(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p)
    path = await link_from_chat(p, who)
    assert (await p.client.get("/desk/")).status == 401  # not yet
    # Opening the link (or a chat app's preview fetching it) spends nothing.
    assert (await p.client.get(path)).status == 200
    signed = await _sign_in(p, path)
    assert signed.status == 303 and signed.headers["Location"] == "/desk/"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/desk" in cookie
    assert "Secure" not in cookie  # plain HTTP on the quick-start server
    page = await p.client.get("/desk/")
    assert page.status == 200 and "เรื่องร้องเรียน" in await page.text()
    again = await p.client.post("/desk/login", data={"token": path.split("token=")[1]})
    assert again.status == 403  # used once


async def test_the_staff_menu_offers_the_desk_and_villagers_get_none(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p)
    path = await link_from_chat(p, who, typed="เปิดหน้าเว็บ")  # the menu item's label
    assert path.startswith("/desk/login?token=")
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photo=False)
    since = len(p.line.calls)
    await p.line_say(villager, "/desk")
    assert not any("/desk/login" in t for t in line_texts(p, villager.user_id, since))


async def test_links_expire_and_sessions_end(platforms: Platforms) -> None:
    p = platforms
    who = await officer(p)
    late = await link_from_chat(p, who)
    p.clock.advance(minutes=11)
    assert (await _sign_in(p, late)).status == 403
    fresh = await link_from_chat(p, who)
    assert (await _sign_in(p, fresh)).status == 303
    p.clock.advance(hours=3)
    assert (await p.client.get("/desk/")).status == 200  # used within the idle time
    p.clock.advance(hours=4, minutes=1)
    assert (await p.client.get("/desk/")).status == 401  # idle for longer: sign in again


async def test_changes_need_the_csrf_token_and_signing_out_ends_the_session(
    platforms: Platforms,
) -> None:
    p = platforms
    who = await officer(p)
    await _sign_in(p, await link_from_chat(p, who))
    text = await (await p.client.get("/desk/")).text()
    token = CSRF.search(text)
    assert token is not None
    refused = await p.client.post("/desk/language", data={"lang": "en"})
    assert refused.status == 403
    forged = await p.client.post("/desk/language", data={"lang": "en", "csrf": "x" * 43})
    assert forged.status == 403
    switched = await p.client.post("/desk/language", data={"lang": "en", "csrf": token.group(1)})
    assert switched.status == 200 and "Cases" in await switched.text()
    out = await p.client.post("/desk/logout", data={"csrf": token.group(1)})
    assert out.status == 200 and str(out.url).endswith("/desk/login?bye=1")  # a GET page
    assert "/desk/logout" not in await out.text()  # no signed-in header on it
    assert (await p.client.get("/desk/")).status == 401


async def test_a_forged_cookie_signs_nobody_in(platforms: Platforms) -> None:
    p = platforms
    p.client.session.cookie_jar.update_cookies({"fieldbot_desk": "x" * 43})
    assert (await p.client.get("/desk/")).status == 401
    assert (await p.client.get("/desk/cases/PRB-2569-000001")).status == 401


async def test_an_admin_makes_a_link_and_ends_sessions_from_the_command_line(
    platforms: Platforms,
) -> None:
    from sqlalchemy import select

    from storage.models import User
    from tests.support.cli import run_cli_async
    from tests.support.env import environment

    p = platforms
    who = await officer(p)
    async with p.core.sessions() as session:
        user_id = (
            await session.execute(select(User.id).where(User.platform_user_id == who.user_id))
        ).scalar_one()
    env = environment(DATABASE_URL=p.core.settings.database_url)
    made = await run_cli_async(["desk", "link", "--user", str(user_id)], env)
    assert made.code == 0, made.err
    assert made.out.startswith("http://127.0.0.1:8080/desk/login?token=")
    path = made.out.strip().removeprefix("http://127.0.0.1:8080")
    assert (await _sign_in(p, path)).status == 303
    assert (await p.client.get("/desk/")).status == 200
    ended = await run_cli_async(["desk", "revoke", "--user", str(user_id)], env)
    assert ended.code == 0 and "1 desk session(s) ended" in ended.out
    assert (await p.client.get("/desk/")).status == 401
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photo=False)
    async with p.core.sessions() as session:
        theirs = (
            await session.execute(select(User.id).where(User.platform_user_id == villager.user_id))
        ).scalar_one()
    refused = await run_cli_async(["desk", "link", "--user", str(theirs)], env)
    assert refused.code != 0 and "holds no staff role" in refused.err
