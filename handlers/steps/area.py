"""A place in the Department of Provincial Administration's tree: province, district,
subdistrict, then the หมู่ที่ number (or only down to the district, where the step says so).
Each level is a list to tap or a name to type; a district typed at the province level is
understood too. Asked again for a place already given (editing it from the summary), it also
offers to change only the หมู่ ("ม.5" typed does it at once)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from handlers.areas import Place
from handlers.buttons import answer_value, button_number
from handlers.forms import Step
from handlers.messages import Choice, Inbound, Outgoing
from handlers.state import Env
from handlers.steps.base import (
    Answered,
    AnswerError,
    Outcome,
    Stay,
    StepKind,
    Turn,
    paged,
    picked,
    register,
    typed,
)
from handlers.thai import match_choice, parse_village_no

VILLAGE_QUICK_CHOICES = 10
LEVELS = ("province", "district", "subdistrict", "village")
_DISTRICT_WORDS = re.compile(r"(?i)^(?:อ\.|อำเภอ|เขต|เมือง|amphoe|mueang|khet)")
_VILLAGE_WORDS = re.compile(r"(?i)^\s*(?:หมู่|ม\.|moo|mu\b|village)")
KEEP = "keep"  # the button value: same subdistrict, another หมู่


@register
class AreaKind(StepKind):
    type = "area"
    ask = "choice"
    pages = True

    def prompt(self, turn: Turn, question: str, nav: list[Choice]) -> Outgoing:
        step, state, env, lang = turn.step, turn.state, turn.env, turn.lang
        area: dict[str, Any] = state.context.setdefault("area", {"stage": "province"})
        stage = area["stage"]
        suggestions = state.context.get("suggestions")
        if suggestions:
            places = [Choice(answer_value(step.id, code), label) for code, label in suggestions]
            return Outgoing(turn.t("area.did_you_mean"), (*places, *nav), "choice")
        kept = _kept(turn)
        if stage == "province" and kept is not None:
            sub = env.areas.subdistrict(kept["subdistrict_code"])
            only = Choice(
                answer_value(step.id, KEEP),
                turn.t("area.only_village", subdistrict=sub.name(lang) if sub else ""),
                also=turn.also("area.only_village"),
            )
            places_list, tag = _stage_places(area, env, lang)
            choices = [
                Choice(answer_value(step.id, tag + p.code), p.name(lang)) for p in places_list
            ]
            now = turn.t("form.current_answer", answer=describe_area(kept, lang, env))
            text = "\n".join(
                (turn.t("area.province.prompt"), now, turn.t("area.only_village_hint"))
            )
            return Outgoing(text, paged([only, *choices], nav, turn), "choice")
        if stage == "village":
            sub = env.areas.subdistrict(area["subdistrict_code"])
            numbers = [
                Choice(answer_value(step.id, f"v{n}"), turn.t("area.village_short", number=n))
                for n in range(1, VILLAGE_QUICK_CHOICES + 1)
            ]
            text = turn.t("area.village.prompt", subdistrict=sub.name(lang) if sub else "")
            return Outgoing(text, paged(numbers, nav, turn), "choice")
        places_list, tag = _stage_places(area, env, lang)
        choices = [Choice(answer_value(step.id, tag + p.code), p.name(lang)) for p in places_list]
        parent = ""
        if stage == "district":
            province = env.areas.province(area["province_code"])
            parent = province.name(lang) if province else ""
        elif stage == "subdistrict":
            district = env.areas.district(area["district_code"])
            parent = district.name(lang) if district else ""
        text = turn.t(f"area.{stage}.prompt", parent=parent)
        return Outgoing(text, paged(choices, nav, turn), "choice")

    def read(self, turn: Turn, inbound: Inbound) -> Outcome:
        step, state, env = turn.step, turn.state, turn.env
        area: dict[str, Any] = dict(state.context.get("area") or {"stage": "province"})
        state.context["area"] = area
        chosen = picked(step, inbound)
        kept = _kept(turn) if area["stage"] == "province" else None
        if chosen is None and kept is not None:
            text = typed(inbound)
            number = parse_village_no(text) if _VILLAGE_WORDS.match(text) else None
            if number is not None:  # "ม.5": the same subdistrict, another หมู่
                return Answered({**_place(kept), "village_no": number})
            if match_choice(text, [(KEEP, turn.also("area.only_village"))]):
                chosen = KEEP
        if chosen == KEEP:
            if kept is None:
                raise AnswerError("error.stale_button")
            area.update(stage="village", **_place(kept))
            state.context["page"] = 0
            return Stay()
        if chosen is None:
            text = typed(inbound)
            if area["stage"] == "village":
                number = parse_village_no(text)
                if number is None:
                    raise AnswerError("error.village")
                chosen = f"v{number}"
            else:
                chosen = _area_from_text(area, text, turn)
                if chosen is None:  # several candidates: offered as choices
                    return Stay()
        state.context.pop("suggestions", None)
        if not chosen:  # a button's value with nothing after its prefix: forged or broken
            raise AnswerError("error.choice")
        tag, code = chosen[0], chosen[1:]
        if tag == "p" and env.areas.province(code):
            area.update(stage="district", province_code=code)
        elif tag == "d" and env.areas.district(code):
            if step.area_until == "district":
                return Answered({"province_code": code[:2], "district_code": code})
            area.update(stage="subdistrict", province_code=code[:2], district_code=code)
        elif tag == "s" and env.areas.subdistrict(code):
            area.update(
                stage="village",
                province_code=code[:2],
                district_code=code[:4],
                subdistrict_code=code,
            )
        elif tag == "v" and area.get("subdistrict_code") and (village := button_number(code, 99)):
            return Answered(
                {
                    "province_code": area["province_code"],
                    "district_code": area["district_code"],
                    "subdistrict_code": area["subdistrict_code"],
                    "village_no": village,
                }
            )
        else:
            raise AnswerError("error.stale_button")
        state.context["page"] = 0
        return Stay()

    def back(self, turn: Turn) -> bool:
        context = turn.state.context
        if context.pop("suggestions", None):
            return True  # back to the list
        area = context.get("area")
        if isinstance(area, dict):
            stage = area.get("stage", "province")
            if stage != "province":
                area["stage"] = LEVELS[LEVELS.index(stage) - 1]
                context["page"] = 0
                return True
        return False

    def inside(self, turn: Turn) -> bool:
        area = turn.state.context.get("area") or {}
        return area.get("stage", "province") != "province" or bool(
            turn.state.context.get("suggestions")
        )

    def display(self, step: Step, value: Any, lang: str, env: Env) -> str:
        return describe_area(value, lang, env)


def _kept(turn: Turn) -> dict[str, Any] | None:
    """The place this step already holds, down to the subdistrict, when it is asked again."""
    value = turn.state.answers.get(turn.step.id)
    if turn.step.area_until == "district" or not isinstance(value, dict):
        return None
    code = value.get("subdistrict_code")
    if not isinstance(code, str) or turn.env.areas.subdistrict(code) is None:
        return None
    return value


def _place(value: Mapping[str, Any]) -> dict[str, Any]:
    code = str(value["subdistrict_code"])
    return {"province_code": code[:2], "district_code": code[:4], "subdistrict_code": code}


def describe_area(value: Mapping[str, Any], lang: str, env: Env) -> str:
    """An area as people say it, smallest first: "หมู่ 3 ต.ศรีภูมิ อ.เมืองเชียงใหม่ จ.เชียงใหม่"."""
    parts: list[str] = []
    sub = env.areas.subdistrict(str(value.get("subdistrict_code", "")))
    if value.get("village_no") is not None:
        parts.append(env.i18n.t(lang, "area.village_short", number=value["village_no"]))
    if sub is not None:
        parts.append(env.i18n.t(lang, "area.subdistrict_short", name=sub.name(lang)))
    district = env.areas.district(str(value.get("district_code", "")))
    if district is not None:
        parts.append(env.i18n.t(lang, "area.district_short", name=district.name(lang)))
    province = env.areas.province(str(value.get("province_code", "")))
    if province is not None:
        parts.append(env.i18n.t(lang, "area.province_short", name=province.name(lang)))
    return " ".join(parts)


def _stage_places(
    area: Mapping[str, Any], env: Env, lang: str | None = None
) -> tuple[list[Place], str]:
    stage = area["stage"]
    if stage == "province":
        return env.areas.provinces(lang), "p"
    if stage == "district":
        return env.areas.districts(area["province_code"], lang), "d"
    return env.areas.subdistricts(area["district_code"], lang), "s"


def _area_from_text(area: dict[str, Any], text: str, turn: Turn) -> str | None:
    """Match a typed place name at the current stage. One clear match is taken; several are
    offered as choices (returns None); none is an error. At the province stage a district name
    is understood too, because people often know their อำเภอ better than the list order."""
    env, lang = turn.env, turn.lang
    places, tag = _stage_places(area, env)
    found: list[tuple[str, Place]] = []
    nationwide = False
    if area["stage"] == "province" and _DISTRICT_WORDS.match(text.strip()):
        # "เมืองเชียงใหม่" or "อ.แม่ริม" names a district even where a province would match.
        found = [("d", p) for p in env.areas.match(text, env.areas.all_districts())]
        nationwide = True
    if not found:
        found = [(tag, p) for p in env.areas.match(text, places)]
        nationwide = False
    if not found and area["stage"] == "province":
        found = [("d", p) for p in env.areas.match(text, env.areas.all_districts())]
        nationwide = True
    if not found:
        raise AnswerError(f"error.area_{area['stage']}")
    # A guess among all 900-odd districts may land in another province: taken without asking
    # only when the name is exactly right, otherwise offered as a choice.
    exact = not nationwide or env.areas.is_exact(text, found[0][1])
    if len(found) == 1 and exact:
        return found[0][0] + found[0][1].code
    suggestions = []
    for found_tag, place in found[:5]:
        label = place.name(lang)
        if found_tag == "d" and area["stage"] == "province":
            label = env.areas.describe(place.code, lang)
        suggestions.append((found_tag + place.code, label))
    turn.state.context["suggestions"] = suggestions
    return None
