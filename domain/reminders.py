"""Reminders that keep people reporting: the weekly activity reminder, the nudge for a form left
unfinished, and the officers' daily digest. Each records its period before its pushes, in the
caller's transaction, so a period is never sent twice (storage.reminders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from domain.turn import Rules
from handlers.engine import Env
from handlers.messages import Choice, Outgoing
from storage import outbox
from storage import reminders as due

STALE_DRAFT = dt.timedelta(hours=24)
FORGOTTEN_DRAFT = dt.timedelta(days=7)  # older drafts are not nudged (nor on a first start)


def _lang(language: str | None, env: Env) -> str:
    return language or env.default_language


async def _send_each(
    session: AsyncSession,
    env: Env,
    kind: str,
    people: list[due.Person],
    messages: Callable[[due.Person], list[Outgoing]],
    not_before: dt.datetime,
) -> int:
    rows = [
        outbox.row_values(
            platform=p.platform, recipient=p.platform_user_id, user_id=p.id, kind=kind,
            messages=[m.as_json() for m in messages(p)], now=env.now, not_before=not_before,
        )
        for p in people
    ]  # fmt: skip
    await outbox.insert_rows(session, rows)
    return len(rows)


async def weekly(
    session: AsyncSession, env: Env, period: dt.datetime, not_before: dt.datetime
) -> int:
    """Remind every active reporter whose village has no activity report in the last 7 days
    (once per period). Returns how many were reminded."""
    t = env.i18n.t
    key = period.isoformat()
    cache: dict[str, list[Outgoing]] = {}

    def messages(person: due.Person) -> list[Outgoing]:
        lang = _lang(person.language, env)
        if lang not in cache:
            button = Choice("menu:activity", t(lang, "menu.activity"))
            text = t(lang, "reminder.weekly")
            cache[lang] = [Outgoing(text, (button,), "choice", language=lang, standing=True)]
        return cache[lang]

    if not await due.claim_run(session, "weekly", key, env.now):
        return 0
    found = await due.weekly_due(session, env.now - dt.timedelta(days=7))
    fresh = await due.mark_sent(session, "weekly", key, [p.id for p in found], env.now)
    chosen = [p for p in found if p.id in fresh]
    return await _send_each(session, env, "reminder", chosen, messages, not_before)


async def nudges(
    session: AsyncSession, env: Env, period: dt.datetime, not_before: dt.datetime
) -> int:
    """Nudge, once per draft, everyone who left a form unfinished for more than 24 hours."""
    t = env.i18n.t
    if not await due.claim_run(session, "nudge", period.isoformat(), env.now):
        return 0
    drafts = await due.stale_drafts(session, env.now - STALE_DRAFT, env.now - FORGOTTEN_DRAFT)
    sent = 0
    for draft in drafts:  # few at a time: one statement each is fine
        draft_key = f"{draft.form_id}@{draft.started_at.isoformat()}"
        if not await due.mark_sent(session, "nudge", draft_key, [draft.person.id], env.now):
            continue
        lang = _lang(draft.person.language, env)
        form = t(lang, f"form.{draft.form_id}.title")
        nudge = [Outgoing(t(lang, "reminder.draft", form=form), language=lang)]

        def same(_person: due.Person, m: list[Outgoing] = nudge) -> list[Outgoing]:
            return m

        sent += await _send_each(session, env, "nudge", [draft.person], same, not_before)
    return sent


async def digest(
    session: AsyncSession, env: Env, rules: Rules, period: dt.datetime, not_before: dt.datetime
) -> int:
    """One digest per officer covering all their districts: new, open and overdue cases (none
    when no district of theirs has a new or open one)."""
    t = env.i18n.t
    key = period.astimezone(env.tz).date().isoformat()
    if not await due.claim_run(session, "digest", key, env.now):
        return 0
    numbers = await due.district_cases(session, env.now, dict(rules.escalation_after))
    people: list[tuple[due.Person, list[str]]] = []
    for person, districts in await due.officers(session, list(numbers)):
        busy = [d for d in districts if numbers[d].new or numbers[d].open]
        if busy:
            people.append((person, busy))
    fresh = await due.mark_sent(session, "digest", key, [p.id for p, _d in people], env.now)
    chosen = [(p, d) for p, d in people if p.id in fresh]
    by_person = {p.id: d for p, d in chosen}

    def messages(person: due.Person) -> list[Outgoing]:
        lang = _lang(person.language, env)
        districts = by_person[person.id]
        total = due.DistrictCases(
            sum(numbers[d].new for d in districts),
            sum(numbers[d].open for d in districts),
            sum(numbers[d].overdue for d in districts),
        )
        if len(districts) == 1:
            text = t(lang, "digest.daily", new=total.new, open=total.open, overdue=total.overdue)
        else:
            lines = [t(lang, "digest.daily_many", count=len(districts), new=total.new,
                       open=total.open, overdue=total.overdue)]  # fmt: skip
            for code in districts:
                place = env.areas.district(code)
                n = numbers[code]
                lines.append(t(lang, "digest.district_line", district=place.name(lang)
                               if place else code, new=n.new, open=n.open,
                               overdue=n.overdue))  # fmt: skip
            text = "\n".join(lines)
        return [Outgoing(text, (Choice("menu:cases", t(lang, "menu.cases")),), "choice",
                         language=lang, standing=True)]  # fmt: skip

    return await _send_each(session, env, "digest", [p for p, _d in chosen], messages, not_before)
