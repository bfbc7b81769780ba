"""The form engine, driven the way users drive it: one input after another through the router,
with the real forms, lists, translations and area list, and a fixed clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from handlers.engine import (
    CONFIRM_SUBMIT,
    MAX_BUTTON_NUMBER,
    NAV_DONE,
    NAV_MORE,
    ConsentRefused,
    Env,
    Submitted,
    advance,
    answer_length,
    button_number,
    display_answer,
    input_limit,
)
from handlers.forms import FORMS, PROBLEM, Step, StepType
from handlers.messages import Inbound, Outgoing, PhotoRef
from handlers.reports import report_fields
from tests.support.conversation import (
    ACTIVITY_ANSWERS,
    CHIANG_MAI,
    MUEANG_CHIANG_MAI,
    NEWCOMER,
    PROBLEM_ANSWERS,
    REGISTERED,
    REGISTRATION_ANSWERS,
    SI_PHUM,
    Answer,
    Chat,
)

SI_PHUM_MOO_3 = {
    "province_code": CHIANG_MAI,
    "district_code": MUEANG_CHIANG_MAI,
    "subdistrict_code": SI_PHUM,
    "village_no": 3,
}


def photo_ref(n: int) -> PhotoRef:
    return PhotoRef(f"{n:064x}", f"{n:02x}/{n:064x}.jpg", "image/jpeg", 1000 + n)


def photo(n: int) -> Inbound:
    return Inbound("photo", photo=photo_ref(n))


def submitted(chat: Chat) -> Submitted:
    assert chat.state is None, f"form still open at {chat.step!r}: {chat.texts}"
    events = [e for e in chat.last.events if isinstance(e, Submitted)]
    assert len(events) == 1, chat.last.events
    return events[0]


def prompt_text(chat: Chat, step_key: str) -> str:
    return chat.t(f"{step_key}.prompt")


def at_area(chat: Chat) -> Chat:
    chat.send("สวัสดี")
    chat.fill(REGISTRATION_ANSWERS, until="area")
    return chat


def area_stage(chat: Chat) -> str:
    assert chat.state is not None
    return str(chat.state.context["area"]["stage"])


# ------------------------------------------------------------------ registration


def test_first_message_of_a_newcomer_starts_registration_with_the_language(
    newcomer: Chat,
) -> None:
    newcomer.send("สวัสดีครับ")
    assert newcomer.state is not None
    assert newcomer.state.form_id == "registration"
    assert newcomer.step == "language"
    assert newcomer.texts[0] == newcomer.t("welcome.new")
    assert newcomer.messages[-1].text.startswith(
        prompt_text(newcomer, "form.registration.language")
    )
    assert newcomer.values[:2] == ["a:language:th", "a:language:en"]
    assert newcomer.answers == {}


def test_privacy_notice_comes_right_after_the_language(newcomer: Chat) -> None:
    newcomer.send("hi")
    newcomer.tap("English")
    assert newcomer.step == "consent"
    assert newcomer.answers == {"language": "en"}
    # The notice is read in the language just chosen.
    assert newcomer.messages[-1].text == newcomer.env.i18n.t(
        "en", "form.registration.consent.prompt"
    )
    assert newcomer.labels[:2] == ["I agree", "I do not agree"]


@pytest.mark.parametrize("refusal", ["tap", "ไม่ยินยอม", "no"])
def test_declining_consent_keeps_nothing(newcomer: Chat, refusal: str) -> None:
    newcomer.send("สวัสดี", "ภาษาไทย")
    if refusal == "tap":
        newcomer.tap_key("consent.decline")
    else:
        newcomer.send(refusal)
    assert newcomer.state is None
    assert newcomer.last.events == [ConsentRefused()]
    assert newcomer.texts == [newcomer.env.i18n.t("th", "consent.refused")]


def test_registration_by_buttons(newcomer: Chat) -> None:
    newcomer.send("สวัสดี")
    newcomer.tap("ภาษาไทย")
    newcomer.tap_key("consent.agree")
    newcomer.send("  สมชาย   ใจดี ")
    newcomer.send("๐๘๑ ๒๓๔ ๕๖๗๘")
    newcomer.tap_key("choice.role.village_head")
    newcomer.tap("เชียงใหม่")
    newcomer.tap("เมืองเชียงใหม่")
    newcomer.tap("ศรีภูมิ")
    newcomer.tap_key("area.village_short", number=3)
    assert newcomer.step == "confirm"
    newcomer.tap_key("summary.submit")
    event = submitted(newcomer)
    assert event.action == "register"
    assert event.form_id == "registration"
    assert event.answers == {
        "language": "th",
        "consent": "agree",
        "name": "สมชาย ใจดี",
        "phone": "0812345678",
        "role": "village_head",
        "area": SI_PHUM_MOO_3,
    }


def test_registration_by_typing_thai(newcomer: Chat) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS)
    event = submitted(newcomer)
    assert event.action == "register"
    assert event.answers["name"] == "สมชาย ใจดี"
    assert event.answers["phone"] == "0812345678"
    assert event.answers["role"] == "village_head"
    assert event.answers["area"] == SI_PHUM_MOO_3


def test_registration_by_typing_english(newcomer: Chat) -> None:
    newcomer.send("hello")
    newcomer.fill(
        {
            "language": "English",
            "consent": "yes",
            "name": "John Smith",
            "phone": "+66 81 234 5678",
            "role": "volunteer",
            "area": ["Chiang Mai", "Mueang", "Si Phum", "moo 3"],
            "confirm": "confirm",
        }
    )
    event = submitted(newcomer)
    assert event.answers == {
        "language": "en",
        "consent": "agree",
        "name": "John Smith",
        "phone": "0812345678",
        "role": "volunteer",
        "area": SI_PHUM_MOO_3,
    }


def test_registration_continues_in_english_once_chosen(newcomer: Chat) -> None:
    newcomer.send("hello", "English", "yes")
    assert newcomer.lang == "en"
    assert newcomer.texts == [newcomer.env.i18n.t("en", "form.registration.name.prompt")]
    assert newcomer.labels == ["Back", "Cancel"]


@pytest.mark.parametrize("skip", ["tap", "ข้าม", "skip", "ไม่มี"])
def test_phone_is_optional(newcomer: Chat, skip: str) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="phone")
    assert newcomer.t("nav.skip") in newcomer.labels
    if skip == "tap":
        newcomer.tap_key("nav.skip")
    else:
        newcomer.send(skip)
    assert newcomer.step == "role"
    newcomer.fill(REGISTRATION_ANSWERS)
    assert submitted(newcomer).answers["phone"] is None


# ------------------------------------------------------------------ area pick


def test_area_by_buttons_goes_province_district_subdistrict_village(newcomer: Chat) -> None:
    at_area(newcomer)
    assert area_stage(newcomer) == "province"
    assert newcomer.texts == [newcomer.t("area.province.prompt")]
    newcomer.tap("เชียงใหม่")
    assert area_stage(newcomer) == "district"
    assert newcomer.texts == [newcomer.t("area.district.prompt", parent="เชียงใหม่")]
    newcomer.tap("เมืองเชียงใหม่")
    assert area_stage(newcomer) == "subdistrict"
    assert newcomer.texts == [newcomer.t("area.subdistrict.prompt", parent="เมืองเชียงใหม่")]
    newcomer.tap("ศรีภูมิ")
    assert area_stage(newcomer) == "village"
    assert newcomer.texts == [newcomer.t("area.village.prompt", subdistrict="ศรีภูมิ")]
    newcomer.tap("ม.3")
    assert newcomer.step == "confirm"
    assert newcomer.answers["area"] == SI_PHUM_MOO_3


def test_area_province_with_a_typo(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("เชียงไหม่")
    assert area_stage(newcomer) == "district"
    assert newcomer.state is not None
    assert newcomer.state.context["area"]["province_code"] == CHIANG_MAI


def test_area_district_without_its_prefix(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("เชียงใหม่", "อ.เมือง")
    assert area_stage(newcomer) == "subdistrict"
    assert newcomer.state is not None
    assert newcomer.state.context["area"]["district_code"] == MUEANG_CHIANG_MAI


def test_area_district_typed_at_the_province_stage_jumps_ahead(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("แม่ริม")
    assert area_stage(newcomer) == "subdistrict"
    assert newcomer.state is not None
    area = newcomer.state.context["area"]
    assert (area["province_code"], area["district_code"]) == (CHIANG_MAI, "5007")
    newcomer.send("ริมใต้", "หมู่ 1")
    assert newcomer.answers["area"] == {
        "province_code": CHIANG_MAI,
        "district_code": "5007",
        "subdistrict_code": "500701",
        "village_no": 1,
    }


def test_ambiguous_area_text_offers_suggestions(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("Chiang")
    assert area_stage(newcomer) == "province"
    assert newcomer.texts == [newcomer.t("area.did_you_mean")]
    assert {"เชียงใหม่", "เชียงราย"} <= set(newcomer.labels)
    assert newcomer.t("nav.cancel") in newcomer.labels
    newcomer.tap("เชียงใหม่")
    assert area_stage(newcomer) == "district"
    assert newcomer.state is not None
    assert "suggestions" not in newcomer.state.context


def test_ambiguous_district_at_the_province_stage_names_the_province(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("เมือง")
    assert newcomer.texts == [newcomer.t("area.did_you_mean")]
    suggested = [c for c in newcomer.messages[0].choices if c.value.startswith("a:area:d")]
    assert 2 <= len(suggested) <= 5
    # Many provinces have an อำเภอเมือง: each suggestion says which province it is in.
    assert all(", " in c.label for c in suggested)


def test_unknown_area_text_is_an_error_at_the_same_stage(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("ซซซซซซซ")
    assert newcomer.step == "area"
    assert area_stage(newcomer) == "province"
    assert newcomer.texts == [newcomer.t("error.area_province"), newcomer.t("area.province.prompt")]
    newcomer.send("เชียงใหม่", "บางพลี")
    assert area_stage(newcomer) == "district"
    assert newcomer.texts[0] == newcomer.t("error.area_district")


@pytest.mark.parametrize("typed", ["ที่หมู่บ้าน", "หมู่บ้านเรา", "ในหมู่บ้าน", "my village", "In my village"])
def test_the_place_question_takes_my_village_in_other_words(chat: Chat, typed: str) -> None:
    """The words the question offers ("ที่หมู่บ้านของฉัน") said otherwise are that button."""
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="place")
    chat.send(typed)
    assert chat.step == "participants"
    assert chat.answers["place"] == {"registered_village": True}


@pytest.mark.parametrize(
    ("typed", "number"),
    [("ม.3", 3), ("หมู่ ๓", 3), ("หมู่ที่ 12", 12), ("หมู่ที่สาม", 3), ("บ้านหนองบัว ม.3", 3)],
)
def test_village_number_typed(newcomer: Chat, typed: str, number: int) -> None:
    at_area(newcomer)
    newcomer.send("เชียงใหม่", "เมืองเชียงใหม่", "ศรีภูมิ", typed)
    assert newcomer.step == "confirm"
    assert newcomer.answers["area"] == {**SI_PHUM_MOO_3, "village_no": number}


@pytest.mark.parametrize("typed", ["ม.100", "บ้านโน้น"])
def test_village_number_not_understood(newcomer: Chat, typed: str) -> None:
    at_area(newcomer)
    newcomer.send("เชียงใหม่", "เมืองเชียงใหม่", "ศรีภูมิ", typed)
    assert area_stage(newcomer) == "village"
    assert newcomer.texts[0] == newcomer.t("error.village")


def test_back_in_the_area_pick_goes_up_one_stage(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("เชียงใหม่", "เมืองเชียงใหม่", "ศรีภูมิ")
    assert area_stage(newcomer) == "village"
    newcomer.send("ย้อนกลับ")
    assert area_stage(newcomer) == "subdistrict"
    newcomer.tap_key("nav.back")
    assert area_stage(newcomer) == "district"
    assert newcomer.texts == [newcomer.t("area.district.prompt", parent="เชียงใหม่")]
    newcomer.send("back")
    assert (newcomer.step, area_stage(newcomer)) == ("area", "province")
    newcomer.send("ย้อนกลับ")
    assert newcomer.step == "role"


def test_more_button_pages_through_provinces(newcomer: Chat, env: Env) -> None:
    at_area(newcomer)
    first = [c.value for c in newcomer.messages[-1].choices if c.value.startswith("a:area:p")]
    seen = list(first)
    pages = 1
    while True:
        newcomer.send(Inbound("choice", value=NAV_MORE))
        shown = [c.value for c in newcomer.messages[-1].choices if c.value.startswith("a:area:p")]
        if shown == first:
            break
        assert newcomer.texts == [newcomer.t("area.province.prompt")]
        seen += shown
        pages += 1
    assert len(seen) == len(set(seen)) == len(env.areas.provinces()) == 77
    assert newcomer.labels[-3] == newcomer.t("nav.more", page=1, pages=pages)


def test_typing_more_shows_the_next_page(newcomer: Chat) -> None:
    at_area(newcomer)
    first = newcomer.values
    newcomer.send("ถัดไป")
    assert newcomer.values != first
    assert newcomer.t("nav.more", page=2, pages=8) in newcomer.labels


# ------------------------------------------------------------------ activity report


def test_activity_other_is_asked_only_for_other(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.tap_key("choice.activity_types.other")
    assert chat.step == "activity_other"
    chat.send("ทำบุญตักบาตร")
    assert chat.step == "date"
    assert chat.answers["activity_other"] == "ทำบุญตักบาตร"


def test_activity_of_a_listed_type_skips_other(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.tap_key("choice.activity_types.check_dam")
    assert chat.step == "date"
    chat.fill(ACTIVITY_ANSWERS)
    answers = submitted(chat).answers
    assert answers["activity_type"] == "check_dam"
    assert "activity_other" not in answers


def test_changing_the_type_away_from_other_forgets_the_other_answer(chat: Chat) -> None:
    chat.send("กิจกรรม", "อื่น ๆ", "ทำบุญตักบาตร")
    chat.fill(ACTIVITY_ANSWERS, until="confirm")
    assert chat.answers["activity_other"] == "ทำบุญตักบาตร"
    chat.tap(chat.t("summary.edit", label=chat.t("form.activity.type.label")))
    chat.tap_key("choice.activity_types.training")
    assert chat.step == "confirm"
    assert "activity_other" not in chat.answers
    assert "edit:activity_other" not in chat.values
    chat.tap_key("summary.submit")
    assert "activity_other" not in submitted(chat).answers


def test_changing_the_type_to_other_asks_other_then_returns_to_the_summary(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="confirm")
    chat.tap(chat.t("summary.edit", label=chat.t("form.activity.type.label")))
    chat.tap_key("choice.activity_types.other")
    assert chat.step == "activity_other"
    chat.send("ปลูกป่าชายเลน")
    assert chat.step == "confirm"
    assert chat.answers["activity_other"] == "ปลูกป่าชายเลน"


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("วันนี้", "2026-03-20"),
        ("เมื่อวาน", "2026-03-19"),
        ("yesterday", "2026-03-19"),
        ("15 มี.ค. 69", "2026-03-15"),
        ("๑๕/๓/๒๕๖๙", "2026-03-15"),
        ("2025-03-20", "2025-03-20"),
    ],
)
def test_activity_date_typed(chat: Chat, typed: str, day: str) -> None:
    chat.send("กิจกรรม", "อบรม", typed)
    assert chat.step == "place"
    assert chat.answers["date"] == day


def test_activity_date_buttons(chat: Chat) -> None:
    chat.send("กิจกรรม", "อบรม")
    chat.tap_key("date.yesterday")
    assert chat.answers["date"] == "2026-03-19"


def test_today_follows_bangkok_not_utc(chat: Chat, env: Env) -> None:
    # 23:30 UTC on 19 March is already 20 March in Bangkok.
    chat.env = replace(env, now=dt.datetime(2026, 3, 19, 23, 30, tzinfo=dt.UTC))
    chat.send("กิจกรรม", "อบรม", "วันนี้")
    assert chat.answers["date"] == "2026-03-20"


@pytest.mark.parametrize(
    ("typed", "key", "params"),
    [
        ("พรุ่งนี้", "error.date_future", {}),
        ("25 มี.ค. 69", "error.date_future", {}),
        ("1/1/2567", "error.date_too_old", {"days": 366}),
        ("ไม่รู้สิ", "error.date", {}),
    ],
)
def test_activity_date_rejected(chat: Chat, typed: str, key: str, params: dict[str, Any]) -> None:
    chat.send("กิจกรรม", "อบรม", typed)
    assert chat.step == "date"
    assert "date" not in chat.answers
    assert chat.texts[0].split("\n")[0] == chat.t(key, **params)
    assert chat.texts[1].startswith(chat.t("form.activity.date.prompt"))


def test_activity_place_by_shared_location(chat: Chat) -> None:
    chat.send("กิจกรรม", "อบรม", "วันนี้")
    assert chat.messages[-1].ask == "location"
    chat.send(Inbound("location", latitude=18.7883, longitude=98.9853))
    assert chat.step == "participants"
    assert chat.answers["place"] == {"lat": 18.7883, "lon": 98.9853}


def test_activity_place_by_typed_coordinates(chat: Chat) -> None:
    chat.send("กิจกรรม", "อบรม", "วันนี้", "18.7883, 98.9853")
    assert chat.answers["place"] == {"lat": 18.7883, "lon": 98.9853}


def test_activity_place_registered_village(chat: Chat) -> None:
    chat.send("กิจกรรม", "อบรม", "วันนี้")
    chat.tap_key("location.use_village")
    assert chat.answers["place"] == {"registered_village": True}


def test_registered_village_is_offered_only_when_the_user_has_one(env: Env) -> None:
    no_village = Chat(env, replace(REGISTERED, subdistrict_code=None, village_no=None))
    no_village.send("กิจกรรม", "อบรม", "วันนี้")
    assert no_village.step == "place"
    assert no_village.t("location.use_village") not in no_village.labels
    # A leftover "my village" button is not honoured either.
    no_village.send(Inbound("choice", value="a:place:village"))
    assert no_village.step == "place"
    assert no_village.texts[0].startswith(no_village.t("error.location"))


@pytest.mark.parametrize(
    ("typed", "number"),
    [("สามสิบห้า", 35), ("๓๕", 35), ("ประมาณ 40 คน", 40), ("1,200", 1200), ("หนึ่งร้อย", 100),
     ("40 กว่า", 40), ("สี่สิบกว่าคน", 40), ("๔๐ ท่าน", 40), ("ราวๆ 40", 40)],
)  # fmt: skip
def test_activity_participants(chat: Chat, typed: str, number: int) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="participants")
    chat.send(typed)
    assert chat.step == "sectors"
    assert chat.answers["participants"] == number


def test_sectors_toggled_by_buttons_then_done(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="sectors")
    assert chat.messages[-1].ask == "multi"
    chat.tap("ภาครัฐ")
    chat.tap("ภาคศาสนา")
    assert chat.step == "sectors"
    assert chat.t("multi.selected", chosen="ภาครัฐ, ภาคศาสนา") in chat.text
    assert "✓ ภาครัฐ" in chat.labels
    chat.tap("✓ ภาครัฐ")  # tapping again removes it
    assert "ภาครัฐ" in chat.labels
    chat.tap("ภาคเอกชน")
    chat.tap_key("multi.done")
    assert chat.step == "description"
    # Stored in the configured order, not the order tapped.
    assert chat.answers["sectors"] == ["private", "religion"]


def test_sectors_typed_in_one_message(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="sectors")
    chat.send("ภาคศาสนา, ภาครัฐ")
    assert chat.step == "description"
    assert chat.answers["sectors"] == ["government", "religion"]


@pytest.mark.parametrize(
    ("typed", "sectors"),
    [
        ("ภาครัฐ ภาครัฐ, ภาคศาสนา ภาครัฐ", ["government", "religion"]),
        ("ภาครัฐ " * 70, ["government"]),
        ("ภาครัฐ และ อะไรก็ไม่รู้ " + "ภาครัฐ " * 60, None),
        ("ก " * 250, None),
    ],
)
def test_sectors_typed_long(chat: Chat, typed: str, sectors: list[str] | None) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="sectors")
    chat.send(typed)
    if sectors is None:
        assert chat.step == "sectors"
        assert chat.texts[0] == chat.t("error.multi")
    else:
        assert chat.answers["sectors"] == sectors


def test_sectors_done_with_nothing_is_an_empty_list(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="sectors")
    chat.send(Inbound("choice", value=NAV_DONE))
    assert chat.step == "description"
    assert chat.answers["sectors"] == []


def test_photos_accumulate_until_done(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    assert chat.messages[-1].ask == "photos"
    chat.send(photo(1))
    assert chat.step == "photos"
    assert chat.texts == [chat.t("photos.received", count=1, maximum=5)]
    chat.send(photo(2))
    assert chat.texts == [chat.t("photos.received", count=2, maximum=5)]
    chat.tap_key("photos.done")
    assert chat.step == "confirm"
    assert chat.answers["photos"] == [photo_ref(1).as_json(), photo_ref(2).as_json()]
    chat.tap_key("summary.submit")
    assert len(submitted(chat).answers["photos"]) == 2


def test_photos_done_typed(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    chat.send(photo(1), "เสร็จ")
    assert chat.step == "confirm"
    assert len(chat.answers["photos"]) == 1


def test_fifth_photo_moves_on_by_itself(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    chat.send(*(photo(n) for n in range(1, 5)))
    assert chat.step == "photos"
    chat.send(photo(5))
    assert chat.step == "confirm"
    assert [p["size_bytes"] for p in chat.answers["photos"]] == [1001, 1002, 1003, 1004, 1005]


def test_the_same_photo_sent_twice_counts_once(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    chat.send(photo(1), photo(2), photo(1))
    assert chat.texts[0] == chat.t("photos.duplicate", count=2, maximum=5)
    chat.tap_key("photos.done")
    assert [p["size_bytes"] for p in chat.answers["photos"]] == [1001, 1002]


def test_a_photo_sent_by_mistake_is_taken_out(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    chat.send(photo(1), photo(2), photo(3))
    assert chat.t("photos.remove", number=3) in chat.labels
    chat.tap_key("photos.remove", number=2)
    assert chat.texts == [chat.t("photos.received", count=2, maximum=5)]
    assert chat.t("photos.remove", number=3) not in chat.labels
    chat.send("ลบรูปที่ 1")  # the button's label typed
    chat.tap_key("photos.done")
    assert [p["size_bytes"] for p in chat.answers["photos"]] == [1003]


def test_editing_photos_keeps_those_sent_to_add_or_remove(chat: Chat) -> None:
    """From the summary, the photo question starts from the photos sent: one more is added,
    one taken out, and "done" goes back to the summary; a full set takes no sixth photo."""
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    chat.send(photo(1), photo(2), "เสร็จ")
    assert chat.step == "confirm"
    chat.tap_key("summary.edit", label=chat.t("form.activity.photos.label"))
    assert chat.step == "photos"
    assert chat.texts == [chat.t("photos.received", count=2, maximum=5)]
    chat.send(photo(3))
    chat.tap_key("photos.remove", number=1)
    chat.tap_key("photos.done")
    assert chat.step == "confirm"
    assert [p["size_bytes"] for p in chat.answers["photos"]] == [1002, 1003]
    chat.tap_key("summary.edit", label=chat.t("form.activity.photos.label"))
    chat.send(photo(4), photo(5), photo(6))
    assert chat.step == "photos"  # editing: five photos do not end the question by themselves
    chat.send(photo(7))
    assert chat.texts[0] == chat.t("photos.full", maximum=5)
    chat.tap_key("photos.remove", number=5)
    chat.send(photo(7), "เสร็จ")
    assert [p["size_bytes"] for p in chat.answers["photos"]] == [1002, 1003, 1004, 1005, 1007]


@pytest.mark.parametrize(
    "how", ["tap", "ไม่มีรูป", "ข้าม", "ไม่มีรูปภาพ", "ไม่ได้ถ่ายรูป", "no photo", "No pictures"]
)
def test_no_photos(chat: Chat, how: str) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    if how == "tap":
        chat.tap_key("photos.none")
    else:
        chat.send(how)
    assert chat.step == "confirm"
    assert chat.answers["photos"] == []


def test_activity_summary_then_submit(chat: Chat) -> None:
    chat.send("รายงานกิจกรรม")
    chat.send("อื่น ๆ", "ทำบุญตักบาตร", "เมื่อวาน")
    chat.send(Inbound("location", latitude=18.79, longitude=98.98))
    chat.send("สามสิบห้า", "ภาครัฐ, ภาคศาสนา", "ทำความสะอาดวัดและลานวัด", photo(7), "เสร็จ")
    assert chat.step == "confirm"
    assert chat.messages[-1].ask == "confirm"
    assert chat.messages[-1].text.startswith(chat.t("form.activity.confirm.prompt"))
    chat.tap_key("summary.submit")
    event = submitted(chat)
    assert event.action == "activity_report"
    assert (event.form_id, event.form_version) == ("activity", FORMS["activity"].version)
    assert event.answers == {
        "activity_type": "other",
        "activity_other": "ทำบุญตักบาตร",
        "date": "2026-03-19",
        "place": {"lat": 18.79, "lon": 98.98},
        "participants": 35,
        "sectors": ["government", "religion"],
        "description": "ทำความสะอาดวัดและลานวัด",
        "photos": [photo_ref(7).as_json()],
    }


# ------------------------------------------------------------------ problem report


def test_problem_report(chat: Chat) -> None:
    chat.send("แจ้งปัญหา")
    assert chat.step == "category"
    chat.tap_key("choice.problem_categories.drought")
    assert chat.step == "urgency"
    chat.tap_key("choice.urgency.very_urgent")
    chat.send("0")  # households: 0 means "not known" and is allowed
    assert chat.answers["households"] == 0
    chat.send("ไม่มีน้ำประปามาสามวันแล้ว", "ไม่มีรูป")
    assert chat.step == "location"
    chat.send(Inbound("location", latitude=18.8, longitude=99.0))
    assert chat.step == "confirm"
    chat.send("ยืนยัน")
    event = submitted(chat)
    assert event.action == "problem_report"
    assert event.answers == {
        "category": "drought",
        "urgency": "very_urgent",
        "households": 0,
        "description": "ไม่มีน้ำประปามาสามวันแล้ว",
        "photos": [],
        "location": {"lat": 18.8, "lon": 99.0},
    }


def test_problem_other_category_asks_what(chat: Chat) -> None:
    chat.send("แจ้งปัญหา", "อื่น ๆ")
    assert chat.step == "category_other"
    chat.fill(PROBLEM_ANSWERS)
    answers = submitted(chat).answers
    assert answers["category"] == "other"
    assert answers["category_other"] == "ต้นไม้ล้มขวางถนน"
    assert answers["location"] == {"registered_village": True}


def test_problem_households_may_not_be_negative_words(chat: Chat) -> None:
    chat.send("แจ้งปัญหา", "น้ำท่วม", "ด่วน", "ลบสิบ")
    assert chat.step == "households"
    assert chat.texts[0].split("\n")[0] == chat.t("error.number")


@pytest.mark.parametrize("typed", ["ไม่ทราบ", "ไม่รู้ครับ", "ไม่แน่ใจ", "don't know", "Unknown"])
def test_not_knowing_a_count_is_an_answer(chat: Chat, typed: str) -> None:
    """Stored as not known, never as 0, and shown as ไม่ทราบ; the report's column stays empty."""
    chat.send("แจ้งปัญหา", "น้ำท่วม", "ด่วน", typed)
    assert chat.step == "description"
    assert chat.answers["households"] == "unknown"
    step = PROBLEM.step("households")
    assert step is not None
    assert display_answer(step, "unknown", "th", chat.env) == "ไม่ทราบ"
    assert display_answer(step, "unknown", "en", chat.env) == "Not known"
    assert display_answer(step, 0, "th", chat.env) == "0"  # a real 0 stays 0
    assert report_fields(PROBLEM, {"households": "unknown"})["households"] is None
    assert report_fields(PROBLEM, {"households": 0})["households"] == 0
    # The question itself says how to answer "not known" (it used to say to type 0).
    assert "ไม่ทราบ" in chat.t("form.problem.households.prompt")
    assert "0" not in chat.t("form.problem.households.prompt")
    assert "don't know" in chat.env.i18n.t("en", "form.problem.households.prompt")


