"""What the domain events of one step mean: each is carried out by the effect its domain module
registered (domain.turn), in the order the core returned them."""

from __future__ import annotations

# Imported for their registrations: each module registers the effects of its own events.
from domain import broadcasts, cases, people, reports, rights
from domain.turn import Turn, effect_of
from handlers.messages import Outgoing

DOMAINS = (people, reports, cases, broadcasts, rights)


async def apply(turn: Turn) -> list[Outgoing]:
    """Carry out the events of `turn.result`; return what to say about them."""
    out: list[Outgoing] = []
    for event in turn.result.events:
        out += await effect_of(event)(turn, event)
    return out
