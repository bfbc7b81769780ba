"""The conversation service: takes one neutral input from an adapter, runs the pure core on it and
saves everything that follows in one transaction. Messages of one user are handled strictly in
order (a per-user lock, and on PostgreSQL the user's row lock across instances); different users
run concurrently."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import broadcasts, casework
from bot.casework import user_view
from bot.config import Settings
from bot.lists import Lists, load_lists
from bot.redact import redact, register_settings
from handlers import cases as views
from handlers import router
from handlers.areas import AreaDirectory
from handlers.engine import (
    BroadcastCommand,
    CaseCommand,
    CaseFeedback,
    ConsentRefused,
    Env,
    FormState,
    JoinRequested,
    Result,
    ShowMyReports,
    StaffQuery,
    Submitted,
    language_of,
    option_label,
    photos_of,
)
from handlers.forms import FORMS, NOTICE_VERSION
from handlers.i18n import Translator, load_translator
from handlers.messages import Inbound, Outgoing, PhotoRef, clean_inbound
from storage import inbox, outbox, repo, staff
from storage.db import SessionFactory, create_engine, session_factory
from storage.media import MediaStore
from storage.migrate import upgrade
from storage.models import OutboxMessage, User, utcnow

log = logging.getLogger(__name__)


class WriterQueue:
    """A lock whose waiters queue in order, with a second queue served before the first."""

    def __init__(self) -> None:
        self._held = False
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),
            deque(),
        )

    @asynccontextmanager
    async def turn(self, *, first: bool = False) -> AsyncIterator[None]:
        if self._held or any(self._waiting):
            waiter = asyncio.get_running_loop().create_future()
            queue = self._waiting[0 if first else 1]
            queue.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand_on()  # it was our turn: give it to the next
                else:
                    queue.remove(waiter)
                raise
        self._held = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        for queue in self._waiting:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes on; the lock stays held
                    return
        self._held = False


class KeyedLocks:
    """One FIFO lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


