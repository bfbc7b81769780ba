"""One step of one person, as the domain sees it, and the registry of what each domain event
means.

The pure core (handlers/) answers an input with messages, a new state and domain events
(`Submitted`, `CaseCommand`…). Each event type — and, for `Submitted` and `StaffQuery`, each
action or kind — has one effect, registered with `@effect(...)` in the module of the domain it
belongs to (people, reports, cases, broadcasts). An effect runs inside the step's transaction,
writes what the event means (rows, audit, outbox rows) and returns what to say about it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy import Held
from handlers.engine import Env, Result
from handlers.messages import Outgoing
from storage.models import User


@dataclass(frozen=True)
class Rules:
    """What the domain reads from the configuration (the edge builds it from its settings)."""

    escalation_after: Mapping[str, dt.timedelta]  # urgency -> time to acknowledge
    escalate_max_times: int = 3
    quiet_hours: str = ""  # "HH:MM-HH:MM" in local time, or empty
    emergency_contact: str = "1784"
    desk_url: str = "http://127.0.0.1:8080"  # where desk sign-in links point
    data_copy_valid: dt.timedelta = dt.timedelta(hours=24)  # a link to one's own data


@dataclass
class Turn:
    """The context of one step: its transaction, the core's environment and the person.
    `held` is their staff assignments (updated when the step gives them one); an effect may
    replace `result.state` (a case action that asks a question first)."""

    session: AsyncSession
    env: Env
    rules: Rules
    user: User
    held: Held
    result: Result
    # Set by an effect whose work continues right after the commit (a broadcast sent now).
    queue_broadcasts: bool = False
    # Set when the step erased the person's data: the reply still goes to the chat it came
    # from, and the outbox forgets that chat once the reply is sent.
    farewell: bool = False
    # Set when the reply holds a secret (a one-time link): its content is emptied once sent.
    ephemeral: bool = False

    @property
    def lang(self) -> str:
        return self.user.language or self.env.default_language

    def t(self, key: str, **params: object) -> str:
        return self.env.i18n.t(self.lang, key, **params)

    def say(self, key: str, **params: object) -> Outgoing:
        return Outgoing(self.t(key, **params))


Effect = Callable[[Turn, Any], Awaitable[list[Outgoing]]]
E = TypeVar("E", bound=Effect)

_EFFECTS: dict[tuple[type, str | None], Effect] = {}


def effect(event_type: type, name: str | None = None) -> Callable[[E], E]:
    """Register the effect of `event_type` (of its action or kind `name`, or of every other
    one when `name` is None)."""

    def register(function: E) -> E:
        key = (event_type, name)
        if key in _EFFECTS:
            raise ValueError(f"two effects for {event_type.__name__} {name}")
        _EFFECTS[key] = function
        return function

    return register


def effect_of(event: object) -> Effect:
    kind = type(event)
    names = [getattr(event, a) for a in ("action", "kind") if getattr(event, a, None) is not None]
    for name in (*names, None):
        found = _EFFECTS.get((kind, name))
        if found is not None:
            return found
    raise LookupError(f"no effect registered for {kind.__name__}")


def registered() -> set[tuple[type, str | None]]:
    return set(_EFFECTS)
