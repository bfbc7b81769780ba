"""Every domain event the core can return has its effect registered (domain.turn): a new
event type or form action without one fails here, not in a villager's chat."""

from __future__ import annotations

import typing

from domain import effects
from domain.turn import effect_of, registered
from handlers.events import Event, StaffQuery, Submitted
from handlers.forms import FORMS, SubmitAction


def test_every_event_type_and_form_action_has_an_effect() -> None:
    assert effects.DOMAINS  # importing domain.effects registers them all
    kinds = {kind for kind, _name in registered()}
    assert set(typing.get_args(Event)) <= kinds
    actions = {name for kind, name in registered() if kind is Submitted}
    assert set(typing.get_args(SubmitAction)) <= actions
    assert {form.submit for form in FORMS.values()} <= actions


def test_a_staff_query_goes_to_its_own_kind_first() -> None:
    broadcast = effect_of(StaffQuery("broadcast"))
    cases = effect_of(StaffQuery("summary"))
    assert broadcast is not cases
    assert broadcast.__module__ == "domain.broadcasts" and cases.__module__ == "domain.cases"