@dataclass
class Core:
    """The parts every channel shares, built once per process and passed in (never global)."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    i18n: Translator
    lists: Lists
    areas: AreaDirectory
    media: MediaStore
    clock: Callable[[], dt.datetime] = utcnow
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    # Told after a commit that may have queued pushes (the server wakes its dispatcher):
    # on_outbox(platform or None, lane or None).
    on_outbox: Callable[..., None] | None = None
    # The server's dispatcher: replies are written claimed by `reply_token` and handed to
    # `send_reply` after the commit, so they go out without a claim round trip.
    send_reply: Callable[[str, OutboxMessage], None] | None = None
    reply_token: str | None = None
    # SQLite takes one writer at a time, and a writer that finds the database busy sleeps in
    # growing steps (up to 100 ms) before it tries again. Queueing writers here instead hands
    # the database over the moment it is free. PostgreSQL needs no such queue.
    _sqlite_writer: WriterQueue | None = None

    def writing(self, *, first: bool = False) -> AbstractAsyncContextManager[Any]:
        """Hold this around a write transaction. `first`: ahead of the writers already waiting
        (a webhook storing its events, which the platform wants answered within seconds)."""
        if self.engine.dialect.name != "sqlite":
            return nullcontext()
        if self._sqlite_writer is None:
            self._sqlite_writer = WriterQueue()
        return self._sqlite_writer.turn(first=first)

    def env(self, page_size: int) -> Env:
        return Env(
            i18n=self.i18n,
            forms=FORMS,
            areas=self.areas,
            lists=self.lists.options,
            now=self.clock(),
            tz=self.settings.tz,
            default_language=self.settings.default_language,
            page_size=page_size,
            resume_after=dt.timedelta(hours=self.settings.resume_prompt_hours),
        )

    async def close(self) -> None:
        await self.engine.dispose()


async def build_core(settings: Settings, *, migrate: bool = True) -> Core:
    """Connect, migrate, load areas and configuration."""
    register_settings(settings)  # before anything can log or store an error
    i18n = load_translator(settings.default_language)
    lists = load_lists(settings.choices_file, settings.pilot_districts_file, i18n)
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    sessions = session_factory(engine)
    if migrate:
        from storage.areas import sync_areas

        async with sessions() as session, session.begin():
            await sync_areas(session)
    return Core(
        settings=settings,
        engine=engine,
        sessions=sessions,
        i18n=i18n,
        lists=lists,
        areas=AreaDirectory(lists.pilot_districts),
        media=MediaStore(settings.media_dir),
    )


async def save_photo(core: Core, data: bytes) -> PhotoRef:
    """Store photo bytes in the media store without blocking the event loop."""
    return await asyncio.to_thread(core.media.save, data)


def user_key(platform: str, platform_user_id: str) -> str:
    return f"{platform}:{platform_user_id}"


async def handle(
    core: Core,
    platform: str,
    platform_user_id: str,
    inbound: Inbound,
    *,
    page_size: int = 13,
) -> list[Outgoing]:
    """Handle one input of one user and return the replies (the console's way: it prints
    them itself). Platform events go through `handle_event` instead."""
    async with core.locks.hold(user_key(platform, platform_user_id)):
        messages = await handle_locked(core, platform, platform_user_id, inbound,
                                       page_size=page_size)  # fmt: skip
    assert messages is not None  # without an inbox row there is nothing handled before
    return messages


async def handle_locked(
    core: Core,
    platform: str,
    platform_user_id: str,
    inbound: Inbound,
    *,
    page_size: int = 13,
    inbox_id: int | None = None,
    reply: Mapping[str, Any] | None = None,
) -> list[Outgoing] | None:
    """Handle one input of one user, for a caller that holds the user's lock, in one
    transaction: the conversation state, what the input caused (reports, case changes, pushes)
    and, with `inbox_id`, the stored platform event marked done. With `reply`, the answers are
    written to the outbox as a reply row in that same transaction (its values, such as a LINE
    reply token, go with the row to the channel), so an answer is never lost to a crash or a
    failed send. Returns the answers, or None when the inbox event was handled before."""
    inbound = clean_inbound(inbound)
    env = core.env(page_size)
    async with core.writing(), core.sessions() as session, session.begin():
        if inbox_id is not None and not await inbox.take(session, inbox_id, env.now):
            log.info("%s inbox event %s was handled before; skipped", platform, inbox_id)
            return None
        user = await repo.get_or_create_user(session, platform, platform_user_id, env.now)
        assert user.id is not None
        if not user.active:  # a message from someone who had blocked us means they are back
            user.active = True
        stored = await repo.load_conversation(session, user.id)
        state = (
            FormState(
                stored.form_id,
                stored.form_version,
                stored.step_id,
                # Deep copies: the engine may change nested values (the area pick), and the
                # ORM only writes a JSON column whose new value differs from what it loaded.
                copy.deepcopy(stored.answers),
                copy.deepcopy(stored.context),
                stored.updated_at,
            )
            if stored is not None
            else None
        )
        held = await staff.assignments(session, user.id)
        result = router.handle(user_view(user, held), state, inbound, env)
        messages = list(result.messages)
        messages += await _apply(session, core, env, user, held, result)
        await _save_state(session, user.id, result.state, env.now)
        language = language_of(user_view(user, held), result.state, env)
        messages = [replace(m, language=language) for m in messages]
        row = None
        if reply is not None and messages:
            claim = None
            if core.reply_token is not None and not await outbox.reply_waiting(
                session, platform, platform_user_id
            ):
                claim = (core.reply_token, outbox.REPLY_LEASE)
            row = await outbox.enqueue(
                session, user, outbox.REPLY, messages, now=env.now, extra=reply, claim=claim
            )
    if any(isinstance(e, BroadcastCommand) and e.action == "send" for e in result.events):
        await broadcasts.queue_due(core)  # "send now" goes now, not at the scheduler's next look
    if row is not None and row.status == "sending" and core.send_reply is not None:
        core.send_reply(platform, row)
    elif reply is not None and core.on_outbox is not None:
        core.on_outbox(platform, "reply")
    if result.events and core.on_outbox is not None:
        core.on_outbox(None, "push")  # what happened may have queued pushes, to anyone
    return messages


async def set_active(
    core: Core, platform: str, platform_user_id: str, active: bool, *, inbox_id: int | None = None
) -> None:
    """Mark a user as reachable or not (LINE follow/unfollow, Telegram block/unblock), for a
    caller that holds the user's lock or needs no order (a send that finds the user has
    blocked us)."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        if inbox_id is not None and not await inbox.take(session, inbox_id, now):
            return
        user = await repo.get_or_create_user(session, platform, platform_user_id, now)
        user.active = active
        user.updated_at = now


