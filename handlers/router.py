"""The router: decides what one input means for this user — a command that works everywhere
(cancel, menu, help), the main menu, or an answer to the form in progress — and hands answers to
the form engine. Pure, like the engine."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from handlers import engine, vocab
from handlers.cases import ACTIONS as CASE_ACTIONS
from handlers.cases import (
    CASE_PREFIX,
    FEEDBACK_PREFIX,
    PAGE_PREFIX,
    parse_case_value,
    parse_feedback_value,
)
from handlers.dates import format_date
from handlers.engine import (
    NAV_CANCEL,
    BroadcastCommand,
    CaseCommand,
    CaseFeedback,
    ConsentRefused,
    Env,
    Event,
    FormState,
    JoinRequested,
    PrivacyAsked,
    Result,
    ShowMyReports,
    StaffQuery,
    Submitted,
    UserView,
    language_of,
)
from handlers.forms import NOTICE_VERSION, Form
from handlers.i18n import fold
from handlers.messages import Choice, Inbound, Outgoing, PhotoRef
from handlers.thai import fix_keyboard_layout, has_title, match_choice, normalize_digits

MENU_ITEMS = ("activity", "problem", "my_reports", "language", "area", "my_data", "help")
STAFF_ITEMS = (
    "cases", "summary", "activities", "completeness", "broadcast", "broadcasts", "desk",
)  # fmt: skip
ALL_ITEMS = (*MENU_ITEMS, *STAFF_ITEMS)
# A reference as people type it: PRB-2569-000123, "PRB 2569 000123", prb-2569-123.
REFERENCE = re.compile(r"\b(PRB|ACT)[\s-]?(\d{4})[\s-]?(\d{1,6})\b", re.IGNORECASE)


def reference_in(text: str) -> str | None:
    """The report reference in `text`, written as it is stored (PRB-2569-000123)."""
    found = REFERENCE.search(normalize_digits(text))
    if found is None:
        return None
    kind, year, number = found.groups()
    return f"{kind.upper()}-{year}-{int(number):06d}"


MENU_FORMS = {"activity": "activity", "problem": "problem", "language": "language", "area": "area"}
# "ข้อมูลของฉัน / My data": the buttons under the summary of what is held (and their words,
# typed with no form open: "ลบข้อมูลของฉัน", "delete my data", "หยุดแจ้งเตือน"…).
PRIVACY_PREFIX = "privacy:"
PRIVACY_FORMS = {"name": "my_name", "phone": "my_phone", "role": "my_role", "language": "language",
                 "delete": "erase"}  # fmt: skip
PRIVACY_EVENTS = (
    "see", "copy", "reminders_off", "reminders_on", "broadcasts_off", "broadcasts_on",
)  # fmt: skip
PRIVACY_ACTIONS = (*PRIVACY_FORMS, "village", *PRIVACY_EVENTS)
RESUME_CONTINUE = "resume:continue"
RESUME_DISCARD = "resume:discard"
RESTART = "restart"  # after RESUME_DISCARD: start the same form again
MENU_PREFIX = "menu:"
BROADCAST_PREFIX = "bcast:"
GLOBAL_COMMANDS = ("cancel", "menu", "help")
# Buttons on pushes (alerts, case cards, notices, broadcast previews) carry numbers.
PUSH_PREFIXES = (CASE_PREFIX, FEEDBACK_PREFIX, BROADCAST_PREFIX, PAGE_PREFIX)
# Text with no form open is a menu word, a command, a reference number (PRB-2569-000123) or
# "/join CODE": never long. Inside a form each step has its own limit (engine.input_limit).
NO_FORM_LIMIT = 200
# Pages of open cases (8 a page): far more than any area has.
MAX_CASE_PAGE = 10_000


@dataclass(frozen=True)
class ReportLine:
    """One of the user's reports, for "my reports" (`note`: the officer's latest word on a
    problem)."""

    reference: str
    kind: str
    status: str
    created_at: dt.datetime
    title: str
    note: str | None = None


def handle(user: UserView, state: FormState | None, inbound: Inbound, env: Env) -> Result:
    """One input from one user: what to say, what happened, and the state to keep."""
    lang = language_of(user, state, env)
    t = env.i18n.t
    if inbound.kind == "text":  # first, so that nothing reads text that is too long
        refused = _refuse_long_text(user, state, inbound, env, lang)
        if refused is not None:
            return refused
    command = _command(inbound, env)

    pressed = _case_buttons(inbound, user)
    if pressed is not None:  # buttons from pushes work whatever form is open
        return Result([], [pressed], state)
    if inbound.kind == "choice" and (inbound.value or "").startswith(PUSH_PREFIXES):
        # A push button whose number is not a valid one: old or forged, answered kindly.
        return _ask_again(t(lang, "button.invalid"), user, state, env, lang)

    code = _join_code(inbound, env)
    if code is not None:
        if not user.registered:
            # Officers and coordinators register without the village questions.
            result = engine.start(env.forms["staff"], user, env, preset={"invite_code": code})
            result.messages.insert(0, Outgoing(t(lang, "join.register_first")))
            return result
        return Result([], [JoinRequested(code)], state)

    if state is not None:
        # The caller's state stays as it was (the router sets context flags below).
        state = _copied(state)
        form = env.forms.get(state.form_id)
        if form is None:  # a form that no longer exists: nothing to resume
            return _menu(user, env, lang, prefix=[t(lang, "form.gone")])
        if state.form_version != form.version:
            state = _migrate(form, state)
            if state is None:
                restarted = engine.start(form, user, env)
                restarted.messages.insert(0, Outgoing(t(lang, "form.restarted_new_version")))
                return restarted

        # Buttons the router itself showed last time (menu, continue?) answer typed text too.
        shown = state.context.pop("buttons", None)
        if shown:
            buttons = [Choice(v, label, also=_resume_words(v, env)) for v, label in shown]
            number = _typed_number(inbound)
            if number is not None and number <= len(buttons):  # read against what was shown
                inbound = Inbound("choice", value=buttons[number - 1].value)
            elif number is not None and not state.context.get("resume_asked"):
                # A number past the end of the menu shown over a paused form: never an answer
                # to the step behind the menu, which the person cannot see.
                return _menu(
                    user, env, lang, prefix=[t(lang, "error.choice")], paused=(form, state)
                )
            inbound = engine.button_for_text(inbound, buttons)
            if inbound.kind == "text" and any(b.value == RESUME_DISCARD for b in buttons):
                restart = [Choice(f"{RESUME_DISCARD}:{RESTART}", "", also=env.i18n.words(
                    "resume.restart.also"))]  # fmt: skip
                inbound = engine.button_for_text(inbound, restart)
            command = _command(inbound, env)

        discard = inbound.kind == "choice" and (inbound.value or "").startswith(RESUME_DISCARD)
        then = (inbound.value or "")[len(RESUME_DISCARD) + 1 :] if discard else ""
        if discard and (then in ALL_ITEMS or then.startswith(PRIVACY_PREFIX)) and user.registered:
            # "Discard and start the other one", chosen from the menu while a draft waited.
            result = _run_menu_item(then, user, env, lang)
            result.messages.insert(0, Outgoing(t(lang, "form.cancelled")))
            return result
        if discard and then == RESTART:  # "เริ่มใหม่": the same form, from its first question
            result = engine.start(form, user, env)
            result.messages.insert(0, Outgoing(t(lang, "form.restarted")))
            return result
        if form.id == "erase" and (inbound.kind == "start" or _is_stale(state, env)):
            # "Delete your data?" left unanswered is not answered by a later visit: dropped,
            # and what came now is read as if nothing were open.
            return handle(user, None, inbound, env)
        if form.id == "renotice" and inbound.kind == "start":  # opening the chat again
            again = engine.prompt(form, state, user, env)
            return Result([Outgoing(t(lang, "notice.changed")), again], [], state)
        if form.id == "renotice" and (command in ("cancel", "menu") or discard):
            # The new notice is answered before anything else: yes, or no (which deletes).
            again = engine.prompt(form, state, user, env)
            return Result([Outgoing(t(lang, "notice.answer_first")), again], [], state)
        if form.id == "renotice" and _own_data(inbound, user, env):
            # Their data may be seen, copied or deleted before answering (asked again at the
            # next message).
            return _run_menu_item(_menu_item(inbound, user, env) or "my_data", user, env, lang)
        if command == "cancel" or discard:
            if not user.registered and form.id == "registration":
                return Result([Outgoing(t(lang, "form.cancelled_registration"))], [], None)
            if form.id == "erase":  # "cancel" at "delete your data?" is "no"
                return _menu(user, env, lang, prefix=[t(lang, "privacy.erase.kept")])
            return _menu(user, env, lang, prefix=[t(lang, "form.cancelled")])
        if command == "help":
            return Result(
                [Outgoing(t(lang, "help.text")), engine.prompt(form, state, user, env)], [], state
            )
        if command == "menu":
            if not user.registered and form.id == "registration":
                first = Outgoing(t(lang, "menu.register_first"))
                return Result([first, engine.prompt(form, state, user, env)], [], state)
            return _menu(user, env, lang, paused=(form, state))
        if inbound.kind == "choice" and inbound.value == RESUME_CONTINUE:
            state.context.pop("resume_asked", None)
            held = _held(state)
            if held is not None:  # the photo or location that came with the question
                return engine.advance(form, state, held, user, env)
            return Result([engine.prompt(form, state, user, env)], [], state)
        if inbound.kind == "choice" and (inbound.value or "").startswith(PRIVACY_PREFIX):
            # A button under "my data", tapped with a form open: that form first.
            return _ask_resume(form, state, user, env, lang, reason="form.pending_other",
                               then=inbound.value or "")  # fmt: skip
        if inbound.kind == "choice" and inbound.value == MENU_PREFIX + "my_data":
            # Looking at one's data costs no draft: the form stays where it was.
            return Result([], [PrivacyAsked("see")], state)
        if inbound.kind == "choice" and (inbound.value or "").startswith(MENU_PREFIX):
            wanted = (inbound.value or "")[len(MENU_PREFIX) :]
            if MENU_FORMS.get(wanted) == form.id:
                return Result([engine.prompt(form, state, user, env)], [], state)
            return _ask_resume(
                form, state, user, env, lang, reason="form.pending_other", then=wanted
            )
        if inbound.kind in ("unsupported", "photo_failed"):
            said = "input.unsupported" if inbound.kind == "unsupported" else "input.photo_failed"
            return Result(
                [Outgoing(t(lang, said)), engine.prompt(form, state, user, env)], [], state
            )
        if (
            (inbound.kind == "start" or _is_stale(state, env))
            and not state.context.get("resume_asked")
            and form.id != "renotice"  # a question to answer, not a draft to keep
        ):
            _hold(state, inbound, form, user, env)
            return _ask_resume(form, state, user, env, lang, reason="form.pending")
        if state.context.get("resume_asked") and _typed_number(inbound) is not None:
            # A number typed at "continue or start over?" is read against those two buttons,
            # never against the step behind the question, which the person cannot see.
            asked = _ask_resume(form, state, user, env, lang, reason="form.pending")
            asked.messages.insert(0, Outgoing(t(lang, "error.choice")))
            return asked
        state.context.pop("resume_asked", None)
        state.context.pop("held", None)
        result = engine.advance(form, state, _second_try(inbound, form, state, env), user, env)
        declined = any(isinstance(e, ConsentRefused) for e in result.events)
        if declined and (form.id == "renotice" or user.display_name is not None):
            # Someone whose data is held (who agreed to an older notice, or whose roles were
            # taken away) declining means deleting: asked once more, saying what goes.
            erase = engine.start(env.forms["erase"], user, env, preset={"reason": "notice"})
            erase.messages.insert(0, Outgoing(t(lang, "notice.declined")))
            return erase
        return result

    # No form in progress.
    if not user.registered:
        registration = env.forms["registration"]
        result = engine.start(registration, user, env)
        result.messages.insert(0, Outgoing(t(lang, "welcome.new")))
        return result
    if user.notice_version != NOTICE_VERSION:
        # The privacy notice changed since they agreed: asked again before anything else but
        # their own data (which they may see, copy or delete first).
        if _own_data(inbound, user, env):
            return _run_menu_item(_menu_item(inbound, user, env) or "my_data", user, env, lang)
        result = engine.start(env.forms["renotice"], user, env)
        result.messages.insert(0, Outgoing(t(lang, "notice.changed")))
        return result
    if command == "cancel":
        return _menu(user, env, lang, prefix=[t(lang, "form.nothing_to_cancel")])
    if command == "help":
        return _menu(user, env, lang, prefix=[t(lang, "help.text")])
    if inbound.kind == "start":
        name = addressed(user.display_name or "", lang, env)
        return _menu(user, env, lang, prefix=[t(lang, "welcome.back", name=name)])
    query = _staff_query(inbound, user, env)
    if query is None and user.registered and inbound.kind == "text":
        found = reference_in(inbound.text)
        if found:  # a villager following one of their reports
            return Result([], [ShowMyReports(reference=found)], None)
    if query is not None:
        return Result([], [query], None)
    answer = _typed_feedback(inbound, env) if user.registered else None
    if answer is not None:  # "แก้ไขแล้ว", "ยังไม่ได้แก้", "5 ดาว": the buttons of a notice, typed
        return Result([], [answer], None)
    item = _menu_item(inbound, user, env)
    if item is None:
        if command == "menu":
            return _menu(user, env, lang)
        unknown = {"unsupported": "input.unsupported", "photo_failed": "input.photo_failed"}.get(
            inbound.kind, "menu.unknown"
        )
        prefix = [t(lang, unknown)]
        return _menu(user, env, lang, prefix=prefix)
    return _run_menu_item(item, user, env, lang)


def _copied(state: FormState) -> FormState:
    return replace(
        state, answers=copy.deepcopy(state.answers), context=copy.deepcopy(state.context)
    )


def _open_form(state: FormState | None, env: Env) -> Form | None:
    """The form `state` is in, if it (and its current step) still exist."""
    form = env.forms.get(state.form_id) if state is not None else None
    if state is None or form is None or form.step(state.step_id) is None:
        return None
    return form


def _refuse_long_text(
    user: UserView, state: FormState | None, inbound: Inbound, env: Env, lang: str
) -> Result | None:
    """Text longer than what is asked can use: the step's limit in a form, `NO_FORM_LIMIT`
    otherwise."""
    form = _open_form(state, env)
    if state is not None and form is not None:
        return engine.refuse_long_text(form, state, inbound, user, env)
    if len(inbound.text.strip()) <= NO_FORM_LIMIT:
        return None
    too_long = env.i18n.t(lang, "error.too_long", limit=f"{NO_FORM_LIMIT:,}")
    return _ask_again(too_long, user, state, env, lang)


def _ask_again(text: str, user: UserView, state: FormState | None, env: Env, lang: str) -> Result:
    """Say `text`, then what was asked before (the form's question, else the menu), with the
    state as it was."""
    messages = [Outgoing(text)]
    form = _open_form(state, env)
    if state is not None and form is not None:
        messages.append(engine.prompt(form, _copied(state), user, env))
    elif user.registered:
        messages.append(menu_message(user, env, lang))
    return Result(messages, [], state)


def _join_code(inbound: Inbound, env: Env) -> str | None:
    """The code in "/join CODE" or "เข้าร่วม CODE", if that is what was typed."""
    if inbound.kind != "text":
        return None
    first, _, rest = inbound.text.strip().partition(" ")
    if rest.strip() and env.i18n.is_keyword(first, "kw.join"):
        return rest.strip()
    return None


@dataclass(frozen=True)
class JoinOutcome:
    """What came of an invite code: ok (with the role and its area) or why not."""

    status: str
    role: str | None = None
    area: str | None = None


def after_join(
    outcome: JoinOutcome, user: UserView, state: FormState | None, env: Env
) -> list[Outgoing]:
    lang = language_of(user, state, env)
    t = env.i18n.t
    if outcome.status == "ok" and outcome.role and outcome.area:
        text = t(lang, f"join.ok.{outcome.role}", area=describe_staff_area(outcome.area, lang, env))
    else:
        text = t(lang, f"join.{outcome.status}")
    after: list[Outgoing] = [Outgoing(text)]
    form = env.forms.get(state.form_id) if state is not None else None
    if state is not None and form is not None:
        after.append(engine.prompt(form, state, user, env))
    else:
        after.append(menu_message(user, env, lang))
    return after


def describe_staff_area(area: str, lang: str, env: Env) -> str:
    if area == "TH":
        return env.i18n.t(lang, "area.national")
    if len(area) == 4:  # อ.แม่แจ่ม จ.เชียงใหม่, as an address is written
        return engine.describe_area({"district_code": area, "province_code": area[:2]}, lang, env)
    province = env.areas.province(area)
    return province.name(lang) if province else area


def _case_buttons(inbound: Inbound, user: UserView) -> Event | None:
    if inbound.kind != "choice" or not inbound.value:
        return None
    case = parse_case_value(inbound.value)
    if case is not None:
        return CaseCommand(*case)
    feedback = parse_feedback_value(inbound.value)
    if feedback is not None:
        report_id, answer = feedback
        if answer in ("yes", "no"):
            return CaseFeedback(report_id, fixed=answer == "yes")
        return CaseFeedback(report_id, stars=int(answer))
    if inbound.value.startswith(BROADCAST_PREFIX):
        number, _, action = inbound.value[len(BROADCAST_PREFIX) :].partition(":")
        broadcast_id = engine.button_number(number)
        if broadcast_id is not None and action in ("send", "cancel", "status"):
            return BroadcastCommand(broadcast_id, action)
    if inbound.value.startswith(PAGE_PREFIX):
        page = engine.button_number(inbound.value[len(PAGE_PREFIX) :], MAX_CASE_PAGE)
        if page is not None:
            return StaffQuery("cases", page=page)
    return None


def _staff_query(inbound: Inbound, user: UserView, env: Env) -> StaffQuery | None:
    """Officers' and coordinators' typed case work: a reference (PRB-2569-000123) shows that
    case; a case button's label typed ("รับเรื่อง", "เสร็จสิ้น PRB-2569-000123") does what the
    button does, to the case named, or, with none named, lists the open cases to pick from."""
    if not user.is_staff or inbound.kind != "text":
        return None
    found = reference_in(inbound.text)
    rest = REFERENCE.sub(" ", normalize_digits(inbound.text)).strip() if found else inbound.text
    action = _case_action(rest, env) if rest else None
    if found:
        return StaffQuery("case", reference=found, action=action)
    if action is not None:
        return StaffQuery("cases", action=action)
    return None


_STARS = re.compile(r"^(?:ให้\s*)?([1-5])\s*(?:ดาว|stars?|⭐|★)", re.IGNORECASE)


def _typed_feedback(inbound: Inbound, env: Env) -> CaseFeedback | None:
    """A reporter's answer to "is it really fixed?" or to the rating, typed instead of tapped:
    for their latest resolved case (report id 0: the domain finds it)."""
    if inbound.kind != "text" or len(inbound.text) > 40:
        return None
    text = normalize_digits(inbound.text).strip()
    stars = _STARS.match(text)
    if stars:
        return CaseFeedback(0, stars=int(stars.group(1)))
    only = text.replace(" ", "")
    if only and set(only) <= {"⭐", "★"} and len(only) <= 5:
        return CaseFeedback(0, stars=len(only))
    options = [
        (answer, (*env.i18n.variants(f"feedback.{key}"), *env.i18n.words(f"feedback.{key}.also")))
        for answer, key in (("yes", "fixed"), ("no", "not_fixed"))
    ]
    found = match_choice(text, options)
    return CaseFeedback(0, fixed=found == "yes") if found else None


def _case_action(text: str, env: Env) -> str | None:
    """The case action whose button label (or one of its other words) `text` is."""
    options = [
        (action, (*env.i18n.variants(f"case.action.{action}"),
                  *env.i18n.words(f"case.action.{action}.also")))
        for action in CASE_ACTIONS
    ]  # fmt: skip
    return match_choice(text, options)


def _run_menu_item(item: str, user: UserView, env: Env, lang: str) -> Result:
    if item.startswith(PRIVACY_PREFIX):
        return _privacy(item[len(PRIVACY_PREFIX) :], user, env, lang)
    if item == "my_data":
        return Result([], [PrivacyAsked("see")], None)
    if item in STAFF_ITEMS:
        return Result([], [StaffQuery(item)], None)
    if item == "my_reports":
        return Result([], [ShowMyReports()], None)
    if item == "help":
        return _menu(user, env, lang, prefix=[env.i18n.t(lang, "help.text")])
    if item == "area" and user.has_village:  # offers "only the หมู่" of the village held now
        here = {
            "province_code": user.province_code,
            "district_code": user.district_code,
            "subdistrict_code": user.subdistrict_code,
            "village_no": user.village_no,
        }
        return engine.start(env.forms[MENU_FORMS[item]], user, env, preset={"area": here})
    return engine.start(env.forms[MENU_FORMS[item]], user, env)


def _own_data(inbound: Inbound, user: UserView, env: Env) -> bool:
    """Whether `inbound` asks for "my data" or one of its buttons (typed as words, not as a
    number, which reads against whatever question is open)."""
    if _typed_number(inbound) is not None:
        return False
    item = _menu_item(inbound, user, env)
    return item is not None and (item == "my_data" or item.startswith(PRIVACY_PREFIX))


def _privacy(action: str, user: UserView, env: Env, lang: str) -> Result:
    """A button under "my data" (or its words typed): a correction or the deletion starts
    its question; the rest is for the domain, which reads what is held."""
    if action in ("village", "role") and not user.role:
        # Staff without a village of their own: no village role, nothing to move.
        return Result([], [PrivacyAsked("see")], None)
    if action == "village":
        return _run_menu_item("area", user, env, lang)
    form = PRIVACY_FORMS.get(action)
    if form is not None:
        started = engine.start(env.forms[form], user, env)
        if action == "delete" and user.is_staff:  # what else goes with a staff member's data
            started.messages.insert(0, Outgoing(env.i18n.t(lang, "privacy.erase.staff")))
        return started
    return Result([], [PrivacyAsked(action if action in PRIVACY_EVENTS else "see")], None)


def privacy_choices(user: UserView, env: Env, lang: str, *, reminders: bool, broadcasts: bool
                    ) -> tuple[Choice, ...]:  # fmt: skip
    """The buttons under the summary of what is held: correct each thing, a copy, the
    optional uses (on or off, as they are now), delete, and the menu."""
    actions = ["name", "phone", *(("role", "village") if user.role else ()), "language", "copy",
               "reminders_off" if reminders else "reminders_on",
               "broadcasts_off" if broadcasts else "broadcasts_on", "delete"]  # fmt: skip
    t = env.i18n.t
    buttons = [Choice(PRIVACY_PREFIX + a, t(lang, f"privacy.button.{a}")) for a in actions]
    return (*buttons, Choice(MENU_PREFIX + "menu", t(lang, "nav.menu")))


def _command(inbound: Inbound, env: Env) -> str | None:
    if inbound.kind == "choice":
        if inbound.value == NAV_CANCEL:
            return "cancel"
        if inbound.value == MENU_PREFIX + "menu":
            return "menu"
        return None
    if inbound.kind != "text":
        return None
    word = fold(normalize_digits(inbound.text.strip().lstrip("/")))
    fixed = fix_keyboard_layout(inbound.text)  # "pdg]bd" is ยกเลิก typed in the English layout
    for command in GLOSSARY_COMMANDS:
        if env.i18n.is_keyword(word, f"kw.{command}") or (
            fixed is not None and env.i18n.is_keyword(fixed, f"kw.{command}")
        ):
            return command
    return None


GLOSSARY_COMMANDS = GLOBAL_COMMANDS


def _menu_item(inbound: Inbound, user: UserView, env: Env) -> str | None:
    """The menu item a button or typed text asks for. A number is read against the menu this
    person is shown (`menu_items`: a staff menu starts with case work), never another role's;
    text against the items' labels in every language and their other words (`kw.menu_*`),
    with the tolerance of answers to a question."""
    if inbound.kind == "choice":
        value = inbound.value or ""
        if value.startswith(PRIVACY_PREFIX) and value[len(PRIVACY_PREFIX) :] in PRIVACY_ACTIONS:
            return value
        item = value[len(MENU_PREFIX) :] if value.startswith(MENU_PREFIX) else None
        return item if item in ALL_ITEMS else None
    if inbound.kind != "text":
        return None
    items = menu_items(user)
    number = _typed_number(inbound)
    if number is not None:
        return items[number - 1] if number <= len(items) else None
    options = [
        (item, (*env.i18n.variants(f"menu.{item}"), *env.i18n.words(f"kw.menu_{item}")))
        for item in items
    ] + [  # the buttons under "my data", typed ("ลบข้อมูลของฉัน", "stop reminders")
        (PRIVACY_PREFIX + action, (*env.i18n.variants(f"privacy.button.{action}"),
                                   *env.i18n.words(f"kw.privacy_{action}")))
        for action in PRIVACY_ACTIONS
    ]  # fmt: skip
    return match_choice(inbound.text.strip().lstrip("/"), options)


def _second_try(inbound: Inbound, form: Form, state: FormState, env: Env) -> Inbound:
    """Typed commands in the wrong keyboard layout (" village head typed in English mode") are
    common: a text that is a command word once converted is treated as that word."""
    if inbound.kind != "text":
        return inbound
    fixed = fix_keyboard_layout(inbound.text)
    if fixed is None:
        return inbound
    word = fold(fixed)
    for key in ("kw.back", "kw.skip", "kw.done", "kw.yes", "kw.confirm", "kw.more"):
        if env.i18n.is_keyword(word, key):
            return Inbound("text", fixed)
    return inbound


# Steps whose typed answer is kept across the resume question: a free text ("สวัสดี" after a
# day away) could be anything, an answer to these is easily told from a greeting.
_HELD_TEXT_STEPS = ("choice", "multi", "number", "date", "phone")


def _hold(state: FormState, inbound: Inbound, form: Form, user: UserView, env: Env) -> None:
    """Keep a photo, a location, or a typed answer to a choice, number or date, that arrives
    when the resume question is asked: "continue" gives it to the step (the person need not
    send it again)."""
    step = form.step(state.step_id)
    if inbound.kind == "text" and step is not None and step.type in _HELD_TEXT_STEPS:
        if _answers(form, state, inbound, user, env):
            state.context["held"] = {"text": inbound.text}
    elif inbound.kind == "photo" and inbound.photo is not None:
        state.context["held"] = {"photo": inbound.photo.as_json()}
    elif inbound.kind == "location" and inbound.latitude is not None:
        state.context["held"] = {"location": [inbound.latitude, inbound.longitude]}


def _answers(form: Form, state: FormState, inbound: Inbound, user: UserView, env: Env) -> bool:
    """Whether `inbound` is an answer the current step takes (tried on a copy; a greeting at
    a number question is not, and is not kept)."""
    tried = engine.advance(form, _copied(state), inbound, user, env)
    after = tried.state
    return after is None or after.step_id != state.step_id or after.answers != state.answers


def _held(state: FormState) -> Inbound | None:
    held = state.context.pop("held", None)
    if not isinstance(held, dict):
        return None
    if isinstance(held.get("text"), str):
        return Inbound("text", held["text"])
    if isinstance(held.get("photo"), dict):
        return Inbound("photo", photo=PhotoRef.from_json(held["photo"]))
    where = held.get("location")
    if isinstance(where, list) and len(where) == 2:
        return Inbound("location", latitude=float(where[0]), longitude=float(where[1]))
    return None


def _typed_number(inbound: Inbound) -> int | None:
    """The number typed to pick a button ("2", "๒", "2."), if that is all the text is."""
    if inbound.kind != "text":
        return None
    return engine.button_number(normalize_digits(inbound.text).strip().rstrip("."))


def _is_stale(state: FormState, env: Env) -> bool:
    """A draft left longer than `resume_after` (zero: never asked about)."""
    if not env.resume_after or state.updated_at is None:
        return False
    return env.now - state.updated_at > env.resume_after


def _ask_resume(
    form: Form,
    state: FormState,
    user: UserView,
    env: Env,
    lang: str,
    *,
    reason: str,
    then: str | None = None,
) -> Result:
    t = env.i18n.t
    state.context["resume_asked"] = True
    since = ""
    if state.updated_at is not None:
        day = state.updated_at.astimezone(env.tz).date()
        since = format_date(day, lang)
    text = t(lang, reason, form=t(lang, f"{form.key}.title"), since=since)
    discard = Choice(RESUME_DISCARD, t(lang, "resume.discard"))
    if then in ALL_ITEMS:
        discard = Choice(
            f"{RESUME_DISCARD}:{then}", t(lang, "resume.discard_then", item=t(lang, f"menu.{then}"))
        )
    elif then is not None and then.startswith(PRIVACY_PREFIX):
        label = t(lang, f"privacy.button.{then[len(PRIVACY_PREFIX) :]}")
        discard = Choice(f"{RESUME_DISCARD}:{then}", t(lang, "resume.discard_then", item=label))
    choices = (Choice(RESUME_CONTINUE, t(lang, "resume.continue")), discard)
    _remember_buttons(state, choices)
    return Result([Outgoing(text, choices, "choice")], [], state)


def _resume_words(value: str, env: Env) -> tuple[str, ...]:
    """Other words typed for "continue" and "discard" at the resume question (the catalog's
    resume.continue.also and resume.discard.also; resume.restart.also, "เริ่มใหม่", is "discard
    and go on" where another item was asked for, and "start this form again" otherwise)."""
    if value == RESUME_CONTINUE:
        key = "resume.continue.also"
    elif value.startswith(RESUME_DISCARD + ":"):  # discard, then the item asked for
        return (*env.i18n.words("resume.discard.also"), *env.i18n.words("resume.restart.also"))
    elif value.startswith(RESUME_DISCARD):
        key = "resume.discard.also"
    else:
        return ()
    return env.i18n.words(key)


def _remember_buttons(state: FormState, choices: Sequence[Choice]) -> None:
    state.context["buttons"] = [[c.value, c.label] for c in choices]


def _migrate(form: Form, state: FormState) -> FormState | None:
    """A conversation stored under an older version of `form`: keep it when its step still
    exists (dropping answers to steps that are gone), otherwise it must start over."""
    if form.step(state.step_id) is None:
        return None
    answers = {k: v for k, v in state.answers.items() if form.step(k) is not None}
    history = [s for s in state.context.get("history", []) if form.step(s) is not None]
    return FormState(
        form.id,
        form.version,
        state.step_id,
        answers,
        {**state.context, "history": history},
        state.updated_at,
    )


def menu_items(user: UserView) -> tuple[str, ...]:
    """Staff see their case work first; village reporting (and moving their home village) only
    if they also have a village role."""
    if not user.is_staff:
        return MENU_ITEMS
    village = ("activity", "problem", "my_reports") if user.role else ()
    home = ("area",) if user.role else ()
    return (*STAFF_ITEMS, *village, "language", *home, "my_data", "help")


def menu_message(user: UserView, env: Env, lang: str, *, paused: Form | None = None) -> Outgoing:
    t = env.i18n.t
    choices = [Choice(MENU_PREFIX + item, t(lang, f"menu.{item}")) for item in menu_items(user)]
    text = t(lang, "menu.prompt")
    if paused is not None:
        text = t(lang, "menu.paused", form=t(lang, f"{paused.key}.title")) + "\n" + text
        choices.insert(0, Choice(RESUME_CONTINUE, t(lang, "resume.continue")))
    return Outgoing(text, tuple(choices), "choice")


def addressed(name: str, lang: str, env: Env) -> str:
    """A person's name as the bot says it to them: in Thai with คุณ in front, unless the name
    starts with a title of its own (นาย, นางสาว, ปลัด, กำนัน, ดร. …)."""
    if not name or has_title(name):
        return name
    if name[0].isascii():  # "คุณ Somchai", with a space before a name in Latin letters
        return env.i18n.t(lang, "name.polite_latin", name=name)
    return env.i18n.t(lang, "name.polite", name=name)


def _menu(
    user: UserView,
    env: Env,
    lang: str,
    *,
    prefix: Sequence[str] = (),
    paused: tuple[Form, FormState] | None = None,
) -> Result:
    messages = [Outgoing(text) for text in prefix]
    if paused is not None:
        form, state = paused
        menu = menu_message(user, env, lang, paused=form)
        _remember_buttons(state, menu.choices)
        messages.append(menu)
        return Result(messages, [], state)
    messages.append(menu_message(user, env, lang))
    return Result(messages, [], None)


def after_submit(
    event: Submitted, reference: str | None, user: UserView, env: Env
) -> list[Outgoing]:
    """What to say once the caller has stored a submitted form (`reference` for reports)."""
    lang = str(event.answers.get("language") or user.language or env.default_language)
    t = env.i18n.t
    name = addressed(str(event.answers.get("name") or ""), lang, env)
    if event.action == "join":  # the caller adds what came of the invite code
        return [Outgoing(t(lang, "registration.done", name=name))]
    if event.action == "register":
        text = t(lang, "registration.done", name=name)
    elif event.action in ("activity_report", "problem_report"):
        text = t(lang, f"report.submitted.{event.form_id}", reference=reference or "")
    else:
        text = t(lang, "profile.updated")
    return [Outgoing(text), menu_message(user, env, lang)]


def render_my_reports(lines: Sequence[ReportLine], user: UserView, env: Env) -> list[Outgoing]:
    lang = user.language or env.default_language
    t = env.i18n.t
    if not lines:
        return [Outgoing(t(lang, "my_reports.none")), menu_message(user, env, lang)]
    rows = [t(lang, "my_reports.title", count=len(lines))]
    for line in lines:
        day = line.created_at.astimezone(env.tz).date()
        when = format_date(day, lang, short=True)
        rows.append(
            t(
                lang,
                "my_reports.line",
                reference=line.reference,
                date=when,
                title=line.title,
                status=t(lang, f"status.{line.status}"),
            )
        )
        if line.kind == vocab.PROBLEM:
            if line.note:
                rows.append(t(lang, "my_reports.note", note=line.note))
            rows.append(_next_step(line.status, lang, env))
    rows.append(t(lang, "my_reports.follow"))
    return [Outgoing("\n".join(rows)), menu_message(user, env, lang)]


def render_my_case(
    line: ReportLine | None, reference: str, user: UserView, env: Env
) -> list[Outgoing]:
    """One of the user's reports in full, as its reference number typed asks for: what it was,
    its status, the officer's latest note and what happens next (None: no report of theirs
    has that number)."""
    lang = user.language or env.default_language
    t = env.i18n.t
    if line is None:
        return [Outgoing(t(lang, "my_case.not_found", reference=reference)),
                menu_message(user, env, lang)]  # fmt: skip
    day = format_date(line.created_at.astimezone(env.tz).date(), lang)
    rows = [
        t(lang, "my_case.title", reference=line.reference, title=line.title, date=day),
        t(lang, "my_case.status", status=t(lang, f"status.{line.status}")),
    ]
    if line.note:
        rows.append(t(lang, "my_reports.note", note=line.note).strip())
    if line.kind == vocab.PROBLEM:  # a line of its own here, not under a list's bullet
        rows.append(_next_step(line.status, lang, env).strip())
    return [Outgoing("\n".join(rows)), menu_message(user, env, lang)]


def _next_step(status: str, lang: str, env: Env) -> str:
    """What happens next to a problem in `status`, as its reporter should read it."""
    return env.i18n.t(lang, f"my_case.next.{status}", button=env.i18n.t(lang, "feedback.not_fixed"))
