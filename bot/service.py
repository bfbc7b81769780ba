"""The conversation service: takes one neutral input from an adapter, runs the pure core on it and
saves everything that follows in one transaction. Messages of one user are handled strictly in
order (a per-user lock, and on PostgreSQL the user's row lock across instances); different users
run concurrently."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.channels import catalog
from bot.config import Settings
from bot.lists import Lists, load_lists
from bot.redact import redact, register_settings
from domain import broadcasts, effects, retention
from domain.people import user_view
from domain.quiet import parse_window, release_time
from domain.turn import Rules, Turn
from handlers import router
from handlers.areas import AreaDirectory
from handlers.engine import Env, FormState, language_of
from handlers.forms import FORMS, Form
from handlers.i18n import Translator, load_translator
from handlers.messages import Inbound, Outgoing, PhotoRef, clean_inbound
from storage import hot, inbox, outbox, repo, staff
from storage.db import SessionFactory, create_engine, session_factory
from storage.media import MediaStore
from storage.migrate import upgrade
from storage.models import OutboxMessage, utcnow

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
    # The forms the chat asks (handlers.forms.FORMS); a test may ask a changed copy.
    forms: Mapping[str, Form] = field(default_factory=lambda: FORMS)
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    # Told after a commit that may have queued pushes (the server wakes its dispatcher):
    # on_outbox(platform or None, lane or None).
    on_outbox: Callable[..., None] | None = None
    # The server's dispatcher: replies are written claimed by `reply_token` and handed to
    # `send_reply` after the commit, so they go out without a claim round trip.
    send_reply: Callable[[str, OutboxMessage | outbox.Claimed], None] | None = None
    reply_token: str | None = None
    # The ordinary form step's statements on the driver (storage.hot); None: the ORM only.
    hot: hot.HotPath | None = None
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
            forms=self.forms,
            areas=self.areas,
            lists=self.lists.options,
            now=self.clock(),
            tz=self.settings.tz,
            default_language=self.settings.default_language,
            page_size=page_size,
            resume_after=dt.timedelta(hours=self.settings.resume_prompt_hours),
        )

    @property
    def rules(self) -> Rules:
        return Rules(
            escalation_after=self.settings.escalation_after,
            escalate_max_times=self.settings.escalate_max_times,
            quiet_hours=self.settings.quiet_hours,
            emergency_contact=self.settings.emergency_contact,
            desk_url=self.settings.desk_url,
            data_copy_valid=dt.timedelta(hours=self.settings.data_copy_hours),
        )

    @property
    def retention(self) -> retention.Policy:
        """How long each kind of data is kept (FIELDBOT_RETENTION_*)."""
        days = dt.timedelta(days=1)
        return retention.Policy(
            outbox=self.settings.retention_outbox_days * days,
            events=self.settings.retention_event_days * days,
            person=self.settings.retention_person_days * days,
            report=self.settings.retention_report_days * days,
            tz=self.settings.tz,
            env=self.env(13),
        )

    def not_before(self) -> dt.datetime:
        """When pushes that respect quiet hours may go: now, or when quiet hours end."""
        window = parse_window(self.settings.quiet_hours)
        return release_time(self.clock(), self.settings.tz, window)

    async def close(self) -> None:
        if self.hot is not None:
            await self.hot.close()
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
    fast = None
    if hot.HotPath.supports(settings.database_url):
        fast = hot.HotPath(settings.database_url)
        await fast.open()
    return Core(
        settings=settings,
        engine=engine,
        sessions=sessions,
        i18n=i18n,
        lists=lists,
        areas=AreaDirectory(lists.pilot_districts),
        media=MediaStore(settings.media_dir),
        hot=fast,
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
    event: inbox.Source | None = None,
    reply: Mapping[str, Any] | None = None,
) -> list[Outgoing] | None:
    """Handle one input of one user, for a caller that holds the user's lock, in one
    transaction: the conversation state, what the input caused (reports, case changes, pushes)
    and, with `event`, the platform event marked done (storage.inbox.take). With `reply`, the
    answers are written to the outbox as a reply row in that same transaction (its values, such
    as a LINE reply token, go with the row to the channel), so an answer is never lost to a
    crash or a failed send. Returns the answers, or None when the inbox event was handled before."""
    inbound = clean_inbound(inbound)
    env = core.env(page_size)
    if core.hot is not None:
        try:
            return await _hot_step(core, platform, platform_user_id, inbound, env, event,
                                   reply)  # fmt: skip
        except (hot.FallbackError, hot.BusyError):
            pass  # a step that does more than the hot path does, or SQLite busy: the ORM's way
    async with core.writing(), core.sessions() as session, session.begin():
        if event is not None and not await inbox.take(session, event, env.now):
            log.info("%s inbox event %s was handled before; skipped", platform, _name(event))
            return None
        user = await repo.get_or_create_user(session, platform, platform_user_id, env.now)
        assert user.id is not None
        if not user.active:  # a message from someone who had blocked us means they are back
            user.active, user.updated_at = True, env.now
        if user.seen_on != env.today:  # the day they last wrote (domain.retention)
            user.seen_on = env.today
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
        turn = Turn(session, env, core.rules, user, held, result)
        messages = list(result.messages)
        messages += await effects.apply(turn)
        await _save_state(session, user.id, result.state, env.now)
        language = language_of(user_view(user, turn.held), result.state, env)
        messages = [replace(m, language=language) for m in messages]
        row = None
        if reply is not None and messages:
            claim = None
            if core.reply_token is not None and not await outbox.reply_waiting(
                session, platform, platform_user_id
            ):
                claim = (core.reply_token, outbox.REPLY_LEASE)
            extra = {**reply, **_keyboard(core, state)}
            if turn.ephemeral:
                extra[outbox.EPHEMERAL] = True
            if turn.farewell:  # they erased their data: the reply goes to the chat it came
                # from, and the row forgets that chat once it is sent (outbox.FORGET)
                row = await outbox.enqueue_to(
                    session, platform, platform_user_id, outbox.REPLY, messages,
                    user_id=user.id, now=env.now, extra={**extra, outbox.FORGET: True},
                )  # fmt: skip
                claim = None
            else:
                row = await outbox.enqueue(
                    session, user, outbox.REPLY, messages, now=env.now, extra=extra, claim=claim
                )
    if row is not None and row.status == "sending" and core.send_reply is not None:
        core.send_reply(platform, row)
    elif reply is not None and core.on_outbox is not None:
        core.on_outbox(platform, "reply")
    if turn.queue_broadcasts:  # after the reply is on its way: a big audience takes a while
        await queue_broadcasts(core)  # "send now" goes now, not at the scheduler's next look
    if outbox.pushed(session) and core.on_outbox is not None:
        core.on_outbox(None, "push")  # what happened queued pushes (to anyone): look now
    return messages


async def _hot_step(  # keep in step with handle_locked: tests/storage/test_hot.py
    core: Core,
    platform: str,
    platform_user_id: str,
    inbound: Inbound,
    env: Env,
    event: inbox.Source | None,
    reply: Mapping[str, Any] | None,
) -> list[Outgoing] | None:
    """`handle_locked` for an ordinary step of a known user (storage.hot): the same
    statements in one transaction, on the driver. Raises hot.FallbackError (rolled back) for a
    step that needs the ORM's way: one whose outcome has events."""
    assert core.hot is not None
    async with core.writing(), core.hot.transaction() as tx:
        if event is not None and not await tx.take(event, env.now):
            log.info("%s inbox event %s was handled before; skipped", platform, _name(event))
            return None
        person = await tx.person_or_new(platform, platform_user_id, env.now)
        held = await tx.staff(person.id)
        stored = person.conversation
        state = FormState(*stored) if stored is not None else None
        view = user_view(person, held)
        result = router.handle(view, state, inbound, env)
        if result.events:
            raise hot.FallbackError
        if not person.active:  # a message from someone who had blocked us means they are back
            await tx.reactivate(person.id, env.now)
        if person.seen_on != env.today:  # once a day: most steps write nothing for it
            await tx.seen(person.id, env.today)
        after = result.state
        await tx.save_conversation(
            person.id,
            stored[0] if stored is not None else None,
            (after.form_id, after.form_version, after.step_id, after.answers, after.context)
            if after is not None
            else None,
            env.now,
        )
        language = language_of(view, after, env)
        messages = [replace(m, language=language) for m in result.messages]
        row = None
        if reply is not None and messages:
            claim = None
            if core.reply_token is not None and not person.reply_waiting:
                claim = (core.reply_token, outbox.REPLY_LEASE)
            payload = {
                **reply,
                **_keyboard(core, state),
                "messages": [m.as_json() for m in messages],
            }
            row = await tx.reply(platform, platform_user_id, person.id, outbox.REPLY, payload,
                                 str(uuid.uuid4()), env.now, claim)  # fmt: skip
    if row is not None and row.attempts and core.send_reply is not None:
        core.send_reply(platform, row)
    elif reply is not None and core.on_outbox is not None:
        core.on_outbox(platform, "reply")
    return messages