async def give_up(
    core: Core, platform: str, platform_user_id: str, inbox_id: int, note: str, *, tell: bool
) -> None:
    """An inbox event that cannot be handled (a fault of ours, not of the database): record
    it as failed with the reason and, with `tell`, ask the user in their language to send it
    again."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        if not await inbox.finish(session, inbox_id, inbox.FAILED, now, note=redact(note)[:2000]):
            return  # handled meanwhile after all
        if tell:
            await _tell(session, core, platform, platform_user_id, "error.try_again", now)
    if tell and core.on_outbox is not None:
        core.on_outbox(platform, "reply")


async def slow_down(core: Core, platform: str, platform_user_id: str, per_minute: int) -> None:
    """Tell a user who writes faster than `per_minute` messages a minute that what follows is
    not read for a while (once per flood: the intake decides when)."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        await _tell(session, core, platform, platform_user_id, "flood.slow_down", now,
                    limit=per_minute)  # fmt: skip
    if core.on_outbox is not None:
        core.on_outbox(platform, "reply")


async def _tell(
    session: AsyncSession, core: Core, platform: str, platform_user_id: str, key: str,
    now: dt.datetime, **params: object,
) -> None:  # fmt: skip
    user = await repo.get_or_create_user(session, platform, platform_user_id, now)
    lang = user.language or core.settings.default_language
    text = Outgoing(core.i18n.t(lang, key, **params), language=lang)
    await outbox.enqueue(session, user, outbox.REPLY, [text], now=now)


