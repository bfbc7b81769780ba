from __future__ import annotations

import datetime
from collections.abc import Sequence

import geothai
import pytest

from handlers.thai import (
    MAX_CHOICE_TEXT,
    MAX_DATE_TEXT,
    MAX_NAME_QUERY,
    MAX_NUMBER_TEXT,
    MAX_PHONE_TEXT,
    MAX_VILLAGE_TEXT,
    fix_keyboard_layout,
    match_choice,
    match_names,
    normalize_digits,
    parse_date,
    parse_number,
    parse_phone,
    parse_village_no,
    strip_particles,
)

TODAY = datetime.date(2024, 3, 10)

Candidates = Sequence[tuple[str, Sequence[str]]]


def _provinces() -> Candidates:
    return [(p.code, (p.name_th, p.name_en)) for p in geothai.provinces()]


def _districts(province_code: str) -> Candidates:
    return [(d.code, (d.name_th, d.name_en)) for d in geothai.districts(province_code)]


# --- normalize_digits -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("๐๑๒๓๔๕๖๗๘๙", "0123456789"),
        ("หมู่ ๓", "หมู่ 3"),
        ("abc 12", "abc 12"),
        ("", ""),
        ("ราวๆ", "ราวๆ"),
    ],
)
def test_normalize_digits(text: str, expected: str) -> None:
    assert normalize_digits(text) == expected


# --- fix_keyboard_layout ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("l;ylfu", "สวัสดี"),
        ("g=up'.s,j", "เชียงใหม่"),
        ("-vocdjo", "ขอนแก่น"),
        ("  l;ylfu  ", "สวัสดี"),
    ],
)
def test_fix_keyboard_layout_converts(text: str, expected: str) -> None:
    assert fix_keyboard_layout(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "cancel",
        "Cancel",
        "back",
        "menu",
        "help",
        "skip",
        "yes",
        "no",
        "ok",
        "OK",
        "123",
        "0812345678",
        "hello world",
        "thank you",
        "Bangkok",
        "สวัสดี",  # already Thai
        "l;ylfu!",  # "!" is not on a key that gives Thai
        "hk;ypd",  # would start with a tone mark: not Thai
    ],
)
def test_fix_keyboard_layout_rejects(text: str) -> None:
    assert fix_keyboard_layout(text) is None


# --- parse_number -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("35", 35),
        ("๓๕", 35),
        ("สามสิบห้า", 35),
        ("สาม สิบ ห้า", 35),
        ("1,200", 1200),
        (" 12 คน", 12),
        ("ประมาณ 20", 20),
        ("ประมาณ20", 20),
        ("ราว 15", 15),
        ("ราวๆ 30 หลังคาเรือน", 30),
        ("ราว ๆ ห้าสิบ", 50),
        ("หนึ่งร้อย", 100),
        ("20 ครัวเรือน", 20),
        ("20ครัวเรือน", 20),
        ("8 หลัง", 8),
        ("สิบ ราย", 10),
        ("3 ครอบครัว", 3),
        ("คน 12", 12),
        ("0", 0),
        ("หนึ่งพันสองร้อย", 1200),
    ],
)
def test_parse_number(text: str, expected: int) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "-5", "ลบสิบ", "abc", "1,20", "2.5", "คน", "ห้าห้า", "12 แมว", "สิบ สิบ"],
)
def test_parse_number_rejects(text: str) -> None:
    assert parse_number(text) is None


