"""The router: commands that work at every step, the main menu, resuming a draft, form versions,
and what is said after a submit."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.lists import Lists
from handlers import router
from handlers.areas import AreaDirectory
from handlers.engine import (
    NAV_CANCEL,
    BroadcastCommand,
    CaseCommand,
    CaseFeedback,
    Env,
    FormState,
    ShowMyReports,
    StaffQuery,
    Submitted,
    UserView,
    input_limit,
)
from handlers.forms import ACTIVITY, FORMS
from handlers.i18n import Translator
from handlers.messages import Inbound, Outgoing
from handlers.router import (
    MENU_ITEMS,
    NO_FORM_LIMIT,
    RESUME_CONTINUE,
    RESUME_DISCARD,
    ReportLine,
)
from tests.support.conversation import (
    ACTIVITY_ANSWERS,
    NEWCOMER,
    NOW,
    REGISTERED,
    REGISTRATION_ANSWERS,
    Chat,
    make_env,
)

ENGLISH = replace(REGISTERED, language="en", display_name="John Smith")

# The activity form when the type is "other": every step it has, in order.
ACTIVITY_STEPS = [s.id for s in ACTIVITY.steps]
REGISTRATION_STEPS = [s.id for s in FORMS["registration"].steps]
OPTIONAL = {s.id for f in FORMS.values() for s in f.steps if s.optional}


def activity_at(chat: Chat, step: str) -> Outgoing:
    """Open the activity form (type "other") and answer up to `step`; the question asked."""
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS | {"activity_type": "อื่น ๆ"}, until=step)
    return chat.messages[-1]


def english_activity_at(chat: Chat, step: str) -> Outgoing:
    chat.user = ENGLISH
    chat.send("activity")
    chat.fill(
        {
            "activity_type": "Other",
            "activity_other": "Temple clean-up",
            "date": "today",
            "place": "At my village",
            "participants": "12",
            "sectors": "Government",
            "description": "Cleaned the temple grounds",
            "photos": "No photos",
        },
        until=step,
    )
    return chat.messages[-1]


def registration_at(chat: Chat, step: str) -> Outgoing:
    chat.user = NEWCOMER
    chat.send("สวัสดี")
    chat.fill(REGISTRATION_ANSWERS, until=step)
    return chat.messages[-1]


def menu_values(message: Outgoing) -> list[str]:
    return [c.value for c in message.choices]


# ------------------------------------------------------------------ commands at every step


@pytest.mark.parametrize("step", ACTIVITY_STEPS)
@pytest.mark.parametrize("word", ["ยกเลิก", "cancel", "/cancel", "ยกเลิกครับ", "tap"])
def test_cancel_at_every_step(chat: Chat, step: str, word: str) -> None:
    activity_at(chat, step)
    if word == "tap":
        chat.send(Inbound("choice", value=NAV_CANCEL))
    else:
        chat.send(word)
    assert chat.state is None
    assert chat.last.events == []
    assert chat.texts[0] == chat.t("form.cancelled")
    assert chat.texts[1] == chat.t("menu.prompt")


@pytest.mark.parametrize("step", REGISTRATION_STEPS)
def test_cancel_registration_at_every_step(chat: Chat, step: str) -> None:
    registration_at(chat, step)
    chat.send("ยกเลิก")
    assert chat.state is None
    assert chat.texts == [chat.t("form.cancelled_registration")]
    # The next message starts over.
    chat.send("สวัสดี")
    assert (chat.state is not None) and (chat.step == "language")


# Steps with a back button: not the first question, and the summary offers edits instead.
@pytest.mark.parametrize(
    ("step", "word"),
    [(step, word) for step in ACTIVITY_STEPS for word in ("ย้อนกลับ", "back")]
    + [(step, "tap") for step in ACTIVITY_STEPS[1:-1]],
)
def test_back_at_every_step(chat: Chat, step: str, word: str) -> None:
    activity_at(chat, step)
    answers = dict(chat.answers)
    if word == "tap":
        chat.tap_key("nav.back")
    else:
        chat.send(word)
    index = ACTIVITY_STEPS.index(step)
    if index == 0:
        assert chat.step == step
        assert chat.texts[0] == chat.t("nav.at_first_step")
    else:
        assert chat.step == ACTIVITY_STEPS[index - 1]
        assert chat.answers == answers  # nothing forgotten by going back


def test_back_then_forward_keeps_the_earlier_answer_shown(chat: Chat) -> None:
    activity_at(chat, "place")
    chat.send("ย้อนกลับ")
    assert chat.step == "date"
    assert chat.t("form.current_answer", answer="20 มีนาคม 2569") in chat.text


@pytest.mark.parametrize("step", ACTIVITY_STEPS)
@pytest.mark.parametrize("word", ["ข้าม", "skip"])
def test_skip_only_where_optional(chat: Chat, step: str, word: str) -> None:
    activity_at(chat, step)
    chat.send(word)
    if step in OPTIONAL:
        assert chat.step == ACTIVITY_STEPS[ACTIVITY_STEPS.index(step) + 1]
        assert chat.answers[step] == []
    else:
        assert chat.step == step
        assert step not in chat.answers
        assert chat.texts[0] == chat.t("nav.cannot_skip")
        assert len(chat.messages) == 2


@pytest.mark.parametrize("step", ACTIVITY_STEPS)
@pytest.mark.parametrize("word", ["เมนู", "menu"])
def test_menu_pauses_the_form(chat: Chat, step: str, word: str) -> None:
    asked = activity_at(chat, step)
    answers = dict(chat.answers)
    chat.send(word)
    assert chat.step == step
    assert chat.answers == answers
    menu = chat.messages[-1]
    title = chat.t("form.activity.title")
    assert menu.text == chat.t("menu.paused", form=title) + "\n" + chat.t("menu.prompt")
    assert menu_values(menu) == [RESUME_CONTINUE, *(f"menu:{item}" for item in MENU_ITEMS)]
    chat.tap_key("resume.continue")
    assert chat.step == step
    assert chat.messages == [asked]


@pytest.mark.parametrize("step", ACTIVITY_STEPS)
@pytest.mark.parametrize("word", ["ช่วยเหลือ", "help"])
def test_help_explains_and_asks_again(chat: Chat, step: str, word: str) -> None:
    asked = activity_at(chat, step)
    answers = dict(chat.answers)
    chat.send(word)
    assert chat.step == step
    assert chat.answers == answers
    assert chat.messages == [Outgoing(chat.t("help.text")), asked]


@pytest.mark.parametrize("step", ["activity_type", "date", "participants", "photos", "confirm"])
def test_commands_in_english(chat: Chat, step: str) -> None:
    asked = english_activity_at(chat, step)
    assert chat.lang == "en"
    chat.send("help")
    assert chat.messages == [Outgoing(chat.env.i18n.t("en", "help.text")), asked]
    chat.send("menu")
    continue_button = chat.messages[-1].choices[0]
    assert continue_button.value == RESUME_CONTINUE
    assert continue_button.label == chat.env.i18n.t("en", "resume.continue")
    chat.send("cancel")
    assert chat.state is None
    assert chat.texts[0] == chat.env.i18n.t("en", "form.cancelled")


def test_english_activity_to_the_end(chat: Chat) -> None:
    english_activity_at(chat, "confirm")
    assert chat.messages[-1].text.startswith(chat.env.i18n.t("en", "form.activity.confirm.prompt"))
    chat.send("submit")
    event = chat.last.events[0]
    assert isinstance(event, Submitted)
    assert event.answers["activity_other"] == "Temple clean-up"
    assert event.answers["sectors"] == ["government"]
    assert event.answers["place"] == {"registered_village": True}


# Words typed with the keyboard in the English layout: what each key would have been in Thai.
WRONG_LAYOUT = {
    "ยกเลิก": "pdg]bd",
    "เมนู": "g,o^",
    "ช่วยเหลือ": "=j;pgs]nv",
    "ย้อนกลับ": "phvod]y[",
    "ข้าม": "-hk,",
    "เสร็จ": "gliH0",
    "แจ้งปัญหา": "c0h'xyPsk",
}


def test_wrong_layout_words_are_what_they_look_like() -> None:
    from handlers.thai import fix_keyboard_layout

    for thai, typed in WRONG_LAYOUT.items():
        assert fix_keyboard_layout(typed) == thai


def test_wrong_layout_cancel(chat: Chat) -> None:
    activity_at(chat, "participants")
    chat.send(WRONG_LAYOUT["ยกเลิก"])
    assert chat.state is None
    assert chat.texts[0] == chat.t("form.cancelled")


def test_wrong_layout_menu_and_help(chat: Chat) -> None:
    asked = activity_at(chat, "description")
    chat.send(WRONG_LAYOUT["ช่วยเหลือ"])
    assert chat.messages == [Outgoing(chat.t("help.text")), asked]
    chat.send(WRONG_LAYOUT["เมนู"])
    assert chat.step == "description"
    assert menu_values(chat.messages[-1])[0] == RESUME_CONTINUE


def test_wrong_layout_back_skip_and_done(chat: Chat) -> None:
    activity_at(chat, "participants")
    chat.send(WRONG_LAYOUT["ย้อนกลับ"])
    assert chat.step == "place"
    chat.send("ที่หมู่บ้านของฉัน", "12", WRONG_LAYOUT["ข้าม"])
    assert chat.step == "description"
    assert chat.answers["sectors"] == []
    chat.send("อบรมการทำปุ๋ยหมัก")
    chat.send(WRONG_LAYOUT["เสร็จ"])  # done with no photo: photos are optional
    assert chat.step == "confirm"
    assert chat.answers["photos"] == []


def test_wrong_layout_menu_item(chat: Chat) -> None:
    chat.send(WRONG_LAYOUT["แจ้งปัญหา"])
    assert chat.state is not None and chat.state.form_id == "problem"


def test_wrong_layout_cancel_with_nothing_open(chat: Chat) -> None:
    chat.send(WRONG_LAYOUT["ยกเลิก"])
    assert chat.texts[0] == chat.t("form.nothing_to_cancel")


def test_unsupported_input_in_a_form(chat: Chat) -> None:
    asked = activity_at(chat, "description")
    chat.send(Inbound("unsupported"))
    assert chat.messages == [Outgoing(chat.t("input.unsupported")), asked]


# ------------------------------------------------------------------ resuming a draft


def draft(chat: Chat, age: dt.timedelta) -> FormState:
    activity_at(chat, "participants")
    assert chat.state is not None
    return replace(chat.state, updated_at=NOW - age)


def test_an_old_draft_asks_continue_or_discard_first(chat: Chat) -> None:
    chat.state = draft(chat, dt.timedelta(hours=13))
    answers = dict(chat.answers)
    chat.send("12")
    assert chat.step == "participants"
    assert chat.answers == answers  # the "12" answered nothing yet
    (question,) = chat.messages
    # 13 hours before 10:00 on 20 March in Bangkok is the evening of 19 March.
    assert question.text == chat.t(
        "form.pending", form=chat.t("form.activity.title"), since="19 มีนาคม 2569"
    )
    assert menu_values(question) == [RESUME_CONTINUE, RESUME_DISCARD]


def test_continue_asks_the_same_step_again(chat: Chat) -> None:
    chat.state = draft(chat, dt.timedelta(days=3))
    asked = chat.messages[-1]
    chat.send(Inbound("start"))  # the chat opened again: nothing typed to keep
    chat.tap_key("resume.continue")
    assert chat.messages == [asked]
    chat.send("12")
    assert chat.step == "sectors"
    assert chat.answers["participants"] == 12


@pytest.mark.parametrize("typed", ["ทิ้ง", "ไม่ทำต่อ", "discard", "Throw away"])
def test_discard_typed_at_the_resume_question_discards_the_draft(chat: Chat, typed: str) -> None:
    chat.state = draft(chat, dt.timedelta(days=3))
    chat.send("12")  # stale: the resume question
    chat.send(typed)
    assert chat.state is None
    assert chat.texts[0] == chat.t("form.cancelled")


@pytest.mark.parametrize("typed", ["เริ่มใหม่", "เอาใหม่ค่ะ", "start over", "Start again"])
def test_start_over_typed_at_the_resume_question_starts_the_form_again(
    chat: Chat, typed: str
) -> None:
    chat.state = draft(chat, dt.timedelta(days=3))
    chat.send("12")  # stale: the resume question
    chat.send(typed)
    assert chat.texts[0] == chat.t("form.restarted")
    assert chat.state is not None and chat.state.form_id == "activity"
    assert chat.step == "activity_type" and chat.answers == {}


def test_start_over_where_another_item_was_asked_for_goes_to_it(chat: Chat) -> None:
    chat.send("แจ้งปัญหา", "น้ำท่วม", "เมนู", "รายงานกิจกรรม")
    assert chat.labels[1] == chat.t("resume.discard_then", item=chat.t("menu.activity"))
    chat.send("เริ่มใหม่")
    assert chat.state is not None and chat.state.form_id == "activity" and chat.answers == {}


@pytest.mark.parametrize("typed", ["ต่อ", "ไปต่อ", "go on", "resume"])
def test_continue_typed_otherwise_at_the_resume_question(chat: Chat, typed: str) -> None:
    chat.state = draft(chat, dt.timedelta(days=3))
    chat.send("12")
    chat.send(typed)  # continues with the "12" kept
    assert chat.step == "sectors" and chat.answers["participants"] == 12


def test_a_number_at_the_resume_question_answers_nothing_behind_it(chat: Chat) -> None:
    """ "3" typed at "continue or start over?" (two buttons) is refused and the question asked
    again: it never answers the step the person cannot see (the trial of issue 9)."""
    chat.state = draft(chat, dt.timedelta(days=3))
    answers = dict(chat.answers)
    chat.send("12")  # stale: the question is asked, the "12" answers nothing
    chat.send("3")
    assert chat.step == "participants" and chat.answers == answers
    assert chat.texts[0] == chat.t("error.choice")
    assert menu_values(chat.messages[-1]) == [RESUME_CONTINUE, RESUME_DISCARD]
    chat.tap_key("resume.continue")
    chat.send("12")
    assert chat.answers["participants"] == 12


def test_continue_typed(chat: Chat) -> None:
    chat.state = draft(chat, dt.timedelta(days=3))
    chat.send("สวัสดี", "ทำต่อ")  # a greeting, not an answer: the question asked again
    assert chat.step == "participants"
    assert chat.texts == [chat.t("form.activity.participants.prompt")]


def test_discard_clears_the_draft(chat: Chat) -> None:
    chat.state = draft(chat, dt.timedelta(days=3))
    chat.send("สวัสดี")
    chat.tap_key("resume.discard")
    assert chat.state is None
    assert chat.texts == [chat.t("form.cancelled"), chat.t("menu.prompt")]


def test_a_recent_draft_just_continues(chat: Chat) -> None:
    chat.state = draft(chat, dt.timedelta(hours=1))
    chat.send("12")
    assert chat.step == "sectors"


def test_start_with_a_draft_asks(chat: Chat) -> None:
    chat.state = draft(chat, dt.timedelta(minutes=5))
    chat.send(Inbound("start"))
    assert chat.step == "participants"
    assert menu_values(chat.messages[-1]) == [RESUME_CONTINUE, RESUME_DISCARD]


def test_resume_question_in_english(chat: Chat) -> None:
    english_activity_at(chat, "participants")
    assert chat.state is not None
    chat.state = replace(chat.state, updated_at=NOW - dt.timedelta(days=1))
    chat.send("12")
    assert chat.texts == [
        chat.env.i18n.t(
            "en", "form.pending", form=chat.t("form.activity.title"), since="19 Mar 2026"
        )
    ]


def test_router_does_not_change_the_state_it_was_given(chat: Chat) -> None:
    stored = draft(chat, dt.timedelta(days=3))
    before = replace(stored, answers=dict(stored.answers), context=dict(stored.context))
    router.handle(chat.user, stored, Inbound("text", "12"), chat.env)
    router.handle(chat.user, stored, Inbound("text", "เมนู"), chat.env)
    assert stored == before
    # The same stored draft read again asks again.
    result = router.handle(chat.user, stored, Inbound("text", "12"), chat.env)
    assert result.state is not None and result.state.step_id == "participants"
    assert [c.value for c in result.messages[-1].choices] == [RESUME_CONTINUE, RESUME_DISCARD]


def test_a_menu_item_while_a_form_is_open(chat: Chat) -> None:
    asked = activity_at(chat, "participants")
    chat.send("เมนู")
    chat.tap_key("menu.problem")
    assert chat.state is not None and chat.state.form_id == "activity"
    assert chat.texts == [
        chat.t("form.pending_other", form=chat.t("form.activity.title"), since="20 มีนาคม 2569")
    ]
    chat.send("เมนู")
    chat.tap_key("menu.activity")  # the open form itself: carry on with it
    assert chat.messages == [asked]


# ------------------------------------------------------------------ form versions


def test_older_version_resumes_when_its_step_still_exists(chat: Chat) -> None:
    activity_at(chat, "participants")
    assert chat.state is not None
    history = [*chat.state.context["history"], "budget"]
    chat.state = replace(
        chat.state,
        form_version=ACTIVITY.version - 1,
        answers={**chat.answers, "budget": 5000},
        context={**chat.state.context, "history": history},
    )
    chat.send("12")
    assert chat.state is not None
    assert chat.state.form_version == ACTIVITY.version
    assert chat.step == "sectors"
    assert "budget" not in chat.answers
    assert "budget" not in chat.state.context["history"]
    assert chat.answers["activity_type"] == "other"


def test_newer_version_without_the_step_starts_over(
    i18n: Translator, lists: Lists, areas: AreaDirectory
) -> None:
    changed = replace(
        ACTIVITY,
        version=ACTIVITY.version + 1,
        steps=tuple(s for s in ACTIVITY.steps if s.id != "participants"),
    )
    env = make_env(i18n, lists, areas, forms={**FORMS, "activity": changed})
    state = FormState(
        "activity",
        ACTIVITY.version,
        "participants",
        {"activity_type": "training", "date": "2026-03-20"},
        {"history": ["activity_type", "date", "place"]},
        NOW,
    )
    chat = Chat(env, REGISTERED, state)
    chat.send("12")
    assert chat.state is not None
    assert chat.state.form_version == changed.version
    assert chat.step == "activity_type"
    assert chat.answers == {}
    assert chat.texts[0] == chat.t("form.restarted_new_version")
    assert chat.texts[1] == chat.t("form.activity.type.prompt")


def test_a_form_that_no_longer_exists(chat: Chat) -> None:
    chat.state = FormState("survey", 1, "q1", {}, {"history": []}, NOW)
    chat.send("สวัสดี")
    assert chat.state is None
    assert chat.texts == [chat.t("form.gone"), chat.t("menu.prompt")]


# ------------------------------------------------------------------ channel limits in the router


def test_menu_fits_and_values_are_short(chat: Chat, env: Env) -> None:
    activity_at(chat, "date")
    for command in ("เมนู", "ทำต่อ"):
        chat.send(command)
        for message in chat.messages:
            assert len(message.choices) <= env.page_size
            assert all(len(c.value.encode()) <= 64 for c in message.choices)


# ------------------------------------------------------------------ no form open


def test_unregistered_user_is_always_registering(newcomer: Chat) -> None:
    for text in ("เมนู", "แจ้งปัญหา", "รายงานของฉัน"):
        newcomer.state = None
        newcomer.send(text)
        assert newcomer.state is not None and newcomer.state.form_id == "registration"
        assert newcomer.last.events == []


def test_unregistered_user_menu_during_registration(newcomer: Chat) -> None:
    registration_at(newcomer, "name")
    newcomer.send("เมนู")
    assert newcomer.step == "name"
    # The members' menu would only lead back here: say so, and ask the same question again.
    assert newcomer.texts[0] == newcomer.t("menu.register_first")
    assert newcomer.texts[-1].startswith(newcomer.t("form.registration.name.prompt"))
    assert not any(v.startswith("menu:") for v in newcomer.values)


@pytest.mark.parametrize(
    ("typed", "form_id"),
    [
        ("แจ้งปัญหา", "problem"),
        ("ปัญหา", "problem"),
        ("2", "problem"),
        ("๒", "problem"),
        ("problem", "problem"),
        ("activity", "activity"),
        ("Activity", "activity"),
        ("1", "activity"),
        ("รายงานกิจกรรม", "activity"),
        ("/activity", "activity"),
        ("เปลี่ยนภาษา", "language"),
        ("4", "language"),
        ("เปลี่ยนหมู่บ้าน", "area"),
        ("5", "area"),
    ],
)
def test_menu_items_typed(chat: Chat, typed: str, form_id: str) -> None:
    chat.send(typed)
    assert chat.state is not None
    assert chat.state.form_id == form_id
    form = FORMS[form_id]
    assert chat.step == form.steps[0].id
    first = form.steps[0]
    expected = "area.province.prompt" if first.type == "area" else f"{first.key}.prompt"
    # (changing the area also offers to change only the หมู่: below)
    assert chat.messages[-1].text.split("\n")[0] == chat.t(expected)


@pytest.mark.parametrize("item", ["activity", "problem", "language", "area"])
def test_menu_items_tapped(chat: Chat, item: str) -> None:
    chat.send("เมนู")
    chat.tap_key(f"menu.{item}")
    assert chat.state is not None and chat.state.form_id == router.MENU_FORMS[item]


@pytest.mark.parametrize("typed", ["รายงานของฉัน", "3", "my reports", "tap"])
def test_my_reports_is_an_event(chat: Chat, typed: str) -> None:
    if typed == "tap":
        chat.send("เมนู")
        chat.tap_key("menu.my_reports")
    else:
        chat.send(typed)
    assert chat.last.events == [ShowMyReports()]
    assert chat.messages == []
    assert chat.state is None


def test_unknown_text_shows_the_menu(chat: Chat) -> None:
    chat.send("ฝนตกหนักมากเลยวันนี้")
    assert chat.state is None
    assert chat.texts == [chat.t("menu.unknown"), chat.t("menu.prompt")]
    menu = chat.messages[-1]
    assert menu_values(menu) == [f"menu:{item}" for item in MENU_ITEMS]
    assert [c.label for c in menu.choices] == [chat.t(f"menu.{item}") for item in MENU_ITEMS]


@pytest.mark.parametrize(
    ("inbound", "first"),
    [
        (Inbound("text", "เมนู"), None),
        (Inbound("text", "menu"), None),
        (Inbound("text", "ยกเลิก"), "form.nothing_to_cancel"),
        (Inbound("text", "ช่วยเหลือ"), "help.text"),
        (Inbound("text", "help"), "help.text"),
        (Inbound("choice", value="menu:help"), "help.text"),
        (Inbound("unsupported"), "input.unsupported"),
        (Inbound("photo"), "menu.unknown"),
    ],
)
def test_registered_user_without_a_form(chat: Chat, inbound: Inbound, first: str | None) -> None:
    chat.send(inbound)
    assert chat.state is None
    expected = [chat.t("menu.prompt")] if first is None else [chat.t(first), chat.t("menu.prompt")]
    assert chat.texts == expected


def test_start_greets_a_registered_user(chat: Chat) -> None:
    chat.send(Inbound("start"))
    assert chat.texts == [chat.t("welcome.back", name="คุณสมชาย ใจดี"), chat.t("menu.prompt")]


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("สมชาย ใจดี", "คุณสมชาย ใจดี"),
        ("นายสมศักดิ์ ใจดี", "นายสมศักดิ์ ใจดี"),  # not "คุณนายสมศักดิ์" (Madam Somsak)
        ("นางสาวสมศรี", "นางสาวสมศรี"),
        ("ปลัดวิชัย", "ปลัดวิชัย"),
        ("ผู้ใหญ่ทองดี", "ผู้ใหญ่ทองดี"),
        ("กำนันบุญมี", "กำนันบุญมี"),
        ("ดร.สมชาย", "ดร.สมชาย"),
        ("ตา เติม", "ตา เติม"),
        ("ตาเติม", "คุณตาเติม"),  # ตา only as a title with a space after it
        ("นายิกา", "คุณนายิกา"),  # a name of its own that starts like นาย
        ("คุณากร ใจดี", "คุณคุณากร ใจดี"),  # a name that starts like คุณ
        ("พระมหาสมชาย", "พระมหาสมชาย"),
    ],
)
def test_a_name_with_a_title_is_not_given_khun(env: Env, name: str, said: str) -> None:
    user = replace(REGISTERED, display_name=name)
    chat = Chat(env, user)
    chat.send(Inbound("start"))
    assert chat.texts[0] == env.i18n.t("th", "welcome.back", name=said)
    english = Chat(env, replace(user, language="en"))
    english.send(Inbound("start"))
    assert english.texts[0] == env.i18n.t("en", "welcome.back", name=name)  # no คุณ in English


def test_menu_in_english(env: Env) -> None:
    chat = Chat(env, ENGLISH)
    chat.send("menu")
    assert chat.messages[-1].choices[0].label == env.i18n.t("en", "menu.activity")


def test_change_language_form(chat: Chat) -> None:
    chat.send("เปลี่ยนภาษา")
    chat.tap("English")
    (event,) = chat.last.events
    assert isinstance(event, Submitted)
    assert (event.action, event.answers) == ("update_profile", {"language": "en"})
    assert chat.state is None


def test_change_area_form(chat: Chat) -> None:
    chat.send("เปลี่ยนพื้นที่", "แม่ริม", "ริมใต้", "ม.1")
    assert chat.step == "confirm"
    chat.send("ยืนยัน")
    (event,) = chat.last.events
    assert isinstance(event, Submitted)
    assert event.action == "update_profile"
    assert event.answers == {
        "area": {
            "province_code": "50",
            "district_code": "5007",
            "subdistrict_code": "500701",
            "village_no": 1,
        }
    }


# ------------------------------------------------------------------ after a submit


def _event(form_id: str, answers: dict[str, object]) -> Submitted:
    form = FORMS[form_id]
    return Submitted(form.id, form.version, form.submit, dict(answers))


def test_after_registration(env: Env) -> None:
    event = _event("registration", {"language": "en", "name": "John Smith"})
    out = router.after_submit(event, None, NEWCOMER, env)
    assert out[0].text == env.i18n.t("en", "registration.done", name="John Smith")
    assert out[1] == router.menu_message(NEWCOMER, env, "en")


@pytest.mark.parametrize(("name", "said"), [("สมศรี", "คุณสมศรี"), ("นายสมศักดิ์", "นายสมศักดิ์")])
def test_after_registration_in_thai_the_title_stands_for_khun(
    env: Env, name: str, said: str
) -> None:
    event = _event("registration", {"language": "th", "name": name})
    out = router.after_submit(event, None, NEWCOMER, env)
    assert out[0].text == env.i18n.t("th", "registration.done", name=said)


@pytest.mark.parametrize("form_id", ["activity", "problem"])
def test_after_a_report_the_reference_is_given(env: Env, form_id: str) -> None:
    out = router.after_submit(_event(form_id, {}), "PRB-2569-000123", REGISTERED, env)
    assert out[0].text == env.i18n.t(
        "th", f"report.submitted.{form_id}", reference="PRB-2569-000123"
    )
    assert "PRB-2569-000123" in out[0].text
    assert menu_values(out[1]) == [f"menu:{item}" for item in MENU_ITEMS]


def test_after_a_profile_change(env: Env) -> None:
    out = router.after_submit(_event("language", {"language": "en"}), None, REGISTERED, env)
    assert out[0].text == env.i18n.t("en", "profile.updated")


def test_my_reports_none(env: Env) -> None:
    out = router.render_my_reports([], REGISTERED, env)
    assert [m.text for m in out] == [
        env.i18n.t("th", "my_reports.none"),
        env.i18n.t("th", "menu.prompt"),
    ]


def test_my_reports_lines(env: Env) -> None:
    lines = [
        ReportLine(
            "ACT-2569-000007",
            "activity",
            "submitted",
            dt.datetime(2026, 3, 18, 18, 0, tzinfo=dt.UTC),
            "อบรม",
        ),
        ReportLine(
            "PRB-2569-000002",
            "problem",
            "in_progress",
            dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC),
            "น้ำท่วม",
        ),
    ]
    text = router.render_my_reports(lines, REGISTERED, env)[0].text
    rows = text.split("\n")
    assert rows[0] == env.i18n.t("th", "my_reports.title", count=2)
    # 18:00 UTC on 18 March is 19 March in Bangkok.
    assert rows[1] == env.i18n.t(
        "th",
        "my_reports.line",
        reference="ACT-2569-000007",
        date="19 มี.ค. 69",
        title="อบรม",
        status=env.i18n.t("th", "status.submitted"),
    )
    assert "PRB-2569-000002" in rows[2] and env.i18n.t("th", "status.in_progress") in rows[2]


def test_my_reports_in_english(env: Env) -> None:
    line = ReportLine(
        "PRB-2569-000002",
        "problem",
        "resolved",
        dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC),
        "Flood",
    )
    text = router.render_my_reports([line], ENGLISH, env)[0].text
    assert "01 Mar 2026" in text
    assert env.i18n.t("en", "status.resolved") in text


def test_user_view_of_the_fixtures() -> None:
    assert REGISTERED.has_village
    assert not UserView(registered=True, subdistrict_code="500101").has_village
    assert not REGISTERED.is_staff
    assert replace(REGISTERED, staff=(("officer", "5002"),)).is_staff


def test_the_menu_of_staff_with_and_without_a_village() -> None:
    """A staff role adds case work to the menu and takes nothing of the home village away: a
    village head who is an officer elsewhere still reports, and still moves their village."""
    head = replace(REGISTERED, staff=(("officer", "5002"), ("coordinator", "51")))
    assert router.menu_items(head) == (
        *router.STAFF_ITEMS, "activity", "problem", "my_reports", "language", "area", "my_data",
        "help",
    )  # fmt: skip
    officer = UserView(registered=True, language="th", staff=(("officer", "5001"),))
    assert router.menu_items(officer) == (*router.STAFF_ITEMS, "language", "my_data", "help")
    assert router.menu_items(REGISTERED) == MENU_ITEMS


def test_discarding_a_registration_draft_does_not_show_the_members_menu(newcomer: Chat) -> None:
    newcomer.send("สวัสดี", "ภาษาไทย")
    assert newcomer.state is not None
    newcomer.send(Inbound("choice", value=RESUME_DISCARD))
    assert newcomer.state is None
    assert newcomer.texts == [newcomer.t("form.cancelled_registration")]


def test_discard_then_start_what_was_chosen_from_the_menu(chat: Chat) -> None:
    chat.send("แจ้งปัญหา", "น้ำท่วม", "เมนู")
    chat.tap(chat.t("menu.activity"))
    discard = chat.t("resume.discard_then", item=chat.t("menu.activity"))
    assert discard in chat.labels
    chat.tap(discard)
    assert chat.state is not None and chat.state.form_id == "activity"
    assert chat.texts[0] == chat.t("form.cancelled")


# ------------------------------------------------------------------ hostile input (issue 9)


@pytest.mark.parametrize("step", ACTIVITY_STEPS)
def test_text_too_long_for_the_step_is_refused_unread(chat: Chat, step: str) -> None:
    asked = activity_at(chat, step)
    before = chat.state
    form_step = ACTIVITY.step(step)
    assert form_step is not None
    limit = input_limit(form_step)
    # A command word in front: the text is refused before anything looks for commands.
    chat.send("ยกเลิก" + " ก" * limit)
    assert chat.texts == [chat.t("error.too_long", limit=f"{limit:,}"), asked.text]
    assert chat.messages[-1] == asked
    assert chat.state == before and not chat.last.events


@pytest.mark.parametrize("step", REGISTRATION_STEPS)
def test_text_too_long_while_registering(chat: Chat, step: str) -> None:
    asked = registration_at(chat, step)
    before = chat.state
    form_step = FORMS["registration"].step(step)
    assert form_step is not None
    chat.send("x" * 501)
    assert chat.texts[0] == chat.t("error.too_long", limit=f"{input_limit(form_step):,}")
    assert chat.messages[-1] == asked
    assert chat.state == before


def test_text_too_long_in_english(chat: Chat) -> None:
    english_activity_at(chat, "participants")
    chat.send("1" * 201)
    assert chat.texts[0] == "That is too long (at most 200 characters). Please write it shorter."


def test_text_too_long_in_thai(chat: Chat) -> None:
    activity_at(chat, "participants")
    chat.send("๑" * 201)
    assert chat.texts[0] == "ข้อความยาวเกินไป (ไม่เกิน 200 ตัวอักษร) กรุณาพิมพ์ให้สั้นลง"


def test_text_too_long_with_no_form_open(chat: Chat) -> None:
    chat.send("เมนู" + "นะครับ" * 40)
    assert chat.texts[0] == chat.t("error.too_long", limit=f"{NO_FORM_LIMIT:,}")
    assert menu_values(chat.messages[-1])[0] == "menu:activity"
    assert chat.state is None and not chat.last.events
    chat.send("เมนู" + " " * 300)  # spaces around a word do not count
    assert chat.texts[0] == chat.t("menu.prompt")


def test_text_too_long_from_someone_not_registered(newcomer: Chat) -> None:
    newcomer.send("สวัสดี" * 50)
    assert newcomer.texts == [newcomer.t("error.too_long", limit="200")]
    assert newcomer.state is None
    newcomer.send("สวัสดี")
    assert newcomer.step == "language"


@pytest.mark.parametrize(
    "value",
    [
        "case:²:ack",
        "case:٣:show",
        "case:2147483648:ack",
        "case:99999999999999999999:resolve",
        "case:-1:ack",
        "case::ack",
        "case:1:explode",
        "feedback:³:yes",
        "feedback:2147483648:no",
        "feedback:1:9",
        "bcast:²:send",
        "bcast:12345678901:cancel",
        "bcast:1:launch",
        "cases:page:²",
        "cases:page:10001",
        "cases:page:",
        "case:" + "9" * 5000 + ":ack",
    ],
)
def test_a_push_button_that_is_not_valid_is_answered_kindly(chat: Chat, value: str) -> None:
    chat.send(Inbound("choice", value=value))
    assert chat.texts[0] == chat.t("button.invalid")
    assert menu_values(chat.messages[-1])[0] == "menu:activity"
    assert chat.state is None and not chat.last.events


def test_a_push_button_that_is_not_valid_inside_a_form(chat: Chat) -> None:
    asked = activity_at(chat, "participants")
    before = chat.state
    chat.send(Inbound("choice", value="case:²:ack"))
    assert chat.texts == [chat.t("button.invalid"), asked.text]
    assert chat.state == before and not chat.last.events


@pytest.mark.parametrize(
    ("value", "event"),
    [
        ("case:2147483647:ack", CaseCommand(2_147_483_647, "ack")),
        ("case:0012:show", CaseCommand(12, "show")),
        ("feedback:5:yes", CaseFeedback(5, fixed=True)),
        ("feedback:5:4", CaseFeedback(5, stars=4)),
        ("bcast:7:send", BroadcastCommand(7, "send")),
        ("cases:page:10000", StaffQuery("cases", page=10_000)),
    ],
)
def test_push_buttons_in_range(chat: Chat, value: str, event: object) -> None:
    chat.user = replace(REGISTERED, staff=(("officer", "5001"),))
    chat.send(Inbound("choice", value=value))
    assert chat.last.events == [event]


OFFICER = UserView(registered=True, language="th", display_name="ปลัดสม",
                   staff=(("officer", "5001"),))  # fmt: skip


@pytest.mark.parametrize(
    ("user", "typed", "event"),
    [
        # A number is read against the menu this person was shown: case work comes first.
        (OFFICER, "1", StaffQuery("cases")),
        (OFFICER, "๒", StaffQuery("summary")),
        (replace(REGISTERED, staff=(("officer", "5001"),)), "1", StaffQuery("cases")),
        # Labels typed, with typos, in either language; other words of the item.
        (OFFICER, "เรื่องที่รอดำเนินการ", StaffQuery("cases")),
        (OFFICER, "สรปภาพรวม", StaffQuery("summary")),
        (OFFICER, "ความครบถ้วนรายงาน", StaffQuery("completeness")),
        (OFFICER, "Open cases", StaffQuery("cases")),
        (OFFICER, "Reporting check", StaffQuery("completeness")),
        # A case button's label: with a reference it acts, without one it asks which.
        (OFFICER, "รับเรื่อง", StaffQuery("cases", action="ack")),
        (OFFICER, "รับเรื่อง PRB-2569-000123", StaffQuery("case", reference="PRB-2569-000123",
                                                          action="ack")),
        (OFFICER, "prb-2569-000123 เสร็จสิ้นครับ", StaffQuery("case", reference="PRB-2569-000123",
                                                             action="resolve")),
        (OFFICER, "PRB-2569-000123", StaffQuery("case", reference="PRB-2569-000123")),
    ],
)  # fmt: skip
def test_staff_type_their_menu(env: Env, user: UserView, typed: str, event: StaffQuery) -> None:
    chat = Chat(env, user)
    chat.send(typed)
    assert chat.last.events == [event]


def test_a_staff_member_without_a_village_gets_no_village_form_by_number(env: Env) -> None:
    chat = Chat(env, OFFICER)
    chat.send("3")  # recent activities, third in the staff menu; never "report a problem"
    assert chat.last.events == [StaffQuery("activities")] and chat.state is None
    chat.send("รายงานกิจกรรม")  # not in their menu
    assert chat.state is None and chat.last.events == []
    assert chat.t("menu.unknown") in chat.texts


def test_villagers_case_words_are_not_case_work(chat: Chat) -> None:
    chat.send("รับเรื่อง")
    assert chat.last.events == [] and chat.t("menu.unknown") in chat.texts


def test_a_number_at_the_menu_over_a_paused_form_picks_from_that_menu(chat: Chat) -> None:
    """The menu shown over a paused form starts with "continue": 1 continues, 3 is the problem
    report (asking first about the draft); a number past the end is refused, and never
    answers the step behind the menu."""
    chat.send("รายงานกิจกรรม", "เมนู")
    assert chat.labels[0] == chat.t("resume.continue")
    chat.send("1")
    assert chat.step == "activity_type" and chat.answers == {}
    chat.send("เมนู", "3")
    assert chat.labels == [chat.t("resume.continue"),
                           chat.t("resume.discard_then", item=chat.t("menu.problem"))]  # fmt: skip
    chat.send("1")
    chat.send("เมนู", "40")
    assert chat.t("error.choice") in chat.texts and chat.answers == {}
    assert chat.step == "activity_type"


def test_a_location_sent_to_an_old_draft_is_kept_for_continue(chat: Chat) -> None:
    activity_at(chat, "place")
    assert chat.state is not None
    chat.state = replace(chat.state, updated_at=NOW - dt.timedelta(days=2))
    chat.send(Inbound("location", latitude=18.79, longitude=98.95))
    assert chat.texts[0].startswith(chat.t("form.pending", form=chat.t("form.activity.title"),
                                           since="18 มีนาคม 2569")[:10])  # fmt: skip
    chat.tap_key("resume.continue")
    assert chat.step != "place"
    assert chat.answers["place"] == {"lat": 18.79, "lon": 98.95}


def test_change_area_from_the_menu_can_change_only_the_village(chat: Chat) -> None:
    """A villager who moved หมู่ (or gave the wrong one) types ม.5 at "change area": the
    subdistrict held now stays."""
    chat.send("เปลี่ยนพื้นที่")
    assert chat.labels[0] == chat.t("area.only_village", subdistrict="ศรีภูมิ")
    assert "ม.3 ต.ศรีภูมิ" in chat.text
    chat.send("ม.5", "ยืนยัน")
    (submitted,) = chat.last.events
    assert isinstance(submitted, Submitted)
    assert submitted.answers["area"] == {"province_code": "50", "district_code": "5001",
                                         "subdistrict_code": "500101", "village_no": 5}  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "event"),
    [
        ("แก้ไขแล้วค่ะ", CaseFeedback(0, fixed=True)),
        ("Yes, fixed", CaseFeedback(0, fixed=True)),
        ("ยังไม่ได้แก้", CaseFeedback(0, fixed=False)),
        ("5 ดาว", CaseFeedback(0, stars=5)),
        ("ให้ ๔ ดาวค่ะ", CaseFeedback(0, stars=4)),
        ("⭐⭐⭐", CaseFeedback(0, stars=3)),
        ("3 stars", CaseFeedback(0, stars=3)),
    ],
)
def test_a_reporter_types_a_notices_buttons(chat: Chat, typed: str, event: CaseFeedback) -> None:
    chat.send(typed)
    assert chat.last.events == [event]


@pytest.mark.parametrize("typed", ["5", "no", "ดาว", "6 ดาว"])
def test_what_is_not_feedback(chat: Chat, typed: str) -> None:
    chat.send(typed)
    assert not any(isinstance(e, CaseFeedback) for e in chat.last.events)


def test_a_latin_name_is_addressed_with_a_space(env: Env) -> None:
    assert router.addressed("Somchai Jaidee", "th", env) == "คุณ Somchai Jaidee"
    assert router.addressed("สมชาย", "th", env) == "คุณสมชาย"
    assert router.addressed("Somchai", "en", env) == "Somchai"


def test_resume_question_off_when_its_hours_are_zero(chat: Chat) -> None:
    chat.env = replace(chat.env, resume_after=dt.timedelta(0))
    chat.state = draft(chat, dt.timedelta(days=3))
    chat.send("12")
    assert chat.answers["participants"] == 12


@pytest.mark.parametrize(
    "typed", ["PRB-2569-000001", "PRB 2569 000001", "prb-2569-1", "เรื่อง PRB2569000001 ค่ะ",
              "PRB-๒๕๖๙-๐๐๐๐๐๑"],
)  # fmt: skip
def test_a_reference_as_people_type_it(chat: Chat, typed: str) -> None:
    chat.send(typed)
    assert chat.last.events == [ShowMyReports(reference="PRB-2569-000001")]


def test_an_answer_typed_to_an_old_draft_is_kept_for_continue(chat: Chat) -> None:
    """ "12" typed a day later at "how many took part?" is asked about first (continue or
    discard?), and "continue" answers the step with it; a greeting at a free-text step is not
    kept (it could be anything)."""
    chat.state = draft(chat, dt.timedelta(days=1))
    chat.send("12")
    assert chat.step == "participants" and "participants" not in chat.answers
    chat.tap_key("resume.continue")
    assert chat.answers["participants"] == 12 and chat.step != "participants"