async def private_only(core: Core, platform: str, chat: str, inbox_id: int) -> None:
    """Someone wrote to the bot in a group or a channel: the bot talks to people one to one
    only. The chat is told so once (in both languages: a group has none of its own); nobody
    becomes a user."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        if not await inbox.take(session, inbox_id, now):
            return
        if await outbox.has_kind(session, platform, chat, outbox.PRIVATE_ONLY):
            return
        text = "\n\n".join(core.i18n.t(lang, "group.private_only") for lang in core.i18n.languages)
        await outbox.enqueue_to(session, platform, chat, outbox.PRIVATE_ONLY, [Outgoing(text)],
                                now=now)  # fmt: skip
    if core.on_outbox is not None:
        core.on_outbox(platform, "reply")


async def _save_state(
    session: AsyncSession, user_id: int, state: FormState | None, now: dt.datetime
) -> None:
    if state is None:
        await repo.save_conversation(session, user_id, None)
    else:
        await repo.save_conversation(
            session,
            user_id,
            state.form_id,
            state.form_version,
            state.step_id,
            state.answers,
            state.context,
            now,
        )


async def _apply(
    session: AsyncSession,
    core: Core,
    env: Env,
    user: User,
    held: tuple[tuple[str, str], ...],
    result: Result,
) -> list[Outgoing]:
    """Carry out the domain events of one step (`held`: the user's staff assignments before
    it); return what to say about them."""
    out: list[Outgoing] = []
    now = env.now
    for event in result.events:
        if isinstance(event, ConsentRefused):
            # Nothing but the refusal is kept.
            user.consent_refused_at = now
            user.consent_at = None
            user.display_name = user.phone = user.role = None
            user.updated_at = now
        elif isinstance(event, ShowMyReports):
            assert user.id is not None
            reports = await repo.recent_reports(session, user.id)
            lang = user.language or env.default_language
            lines = [
                router.ReportLine(
                    r.reference,
                    r.kind,
                    r.status,
                    r.created_at,
                    _report_title(r.kind, r.activity_type or r.problem_category, lang, env),
                )
                for r in reports
            ]
            out += router.render_my_reports(lines, user_view(user, held), env)
        elif isinstance(event, JoinRequested):
            outcome = await staff.redeem_invite(session, user, event.code, now)
            if outcome.status == "ok":
                held = await staff.assignments(session, user.id or 0)
            joined = router.JoinOutcome(outcome.status, outcome.role, outcome.area)
            out += router.after_join(joined, user_view(user, held), result.state, env)
        elif isinstance(event, CaseCommand):
            out += await casework.command(session, env, user, event, result)
        elif isinstance(event, CaseFeedback):
            out += await casework.feedback(session, env, user, event)
        elif isinstance(event, StaffQuery) and event.kind == "broadcast":
            out += await broadcasts.start(session, user, env, result)
        elif isinstance(event, StaffQuery) and event.kind == "broadcasts":
            out += await broadcasts.recent(session, env, user)
        elif isinstance(event, StaffQuery):
            out += await casework.query(session, env, user, event, core.settings.escalation_after)
        elif isinstance(event, BroadcastCommand):
            out += await broadcasts.command(session, env, user, event, core.settings.quiet_hours)
        elif isinstance(event, Submitted) and event.action == "broadcast":
            out += await broadcasts.submitted(session, env, user, event)
        elif isinstance(event, Submitted) and event.action in casework.ACTION_FOR:
            out += await casework.submitted(session, env, user, event)
        elif isinstance(event, Submitted) and event.action == "join":
            _consent_and_profile(user, event.answers, env, now)
            outcome = await staff.redeem_invite(
                session, user, str(event.answers.get("invite_code", "")), now
            )
            held = await staff.assignments(session, user.id or 0)
            out += router.after_submit(event, None, user_view(user, held), env)
            joined = router.JoinOutcome(outcome.status, outcome.role, outcome.area)
            out += router.after_join(joined, user_view(user, held), None, env)
        elif isinstance(event, Submitted):
            reference, alerted = await _submitted(session, env, user, event)
            out += router.after_submit(event, reference, user_view(user, held), env)
            if alerted is not None and not alerted.assigned:
                # Nobody of the district is in the bot yet: say so, and who to call.
                lang = user.language or env.default_language
                urgency = str(event.answers.get("urgency") or "")
                out[-1:-1] = [views.nobody_assigned(urgency, core.settings.emergency_contact,
                                                    lang, env)]  # fmt: skip
    return out


def _report_title(kind: str, value: str | None, lang: str, env: Env) -> str:
    form = FORMS[kind]
    step = form.steps[0]
    return option_label(step, value, lang, env) if value else kind


async def _submitted(
    session: AsyncSession, env: Env, user: User, event: Submitted
) -> tuple[str | None, casework.Alerted | None]:
    """Store what a submitted form means: a registration, a profile change, or a report
    (its reference, and for a problem who was alerted)."""
    answers = event.answers
    now = env.now
    if event.action == "register":
        _consent_and_profile(user, answers, env, now)
        user.role = str(answers["role"])
        _set_area(user, answers["area"])
        return None, None
    if event.action == "update_profile":
        if "language" in answers:
            user.language = str(answers["language"])
        if "area" in answers:
            _set_area(user, answers["area"])
        user.updated_at = now
        return None, None

    kind = "activity" if event.action == "activity_report" else "problem"
    fields = _report_fields(kind, answers, user)
    report = await repo.create_report(
        session,
        reporter=user,
        kind=kind,
        form_id=event.form_id,
        form_version=event.form_version,
        answers=answers,
        fields=fields,
        photos=photos_of(answers),
        local_date=now.astimezone(env.tz).date(),
        now=now,
    )
    log.info("report %s stored for user %s", report.reference, user.id)
    if kind == "problem":
        return report.reference, await casework.alert(session, env, report)
    return report.reference, None


def _consent_and_profile(user: User, answers: dict[str, Any], env: Env, now: dt.datetime) -> None:
    user.language = str(answers.get("language") or env.default_language)
    user.display_name = str(answers["name"])
    user.phone = answers.get("phone")
    user.consent_at = now
    user.consent_notice_version = NOTICE_VERSION
    user.consent_refused_at = None
    user.active = True
    user.updated_at = now


def _set_area(user: User, area: dict[str, Any]) -> None:
    user.province_code = area["province_code"]
    user.district_code = area["district_code"]
    user.subdistrict_code = area["subdistrict_code"]
    user.village_no = int(area["village_no"])


def _report_fields(kind: str, answers: dict[str, Any], user: User) -> dict[str, Any]:
    place = answers.get("place") if kind == "activity" else answers.get("location")
    fields: dict[str, Any] = {
        "province_code": user.province_code,
        "district_code": user.district_code,
        "subdistrict_code": user.subdistrict_code,
        "village_no": user.village_no,
        "description": answers.get("description"),
        "status": "submitted" if kind == "activity" else "received",
    }
    if isinstance(place, dict) and "lat" in place:
        fields["latitude"] = float(place["lat"])
        fields["longitude"] = float(place["lon"])
    if kind == "activity":
        fields["activity_type"] = answers.get("activity_type")
        fields["occurred_on"] = (
            dt.date.fromisoformat(answers["date"]) if answers.get("date") else None
        )
        fields["participants"] = answers.get("participants")
    else:
        fields["problem_category"] = answers.get("category")
        fields["urgency"] = answers.get("urgency")
        fields["households"] = answers.get("households")
    return fields