# ------------------------------------------------------------------ summary and editing


def test_summary_lists_every_answered_step(newcomer: Chat) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="confirm")
    summary = newcomer.messages[-1]
    labels = [label for label, _ in summary.summary]
    assert labels == [
        newcomer.t(f"{s.key}.label") for s in FORMS["registration"].steps if s.type != "confirm"
    ]
    rows = dict(summary.summary)
    assert rows[newcomer.t("form.registration.name.label")] == "สมชาย ใจดี"
    assert rows[newcomer.t("form.registration.phone.label")] == "0812345678"
    assert rows[newcomer.t("form.registration.area.label")] == "ม.3 ต.ศรีภูมิ อ.เมืองเชียงใหม่ จ.เชียงใหม่"
    for label, value in summary.summary:
        assert f"• {label}: {value}" in summary.text
    # Every answer can be changed with one tap, except the consent.
    assert summary.choices[0].value == CONFIRM_SUBMIT
    assert [c.value for c in summary.choices if c.value.startswith("edit:")] == [
        "edit:language",
        "edit:name",
        "edit:phone",
        "edit:role",
        "edit:area",
    ]


def test_skipped_answers_show_as_skipped(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS | {"sectors": "ข้าม"}, until="confirm")
    rows = dict(chat.messages[-1].summary)
    assert rows[chat.t("form.activity.sectors.label")] == chat.t("summary.skipped")
    assert rows[chat.t("form.activity.date.label")] == "20 มีนาคม 2569"
    assert rows[chat.t("form.activity.place.label")] == chat.t("location.village_chosen")