# --- parse_date -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("วันนี้", datetime.date(2024, 3, 10)),
        ("เมื่อวาน", datetime.date(2024, 3, 9)),
        ("เมื่อวานซืน", datetime.date(2024, 3, 8)),
        ("พรุ่งนี้", datetime.date(2024, 3, 11)),
        ("today", datetime.date(2024, 3, 10)),
        ("Yesterday", datetime.date(2024, 3, 9)),
        ("tomorrow", datetime.date(2024, 3, 11)),
        ("15 มี.ค. 65", datetime.date(2022, 3, 15)),
        ("15 มี.ค. 2565", datetime.date(2022, 3, 15)),
        ("15 มีค 2565", datetime.date(2022, 3, 15)),
        ("15 มีนาคม 2565", datetime.date(2022, 3, 15)),
        ("15 มีนา 65", datetime.date(2022, 3, 15)),
        ("15มีนาคม2565", datetime.date(2022, 3, 15)),
        ("15/3/2565", datetime.date(2022, 3, 15)),
        ("15/03/65", datetime.date(2022, 3, 15)),
        ("15-3-2022", datetime.date(2022, 3, 15)),
        ("2022-03-15", datetime.date(2022, 3, 15)),
        ("๑๕ มีนาคม ๒๕๖๕", datetime.date(2022, 3, 15)),
        ("๑๕/๓/๒๕๖๕", datetime.date(2022, 3, 15)),
        ("วันที่ 15 มีนาคม พ.ศ. 2565", datetime.date(2022, 3, 15)),
        ("1 ก.พ. 2024", datetime.date(2024, 2, 1)),
        ("5 พฤศจิกายน 2566", datetime.date(2023, 11, 5)),
        # No year: the most recent such date not after today.
        ("15 มีนาคม", datetime.date(2023, 3, 15)),
        ("5 มีนาคม", datetime.date(2024, 3, 5)),
        ("10 มีนาคม", datetime.date(2024, 3, 10)),
        ("1 ธันวาคม", datetime.date(2023, 12, 1)),
        ("29 ก.พ.", datetime.date(2024, 2, 29)),
        ("5/3", datetime.date(2024, 3, 5)),
    ],
)
def test_parse_date(text: str, expected: datetime.date) -> None:
    assert parse_date(text, TODAY) == expected


def test_parse_date_uses_given_today() -> None:
    assert parse_date("เมื่อวาน", datetime.date(2020, 1, 1)) == datetime.date(2019, 12, 31)
    assert parse_date("29 ก.พ.", datetime.date(2023, 6, 1)) == datetime.date(2020, 2, 29)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "31/2/2565",
        "29/2/2566",
        "15/13/2565",
        "32 มีนาคม 2565",
        "0/3/2565",
        "15 foo 2565",
        "15/3/999",
        "15/3/565",
        "2022-02-30",
        "มีนาคม",
    ],
)
def test_parse_date_rejects(text: str) -> None:
    assert parse_date(text, TODAY) is None


# --- parse_village_no -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ม.3", 3),
        ("ม. 3", 3),
        ("หมู่ 3", 3),
        ("หมู่ ๓", 3),
        ("หมู่ที่ 3", 3),
        ("หมู่ที่๓", 3),
        ("3", 3),
        ("moo 3", 3),
        ("Moo 3", 3),
        ("ม.12", 12),
        ("99", 99),
    ],
)
def test_parse_village_no(text: str, expected: int) -> None:
    assert parse_village_no(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("หมู่ที่สาม", 3),
        ("หมู่สิบสอง", 12),
        ("ม. สาม", 3),
        ("บ้านหนองบัว ม.3", 3),
        ("บ้านหนองบัว หมู่ 3", 3),
        ("บ้านหนองบัว หมู่ที่ สิบสอง", 12),
        ("บ.หนองบัว ม.๓", 3),
        ("Ban Nong Bua Moo 3", 3),
    ],
)
def test_parse_village_no_spelt_out_or_after_the_name(text: str, expected: int) -> None:
    """As people write it: the number in words, or the village's name and then its หมู่."""
    assert parse_village_no(text) == expected


@pytest.mark.parametrize("text", ["หนองบัว", "บ้านนาม 3", "หมู่ที่ศูนย์", "ม.3 4", "มี 3", "หมู่ที่"])
def test_parse_village_no_needs_the_mark_and_a_number(text: str) -> None:
    assert parse_village_no(text) is None


