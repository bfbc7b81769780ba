""" "ข้อมูลของฉัน / My data" in the pure core: the words and buttons that reach each right, the
questions that correct and delete, the summary's lines and buttons, and a new privacy notice
asked again."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from handlers import mydata
from handlers.engine import Env, PrivacyAsked, Submitted
from handlers.forms import NOTICE_VERSION
from handlers.messages import Inbound
from handlers.router import MENU_ITEMS, RESUME_DISCARD
from tests.support.conversation import ACTIVITY_ANSWERS, REGISTERED, Chat


@pytest.mark.parametrize(
    ("typed", "action"),
    [
        ("ข้อมูลของฉัน", "see"),
        ("ข้อมูลส่วนตัวครับ", "see"),
        ("my data", "see"),
        ("/mydata", "see"),
        (str(MENU_ITEMS.index("my_data") + 1), "see"),
        ("หยุดเตือน", "reminders_off"),
        ("ปิดการเตือน", "reminders_off"),
        ("stop broadcasts", "broadcasts_off"),
        ("เปิดข่าวสาร", "broadcasts_on"),
        ("ขอสำเนาข้อมูล", "copy"),
    ],
)
def test_words_for_my_data_with_no_form_open(chat: Chat, typed: str, action: str) -> None:
    result = chat.send(typed)
    assert result.events == [PrivacyAsked(action)]
    assert chat.state is None


@pytest.mark.parametrize("typed", ["ลบข้อมูลของฉัน", "ลบข้อมูล", "delete my data", "/delete"])
def test_delete_asks_once_saying_what_happens(chat: Chat, typed: str) -> None:
    chat.send(typed)
    assert chat.state is not None and chat.state.form_id == "erase"
    assert "สิ่งที่จะถูกลบ" in chat.text and "สิ่งที่ยังอยู่" in chat.text
    assert chat.last.events == []


@pytest.mark.parametrize(("answer", "sure"), [("ลบข้อมูล", "yes"), ("ใช่", "yes"),
                                              ("ไม่ลบ", "no"), ("ไม่", "no")])  # fmt: skip
def test_the_answer_to_delete(chat: Chat, answer: str, sure: str) -> None:
    chat.send("ลบข้อมูลของฉัน")
    result = chat.send(answer)
    assert result.events == [Submitted("erase", 1, "erase", {"sure": sure})]


def test_corrections_are_one_question_each(chat: Chat) -> None:
    chat.send(Inbound("choice", value="privacy:name"))
    assert chat.state is not None and chat.state.form_id == "my_name"
    result = chat.send("สมหญิง ใจดี")
    assert result.events == [Submitted("my_name", 1, "correct", {"name": "สมหญิง ใจดี"})]
    chat.send(Inbound("choice", value="privacy:phone"))
    result = chat.send("ข้าม")  # removes the phone held
    [event] = result.events
    assert isinstance(event, Submitted) and event.answers.get("phone") is None
    chat.send(Inbound("choice", value="privacy:village"))
    assert chat.state is not None and chat.state.form_id == "area"
    chat.send("ยกเลิก", Inbound("choice", value="privacy:role"))
    result = chat.send("อสม.")
    assert result.events == [Submitted("my_role", 1, "correct", {"role": "health_volunteer"})]


def test_staff_without_a_village_have_no_village_to_fix(env: Env) -> None:
    officer = replace(REGISTERED, role=None, staff=(("officer", "5001"),))
    chat = Chat(env, officer)
    assert chat.send(Inbound("choice", value="privacy:village")).events == [PrivacyAsked("see")]
    held = _held(reminders=True, broadcasts=True)
    values = [c.value for c in mydata.summary(held, officer, env, "th")[0].choices]
    assert "privacy:village" not in values and "privacy:name" in values


def test_a_button_of_my_data_with_a_form_open_asks_about_the_form_first(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="date")
    chat.send(Inbound("choice", value="privacy:delete"))
    assert chat.state is not None and chat.state.form_id == "activity"  # the draft waits
    discard = chat.choice(chat.t("resume.discard_then", item=chat.t("privacy.button.delete")))
    assert discard.value == f"{RESUME_DISCARD}:privacy:delete"
    chat.send(Inbound("choice", value=discard.value))
    assert chat.state is not None and chat.state.form_id == "erase"


def _held(*, reminders: bool, broadcasts: bool) -> mydata.Held:
    return mydata.Held(
        name="สมชาย ใจดี", phone="0812345678", role="village_head", province_code="50",
        district_code="5001", subdistrict_code="500108", village_no=3, language="th",
        consent_at=dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC), notice_version=NOTICE_VERSION,
        reminders=reminders, broadcasts=broadcasts, staff=(("officer", "5001"),), reports=7,
        newest=("PRB-2569-000007", "ACT-2569-000006"), messages=12,
    )  # fmt: skip


def test_the_summary_says_everything_held_and_offers_each_right(env: Env) -> None:
    [message] = mydata.summary(_held(reminders=False, broadcasts=True), REGISTERED, env, "th")
    for line in ("ชื่อ: สมชาย ใจดี", "เบอร์โทร: 0812345678", "บทบาท: ผู้ใหญ่บ้าน",
                 "หมู่บ้าน: ม.3 ต.", "ภาษา: ภาษาไทย", "หน้าที่: เจ้าหน้าที่อำเภอ",
                 "20 มี.ค. 69 09:00 (ประกาศฉบับ 2569-3)", "การเตือนให้ส่งรายงาน: ปิด",
                 "ข่าวสารจากอำเภอและจังหวัด: เปิด", "7 เรื่อง (ล่าสุด PRB-2569-000007, ACT-2569-000006)",
                 "ยังเก็บอยู่: 12 ข้อความ", "เห็นเบอร์โทรของคุณ"):  # fmt: skip
        assert line in message.text, line
    values = [c.value for c in message.choices]
    assert values == [
        "privacy:name", "privacy:phone", "privacy:role", "privacy:village", "privacy:language",
        "privacy:copy",
        "privacy:reminders_on", "privacy:broadcasts_off", "privacy:delete", "menu:menu",
    ]  # fmt: skip
    assert all(len(c.label) <= 20 for c in message.choices)  # LINE's quick-reply limit
    [english] = mydata.summary(_held(reminders=True, broadcasts=True), REGISTERED, env, "en")
    assert "Name: สมชาย ใจดี" in english.text and "Reminders to report: on" in english.text


def test_a_new_notice_is_asked_at_the_next_message(chat: Chat) -> None:
    chat.user = replace(REGISTERED, notice_version="2569-2")
    chat.send("กิจกรรม")
    assert chat.state is not None and chat.state.form_id == "renotice"
    assert chat.t("notice.changed") in chat.text and "ระยะเวลาเก็บ" in chat.text
    assert [c.label for c in chat.messages[-1].choices] == ["ยินยอม", "ไม่ยินยอม"]  # no cancel
    result = chat.send("ยินยอม")
    assert result.events == [Submitted("renotice", 1, "reconsent", {"renotice": "agree"})]
    chat.user = replace(REGISTERED, notice_version="2569-2")
    chat.send("เมนู")
    result = chat.send("ไม่ยินยอม")  # asked once more, saying what goes
    assert result.events == [] and chat.state is not None and chat.state.form_id == "erase"
    assert chat.t("notice.declined") in chat.text and "สิ่งที่จะถูกลบ" in chat.text
    result = chat.send("ลบข้อมูล")
    assert result.events == [Submitted("erase", 1, "erase", {"reason": "notice", "sure": "yes"})]


def test_the_new_notice_waits_for_its_answer_but_my_data_does_not(chat: Chat) -> None:
    chat.user = replace(REGISTERED, notice_version="2569-2")
    chat.send("สวัสดี")
    for word in ("ยกเลิก", "เมนู"):
        chat.send(word)
        assert chat.state is not None and chat.state.form_id == "renotice"
        assert chat.t("notice.answer_first") in chat.text
    started = chat.send(Inbound("start")).messages  # the notice again, no "draft" question
    assert started[0].text == chat.t("notice.changed") and started[1].text.startswith("🔒")
    assert chat.send("ขอสำเนาข้อมูล").events == [PrivacyAsked("copy")]
    chat.send("ข้อมูลของฉัน")
    assert chat.last.events == [PrivacyAsked("see")]
    chat.send("เมนู")  # and the notice again
    assert chat.state is not None and chat.state.form_id == "renotice"


def test_cancel_at_delete_keeps_everything(chat: Chat) -> None:
    chat.send("ลบข้อมูลของฉัน", "ยกเลิก")
    assert chat.state is None and chat.texts[0] == chat.t("privacy.erase.kept")


def test_my_data_from_the_menu_keeps_the_draft(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="date")
    result = chat.send(Inbound("choice", value="menu:my_data"))
    assert result.events == [PrivacyAsked("see")]
    assert chat.state is not None and chat.state.form_id == "activity" and chat.step == "date"


def test_staff_are_told_what_else_goes(env: Env) -> None:
    officer = replace(REGISTERED, role=None, staff=(("officer", "5001"),))
    chat = Chat(env, officer)
    chat.send("ลบข้อมูลของฉัน")
    assert chat.texts[0] == chat.t("privacy.erase.staff")


def test_a_form_open_when_the_notice_changes_is_finished_first(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.user = replace(REGISTERED, notice_version="2569-2")
    chat.fill(ACTIVITY_ANSWERS)
    assert any(isinstance(e, Submitted) and e.form_id == "activity" for e in chat.last.events)
    chat.send("เมนู")
    assert chat.state is not None and chat.state.form_id == "renotice"


def test_an_old_delete_question_is_not_answered_by_a_later_visit(chat: Chat) -> None:
    """Left at "delete your data?", someone who comes back and types the command again sees
    the question again: never a deletion without it."""
    chat.send("ลบข้อมูลของฉัน")
    assert chat.state is not None
    chat.state = replace(chat.state, updated_at=chat.env.now - dt.timedelta(days=2))
    result = chat.send("ลบข้อมูล")  # the command's word, days later
    assert result.events == [] and "สิ่งที่จะถูกลบ" in chat.text
    chat.send(Inbound("start"))  # opening the chat: the menu, not the old question
    assert chat.state is None
    chat.send("/delete")
    result = chat.send("delete")  # the command again, at the question: not a yes
    assert result.events == [] and chat.state is not None and chat.state.form_id == "erase"