def test_edit_from_the_summary_returns_to_the_summary(newcomer: Chat) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="confirm")
    newcomer.tap(newcomer.t("summary.edit", label=newcomer.t("form.registration.name.label")))
    assert newcomer.step == "name"
    assert newcomer.t("form.current_answer", answer="สมชาย ใจดี") in newcomer.text
    newcomer.send("สมหญิง ใจงาม")
    # Straight back to the summary, not through phone, role and area again.
    assert newcomer.step == "confirm"
    assert dict(newcomer.messages[-1].summary)[newcomer.t("form.registration.name.label")] == (
        "สมหญิง ใจงาม"
    )
    newcomer.tap_key("summary.submit")
    answers = submitted(newcomer).answers
    assert answers["name"] == "สมหญิง ใจงาม"
    assert answers["area"] == SI_PHUM_MOO_3


def test_edit_the_area_from_the_summary(newcomer: Chat) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="confirm")
    newcomer.tap_key("summary.edit", label=newcomer.t("form.registration.area.label"))
    assert (newcomer.step, area_stage(newcomer)) == ("area", "province")
    newcomer.send("แม่ริม", "ริมใต้", "ม.1")
    assert newcomer.step == "confirm"
    assert newcomer.answers["area"]["subdistrict_code"] == "500701"


