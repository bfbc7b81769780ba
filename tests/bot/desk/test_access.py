"""Every desk URL, walked from the desk's own router, by people who must get nothing: nobody
signed in, a session cookie forged from nothing, a villager's session (which the chat never
gives them, and which the guard refuses if made by hand), an officer of another district.

`EXPECTED` says what each route is; a route the router has and the table lacks (a page added
later) fails the test until someone says here what it must give away: nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from bot.desk import desk_app
from bot.desk.auth import COOKIE
from storage import desk
from storage.models import User
from tests.bot.desk.test_auth import CSRF, _sign_in
from tests.bot.test_alerts import _urgent_problem
from tests.support.desk import link_from_chat, officer
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms, line_texts

CASE = "PRB-2569-000001"
# What the case gives away when shown: its reference, the reporter's name and phone, the
# description and where it is.
SECRETS = (CASE, "สมชาย ใจดี", "0812345678", "น้ำท่วมสะพาน", "18.7953", "98.9523",
           "ประชุมหมู่บ้านวันศุกร์นี้")  # and the text of the district's broadcast  # fmt: skip


@dataclass(frozen=True)
class Expect:
    """What a route is, for the walk.

    - "open": reachable without a session (signing in, static files): never shows case data;
    - "case": names one case in its path: another district's officer gets 404;
    - "list": shows many cases (a list, a map's data, numbers): another district's officer
      gets the page, without any of this case's data;
    - "self": the session's own settings (language, signing out): CSRF only;
    - "admin": for the admins alone (the register of personal-data requests): 404 to others.
    Path parameters other than {reference} are filled from `params`."""

    kind: str
    params: dict[str, str] = field(default_factory=dict)


# Keyed by (method, the route's path inside the desk app). HEAD follows its GET.
EXPECTED: dict[tuple[str, str], Expect] = {
    ("GET", "/"): Expect("list"),
    ("GET", "/login"): Expect("open"),
    ("POST", "/login"): Expect("open"),
    ("POST", "/logout"): Expect("self"),
    ("POST", "/language"): Expect("self"),
    ("GET", "/cases/{reference}"): Expect("case"),
    ("POST", "/cases/{reference}/act"): Expect("case"),
    ("GET", "/cases/{reference}/photos/{n}"): Expect("case", {"n": "0"}),
    ("GET", "/cases/{reference}/events/{event}/photo"): Expect("case", {"event": "1"}),
    ("GET", "/static"): Expect("open"),
    ("GET", "/map"): Expect("list"),
    ("GET", "/map/cases.json"): Expect("list"),
    ("GET", "/completeness"): Expect("list"),
    ("GET", "/stats"): Expect("list"),
    ("GET", "/stats.csv"): Expect("list"),
    ("GET", "/cases.{format}"): Expect("list", {"format": "csv"}),
    ("GET", "/broadcasts"): Expect("list"),
    ("GET", "/broadcasts/rows"): Expect("list"),
    ("GET", "/broadcasts/new"): Expect("list"),
    # Composing answers from what was sent (an area of theirs or a refusal), never a case.
    ("POST", "/broadcasts/new"): Expect("self"),
    ("GET", "/broadcasts/audience"): Expect("self"),
    # A broadcast of the case's district (made by its own officer in the walk): 404 elsewhere.
    ("GET", "/broadcasts/{id}"): Expect("case", {"id": "1"}),
    ("GET", "/broadcasts/{id}/rows"): Expect("case", {"id": "1"}),
    ("GET", "/broadcasts/{id}/photo"): Expect("case", {"id": "1"}),
    ("POST", "/broadcasts/{id}/send"): Expect("case", {"id": "1"}),
    ("POST", "/broadcasts/{id}/cancel"): Expect("case", {"id": "1"}),
    # A person's own copy of their data: its one-time token is the key, not a session. A token
    # nobody was given shows a refusal (404), and the copy is never a case's.
    ("GET", "/my-data/{token}"): Expect("open", {"token": "x" * 43}),
    ("POST", "/my-data/{token}"): Expect("open", {"token": "x" * 43}),
    # The register of personal-data requests: the admins' only; 404 for an officer.
    ("GET", "/privacy"): Expect("admin"),
}


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # the route's path in the desk app, as EXPECTED names it
    expect: Expect

    def url(self) -> str:
        if self.template == "/static":
            return "/desk/static/vendor/VERSIONS.md"
        values = {"reference": CASE, **self.expect.params}
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: values[m.group(1)], self.template)
        return "/desk" + path


def desk_routes(p: Platforms) -> list[Route]:
    """Every (method, path) the desk's router serves, each with its expectation; a route
    missing from EXPECTED, or an entry of EXPECTED the router no longer has, fails here."""
    app: web.Application = desk_app(p.core)
    found: dict[tuple[str, str], Route] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = str(info.get("formatter") or info.get("path") or info.get("prefix") or "")
        method = "GET" if route.method == "HEAD" else route.method
        key = (method, template.rstrip("/") or "/")
        if key not in EXPECTED:
            raise AssertionError(
                f"the desk serves {method} {key[1]!r}, which tests/bot/desk/test_access.py"
                " does not walk: add it to EXPECTED with its kind (open, case, list, self,"
                " admin) and the path parameters it needs"
            )
        found[key] = Route(key[0], key[1], EXPECTED[key])
    stale = set(EXPECTED) - set(found)
    assert not stale, f"EXPECTED names routes the desk no longer serves: {sorted(stale)}"
    return sorted(found.values(), key=lambda r: (r.template, r.method))


async def _request(p: Platforms, route: Route, data: dict[str, str] | None = None) -> Any:
    if route.method == "GET":
        return await p.client.get(route.url(), allow_redirects=False)
    return await p.client.request(route.method, route.url(), data=data or {},
                                  allow_redirects=False)  # fmt: skip


def _no_secrets(body: str, what: str) -> None:
    leaked = [s for s in SECRETS if s in body]
    assert not leaked, f"{what} shows {leaked}"


def _use_cookie(p: Platforms, value: str | None) -> None:
    p.client.session.cookie_jar.clear()
    if value is not None:
        p.client.session.cookie_jar.update_cookies({COOKIE: value})


async def _walk_signed_out(p: Platforms, routes: list[Route], who: str) -> None:
    """Every route gives the sign-in page (401) or, if open, nothing of the case."""
    for route in routes:
        response = await _request(p, route)
        body = await response.text()
        what = f"{route.method} {route.url()} {who}"
        _no_secrets(body, what)
        if route.expect.kind == "open":
            assert response.status in (200, 403, 404), (what, response.status)
        else:
            assert response.status == 401, (what, response.status)
            assert "/desk/static/" in body or "<html" in body.lower(), what  # the sign-in page


async def _case(p: Platforms) -> LineEvents:
    villager = LineEvents(p.line, "Uvillager000000000")
    await _urgent_problem(p, villager, photos=1, phone="0812345678")
    return villager


async def test_the_table_covers_every_route_the_desk_serves(platforms: Platforms) -> None:
    routes = desk_routes(platforms)
    assert {r.expect.kind for r in routes} >= {"open", "case", "list", "self"}
    assert all(r.url().startswith("/desk/") for r in routes)


async def test_nobody_and_a_forged_cookie_get_nothing(platforms: Platforms) -> None:
    p = platforms
    await _case(p)
    routes = desk_routes(p)
    _use_cookie(p, None)
    await _walk_signed_out(p, routes, "with no cookie")
    for forged in ("x" * 43, "", "' OR 1=1 --", "a" * 500):
        _use_cookie(p, forged)
        await _walk_signed_out(p, routes, f"with the forged cookie {forged[:10]!r}")


async def test_a_villager_gets_no_desk_even_with_a_session_made_by_hand(
    platforms: Platforms,
) -> None:
    p = platforms
    villager = await _case(p)
    since = len(p.line.calls)
    await p.line_say(villager, "/desk")
    await p.line_say(villager, "เปิดหน้าเว็บ")
    assert not any("/desk/login" in t for t in line_texts(p, villager.user_id, since))
    async with p.core.sessions() as session, session.begin():
        user_id = (
            await session.execute(
                select(col(User.id)).where(col(User.platform_user_id) == villager.user_id)
            )
        ).scalar_one()
        opened = await desk.open_session(session, user_id, p.core.clock())
        token = await desk.new_link(session, user_id, p.core.clock())
    _use_cookie(p, opened.cookie)
    await _walk_signed_out(p, desk_routes(p), "with a villager's own session")
    # A link made for them by hand opens nothing either.
    _use_cookie(p, None)
    refused = await p.client.post("/desk/login", data={"token": token}, allow_redirects=False)
    assert refused.status == 403 and COOKIE not in refused.cookies
    _no_secrets(await refused.text(), "a villager's sign-in")


async def test_an_officer_of_another_district_gets_nothing(platforms: Platforms) -> None:
    p = platforms
    await _case(p)
    routes = desk_routes(p)
    # The case's own district sees it where the walk below looks (so the walk looks right).
    own = await officer(p)
    await _sign_in(p, await link_from_chat(p, own))
    assert CASE in await (await p.client.get("/desk/")).text()
    assert (await p.client.get(f"/desk/cases/{CASE}")).status == 200
    # …and drafts a broadcast to its district (broadcast 1), which the walk must not reach.
    token = CSRF.search(await (await p.client.get("/desk/broadcasts/new")).text())
    assert token is not None
    drafted = await p.client.post(
        "/desk/broadcasts/new", allow_redirects=False,
        data={"csrf": token.group(1), "roles": "reporter", "area": "5001",
              "text": "ประชุมหมู่บ้านวันศุกร์นี้", "when": "now"},
    )  # fmt: skip
    assert drafted.status == 303 and drafted.headers["Location"].endswith("/broadcasts/1")
    assert (await p.client.get("/desk/broadcasts/1")).status == 200
    _use_cookie(p, None)

    other = await officer(p, "Uother000000000000", area="5002", name="ปลัดแม่ริม")
    await _sign_in(p, await link_from_chat(p, other))
    found = CSRF.search(await (await p.client.get("/desk/")).text())
    assert found is not None
    csrf = found.group(1)
    for route in routes:
        what = f"{route.method} {route.url()} as another district's officer"
        if route.method != "GET":
            if route.expect.kind == "open":
                continue
            # Without the token, any change is refused before anything else is looked at.
            refused = await _request(p, route, {"action": "ack", "lang": "en"})
            assert refused.status == 403, (what, refused.status)
            _no_secrets(await refused.text(), what)
            if route.expect.kind == "self":
                continue  # it changes their own session only
            response = await _request(p, route, {"csrf": csrf, "action": "ack", "note": "x"})
        else:
            response = await _request(p, route)
        body = await response.text()
        _no_secrets(body, what)
        if route.expect.kind in ("case", "admin"):
            assert response.status == 404, (what, response.status)
        elif route.expect.kind == "list":
            assert response.status == 200, (what, response.status)
    # And nothing moved: the case is still waiting for its own district.
    _use_cookie(p, None)
    await _sign_in(p, await link_from_chat(p, own))
    page = await (await p.client.get(f"/desk/cases/{CASE}")).text()
    assert "ปลัดแม่ริม" not in page