@pytest.mark.parametrize("text", ["", "0", "หมู่ 0", "100", "หมู่ 123", "abc", "ม.", "หมู่ -3"])
def test_parse_village_no_rejects(text: str) -> None:
    assert parse_village_no(text) is None


# --- parse_phone ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("081-234-5678", "0812345678"),
        ("๐๘๑ ๒๓๔ ๕๖๗๘", "0812345678"),
        ("+66 81 234 5678", "0812345678"),
        ("+66 081 234 5678", "0812345678"),
        ("0612345678", "0612345678"),
        ("099 999 9999", "0999999999"),
        ("021234567", "021234567"),
        ("(02) 123-4567", "021234567"),
        ("+66 2 123 4567", "021234567"),
        ("074 123 456", "074123456"),
    ],
)
def test_parse_phone(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "12345",
        "081234567",  # mobile prefix, landline length
        "08123456789",  # too long
        "0112345678",  # no such prefix
        "0712345678",  # landline prefix, mobile length
        "011234567",
        "+1 555 123 4567",
        "โทร 0812345678",
    ],
)
def test_parse_phone_rejects(text: str) -> None:
    assert parse_phone(text) is None


# --- match_names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("เชียงไหม่", "50"),
        ("เชียงใหม่", "50"),
        ("จ.ขอนแก่น", "40"),
        ("จังหวัดขอนแก่น", "40"),
        ("chiang mai", "50"),
        ("Chiang Mai", "50"),
        ("khon-kaen", "40"),
        ("g=up'.s,j", "50"),  # เชียงใหม่ typed with the English layout
        ("-vocdjo", "40"),  # ขอนแก่น typed with the English layout
    ],
)
def test_match_names_provinces(query: str, code: str) -> None:
    found = match_names(query, _provinces())
    assert found
    assert found[0][0] == code


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("อ.เมือง", "5001"),
        ("อำเภอเมือง", "5001"),
        ("เมือง", "5001"),
        ("เชียงใหม่", "5001"),
        ("เมืองเชียงใหม่", "5001"),
        ("Mueang Chiang Mai", "5001"),
        ("mueang", "5001"),
        ("อ.จอมทอง", "5002"),
        ("จอมทอง", "5002"),
    ],
)
def test_match_names_districts(query: str, code: str) -> None:
    found = match_names(query, _districts("50"))
    assert found[0] == (code, 100.0)


def test_match_names_exact_scores_100_and_sorts_first() -> None:
    found = match_names("chiang mai", _provinces())
    assert found[0] == ("50", 100.0)
    assert all(score < 100 for _, score in found[1:])
    assert [score for _, score in found] == sorted((s for _, s in found), reverse=True)


def test_match_names_typo_scores_below_100() -> None:
    found = match_names("เชียงไหม่", _provinces())
    assert found[0][0] == "50"
    assert 70 <= found[0][1] < 100


def test_match_names_capital_first_when_mueang_is_ambiguous() -> None:
    # Lampang also has เมืองปาน; the caller's order (by code) puts the capital first.
    found = match_names("อ.เมือง", _districts("52"))
    assert [key for key, _ in found[:2]] == ["5201", "5213"]


def test_match_names_limit_cutoff_and_unique_keys() -> None:
    candidates = [("a", ("สันทราย", "San Sai")), ("b", ("สันป่าตอง", "สันทราย"))]
    found = match_names("สันทราย", candidates, limit=5, cutoff=70)
    assert [key for key, _ in found] == ["a", "b"]
    assert match_names("สันทราย", candidates, limit=1) == [("a", 100.0)]
    assert len(match_names("chiang", _provinces(), limit=1)) <= 1
    assert all(score >= 90 for _, score in match_names("เชียง", _provinces(), cutoff=90))