def test_editing_the_area_can_change_only_the_village(newcomer: Chat) -> None:
    """From the summary, the place question offers "only the หมู่" first: tapped, it asks the
    หมู่ of the same subdistrict; "ม.7" typed at once is that; a province still starts over."""
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="confirm")
    area_label = newcomer.t("form.registration.area.label")
    newcomer.tap_key("summary.edit", label=area_label)
    assert newcomer.labels[0] == newcomer.t("area.only_village", subdistrict="ศรีภูมิ")
    newcomer.tap_key("area.only_village", subdistrict="ศรีภูมิ")
    assert area_stage(newcomer) == "village"
    newcomer.send("ม.5")
    assert newcomer.step == "confirm"
    assert newcomer.answers["area"] == {**SI_PHUM_MOO_3, "village_no": 5}
    newcomer.tap_key("summary.edit", label=area_label)
    newcomer.send("หมู่ที่ 7")
    assert newcomer.step == "confirm"
    assert newcomer.answers["area"] == {**SI_PHUM_MOO_3, "village_no": 7}
    newcomer.tap_key("summary.edit", label=area_label)
    newcomer.send("เฉพาะหมู่", "๒")
    assert newcomer.answers["area"] == {**SI_PHUM_MOO_3, "village_no": 2}
    newcomer.tap_key("summary.edit", label=area_label)
    newcomer.send("แม่ริม", "ริมใต้", "ม.1")
    assert newcomer.answers["area"]["subdistrict_code"] == "500701"


