"""Where: a shared location, coordinates typed as "lat, lon", or (where the step allows it) the
reporter's registered village. Stored as ``{"lat", "lon"}`` or ``{"registered_village": true}``."""

from __future__ import annotations

from typing import Any

from handlers.buttons import answer_value
from handlers.forms import Step
from handlers.messages import Choice, Inbound, Outgoing
from handlers.state import Env
from handlers.steps.base import (
    Answered,
    AnswerError,
    Cell,
    Label,
    Outcome,
    StepKind,
    Turn,
    picked,
    register,
)
from handlers.thai import normalize_digits


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, dict) and "lat" in value and "lon" in value:
        return float(value["lat"]), float(value["lon"])
    return None


@register
class LocationKind(StepKind):
    type = "location"
    ask = "location"
    typed_buttons = True
    links = True

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        extra = []
        if turn.step.allow_registered_village and turn.user.has_village:
            extra.append(
                Choice(
                    answer_value(turn.step.id, "village"),
                    turn.t("location.use_village"),
                    also=turn.also("location.use_village"),
                )
            )
        return Outgoing(question, (*extra, *nav), self.ask)

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step = turn.step
        if (
            inbound.kind == "location"
            and inbound.latitude is not None
            and inbound.longitude is not None
        ):
            lat, lon = inbound.latitude, inbound.longitude
        elif (
            picked(step, inbound) == "village"
            and step.allow_registered_village
            and turn.user.has_village
        ):
            return Answered({"registered_village": True})
        elif inbound.kind == "text":
            pieces = normalize_digits(inbound.text).replace(",", " ").split()
            try:
                lat, lon = float(pieces[0]), float(pieces[1])
            except (IndexError, ValueError):
                raise AnswerError("error.location") from None
            if len(pieces) != 2:
                raise AnswerError("error.location")
        else:
            raise AnswerError("error.location")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise AnswerError("error.location")
        return Answered({"lat": lat, "lon": lon})

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        point = _point(value)
        if point is None:
            return env.i18n.t(lang, "location.village_chosen")
        return f"{point[0]:.5f}, {point[1]:.5f}"

    def link(self, step: Step, value: Any) -> str | None:
        point = _point(value)
        if point is None:  # the registered village: the card's area says where
            return None
        return f"https://maps.google.com/?q={point[0]:.6f},{point[1]:.6f}"

    def columns(self, step: Step, value: Any) -> dict[str, Any]:
        point = _point(value)
        return {} if point is None else {"latitude": point[0], "longitude": point[1]}

    def export_names(self, step: Step) -> tuple[str, ...]:
        return ("latitude", "longitude")

    def export_cells(self, step: Step, value: Any, label: Label) -> tuple[Cell, ...]:
        point = _point(value)
        return (None, None) if point is None else point