@pytest.mark.parametrize("query", ["", "   ", "xyz", "cancel", "12345", "จ."])
def test_match_names_nothing(query: str) -> None:
    assert match_names(query, _provinces()) == []


def test_match_names_no_candidates() -> None:
    assert match_names("เชียงใหม่", []) == []


# --- match_choice -----------------------------------------------------------

YES_NO: Candidates = [
    ("yes", ("ใช่", "yes", "1")),
    ("no", ("ไม่ใช่", "no", "2")),
]
HOUSING: Candidates = [
    ("damaged", ("บ้านเสียหาย", "เสียหาย")),
    ("destroyed", ("บ้านพังทั้งหลัง", "พังทั้งหลัง")),
    ("flooded", ("น้ำท่วมบ้าน",)),
]


@pytest.mark.parametrize(
    ("text", "choices", "expected"),
    [
        ("ใช่", YES_NO, "yes"),
        ("ใช่ครับ", YES_NO, "yes"),
        ("ไม่ใช่ค่ะ", YES_NO, "no"),
        ("YES", YES_NO, "yes"),
        (" no. ", YES_NO, "no"),
        ("๑", YES_NO, "yes"),
        ("2", YES_NO, "no"),
        ("บ้านเสียหาย", HOUSING, "damaged"),
        ("บ้านเสียหย", HOUSING, "damaged"),  # typo
        ("น้ำท่วมบ้าน", HOUSING, "flooded"),
        ("นั้าท่วมบ้าน", HOUSING, "flooded"),  # typo
        (".=j", YES_NO, "yes"),  # ใช่ typed with the English layout
        ("w,j.=j", YES_NO, "no"),  # ไม่ใช่ typed with the English layout
        ("บ้าน", HOUSING, None),
        ("หลังคา", HOUSING, None),
    ],
)
def test_match_choice(text: str, choices: Candidates, expected: str | None) -> None:
    assert match_choice(text, choices) == expected


def test_match_choice_keyboard_layout() -> None:
    choices: Candidates = [("hello", ("สวัสดี",)), ("bye", ("ลาก่อน",))]
    assert match_choice("l;ylfu", choices) == "hello"


@pytest.mark.parametrize("text", ["", "   ", "ไม่แน่ใจ", "maybe", "3", "cancel"])
def test_match_choice_rejects(text: str) -> None:
    assert match_choice(text, YES_NO) is None


def test_match_choice_needs_a_clear_winner() -> None:
    choices: Candidates = [("a", ("บ้านเสียหาย",)), ("b", ("บ้านเสียหาร",))]
    assert match_choice("บ้านเสียหาว", choices) is None


def test_match_choice_exact_prefers_first() -> None:
    choices: Candidates = [("a", ("ตกลง",)), ("b", ("ตกลง",))]
    assert match_choice("ตกลง", choices) == "a"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 Oct 2026", datetime.date(2026, 10, 1)),
        ("1 October 2026", datetime.date(2026, 10, 1)),
        ("3 Sept 2026", datetime.date(2026, 9, 3)),
        ("15 Mar", datetime.date(2026, 3, 15)),
    ],
)
def test_parse_date_english_month_names(text: str, expected: datetime.date) -> None:
    assert parse_date(text, datetime.date(2026, 11, 24)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("about 40 people", 40), ("40 households", 40), ("Around 5 families", 5), ("~12", 12)],
)
def test_parse_number_english_words_around_it(text: str, expected: int) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("40 กว่า", 40),
        ("ราวๆ 40", 40),
        ("สี่สิบกว่าคน", 40),
        ("๔๐ ท่าน", 40),
        ("40 กว่าคน", 40),
        ("ห้าสิบกว่า ๆ", 50),
        ("เกือบ 50 คน", 50),
        ("เกิน 30 ครัวเรือน", 30),
        ("40+", 40),
        ("40+ people", 40),
        ("more than 40", 40),
        ("over 40 households", 40),
        ("40 or so", 40),
        ("40 คนค่ะ", 40),
        ("40 คน ค่ะ", 40),
        ("สามสิบครับ", 30),
    ],
)
def test_parse_number_more_than_and_polite_units(text: str, expected: int) -> None:
    """ "40 กว่า" (forty-odd) is 40: the count the person knows; ท่าน is คน said politely."""
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["กว่า", "+", "more than", "40 กว่า 50", "over"])
def test_parse_number_more_than_alone_is_no_number(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ล้าน", 1_000_000),
        ("สองล้านสามแสนหกร้อยสิบสอง", 2_300_612),
        ("ยี่สิบเอ็ด", 21),
        ("สิบเอ็ดล้านห้า", 11_000_005),
        ("ศูนย์", 0),
        ("หนึ่ง\nร้อย", None),  # over two lines, as before
        ("ร้อยสิบ", 110),
        ("สิบร้อย", None),  # powers out of order
        ("ห้าลบ", None),
    ],
)
def test_parse_number_words(text: str, expected: int | None) -> None:
    assert parse_number(text) == expected