def test_a_new_place_offers_no_village_only_change(newcomer: Chat) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="area")
    assert newcomer.t("area.only_village", subdistrict="ศรีภูมิ") not in newcomer.labels
    newcomer.send("ม.5")  # not a place: nothing to keep yet
    assert newcomer.step == "area" and area_stage(newcomer) == "province"


def test_typing_a_step_label_at_the_summary_edits_it(newcomer: Chat) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="confirm")
    newcomer.send("ชื่อ")
    assert newcomer.step == "name"
    newcomer.send("สมศรี มีสุข")
    assert newcomer.step == "confirm"


def test_back_while_editing_returns_to_the_summary(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="confirm")
    chat.tap_key("summary.edit", label=chat.t("form.activity.participants.label"))
    assert chat.step == "participants"
    chat.send("ย้อนกลับ")
    assert chat.step == "confirm"
    assert chat.answers["participants"] == 12


# ------------------------------------------------------------------ stale buttons


@pytest.mark.parametrize(
    ("step", "stale"),
    [
        ("activity_type", "a:date:today"),
        ("date", "a:activity_type:training"),
        ("place", "a:date:today"),
        ("participants", "a:date:today"),
        ("sectors", "a:activity_type:training"),
        ("description", "a:sectors:government"),
        ("photos", "a:date:yesterday"),
        ("confirm", "a:date:today"),
    ],
)
def test_a_button_of_another_step_answers_nothing(chat: Chat, step: str, stale: str) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until=step)
    before = dict(chat.answers)
    prompt = chat.messages[-1]
    chat.send(Inbound("choice", value=stale))
    assert chat.step == step
    assert chat.answers == before
    assert chat.texts[0].split("\n")[0] == chat.t("error.stale_button")
    assert chat.messages[-1].choices == prompt.choices


