"""The register of personal-data requests on the desk, for the admins (the controller's people):
every request to see, copy, correct, withdraw, consent or erase, newest first, with how it came
(chat, the command line, the retention job), what was done or why it was refused, and the
30-day deadline the PDPA gives. Filtered by kind and outcome; 50 a page. People appear by their
user id only: the register is about requests, and an erased person has no name left."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlmodel import col

from bot.desk.context import core_of, page, viewer
from domain import policy, privacy
from storage.models import PrivacyRequest

PAGE = 50
KINDS = ("see", "export", "correct", "withdraw", "consent", "erase")
OUTCOMES = ("done", "refused", "pending")


def _one_of(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


async def register_page(request: web.Request) -> web.Response:
    who = viewer(request)
    if not policy.is_admin(who.held):
        raise web.HTTPNotFound(text="the register is for admins")
    core = core_of(request)
    kind = _one_of(request.query.get("kind"), KINDS)
    outcome = _one_of(request.query.get("outcome"), OUTCOMES)
    try:
        number = max(0, int(request.query.get("page", "0")))
    except ValueError:
        number = 0
    query = select(PrivacyRequest)
    if kind is not None:
        query = query.where(col(PrivacyRequest.kind) == kind)
    if outcome is not None:
        query = query.where(col(PrivacyRequest.outcome) == outcome)
    async with core.sessions() as session:
        total = (
            await session.execute(select(func.count()).select_from(query.subquery()))
        ).scalar_one()
        pages = max(1, -(-int(total) // PAGE))
        number = min(number, pages - 1)
        rows = list(
            (
                await session.execute(
                    query.order_by(
                        col(PrivacyRequest.requested_at).desc(), col(PrivacyRequest.id).desc()
                    )
                    .offset(number * PAGE)
                    .limit(PAGE)
                )
            ).scalars()
        )
    now = core.clock()
    shown: list[dict[str, Any]] = [
        {
            "id": r.id,
            "user": r.user_id,
            "kind": r.kind,
            "via": r.via,
            "requested": r.requested_at,
            "due": r.requested_at + privacy.DEADLINE,
            "late": r.done_at is None and now > r.requested_at + privacy.DEADLINE,
            "outcome": r.outcome,
            "done": r.done_at,
            "note": r.note or "",
        }
        for r in rows
    ]

    def link(**changes: object) -> str:
        values: dict[str, object] = {"kind": kind or "", "outcome": outcome or "", "page": number}
        values.update(changes)
        kept = [f"{k}={v}" for k, v in values.items() if v not in ("", None, 0)]
        return "/desk/privacy" + ("?" + "&".join(kept) if kept else "")

    return page(
        request,
        "requests_register.html",
        {
            "rows": shown,
            "total": total,
            "page": number,
            "pages": pages,
            "kinds": KINDS,
            "outcomes": OUTCOMES,
            "kind": kind or "",
            "outcome": outcome or "",
            "link": link,
            "deadline_days": privacy.DEADLINE // dt.timedelta(days=1),
        },
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/privacy", register_page)]
