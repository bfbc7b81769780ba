"""Forms describe their reports: the stored columns, the summary, the alert and case cards and
the export's columns all follow from the steps."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.lists import Lists
from handlers import cases, engine
from handlers.areas import AreaDirectory
from handlers.engine import Env, FormState, Submitted
from handlers.forms import ACTIVITY, FORMS, PROBLEM
from handlers.i18n import Translator
from handlers.reports import card_lines, export_cells, export_columns, report_fields
from tests.support.added_question import problem_with_water, with_words
from tests.support.conversation import (
    PROBLEM_ANSWERS,
    REGISTERED,
    Chat,
    make_env,
)

AREA = {
    "province_code": "50",
    "district_code": "5001",
    "subdistrict_code": "500101",
    "village_no": 3,
}
STORED = {
    "category": "other",
    "category_other": "ต้นไม้ล้มขวางถนน",
    "urgency": "very_urgent",
    "households": 12,
    "description": "น้ำท่วมถนนเข้าหมู่บ้าน",
    "photos": [],
    "location": {"lat": 18.79, "lon": 98.98},
}


def _submitted(chat: Chat) -> Submitted:
    events = [e for e in chat.last.events if isinstance(e, Submitted)]
    assert len(events) == 1, chat.texts
    return events[0]


def test_report_fields_come_from_the_steps_columns() -> None:
    assert report_fields(PROBLEM, STORED) == {
        "problem_category": "other",
        "urgency": "very_urgent",
        "households": 12,
        "description": "น้ำท่วมถนนเข้าหมู่บ้าน",
        "latitude": 18.79,
        "longitude": 98.98,
    }
    activity = {
        "activity_type": "training",
        "date": "2026-03-19",
        "place": {"registered_village": True},
        "participants": 12,
        "sectors": [],
        "description": "อบรมการทำปุ๋ยหมัก",
    }
    assert report_fields(ACTIVITY, activity) == {
        "activity_type": "training",
        "occurred_on": dt.date(2026, 3, 19),
        "participants": 12,
        "description": "อบรมการทำปุ๋ยหมัก",
    }


def test_alert_card_reads_as_before(env: Env) -> None:
    view = cases.CaseView(
        report_id=7, reference="PRB-2569-000007", area=AREA, status="received",
        reporter="สมชาย ใจดี", answers=STORED,
    )  # fmt: skip
    text = cases.alert_messages(view, "th", env)[0].text
    assert text.split("\n") == [
        env.i18n.t("th", "alert.new", reference="PRB-2569-000007"),
        "เรื่อง: " + env.i18n.t("th", "choice.problem_categories.other") + " (ต้นไม้ล้มขวางถนน)",
        "ความเร่งด่วน: " + env.i18n.t("th", "choice.urgency.very_urgent"),
        "พื้นที่: " + engine.describe_area(AREA, "th", env),
        "ครัวเรือนที่เดือดร้อน: 12",
        "รายละเอียด: น้ำท่วมถนนเข้าหมู่บ้าน",
        "แผนที่: https://maps.google.com/?q=18.790000,98.980000",
        "ผู้แจ้ง: สมชาย ใจดี",
        "สถานะ: " + env.i18n.t("th", "status.received"),
    ]
    # A view built from the report's columns (as the edge does today) reads the same.
    legacy = replace(
        view, answers=None, category="other", category_other="ต้นไม้ล้มขวางถนน",
        urgency="very_urgent", households=12, description="น้ำท่วมถนนเข้าหมู่บ้าน",
        latitude=18.79, longitude=98.98,
    )  # fmt: skip
    assert cases.alert_messages(legacy, "th", env)[0].text == text
    card = cases.case_card(legacy, [], "th", env, can_act=False).text
    assert card.split("\n")[1:] == text.split("\n")[1:]


def test_a_registered_village_has_no_map_and_a_skipped_answer_shows_a_dash(env: Env) -> None:
    answers = {**STORED, "location": {"registered_village": True}, "households": None}
    lines = card_lines(PROBLEM, answers, "en", env)
    assert not any("maps.google" in line for line in lines)
    assert env.i18n.t("en", "form.problem.households.card", value="-") in lines


def test_export_columns_keep_their_order_and_share_names() -> None:
    names = [c.name for c in export_columns([ACTIVITY, PROBLEM])]
    assert names == [
        "topic", "urgency", "occurred_on", "participants", "households", "sectors",
        "description", "latitude", "longitude",
    ]  # fmt: skip
    cells = export_cells(PROBLEM, STORED, lambda key: key)
    assert cells["topic"] == "choice.problem_categories.other: ต้นไม้ล้มขวางถนน"
    assert (cells["latitude"], cells["longitude"]) == (18.79, 98.98)
    assert cells["households"] == 12


def test_a_question_added_to_a_copy_of_the_problem_form_is_asked_summarised_and_alerted(
    i18n: Translator, lists: Lists, areas: AreaDirectory
) -> None:
    form = problem_with_water()
    env = make_env(with_words(i18n), lists, areas, forms={**FORMS, "problem": form})
    chat = Chat(env, REGISTERED)
    chat.send("แจ้งปัญหา")
    chat.fill(PROBLEM_ANSWERS, until="water_source")
    assert chat.texts[-1].startswith("ใช้น้ำจากที่ใด")  # asked, with its options
    assert "บ่อน้ำ" in chat.labels
    chat.tap("บ่อน้ำ")
    chat.fill(PROBLEM_ANSWERS, until="confirm")
    assert "• แหล่งน้ำ: บ่อน้ำ" in chat.text.split("\n")  # summarised
    assert "edit:water_source" in chat.values  # and can be changed there
    chat.send("ยืนยันส่ง")
    submitted = _submitted(chat)
    assert submitted.answers["water_source"] == "well"
    assert submitted.form_version == form.version

    view = cases.CaseView(
        report_id=1, reference="PRB-2569-000001", area=AREA, status="received",
        answers=submitted.answers,
    )  # fmt: skip
    alert = cases.alert_messages(view, "en", env)[0].text.split("\n")
    row = "Water source: Well"
    assert row in alert  # on the alert card, after the households as the step says
    assert alert.index(row) == alert.index("Households affected: 0") + 1
    card = cases.case_card(view, [], "en", env, can_act=True).text
    assert row in card.split("\n")
    assert "water_source" not in report_fields(form, submitted.answers)  # no column of its own


def test_a_stored_conversation_of_the_current_version_still_finishes(chat: Chat, env: Env) -> None:
    # As the service stored it before this change: a problem report half-way, at the households.
    chat.state = FormState(
        "problem",
        1,
        "households",
        {"category": "flood", "urgency": "urgent"},
        {"history": ["category", "urgency"]},
        updated_at=env.now,
    )
    chat.send("12")
    chat.fill(PROBLEM_ANSWERS)
    submitted = _submitted(chat)
    assert (submitted.form_id, submitted.form_version) == ("problem", 1)
    assert submitted.answers["households"] == 12
    assert report_fields(PROBLEM, submitted.answers)["problem_category"] == "flood"


def test_a_conversation_of_the_old_version_finishes_on_the_new_one(
    i18n: Translator, lists: Lists, areas: AreaDirectory
) -> None:
    form = problem_with_water()
    env = make_env(with_words(i18n), lists, areas, forms={**FORMS, "problem": form})
    chat = Chat(env, REGISTERED)
    chat.state = FormState(
        "problem", PROBLEM.version, "description",
        {"category": "flood", "urgency": "urgent", "households": 3},
        {"history": ["category", "urgency", "households"]}, updated_at=env.now,
    )  # fmt: skip
    chat.fill(PROBLEM_ANSWERS, until="confirm")
    chat.send("ยืนยันส่ง")  # the new question, never asked, is asked before submitting
    assert chat.step == "water_source"
    chat.tap("ประปา")
    assert chat.step == "confirm"
    chat.send("ยืนยันส่ง")
    submitted = _submitted(chat)
    assert submitted.form_version == form.version
    assert submitted.answers["water_source"] == "tap"
