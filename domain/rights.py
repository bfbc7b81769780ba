"""A person's rights over their own data, asked for in chat ("ข้อมูลของฉัน / My data"; PDPA
B.E. 2562): see what is held, correct it, have a copy, turn the optional uses (reminders,
broadcasts) off or on, delete it, and answer a new privacy notice. Each request goes into the
register (`domain.privacy.record`) with what was done, or why it was refused."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, func, select
from sqlmodel import col

from domain import data_copy, privacy
from domain.people import user_view
from domain.turn import Turn, effect
from handlers import mydata, router
from handlers.engine import ConsentRefused, PrivacyAsked, Submitted
from handlers.forms import NOTICE_VERSION
from handlers.messages import Outgoing
from storage import outbox, staff
from storage.models import DataCopy, OutboxMessage, PrivacyRequest, Report

log = logging.getLogger(__name__)

VIA = "chat"
# Optional uses a person may turn off and on: the button's action -> the user's column.
OPTIONAL_USES = {"reminders": "reminders_ok", "broadcasts": "broadcasts_ok"}
# Copies a person may ask for in a day: more is refused (and recorded, with the reason).
COPIES_A_DAY = 3
GIVEN = "one-time link given"  # the register's note for a copy's link


async def held(turn: Turn) -> mydata.Held:
    """What is held about the person of `turn`."""
    session, user = turn.session, turn.user
    user_id = user.id or 0
    references = list(
        (
            await session.execute(
                select(col(Report.reference))
                .where(col(Report.reporter_id) == user_id)
                .order_by(col(Report.id).desc())
            )
        ).scalars()
    )
    messages = (
        await session.execute(
            select(func.count()).where(col(OutboxMessage.user_id) == user_id, outbox.has_content())
        )
    ).scalar_one()
    return mydata.Held(
        name=user.display_name,
        phone=user.phone,
        role=user.role,
        province_code=user.province_code,
        district_code=user.district_code,
        subdistrict_code=user.subdistrict_code,
        village_no=user.village_no,
        language=user.language,
        consent_at=user.consent_at,
        notice_version=user.consent_notice_version,
        reminders=user.reminders_ok,
        broadcasts=user.broadcasts_ok,
        staff=tuple(turn.held),
        reports=len(references),
        newest=tuple(references[:5]),
        messages=int(messages),
    )


async def _summary(turn: Turn) -> list[Outgoing]:
    view = user_view(turn.user, turn.held)
    return mydata.summary(await held(turn), view, turn.env, turn.lang)


@effect(PrivacyAsked)
async def asked(turn: Turn, event: PrivacyAsked) -> list[Outgoing]:
    """See what is held; turn an optional use off or on."""
    user, now = turn.user, turn.env.now
    use, _, switch = event.action.partition("_")
    if use in OPTIONAL_USES and switch in ("on", "off"):
        setattr(user, OPTIONAL_USES[use], switch == "on")
        user.updated_at = now
        kind = "consent" if switch == "on" else "withdraw"
        await privacy.record(turn.session, user.id or 0, kind, VIA, now, note=use)
        return [turn.say(f"privacy.{use}_{switch}.done"), *await _summary(turn)]
    if event.action == "copy":
        return await _copy(turn)
    await privacy.record(turn.session, user.id or 0, "see", VIA, now, note="summary in chat")
    return await _summary(turn)


async def _copy(turn: Turn) -> list[Outgoing]:
    """A one-time link to everything held, as files (domain.data_copy); a new link ends the
    earlier unused ones."""
    session, user, now = turn.session, turn.user, turn.env.now
    user_id = user.id or 0
    today = (  # the links given in the last day, as the register has them
        await session.execute(
            select(func.count()).where(
                col(PrivacyRequest.user_id) == user_id,
                col(PrivacyRequest.kind) == "export",
                col(PrivacyRequest.outcome) == "done",
                col(PrivacyRequest.note) == GIVEN,
                col(PrivacyRequest.requested_at) > now - dt.timedelta(days=1),
            )
        )
    ).scalar_one()
    if today >= COPIES_A_DAY:
        await privacy.record(session, user_id, "export", VIA, now, outcome="refused",
                             note=f"more than {COPIES_A_DAY} copies in a day")  # fmt: skip
        return [turn.say("privacy.copy.too_many", count=COPIES_A_DAY)]
    await session.execute(
        delete(DataCopy).where(col(DataCopy.user_id) == user_id, col(DataCopy.used_at).is_(None))
    )
    valid = turn.rules.data_copy_valid
    token = await data_copy.issue(session, user_id, now, valid)
    await privacy.record(session, user_id, "export", VIA, now, note=GIVEN)
    hours = max(1, round(valid.total_seconds() / 3600))
    link = data_copy.url(turn.rules.desk_url, token)
    menu = router.menu_message(user_view(user, turn.held), turn.env, turn.lang)
    turn.ephemeral = True  # the outbox keeps no live link once the reply is sent
    return [turn.say("privacy.copy.link", url=link, hours=hours), menu]


@effect(Submitted, "erase")
async def erase_asked(turn: Turn, event: Submitted) -> list[Outgoing]:
    """The answer to "delete my data?": yes deletes, no keeps everything."""
    if event.answers.get("sure") != "yes":
        if event.answers.get("reason") == "notice":  # declined the notice, kept their data
            await privacy.record(turn.session, turn.user.id or 0, "consent", VIA, turn.env.now,
                                 outcome="refused",
                                 note=f"declined notice {NOTICE_VERSION}; data kept")  # fmt: skip
        view = user_view(turn.user, turn.held)
        return [turn.say("privacy.erase.kept"), router.menu_message(view, turn.env, turn.lang)]
    said = turn.say("privacy.erase.done")  # in their language, before it is gone
    notice = event.answers.get("reason") == "notice"
    await erase_in_chat(
        turn, why=f"declined notice {NOTICE_VERSION}" if notice else "asked in chat"
    )
    return [said]


async def erase_in_chat(turn: Turn, *, why: str) -> None:
    """Erase the person of `turn` now (the officer working each of their open cases is told
    that the reporter withdrew); their reports stay, anonymous."""
    await privacy.erase(turn.session, turn.user, turn.env.now, VIA, why=why, env=turn.env)
    turn.held = await staff.assignments(turn.session, turn.user.id or 0)
    turn.farewell = True
    log.info("user %s erased their data (%s)", turn.user.id, why)


@effect(Submitted, "correct")
async def corrected(turn: Turn, event: Submitted) -> list[Outgoing]:
    """A name or phone corrected from "my data" (a phone skipped is removed); the old one goes
    from what the bot keeps elsewhere too (PDPA s.35). The register says which, never the
    values."""
    user, answers = turn.user, event.answers
    old_name, old_phone = user.display_name, user.phone
    said: list[Outgoing] = []
    if "name" in answers:
        user.display_name = str(answers["name"])
        said.append(turn.say("privacy.corrected.name", name=user.display_name))
    if "role" in answers and user.role is not None:  # (their village role)
        user.role = str(answers["role"])
        role = turn.t(f"choice.role.{user.role}")
        said.append(turn.say("privacy.corrected.role", role=role))
    if "phone" in answers:
        user.phone = str(answers["phone"]) if answers["phone"] else None
        said.append(
            turn.say("privacy.corrected.phone", phone=user.phone)
            if user.phone
            else turn.say("privacy.corrected.phone_removed")
        )
    user.updated_at = turn.env.now
    await privacy.forget_old(
        turn.session, user,
        old_name if user.display_name != old_name else None,
        old_phone if user.phone != old_phone else None,
        env=turn.env,
    )  # fmt: skip
    fields = [f for f in ("name", "phone", "role") if f in answers]
    await privacy.record(turn.session, user.id or 0, "correct", VIA, turn.env.now,
                         note=", ".join(fields))  # fmt: skip
    return [*said, *await _summary(turn)]


@effect(ConsentRefused)
async def consent_refused(turn: Turn, _event: ConsentRefused) -> list[Outgoing]:
    """Declining the privacy notice. At registration nothing but the refusal is kept; someone
    registered who declines a new version of it withdraws their consent, and what is held
    about them is deleted as if they had asked (their reports stay, anonymous)."""
    user, now = turn.user, turn.env.now
    if user.consent_at is not None:  # (the router asks "delete?" of them: nothing goes here)
        await privacy.record(turn.session, user.id or 0, "consent", VIA, now,
                             outcome="refused", note="declined the privacy notice")  # fmt: skip
        return []
    user.consent_refused_at = now
    user.consent_at = None
    user.display_name = user.phone = user.role = None
    user.updated_at = now
    return []


@effect(Submitted, "reconsent")
async def reconsented(turn: Turn, _event: Submitted) -> list[Outgoing]:
    """Agreed to the new version of the privacy notice: recorded with its version and time."""
    user, now = turn.user, turn.env.now
    user.consent_at = now
    user.consent_notice_version = NOTICE_VERSION
    user.updated_at = now
    await privacy.record(turn.session, user.id or 0, "consent", VIA, now,
                         note=f"notice {NOTICE_VERSION}")  # fmt: skip
    view = user_view(user, turn.held)
    return [turn.say("notice.thanks"), router.menu_message(view, turn.env, turn.lang)]