def test_a_stale_area_button_answers_nothing(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send(Inbound("choice", value="a:role:kamnan"))
    assert newcomer.texts[0] == newcomer.t("error.stale_button")
    assert (newcomer.step, area_stage(newcomer)) == ("area", "province")
    assert newcomer.answers["role"] == "village_head"


def test_a_stale_edit_button_answers_nothing(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="confirm")
    chat.send(Inbound("choice", value="edit:activity_other"))  # not asked for this type
    assert chat.step == "confirm"
    assert chat.texts[0] == chat.t("error.stale_button")


# ------------------------------------------------------------------ wrong answers

WRONG = [
    # (form answers, step, input, error key, params)
    ("registration", "consent", "อะไรนะ", "error.consent", {}),
    ("registration", "name", "ก", "error.text_length", {"minimum": 2, "maximum": 100}),
    ("registration", "phone", "12345", "error.phone", {}),
    ("registration", "phone", "โทรหาผู้ใหญ่", "error.phone", {}),
    ("registration", "role", "นักบินอวกาศ", "error.choice", {}),
    ("registration", "role", "9", "error.choice", {}),
    ("activity", "date", "ไม่รู้สิ", "error.date", {}),
    ("activity", "place", "ที่วัด", "error.location", {}),
    ("activity", "place", "200, 300", "error.location", {}),
    (
        "activity",
        "participants",
        "0",
        "error.number_range",
        {"minimum": "1", "maximum": "100,000"},
    ),
    (
        "activity",
        "participants",
        "200000",
        "error.number_range",
        {"minimum": "1", "maximum": "100,000"},
    ),
    ("activity", "participants", "หลายคน", "error.number", {}),
    ("activity", "sectors", "ภาคอวกาศ", "error.multi", {}),
    ("activity", "description", "สั้น", "error.text_length", {"minimum": 5, "maximum": 1000}),
    ("activity", "photos", "รูปอยู่ในเครื่อง", "error.photo", {"maximum": 5}),
    ("activity", "confirm", "อืม", "error.confirm", {}),
    ("problem", "households", "หลายหลัง", "error.number", {}),
    ("problem", "urgency", "พรุ่งนี้", "error.choice", {}),
]


def _reach(chat: Chat, form_id: str, step: str) -> None:
    if form_id == "registration":
        chat.user = NEWCOMER
        chat.send("สวัสดี")
        chat.fill(REGISTRATION_ANSWERS, until=step)
    elif form_id == "activity":
        chat.send("กิจกรรม")
        chat.fill(ACTIVITY_ANSWERS, until=step)
    else:
        chat.send("แจ้งปัญหา")
        chat.fill(PROBLEM_ANSWERS, until=step)


@pytest.mark.parametrize(("form_id", "step", "typed", "key", "params"), WRONG)
def test_wrong_answer_says_what_to_do_and_asks_again(
    chat: Chat, form_id: str, step: str, typed: str, key: str, params: dict[str, Any]
) -> None:
    _reach(chat, form_id, step)
    prompt = chat.messages[-1]
    before = dict(chat.answers)
    chat.send(typed)
    assert chat.step == step
    assert chat.answers == before
    assert len(chat.messages) == 2
    error, again = chat.messages
    asked = FORMS[form_id].step(step)
    assert asked is not None
    step_key = asked.key
    expected = chat.t(key, **params)
    if chat.env.i18n.has("th", f"{step_key}.example"):
        example = chat.t(f"{step_key}.example")
        expected += "\n" + chat.t("error.example", example=example)
        assert example in error.text
    assert error.text == expected
    assert "{" not in error.text  # every placeholder filled
    assert again == prompt


def test_examples_exist_for_typed_steps(chat: Chat) -> None:
    i18n = chat.env.i18n
    for key in ("form.registration.name", "form.registration.phone", "form.activity.date"):
        assert i18n.has("th", f"{key}.example") and i18n.has("en", f"{key}.example")


def test_a_photo_where_text_is_expected(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="description")
    chat.send(photo(1))
    assert chat.step == "description"
    assert chat.texts[0] == chat.t("error.expect_text")


# ------------------------------------------------------------------ channel limits


def _walk(chat: Chat, answers: dict[str, Answer]) -> Iterator[Outgoing]:
    """Every message of a whole form, paging through every list on the way."""
    for _ in range(60):
        yield from chat.messages
        if chat.state is None:
            return
        pages = 0
        while NAV_MORE in chat.values and pages < 20:
            chat.send(Inbound("choice", value=NAV_MORE))
            yield from chat.messages
            pages += 1
        step = chat.step
        assert step is not None
        given = answers[step]
        if step == "area":
            assert isinstance(given, list)
            chat.send(given[area_index(chat)])
        else:
            chat.send(*(given if isinstance(given, list) else [given]))
    raise AssertionError("form never ended")


def area_index(chat: Chat) -> int:
    return ("province", "district", "subdistrict", "village").index(area_stage(chat))


def _check(message: Outgoing, page_size: int) -> None:
    assert len(message.choices) <= page_size, (message.text, len(message.choices))
    for choice in message.choices:
        assert len(choice.value.encode("utf-8")) <= 64, choice.value
        assert choice.label


@pytest.mark.parametrize("form_id", ["registration", "activity", "problem", "language", "area"])
def test_no_message_has_more_buttons_than_fit(chat: Chat, form_id: str) -> None:
    assert chat.env.page_size == 13
    every_form: dict[str, dict[str, Answer]] = {
        "registration": REGISTRATION_ANSWERS,
        "activity": ACTIVITY_ANSWERS | {"activity_type": "อื่น ๆ"},
        "problem": PROBLEM_ANSWERS | {"category": "อื่น ๆ"},
        "language": {"language": "English"},
        "area": REGISTRATION_ANSWERS,
    }
    answers = every_form[form_id]
    if form_id == "registration":
        chat.user = NEWCOMER
        chat.send("สวัสดี")
    else:
        chat.send({"activity": "1", "problem": "2", "language": "4", "area": "5"}[form_id])
        assert chat.state is not None and chat.state.form_id == form_id
    for message in _walk(chat, answers):
        _check(message, 13)
    assert chat.last.events and isinstance(chat.last.events[0], Submitted)


def test_every_area_list_fits(newcomer: Chat, env: Env) -> None:
    """Every province's districts and every district's subdistricts, page by page."""
    at_area(newcomer)
    assert newcomer.state is not None
    at_provinces = newcomer.state
    for province in env.areas.provinces():
        newcomer.state = at_provinces
        newcomer.send(Inbound("choice", value=f"a:area:p{province.code}"))
        at_districts = newcomer.state
        _check_pages(newcomer, len(env.areas.districts(province.code)))
        for district in env.areas.districts(province.code):
            newcomer.state = at_districts
            newcomer.send(Inbound("choice", value=f"a:area:d{district.code}"))
            assert area_stage(newcomer) == "subdistrict"
            _check_pages(newcomer, len(env.areas.subdistricts(district.code)))


def _check_pages(chat: Chat, count: int) -> None:
    seen: set[str] = set()
    for _ in range(30):
        for message in chat.messages:
            _check(message, 13)
        places = {v for v in chat.values if v.startswith("a:area:")}
        if places <= seen:
            break
        seen |= places
        if NAV_MORE not in chat.values:
            break
        chat.send(Inbound("choice", value=NAV_MORE))
    assert len(seen) == count


@pytest.mark.parametrize("typed", ["เมืองเชียงใหม่", "อ.เมืองเชียงใหม่", "Mueang Chiang Mai"])
def test_a_mueang_district_typed_at_the_province_stage_is_the_district(
    newcomer: Chat, typed: str
) -> None:
    at_area(newcomer)
    newcomer.send(typed)
    assert area_stage(newcomer) == "subdistrict"
    assert newcomer.state is not None
    assert newcomer.state.context["area"]["district_code"] == MUEANG_CHIANG_MAI


@pytest.mark.parametrize(("typed", "language"), [("ไทย", "th"), ("Thai", "th"), ("อังกฤษ", "en")])
def test_language_by_its_short_name(newcomer: Chat, typed: str, language: str) -> None:
    newcomer.send("สวัสดี", typed)
    assert newcomer.answers["language"] == language
    assert newcomer.step == "consent"


def test_a_required_answer_left_out_while_editing_is_asked_before_sending(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="confirm")
    chat.tap(chat.t("summary.edit", label=chat.t("form.activity.type.label")))
    chat.tap_key("choice.activity_types.other")
    assert chat.step == "activity_other"
    chat.send("ย้อนกลับ", "ย้อนกลับ")  # to the summary, never saying what the other one was
    assert chat.step == "confirm"
    chat.send("ยืนยัน")
    assert chat.state is not None, "sent without the required answer"
    assert chat.step == "activity_other"
    label = chat.t("form.activity.other.label")
    assert chat.texts[0] == chat.t("summary.missing", label=label)
    chat.send("ปลูกป่าชายเลน")
    assert chat.step == "confirm"
    chat.send("ยืนยัน")
    assert submitted(chat).answers["activity_other"] == "ปลูกป่าชายเลน"


def test_area_back_button_at_deeper_levels_of_the_change_area_form(chat: Chat) -> None:
    chat.send("เปลี่ยนพื้นที่")
    assert chat.t("nav.back") not in chat.labels  # nothing before the province question
    chat.send("เชียงใหม่")
    assert chat.t("nav.back") in chat.labels
    chat.tap(chat.t("nav.back"))
    assert area_stage(chat) == "province"


def test_a_fuzzy_guess_in_another_province_is_offered_not_taken(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("suthep")
    assert area_stage(newcomer) == "province"
    assert newcomer.texts == [newcomer.t("area.did_you_mean")]
    newcomer.send("ย้อนกลับ")
    assert newcomer.state is not None and "suggestions" not in newcomer.state.context


# ------------------------------------------------------------------ hostile input (issue 9)


@pytest.mark.parametrize(
    ("text", "maximum", "expected"),
    [
        ("7", MAX_BUTTON_NUMBER, 7),
        ("0", MAX_BUTTON_NUMBER, 0),
        ("2147483647", MAX_BUTTON_NUMBER, 2_147_483_647),
        ("2147483648", MAX_BUTTON_NUMBER, None),  # over a database integer
        ("00000000001", MAX_BUTTON_NUMBER, None),  # 11 digits
        ("²", MAX_BUTTON_NUMBER, None),  # isdigit() says yes, int() says no
        ("٣", MAX_BUTTON_NUMBER, None),  # Arabic-Indic three
        ("๓", MAX_BUTTON_NUMBER, None),
        ("", MAX_BUTTON_NUMBER, None),
        ("-1", MAX_BUTTON_NUMBER, None),
        (" 1", MAX_BUTTON_NUMBER, None),
        ("99", 99, 99),
        ("100", 99, None),
    ],
)
def test_button_number(text: str, maximum: int, expected: int | None) -> None:
    assert button_number(text, maximum) == expected


@pytest.mark.parametrize("value", ["v²", "v0", "v100", "v", "v" + "9" * 5000])
def test_a_forged_village_button_answers_nothing(newcomer: Chat, value: str) -> None:
    at_area(newcomer)
    newcomer.send("เชียงใหม่", "เมืองเชียงใหม่", "ศรีภูมิ", Inbound("choice", value=f"a:area:{value}"))
    assert area_stage(newcomer) == "village"
    assert newcomer.texts[0] == newcomer.t("error.stale_button")


def test_a_village_button(newcomer: Chat) -> None:
    at_area(newcomer)
    newcomer.send("เชียงใหม่", "เมืองเชียงใหม่", "ศรีภูมิ", Inbound("choice", value="a:area:v3"))
    assert newcomer.answers["area"] == SI_PHUM_MOO_3


@pytest.mark.parametrize(
    ("step_type", "limit"),
    [
        ("consent", 200), ("choice", 200), ("multi", 500), ("phone", 200), ("number", 200),
        ("date", 200), ("location", 200), ("photos", 200), ("area", 200), ("confirm", 200),
    ],
)  # fmt: skip
def test_input_limits(step_type: StepType, limit: int) -> None:
    assert input_limit(Step("x", step_type, "x")) == limit


def test_a_text_step_takes_up_to_its_maximum() -> None:
    assert input_limit(Step("x", "text", "x", maximum=100)) == 100
    assert input_limit(Step("x", "text", "x")) == 1000
    short = Step("x", "text", "x", maximum=100)
    assert answer_length(short, "  สมชาย     ใจดี  ") == len("สมชาย ใจดี")  # as the step counts
    assert answer_length(Step("x", "text", "x", maximum=1000), " a   b ") == len("a   b")


def test_advance_refuses_text_longer_than_the_step_takes(chat: Chat) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="participants")
    assert chat.state is not None
    form, before = FORMS["activity"], chat.state
    result = advance(form, before, Inbound("text", "1" * 201), REGISTERED, chat.env)
    assert [m.text for m in result.messages] == [
        chat.t("error.too_long", limit="200"),
        chat.messages[-1].text,
    ]
    assert result.state == before and not result.events


@pytest.mark.parametrize(("length", "step"), [(1000, "photos"), (1001, "description")])
def test_a_description_of_up_to_1000_characters(chat: Chat, length: int, step: str) -> None:
    chat.send("กิจกรรม")
    chat.fill(ACTIVITY_ANSWERS, until="description")
    chat.send("ก" * length)
    assert chat.step == step
    if length > 1000:
        assert chat.texts[0] == chat.t("error.too_long", limit="1,000")


# ------------------------------------------------------------------ short forms and synonyms


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("ปลูกผัก", "kitchen_garden"),
        ("ขุดลอก", "canal_dredging"),
        ("ทำฝาย", "check_dam"),
        ("ธนาคารน้ำ", "groundwater_bank"),
        ("ประชุมหมู่บ้าน", "village_assembly"),
        ("ทำฝายครับ", "check_dam"),
        ("weir", "check_dam"),
        ("village meeting", "village_assembly"),
    ],
)
def test_activity_types_in_the_words_villagers_use(chat: Chat, typed: str, value: str) -> None:
    chat.send("กิจกรรม")
    chat.send(typed)
    assert chat.answers["activity_type"] == value


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("ถนนพัง", "road_bridge"),
        ("ไฟดับ", "electricity"),
        ("น้ำไม่พอใช้", "drought"),
        ("แล้ง", "drought"),
        ("ไฟไหม้", "fire"),
        ("power cut", "electricity"),
        ("garbage", "waste"),
    ],
)
def test_problem_categories_in_the_words_villagers_use(chat: Chat, typed: str, value: str) -> None:
    chat.send("แจ้งปัญหา")
    chat.send(typed)
    assert chat.answers["category"] == value


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("ผญบ", "village_head"),
        ("ผญบ.", "village_head"),
        ("ผู้ใหญ่", "village_head"),
        ("อสม", "health_volunteer"),
        ("ผช.ผญบ.", "assistant_head"),
        ("village head", "village_head"),
    ],
)
def test_village_roles_in_short_forms(newcomer: Chat, typed: str, value: str) -> None:
    newcomer.send("สวัสดี")
    newcomer.fill(REGISTRATION_ANSWERS, until="role")
    newcomer.send(typed)
    assert newcomer.answers["role"] == value


