"""Reports: an activity or a problem report filed, and the reporter's own list of them."""

from __future__ import annotations

import logging
from typing import Any

from domain import cases
from domain.people import user_view
from domain.turn import Turn, effect
from handlers import router
from handlers import vocab as v
from handlers.cases import nobody_assigned
from handlers.engine import Env, ShowMyReports, Submitted, option_label, photos_of
from handlers.forms import Form
from handlers.messages import Outgoing
from handlers.reports import report_fields as columns_from
from storage import cases as case_store
from storage import repo
from storage.models import User

log = logging.getLogger(__name__)

KIND_OF = {"activity_report": v.ACTIVITY, "problem_report": v.PROBLEM}


@effect(Submitted, "activity_report")
@effect(Submitted, "problem_report")
async def filed(turn: Turn, event: Submitted) -> list[Outgoing]:
    """Store the report with its reference number; a problem becomes a case and its district's
    officers are alerted (or, with none, whoever must know: coordinators, then admins)."""
    user, env, answers = turn.user, turn.env, event.answers
    kind = KIND_OF[event.action]
    report = await repo.create_report(
        turn.session,
        reporter=user,
        kind=kind,
        form_id=event.form_id,
        form_version=event.form_version,
        answers=answers,
        fields=report_fields(env.forms[event.form_id], answers, user),
        photos=photos_of(answers),
        local_date=env.today,
        now=env.now,
    )
    log.info("report %s stored for user %s", report.reference, user.id)
    out = router.after_submit(event, report.reference, user_view(user, turn.held), env)
    if kind == v.PROBLEM:
        alerted = await cases.alert(turn.session, env, report)
        if not alerted.assigned:
            # Nobody of the district is in the bot yet: say so, and who to call.
            urgency = str(answers.get("urgency") or "")
            told = nobody_assigned(urgency, turn.rules.emergency_contact, turn.lang, env,
                                   admins_told=alerted.people > 0)  # fmt: skip
            out[-1:-1] = [told]
    return out


@effect(ShowMyReports)
async def my_reports(turn: Turn, event: ShowMyReports) -> list[Outgoing]:
    """The user's recent reports, or the one whose reference they typed (theirs only: a
    reference is easy to guess, and a report holds the reporter's words)."""
    assert turn.user.id is not None
    view = user_view(turn.user, turn.held)
    if event.reference is not None:
        found = await case_store.by_reference(turn.session, event.reference)
        if found is None or found.reporter_id != turn.user.id:
            return router.render_my_case(None, event.reference, view, turn.env)
        reports = [found]
    else:
        reports = await repo.recent_reports(turn.session, turn.user.id)
    notes = await case_store.latest_notes(
        turn.session, [r.id for r in reports if r.id is not None and r.kind == v.PROBLEM]
    )
    lines = [
        router.ReportLine(r.reference, r.kind, r.status, r.created_at,
                          _title(r.kind, r.activity_type or r.problem_category, turn.lang,
                                 turn.env), notes.get(r.id or 0))
        for r in reports
    ]  # fmt: skip
    if event.reference is not None:
        return router.render_my_case(lines[0], event.reference, view, turn.env)
    return router.render_my_reports(lines, view, turn.env)


def _title(kind: str, value: str | None, lang: str, env: Env) -> str:
    step = env.forms[kind].steps[0]
    return option_label(step, value, lang, env) if value else kind


def report_fields(form: Form, answers: dict[str, Any], user: User) -> dict[str, Any]:
    """The report's own columns (what lists, filters and escalation read): the reporter's
    area, the first status, and what the form's steps say to keep in a column."""
    kind = KIND_OF[form.submit]
    return {
        "province_code": user.province_code,
        "district_code": user.district_code,
        "subdistrict_code": user.subdistrict_code,
        "village_no": user.village_no,
        "status": v.SUBMITTED if kind == v.ACTIVITY else v.RECEIVED,
        **columns_from(form, answers),
    }