def _keyboard(core: Core, state: FormState | None) -> dict[str, bool]:
    """What a reply's channel should know of the question it answers: whether it was the
    location question, whose keyboard (Telegram) the reply must take away. Any worker process
    may send the reply, so this comes with the row rather than from a sender's memory."""
    form = core.forms.get(state.form_id) if state is not None else None
    step = form.step(state.step_id) if form is not None and state is not None else None
    return {"location_keyboard": True} if step is not None and step.type == "location" else {}


def _name(event: inbox.Source) -> str:
    return event.event_id if isinstance(event, inbox.Fresh) else str(event)


async def set_active(
    core: Core,
    platform: str,
    platform_user_id: str,
    active: bool,
    *,
    event: inbox.Source | None = None,
) -> None:
    """Mark a user as reachable or not (LINE follow/unfollow, Telegram block/unblock), for a
    caller that holds the user's lock or needs no order (a send that finds the user has
    blocked us)."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        if event is not None and not await inbox.take(session, event, now):
            return
        user = await repo.get_or_create_user(session, platform, platform_user_id, now)
        user.active = active
        user.updated_at = now


async def give_up(
    core: Core,
    platform: str,
    platform_user_id: str,
    event: inbox.Source,
    note: str,
    *,
    tell: bool,
) -> None:
    """An inbox event that cannot be handled (a fault of ours, not of the database): record
    it as failed with the reason and, with `tell`, ask the user in their language to send it
    again."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        if not await inbox.finish(session, event, inbox.FAILED, now, note=redact(note)[:2000]):
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


async def private_only(core: Core, platform: str, chat: str, event: inbox.Source) -> None:
    """Someone wrote to the bot in a group or a channel: the bot talks to people one to one
    only. The chat is told so once (in both languages: a group has none of its own); nobody
    becomes a user."""
    now = core.clock()
    async with core.writing(), core.sessions() as session, session.begin():
        if not await inbox.take(session, event, now):
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


async def queue_broadcasts(core: Core) -> int:
    """Queue every broadcast whose time has come (quiet hours respected); how many people they
    reach."""
    async with core.writing(), core.sessions() as session, session.begin():
        reached = await broadcasts.queue_due(
            session, core.clock(), core.not_before(), catalog.multicast_sizes()
        )
    if reached and core.on_outbox is not None:
        core.on_outbox()
    return reached
