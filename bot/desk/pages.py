"""The desk's pages: sign-in, the list of cases with its filters, a case with its photos,
place and timeline, and the same actions as in chat (through domain.cases.act, so the reporter
is told and a race is decided exactly as in chat)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from bot.desk.auth import COOKIE, clear_cookie, find_viewer, set_cookie
from bot.desk.context import LANGUAGES, core_of, page, viewer
from bot.desk.filters import area_choices
from bot.desk.filters import case_filter as _filter
from bot.desk.filters import query_string as _query
from bot.service import save_photo
from domain import cases as case_work
from domain import policy
from handlers import engine, vocab
from handlers.cases import ACTIONS
from handlers.reports import card_lines
from storage import cases, desk
from storage.media import PhotoTooLargeError
from storage.models import CaseEvent, DeskSession, Report, ReportPhoto, User

MAX_PAGE = 10_000
MAX_NOTE = 1000
# The statuses an action needs, and the one it leads to (vocab.TRANSITIONS).
TRANSITIONS = vocab.TRANSITIONS


# ---------------------------------------------------------------- signing in and out


async def login_form(request: web.Request) -> web.Response:
    """The page a sign-in link opens: one button, which spends the link (a POST)."""
    token = request.query.get("token", "")
    if request.query.get("bye"):
        return page(request, "signed_out.html", {"bye": True})
    return page(request, "login.html", {"token": token, "failed": False, "not_staff": False})


async def login(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    form = await request.post()
    token = str(form.get("token") or "")
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        user_id = await desk.use_link(session, token, now)
        opened = await desk.open_session(session, user_id, now) if user_id else None
    if opened is None:
        return page(request, "login.html", {"token": "", "failed": True, "not_staff": False},
                    status=403)  # fmt: skip
    found = await find_viewer(core, opened.cookie)
    if found is None:  # a link of someone who is no longer staff
        return page(request, "login.html", {"token": "", "failed": False, "not_staff": True},
                    status=403)  # fmt: skip
    response = web.HTTPSeeOther("/desk/")
    set_cookie(response, core, opened.cookie)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    async with core.writing(), core.sessions() as session, session.begin():
        await desk.revoke(session, request.cookies.get(COOKIE, ""), core.clock())
    # A page of its own (GET), without the signed-in header; a reload posts nothing again.
    response = web.HTTPSeeOther("/desk/login?bye=1")
    clear_cookie(response)
    raise response


async def set_language(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    form = await request.post()
    wanted = str(form.get("lang") or "")
    if wanted in LANGUAGES:
        async with core.writing(), core.sessions() as session, session.begin():
            found = await session.get(DeskSession, viewer(request).session.id_hash)
            if found is not None:
                found.language = wanted
    back = str(form.get("back") or "/desk/")
    raise web.HTTPSeeOther(back if back.startswith("/desk/") else "/desk/")


# ---------------------------------------------------------------- the list of cases


async def case_list(request: web.Request) -> web.Response:
    core, who = core_of(request), viewer(request)
    where, kept = _filter(request.query, core)
    page_no = _number(request.query.get("page", "0"), MAX_PAGE) or 0
    now = core.clock()
    async with core.sessions() as session:
        rows, total = await desk.find_cases(
            session, policy.visible_reports(who.held), where, now,
            dict(core.settings.escalation_after), page=page_no,
        )  # fmt: skip
    env = core.env(13)
    items = [_row(report, who.lang, env) for report in rows]
    pages = max(1, -(-total // desk.PAGE_SIZE))
    data = {
        "cases": items,
        "total": total,
        "page": page_no,
        "pages": pages,
        "kept": kept,
        "query": lambda **change: _query(kept, change),
        "statuses": ("open", *desk.STATUSES),
        "categories": core.lists.options.get("problem_categories", ()),
        "urgencies": vocab.URGENCIES,
        "areas": area_choices(who.held, core, who.lang),
        "forwarded": str(request.query.get("forwarded", ""))[:32],
    }
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    return page(request, "_case_rows.html" if partial else "cases.html", data)


def _row(report: Report, lang: str, env: Any) -> dict[str, Any]:
    t = env.i18n.t
    area = {
        "province_code": report.province_code,
        "district_code": report.district_code,
        "subdistrict_code": report.subdistrict_code,
        "village_no": report.village_no,
    }
    return {
        "reference": report.reference,
        "status": report.status,
        "status_label": t(lang, f"status.{report.status}"),
        "category": _label(env, lang, "problem_categories", report.problem_category),
        "urgency": report.urgency or "",
        "urgency_label": _label(env, lang, "urgency", report.urgency),
        "area": engine.describe_area(area, lang, env),
        "filed": report.created_at,
        "reopened": report.reopen_count,
        "rating": report.rating,
    }


def _label(env: Any, lang: str, options: str, value: str | None) -> str:
    if not value:
        return "-"
    return str(env.i18n.t(lang, f"choice.{options}.{value}"))


def _number(text: str, maximum: int) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    value = int(text)
    return value if value <= maximum else None


# ---------------------------------------------------------------- one case


async def _visible(request: web.Request) -> tuple[Report, User | None]:
    """The case the URL names, if this viewer may see it (else 404, whoever asks)."""
    core, who = core_of(request), viewer(request)
    reference = request.match_info["reference"].upper()[:32]
    async with core.sessions() as session:
        report = await cases.by_reference(session, reference)
        if report is None or report.kind != vocab.PROBLEM or not policy.may_work(who.held, report):
            raise web.HTTPNotFound(text="no such case")
        reporter = await session.get(User, report.reporter_id)
        session.expunge_all()
    return report, reporter


async def case_page(request: web.Request) -> web.Response:
    core, who = core_of(request), viewer(request)
    report, reporter = await _visible(request)
    env = core.env(13)
    async with core.sessions() as session:
        timeline = await cases.timeline(session, report.id or 0)
        photos = (
            await session.execute(
                select(col(ReportPhoto.position))
                .where(col(ReportPhoto.report_id) == report.id)
                .order_by(col(ReportPhoto.position))
            )
        ).all()
    lang = who.lang
    view = case_work.case_view(report, reporter)
    form = env.forms.get(report.form_id, env.forms["problem"])
    details = card_lines(form, view.stored_answers(), lang, env, card="case", area=view.area)
    actions = [a for a in ACTIONS if report.status in TRANSITIONS[a][0]]
    districts = [(d.code, d.name(lang)) for d in env.areas.districts(report.province_code or "",
                                                                      lang)]  # fmt: skip
    data = {
        "case": _row(report, lang, env),
        "report": report,
        "details": details,
        "reporter": reporter.display_name if reporter else None,
        "reporter_withdrew": view.reporter_withdrew,
        "phone": reporter.phone if reporter else None,
        "photos": [n for n in range(len(photos))],
        "timeline": [
            {
                "at": event.at,
                "who": actor.display_name if actor else None,
                "status": env.i18n.t(
                    lang, f"status.{case_work.timeline_status(event.from_status, event.to_status)}"
                ),
                "note": event.note,
                "photo": event.id if event.photo else None,
            }
            for event, actor in timeline
        ],
        "actions": actions,
        "districts": districts,
        "done": request.query.get("done", ""),
        "tiles": core.settings.map_tiles,
        "attribution": core.settings.map_attribution,
    }
    return page(request, "case_page.html", data)


async def photo(request: web.Request) -> web.StreamResponse:
    """A report's photo, to sessions that may see the case only."""
    core = core_of(request)
    report, _reporter = await _visible(request)
    number = _number(request.match_info["n"], 100)
    async with core.sessions() as session:
        found = (
            (
                await session.execute(
                    select(ReportPhoto)
                    .where(col(ReportPhoto.report_id) == report.id)
                    .order_by(col(ReportPhoto.position))
                )
            )
            .scalars()
            .all()
        )
    if number is None or number >= len(found):
        raise web.HTTPNotFound(text="no such photo")
    path = core.media.path(found[number].path)
    if not await asyncio.to_thread(Path(path).is_file):
        raise web.HTTPNotFound(text="photo file missing")
    response = web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})
    response.content_type = found[number].content_type
    return response


