"""Cases: alerts, officers' actions, the reporter's feedback, escalation, and the read-outs staff
ask for. Every push goes through the outbox, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain import policy
from domain.people import user_view
from domain.policy import Held
from domain.turn import Rules, Turn, effect
from handlers import cases as views
from handlers import engine, router
from handlers import vocab as v
from handlers.dates import format_date, format_datetime
from handlers.engine import CaseCommand, CaseFeedback, Env, StaffQuery, Submitted
from handlers.messages import Outgoing
from handlers.router import describe_staff_area
from storage import cases, completeness, desk, outbox, repo, staff
from storage.models import ERASED, Report, User

log = logging.getLogger(__name__)

FORM_FOR = {"progress": "case_progress", "resolve": "case_resolve", "forward": "case_forward",
            "reject": "case_reject"}  # fmt: skip
ACTION_FOR = {form: action for action, form in FORM_FOR.items()}


def case_view(report: Report, reporter: User | None) -> views.CaseView:
    photos = engine.photos_of(report.answers or {})
    return views.CaseView(
        report_id=report.id or 0,
        reference=report.reference,
        category=report.problem_category,
        category_other=(report.answers or {}).get("category_other"),
        urgency=report.urgency,
        households=report.households,
        description=report.description,
        area={
            "province_code": report.province_code,
            "district_code": report.district_code,
            "subdistrict_code": report.subdistrict_code,
            "village_no": report.village_no,
        },
        latitude=report.latitude,
        longitude=report.longitude,
        photos=tuple(p.path for p in photos),
        reporter=reporter.display_name if reporter else None,
        reporter_phone=reporter.phone if reporter else None,
        reporter_withdrew=reporter is not None and reporter.platform == ERASED,
        filed_at=report.created_at,
        status=report.status,
        reopened=report.reopen_count,
        answers=report.answers or {},
        form_id=report.form_id,
    )


@dataclass(frozen=True)
class Alerted:
    """Who an alert went to: how many people, and whether any of them is assigned to the
    area (an officer or a coordinator), rather than the admins as a last resort."""

    people: int
    assigned: bool


async def alert(
    session: AsyncSession,
    env: Env,
    report: Report,
    *,
    escalated: bool = False,
    coordinators_too: bool = False,
) -> Alerted:
    """Queue an alert for every officer of the report's district; with no officer there, or
    when escalating, for the province's and national coordinators as well; with none of them
    either, for the admins, so that a problem always reaches a person."""
    reporter = await session.get(User, report.reporter_id)
    officers = await repo.staff_of(session, v.OFFICER, [report.district_code or "-"])
    recipients = [o for o in officers if o.active]  # one who blocked the bot cannot act on it
    if not recipients or coordinators_too:
        coordinators = await repo.staff_of(
            session, v.COORDINATOR, [report.province_code or "-", v.NATIONAL]
        )
        if not recipients:
            log.warning("no officer for district %s: alerting coordinators", report.district_code)
        # Once each: an officer of this district may coordinate its province too.
        alerted = {r.id for r in recipients}
        recipients += [c for c in coordinators if c.id not in alerted and c.active]
    assigned = bool(recipients)
    if not assigned:
        log.error("nobody assigned to district %s: alerting the admins about %s",
                  report.district_code, report.reference)  # fmt: skip
        recipients = [a for a in await repo.staff_of(session, v.ADMIN, [v.NATIONAL])
                      if a.active]  # fmt: skip
        if not recipients:
            log.error("no admin can be reached either: %s reaches nobody", report.reference)
    view = case_view(report, reporter)
    kind = "escalation" if escalated else "alert"
    district = {o.id for o in officers}  # they call the reporter back (the privacy notice)
    for person in recipients:
        lang = person.language or env.default_language
        messages = views.alert_messages(
            view, lang, env, escalated=escalated, call=person.id in district
        )
        await outbox.enqueue(session, person, kind, messages, report_id=report.id, now=env.now)
    return Alerted(len(recipients), assigned)


async def notify_reporter(
    session: AsyncSession,
    env: Env,
    report: Report,
    note: str | None = None,
    photo: str | None = None,
) -> None:
    """Tell the reporter their case changed, with the officer's note and (resolving it) the
    photo of the result."""
    reporter = await session.get(User, report.reporter_id)
    if reporter is None or reporter.platform == ERASED:  # they deleted their data: no one to tell
        return
    lang = reporter.language or env.default_language
    messages = views.status_notice(case_view(report, reporter), note, lang, env, photo=photo)
    await outbox.enqueue(session, reporter, "status", messages, report_id=report.id, now=env.now)


def _lang(user: User, env: Env) -> str:
    return user.language or env.default_language


@effect(CaseCommand)
async def command(turn: Turn, event: CaseCommand) -> list[Outgoing]:
    """A case button: show the case, change it at once, or start the question that goes with
    closing, forwarding or refusing it (the form replaces the step's state)."""
    session, env, user = turn.session, turn.env, turn.user
    held = await staff.assignments(session, user.id or 0)
    report = await session.get(Report, event.report_id)
    if report is None or report.kind != v.PROBLEM or not policy.may_work(held, report):
        return [Outgoing(env.i18n.t(turn.lang, "case.not_allowed"))]
    return await _do(turn, held, report, event.action)


async def _do(turn: Turn, held: Held, report: Report, action: str) -> list[Outgoing]:
    """`action` on a case `user` may work, pressed or typed."""
    session, env, user, result = turn.session, turn.env, turn.user, turn.result
    t, lang = env.i18n.t, turn.lang
    if action == "show":
        return await _card(session, env, user, held, report)
    if report.status not in cases.TRANSITIONS[action][0]:
        return [await _too_late(session, env, user, report)]
    if action in FORM_FOR:
        if result.state is not None and not result.state.form_id.startswith("case_"):
            return [Outgoing(t(lang, "case.finish_form_first"))]
        form = env.forms[FORM_FOR[action]]
        started = engine.start(form, user_view(user, held), env, preset={"report_id": report.id})
        result.state = started.state
        intro = t(lang, f"case.start.{action}", reference=report.reference)
        return [Outgoing(intro), *started.messages]
    acted = await act(session, env, user, report.id or 0, action)
    return _with_menu(await _said(session, env, user, acted), acted, turn)


@effect(Submitted, "case_progress")
@effect(Submitted, "case_resolve")
@effect(Submitted, "case_forward")
@effect(Submitted, "case_reject")
async def submitted(turn: Turn, event: Submitted) -> list[Outgoing]:
    """The answers to a start-work / close / forward / refuse question."""
    session, env, user = turn.session, turn.env, turn.user
    photos = engine.photos_of(event.answers)
    district = (event.answers.get("district") or {}).get("district_code")
    note = event.answers.get("note") or event.answers.get("reason")
    acted = await act(
        session, env, user, int(event.answers.get("report_id", 0)), ACTION_FOR[event.action],
        note=note, photo=photos[0].path if photos else None, district=district,
    )  # fmt: skip
    return _with_menu(await _said(session, env, user, acted), acted, turn)


def _with_menu(said: Outgoing, acted: Acted, turn: Turn) -> list[Outgoing]:
    """An action done is followed by the staff menu, for what the officer does next (the
    case's own card keeps its buttons)."""
    if acted.outcome != "done":
        return [said]
    return [said, router.menu_message(user_view(turn.user, turn.held), turn.env, turn.lang)]


@dataclass(frozen=True)
class Acted:
    """What became of an officer's action on a case: `done`; `not_allowed` (no such case, or
    not theirs to work); `too_late` (another officer got there first, or the case is past
    this step: `report` as it is now)."""

    outcome: Literal["done", "not_allowed", "too_late"]
    action: str
    report: Report | None = None


async def act(
    session: AsyncSession,
    env: Env,
    actor: User,
    report_id: int,
    action: str,
    *,
    note: str | None = None,
    photo: str | None = None,
    district: str | None = None,
) -> Acted:
    """An officer acts on a case (ack, progress, resolve, forward, reject), in the caller's
    transaction, from the chat or the desk alike: the policy decides whether they may, one
    guarded update decides a race, the reporter is told, a forwarded case alerts its new
    district."""
    report = await session.get(Report, report_id)
    held = await staff.assignments(session, actor.id or 0)
    if report is None or report.kind != v.PROBLEM or not policy.may_work(held, report):
        return Acted("not_allowed", action)
    if report.status not in cases.TRANSITIONS[action][0]:
        return Acted("too_late", action, report)
    outcome = await cases.change(
        session, report_id, action, actor, now=env.now, note=note, photo=photo,
        district=district,
    )  # fmt: skip
    if not outcome.ok:
        return Acted("too_late", action, outcome.report)
    await notify_reporter(session, env, outcome.report, note, photo)
    if action == "forward":
        await alert(session, env, outcome.report)
    return Acted("done", action, outcome.report)


async def _said(session: AsyncSession, env: Env, user: User, acted: Acted) -> Outgoing:
    """An action's outcome, for the officer in chat."""
    t, lang = env.i18n.t, _lang(user, env)
    if acted.outcome == "not_allowed" or acted.report is None:
        return Outgoing(t(lang, "case.not_allowed"))
    if acted.outcome == "too_late":
        return await _too_late(session, env, user, acted.report)
    reporter = await session.get(User, acted.report.reporter_id)
    if acted.action != "forward" and reporter is not None and reporter.platform == ERASED:
        # Nobody to tell: the reporter deleted their data.
        status = t(lang, f"status.{acted.report.status}")
        return Outgoing(t(lang, "case.done_withdrew", reference=acted.report.reference,
                          status=status))  # fmt: skip
    return Outgoing(t(lang, f"case.done.{acted.action}", reference=acted.report.reference))


async def _too_late(session: AsyncSession, env: Env, user: User, report: Report) -> Outgoing:
    """Someone else got there first (say who), or the case is past this step."""
    t, lang = env.i18n.t, _lang(user, env)
    status = t(lang, f"status.{report.status}")
    holder = await session.get(User, report.handled_by_id) if report.handled_by_id else None
    if holder is not None and holder.id != user.id:
        name = holder.display_name or "-"
        return Outgoing(t(lang, "case.taken", reference=report.reference, name=name, status=status))
    return Outgoing(t(lang, "case.closed", reference=report.reference, status=status))


@effect(CaseFeedback)
async def feedback(turn: Turn, event: CaseFeedback) -> list[Outgoing]:
    """The reporter says it is fixed (then rates it) or not fixed (the case reopens)."""
    session, env, user = turn.session, turn.env, turn.user
    t, lang = env.i18n.t, turn.lang
    if event.report_id == 0:  # typed, not tapped: their latest case waiting for this answer
        report = await cases.awaiting_feedback(
            session, user.id or 0, rating=event.stars is not None
        )
        if report is None:
            menu = router.menu_message(user_view(user, turn.held), env, lang)
            return [Outgoing(t(lang, "feedback.nothing")), menu]
    else:
        report = await session.get(Report, event.report_id)
    if report is None or report.reporter_id != user.id:
        return [Outgoing(t(lang, "case.not_allowed"))]
    if report.status != v.RESOLVED:  # an old button: only a resolved case is confirmed or rated
        return [Outgoing(t(lang, "feedback.not_now", reference=report.reference,
                           status=t(lang, f"status.{report.status}")))]  # fmt: skip
    if event.stars is not None:
        if report.rating is not None:
            return [Outgoing(t(lang, "feedback.already_rated"))]
        report.rating = event.stars
        return [Outgoing(t(lang, "feedback.thanks")),
                router.menu_message(user_view(user, turn.held), env, lang)]  # fmt: skip
    if event.fixed:
        return [views.rating_question(report.id or 0, lang, env)]
    outcome = await cases.change(session, report.id or 0, v.REOPEN, user, now=env.now)
    if not outcome.ok:
        return [Outgoing(t(lang, "case.closed", reference=report.reference,
                           status=t(lang, f"status.{report.status}")))]  # fmt: skip
    await alert(session, env, outcome.report)
    return [Outgoing(t(lang, "feedback.reopened", reference=report.reference)),
            router.menu_message(user_view(user, turn.held), env, lang)]  # fmt: skip


@effect(StaffQuery)
async def query(turn: Turn, event: StaffQuery) -> list[Outgoing]:
    """The read-outs staff ask for: a case by reference, the open cases, the summary, recent
    activities, completeness."""
    session, env, user = turn.session, turn.env, turn.user
    t, lang = env.i18n.t, turn.lang
    held = await staff.assignments(session, user.id or 0)
    if not policy.is_staff(held):
        return [Outgoing(t(lang, "case.not_allowed"))]
    if event.kind == "case" and event.reference:
        report = await cases.by_reference(session, event.reference)
        if report is None or report.kind != v.PROBLEM or not policy.may_work(held, report):
            return [Outgoing(t(lang, "case.not_found", reference=event.reference))]
        return await _do(turn, held, report, event.action or "show")
    # After a read-out the staff menu comes back, for the next thing to ask (a case list and a
    # case card bring their own buttons).
    menu = router.menu_message(user_view(user, held), env, lang)
    if event.kind == "summary":
        numbers = await cases.summary(
            session, policy.visible_reports(held), env.now, dict(turn.rules.escalation_after)
        )
        return [Outgoing(t(lang, "case.summary", **numbers)), menu]
    if event.kind == "completeness":
        return [await _completeness(session, env, user, held), menu]
    if event.kind == "desk":  # a one-time sign-in link to the web desk
        token = await desk.new_link(session, user.id or 0, env.now)
        url = f"{turn.rules.desk_url}/desk/login?token={token}"
        minutes = int(desk.LINK_TTL.total_seconds() // 60)
        return [Outgoing(t(lang, "desk.link", url=url, minutes=minutes)), menu]
    if event.kind == "activities":
        reports = await cases.recent_activities(session, policy.visible_reports(held))
        if not reports:
            return [Outgoing(t(lang, "case.no_activities")), menu]
        lines = [t(lang, "case.activities_title")]
        for r in reports:
            label = t(lang, f"choice.activity_types.{r.activity_type}") if r.activity_type else "-"
            day = format_date(r.occurred_on, lang, short=True) if r.occurred_on else "-"
            people = (t(lang, "case.people", count=f"{r.participants:,}")
                      if r.participants is not None else t(lang, "answer.unknown"))  # fmt: skip
            lines.append(t(lang, "case.activity_line", reference=r.reference, date=day,
                           activity=label, participants=people))  # fmt: skip
        return [Outgoing("\n".join(lines)), menu]
    page = max(event.page, 0)
    # "รับเรื่อง" typed without saying which case: the cases it can be done to, each button
    # doing it.
    fits = cases.TRANSITIONS[event.action][0] if event.action else v.OPEN_STATUSES
    found, total = await cases.open_cases(
        session, policy.visible_reports(held), offset=page * views.PAGE_SIZE,
        limit=views.PAGE_SIZE, statuses=tuple(s for s in v.OPEN_STATUSES if s in fits),
    )  # fmt: skip
    listed = [case_view(r, None) for r in found]
    if event.action is not None and found:
        label = t(lang, f"case.action.{event.action}")
        which = t(lang, "case.which", action=label, reference=found[0].reference)
        return [Outgoing(which),
                views.case_list(listed, page, total, lang, env, action=event.action)]  # fmt: skip
    return [views.case_list(listed, page, total, lang, env)]


COMPLETENESS_LIST = 25  # villages named before "and N more"
REGISTERED_ONLY_MARK = "*"  # a district (or province) counted without an official list


async def _completeness(session: AsyncSession, env: Env, user: User, held: Held) -> Outgoing:
    """Which villages of the user's areas reported an activity this week (since Monday): one
    read-out per area they hold (an area inside another they hold is read out with it)."""
    t, lang = env.i18n.t, _lang(user, env)
    today = env.now.astimezone(env.tz).date()
    monday = dt.datetime.combine(today - dt.timedelta(days=today.weekday()), dt.time(),
                                 tzinfo=env.tz)  # fmt: skip
    parts: list[str] = []
    empty: list[str] = []
    for area in policy.areas(held):
        found = await completeness.villages(session, area, monday.astimezone(dt.UTC))
        if found:
            parts.append(_completeness_text(found, area, lang, env))
        else:
            empty.append(t(lang, "completeness.area_empty",
                           area=describe_staff_area(area, lang, env)))  # fmt: skip
    if not parts:
        return Outgoing(t(lang, "completeness.none"))
    return Outgoing("\n\n".join(parts + empty))


def _districts_of(area: str, env: Env) -> list[str]:
    if len(area) == 4:
        return [area]
    if area == v.NATIONAL:
        return [d.code for d in env.areas.all_districts()]
    return [d.code for d in env.areas.districts(area)]


def _completeness_text(found: list[completeness.Village], area: str, lang: str, env: Env) -> str:
    """One area's read-out. Where a district has no official village list, only villages
    where someone registered can be counted, and the read-out says so: for a district, under
    its title; for a province or the country, on each line that counts such a district
    (marked *), with a note below them."""
    t = env.i18n.t
    done = sum(v.reported for v in found)
    lines = [t(lang, "completeness.title", area=describe_staff_area(area, lang, env),
               done=done, total=len(found))]  # fmt: skip
    listed = {village.district_code for village in found if village.listed}
    unlisted = [code for code in _districts_of(area, env) if code not in listed]
    if len(area) != 4:  # a province: district by district; the country: by province
        by_province = area == v.NATIONAL
        groups: dict[str, list[completeness.Village]] = {}
        for village in found:
            key = village.district_code[:2] if by_province else village.district_code
            groups.setdefault(key, []).append(village)
        for code, villages in groups.items():
            place = env.areas.province(code) if by_province else env.areas.district(code)
            name = place.name(lang) if place else code
            reported = sum(v.reported for v in villages)
            if by_province:
                line = t(lang, "completeness.province_line", province=name,
                         done=reported, total=len(villages))  # fmt: skip
            else:
                line = t(lang, "completeness.district_line", district=name,
                         done=reported, total=len(villages))  # fmt: skip
            if any(d[: len(code)] == code for d in unlisted):
                line += f" {REGISTERED_ONLY_MARK}"
            lines.append(line)
    if unlisted and not listed:
        lines.append(t(lang, "completeness.registered_only"))
    elif unlisted:
        lines.append(t(lang, "completeness.registered_only_some", mark=REGISTERED_ONLY_MARK,
                       count=len(unlisted)))  # fmt: skip
    missing = [v for v in found if not v.reported]
    if missing:
        lines.append(t(lang, "completeness.missing_title"))
        for village in missing[:COMPLETENESS_LIST]:
            place = env.areas.subdistrict(village.subdistrict_code)
            subdistrict = place.name(lang) if place else village.subdistrict_code
            if village.name:
                lines.append(t(lang, "completeness.line_named", village=village.village_no,
                               name=village.name, subdistrict=subdistrict))  # fmt: skip
            else:
                lines.append(t(lang, "completeness.line", village=village.village_no,
                               subdistrict=subdistrict))  # fmt: skip
        if len(missing) > COMPLETENESS_LIST:
            lines.append(t(lang, "completeness.more", count=len(missing) - COMPLETENESS_LIST))
    return "\n".join(lines)


async def _card(
    session: AsyncSession, env: Env, user: User, held: Held, report: Report
) -> list[Outgoing]:
    """The case card, then its other photos."""
    lang = _lang(user, env)
    reporter = await session.get(User, report.reporter_id)
    entries = [
        views.TimelineEntry(
            at=format_datetime(event.at, lang, env.tz),  # as the card's "filed" line
            who=actor.display_name if actor else None,
            to_status=timeline_status(event.from_status, event.to_status),
            note=event.note,
        )
        for event, actor in await cases.timeline(session, report.id or 0)
    ]
    can_act = policy.may_work(held, report)
    view = case_view(report, reporter)
    card = views.case_card(view, entries, lang, env, can_act=can_act)
    return [card, *views.more_photos(view, lang, env)]


def timeline_status(from_status: str | None, to_status: str) -> str:
    """The status a timeline entry shows: "reopened" for a resolved case the reporter said is
    not fixed (it is waiting again, but not as a new case)."""
    if from_status == v.RESOLVED and to_status == v.RECEIVED:
        return "reopened"
    return to_status


async def escalate(session: AsyncSession, env: Env, rules: Rules) -> int:
    """Push again, to the officers and the province's coordinators, every case not
    acknowledged within its urgency's time (counted from its arrival, forward or reopening),
    then again after twice as long each time, at most `rules.escalate_max_times` times. The
    database picks the due cases. Returns how many were escalated."""
    due = cases.escalation_due_clause(
        env.now, dict(rules.escalation_after), rules.escalate_max_times
    )
    waiting = await session.execute(
        select(Report).where(due).order_by(col(Report.id)).with_for_update(skip_locked=True)
    )
    escalated = 0
    for report in waiting.scalars():
        await alert(session, env, report, escalated=True, coordinators_too=True)
        report.escalation_level += 1
        report.escalated_at = env.now
        escalated += 1
        log.warning("case %s escalated (level %d)", report.reference, report.escalation_level)
    return escalated
