"""Exports from the desk's case list: the filtered cases the viewer sees, as CSV or XLSX, made
exactly as `fieldbot export` makes them (storage.export): one language (the viewer's), local
moments as date cells, the casework columns, and photos as signed links when the server has a
public address and a key, else their number (never a path on the server)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bot import media_links
from bot.desk.context import core_of, viewer
from bot.desk.filters import case_filter as _filter
from bot.service import Core
from domain import policy
from storage import export

FORMATS = ("csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _photo_cells(core: Core, now: dt.datetime) -> export.PhotoCell | None:
    if not media_links.enabled(core.settings):
        return None

    def links(_reference: str, paths: Sequence[str]) -> list[str]:
        made = (media_links.public_link(core.settings, path, now) for path in paths)
        return [link for link in made if link]

    return links


def _xlsx(header: list[str], rows: list[list[export.Cell]]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.xlsx"
        export.write_xlsx(path, header, rows)
        return path.read_bytes()


async def export_cases(request: web.Request) -> web.StreamResponse:
    core, who = core_of(request), viewer(request)
    kind = request.match_info["format"]
    if kind not in FORMATS:
        raise web.HTTPNotFound(text="no such format")
    now = core.clock()
    where, _kept = _filter(request.query, core)
    clauses = (policy.visible_reports(who.held),
               *where.clauses(now, dict(core.settings.escalation_after)))  # fmt: skip
    chosen = export.ExportFilter(clauses=clauses)
    lang = who.lang

    def label(key: str) -> str:
        return str(core.i18n.t(lang, key))

    header = export.headers(label)
    day = now.astimezone(core.settings.tz).strftime("%Y%m%d")
    disposition = f'attachment; filename="cases-{day}.{kind}"'
    photos = _photo_cells(core, now)
    async with core.sessions() as session:
        rows = export.report_rows(session, chosen, label, core.settings.tz, lang=lang,
                                  photos=photos, now=now)  # fmt: skip
        if kind == "xlsx":
            collected = [row async for row in rows]
            body = await asyncio.to_thread(_xlsx, header, collected)
            return web.Response(body=body, content_type=XLSX,
                                headers={"Content-Disposition": disposition})  # fmt: skip
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": disposition,
            "Cache-Control": "no-store",
        })  # fmt: skip
        await response.prepare(request)
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")  # Excel shows Thai CSV correctly only with the byte-order mark
        writer.writerow(header)
        n = 0
        async for row in rows:
            writer.writerow(export.csv_cells(row))
            n += 1
            if n % export.BATCH == 0:
                await response.write(out.getvalue().encode())
                out.seek(0)
                out.truncate()
        await response.write(out.getvalue().encode())
        await response.write_eof()
        return response


def routes() -> list[web.RouteDef]:
    return [web.get(r"/cases.{format:csv|xlsx}", export_cases)]