@pytest.mark.parametrize(
    ("typed", "fitting"),
    [("ไฟ", ["electricity", "fire"]), ("น้ำ", ["flood", "drought", "polluted_water"])],
)
def test_a_word_that_fits_several_options_asks_which(
    chat: Chat, typed: str, fitting: list[str]
) -> None:
    chat.send("แจ้งปัญหา")
    chat.send(typed)
    assert chat.step == "category" and "category" not in chat.answers
    assert chat.texts[-1] == chat.t("choice.which")
    labels = [chat.t(f"choice.problem_categories.{v}") for v in fitting]
    assert [label for label in chat.labels if label in labels] == labels
    assert chat.t("choice.problem_categories.waste") not in chat.labels  # only those that fit
    chat.tap(labels[-1])
    assert chat.answers["category"] == fitting[-1]


def test_back_from_which_one_shows_every_option(chat: Chat) -> None:
    chat.send("แจ้งปัญหา")
    chat.send("ไฟ")
    chat.send("ย้อนกลับ")
    assert chat.step == "category"
    assert chat.t("choice.problem_categories.waste") in chat.labels
    chat.send("ขยะ")
    assert chat.answers["category"] == "waste"


def test_a_buttons_label_in_the_other_language_is_understood(env: Env) -> None:
    """An English-speaking villager who types the Thai label ไม่มีรูป (the words around them
    are Thai) gets no photos, as a Thai one who types "no photo"."""
    chat = Chat(env, replace(REGISTERED, language="en"))
    chat.send("activity")
    chat.fill(ACTIVITY_ANSWERS, until="photos")
    chat.send("ไม่มีรูป")
    assert chat.step == "confirm" and chat.answers["photos"] == []