async def result_photo(request: web.Request) -> web.StreamResponse:
    """The photo an officer sent with a step of the case (the result, on resolving it), to
    sessions that may see the case only."""
    core = core_of(request)
    report, _reporter = await _visible(request)
    number = _number(request.match_info["event"], 2_147_483_647)
    async with core.sessions() as session:
        event = await session.get(CaseEvent, number) if number is not None else None
    if event is None or event.report_id != report.id or not event.photo:
        raise web.HTTPNotFound(text="no such photo")
    path = core.media.path(event.photo)
    if not await asyncio.to_thread(Path(path).is_file):
        raise web.HTTPNotFound(text="photo file missing")
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


async def act(request: web.Request) -> web.StreamResponse:
    """An action on a case from the desk: the same domain function as the chat's buttons."""
    core, who = core_of(request), viewer(request)
    report, _reporter = await _visible(request)
    form = await request.post()
    action = str(form.get("action") or "")
    if action not in ACTIONS:
        raise web.HTTPBadRequest(text="unknown action")
    note = str(form.get("note") or "").strip()[:MAX_NOTE] or None
    district = str(form.get("district") or "") or None
    if action == "forward" and (district is None or core.areas.district(district) is None):
        raise web.HTTPSeeOther(f"/desk/cases/{report.reference}?done=need_district")
    if action in ("reject",) and not note:
        raise web.HTTPSeeOther(f"/desk/cases/{report.reference}?done=need_note")
    photo_path: str | None = None
    upload = form.get("photo")
    if isinstance(upload, web.FileField) and upload.filename:
        data = await asyncio.to_thread(upload.file.read)
        try:
            saved = await save_photo(core, data)
        except PhotoTooLargeError:
            raise web.HTTPSeeOther(f"/desk/cases/{report.reference}?done=photo_large") from None
        if not saved.content_type.startswith("image/"):
            raise web.HTTPSeeOther(f"/desk/cases/{report.reference}?done=not_photo")
        photo_path = saved.path
    env = core.env(13)
    async with core.writing(), core.sessions() as session, session.begin():
        actor = await session.get(User, who.user.id)
        assert actor is not None
        acted = await case_work.act(session, env, actor, report.id or 0, action, note=note,
                                    photo=photo_path, district=district)  # fmt: skip
    if core.on_outbox is not None:
        core.on_outbox(None, "push")  # the reporter's notice (and a forward's alert) go now
    outcome = action if acted.outcome == "done" else acted.outcome
    if outcome == "forward":  # it is the other district's now: back to the list, saying so
        raise web.HTTPSeeOther(f"/desk/?forwarded={report.reference}")
    raise web.HTTPSeeOther(f"/desk/cases/{report.reference}?done={outcome}")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", case_list),
        web.get("/login", login_form),
        web.post("/login", login),
        web.post("/logout", logout),
        web.post("/language", set_language),
        web.get("/cases/{reference}", case_page),
        web.post("/cases/{reference}/act", act),
        web.get("/cases/{reference}/photos/{n}", photo),
        web.get("/cases/{reference}/events/{event}/photo", result_photo),
    ]