# --- the longest text each reader takes (issue 9) ----------------------------


def test_parse_number_reads_up_to_its_limit() -> None:
    assert parse_number(" " * (MAX_NUMBER_TEXT - 2) + "35") == 35
    assert parse_number(" " * (MAX_NUMBER_TEXT - 1) + "35") is None
    assert parse_number("1" * MAX_NUMBER_TEXT) == int("1" * MAX_NUMBER_TEXT)


def test_parse_date_reads_up_to_its_limit() -> None:
    assert parse_date(" " * (MAX_DATE_TEXT - 3) + "5/3", TODAY) == datetime.date(2024, 3, 5)
    assert parse_date(" " * (MAX_DATE_TEXT - 2) + "5/3", TODAY) is None


def test_parse_village_no_reads_up_to_its_limit() -> None:
    assert parse_village_no("หมู่" + " " * (MAX_VILLAGE_TEXT - 5) + "3") == 3
    assert parse_village_no("หมู่" + " " * (MAX_VILLAGE_TEXT - 4) + "3") is None


def test_parse_phone_reads_up_to_its_limit() -> None:
    assert parse_phone("0812345678".ljust(MAX_PHONE_TEXT)) == "0812345678"
    assert parse_phone("0812345678".ljust(MAX_PHONE_TEXT + 1)) is None


def test_match_names_reads_up_to_its_limit() -> None:
    assert match_names("เชียงใหม่".ljust(MAX_NAME_QUERY), _provinces())[0][0] == "50"
    assert match_names("เชียงใหม่".ljust(MAX_NAME_QUERY + 1), _provinces()) == []


def test_match_choice_reads_up_to_its_limit() -> None:
    assert match_choice("ใช่".ljust(MAX_CHOICE_TEXT), YES_NO) == "yes"
    assert match_choice("ใช่".ljust(MAX_CHOICE_TEXT + 1), YES_NO) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ใช่ครับ", "ใช่"),
        ("ใช่นะครับ", "ใช่"),
        ("ใช่ครับผมครับ", "ใช่"),
        ("ได้จ้ะ", "ได้"),
        ("ครับ", "ครับ"),  # nothing but a particle: kept
        ("ใช่ครับx", "ใช่ครับx"),
        (" ไม่ค่ะ ", "ไม่"),
    ],
)
def test_strip_particles(text: str, expected: str) -> None:
    assert strip_particles(text) == expected


def test_ranges_and_village_numbers_that_are_not() -> None:
    from handlers.thai import parse_number, parse_village_no

    assert parse_number("40-50 คน") == 40  # the lower end: the count the person knows
    assert parse_number("50-40") is None  # not a range
    assert parse_number("40-") is None
    assert parse_village_no("3 4") is None  # two numbers: which?
    assert parse_village_no("มหาสารคาม") is None
    assert parse_village_no("ม.3 บ้านหนองบัว") == 3
