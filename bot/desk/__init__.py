"""The web desk for officers and coordinators, served by `fieldbot serve` under /desk/:
server-rendered pages (aiohttp-jinja2), htmx for partial updates, Leaflet for maps, their files
vendored from npm by scripts/vendor.sh (nothing from a CDN). Every page asks the one policy
module (domain.policy) what the signed-in person may see, and acts through the same domain
functions as the chat."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.desk import broadcasts, exports, maps, my_data, privacy, stats
from bot.desk.auth import guard
from bot.desk.context import CORE_KEY
from bot.desk.pages import routes
from bot.service import Core

HERE = Path(__file__).parent


def desk_app(core: Core) -> web.Application:
    """The desk as an application of its own, for `app.add_subapp("/desk", …)`."""
    app = web.Application(middlewares=[guard(core)], client_max_size=12 * 1024 * 1024)
    app[CORE_KEY] = core
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_routes(routes())
    app.router.add_routes(maps.routes())
    app.router.add_routes([*stats.routes(), *exports.routes()])
    app.router.add_routes(broadcasts.routes())
    app.router.add_routes(my_data.routes())
    app.router.add_routes(privacy.routes())
    app.router.add_static("/static/", HERE / "static", name="static")
    return app


def mount(app: web.Application, core: Core) -> None:
    """Serve the desk at /desk/ (and send /desk there)."""

    async def to_desk(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect("/desk/")

    app.router.add_get("/desk", to_desk)
    app.add_subapp("/desk", desk_app(core))
