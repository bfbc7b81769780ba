"""A person's own copy of their data, from the link the chat gives ("ข้อมูลของฉัน / My data";
`domain.data_copy`). No sign-in: the link's token is the key, so the desk's guard lets these
addresses through. The page (GET) says what the file holds, in the person's language, and
spends nothing (chat apps fetch links to draw previews); its button (a POST that carries the
token again, as the desk's sign-in does) spends the link and downloads the ZIP. A used, expired
or unknown link gets a refusal in Thai and English: whose it was is not known, or not said."""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from bot.desk.context import LANGUAGES, core_of, page
from domain import data_copy, privacy
from handlers.dates import format_datetime

# The token is in the address: no page of these sends it on (the pages load only the desk's own
# files, but a link followed from one must not carry it either), and none is kept by a cache.
_PRIVATE = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _private(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(_PRIVATE)
    return response


def _refused(request: web.Request, status: int) -> web.StreamResponse:
    """The link does not work (any more): said in both languages."""
    i18n = core_of(request).i18n
    words = [
        (lang, i18n.t(lang, "my_data.refused.title"), i18n.t(lang, "my_data.refused.text"))
        for lang in LANGUAGES
    ]
    return _private(
        page(request, "data_copy_refused.html", {"words": words}, status=status, lang="th")
    )


async def offer(request: web.Request) -> web.StreamResponse:
    """The page the link opens: what the file holds, and the button."""
    core = core_of(request)
    token = request.match_info["token"]
    now = core.clock()
    async with core.sessions() as session:
        link = await data_copy.find(session, token)
        user = await data_copy.peek(session, token, now) if link is not None else None
        if link is None or user is None:
            return _refused(request, 404 if link is None else 410)
        copy = await privacy.copy_of(session, user)
    lang = user.language or core.settings.default_language
    data = {
        "token": token,
        # As the chat writes a time: "3 ธ.ค. 69 20:20", Buddhist Era in Thai.
        "until": format_datetime(link.expires_at, lang, core.settings.tz),
        "reports": len(copy.get("reports") or ()),
        "messages": len(copy.get("messages_sent_to_you") or ()),
        "roles": len(copy.get("staff_roles") or ()),
    }
    return _private(page(request, "data_copy.html", data, lang=lang))


async def download(request: web.Request) -> web.StreamResponse:
    """The button: spends the link and gives the ZIP (recorded in the register)."""
    core = core_of(request)
    token = request.match_info["token"]
    sent = ""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get("token") or "")
    if not sent or not secrets.compare_digest(sent.encode(), token.encode()):
        return _refused(request, 403)  # not from the page's own button
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        link = await data_copy.find(session, token)
        user = await data_copy.redeem(session, token, now) if link is not None else None
        if user is None or user.id is None:
            return _refused(request, 404 if link is None else 410)
        copy = await privacy.copy_of(session, user)
        await privacy.record(session, user.id, "export", "chat", now, note="copy downloaded")
    # A person with years of messages makes a file of some megabytes: packed off the loop.
    body = await asyncio.to_thread(data_copy.archive, copy, i18n=core.i18n, tz=core.settings.tz)
    response = web.Response(
        body=body,
        content_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{data_copy.ZIP_NAME}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
    return _private(response)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/my-data/{token}", offer),
        web.post("/my-data/{token}", download),
    ]
