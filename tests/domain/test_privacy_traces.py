"""How a person's name and phone are found in free text (domain.privacy.traces): the phone
however it is written, the full name only where it cannot be an ordinary word, the lines the
bot wrote with the name; a correction writes the new values instead."""

from __future__ import annotations

from domain.privacy import REMOVED, scrub, traces


def _clean(text: str, *args: object, own: bool = True, **options: object) -> str:
    found = traces(*args, **options)  # type: ignore[arg-type]
    return str(scrub(text, found.own if own else found.elsewhere)[0])


def test_a_phone_however_it_is_written() -> None:
    for written in ("0812345678", "081-234-5678", "081 234 5678", "+66 81 234 5678",
                    "+66812345678", "๐๘๑-๒๓๔-๕๖๗๘", "081.234.5678", "(081) 234-5678"):  # fmt: skip
        assert _clean(f"โทร {written} ด่วน", None, "081-234-5678") == f"โทร {REMOVED} ด่วน"
    assert _clean("เลขที่ 10812345678999", None, "0812345678") == "เลขที่ 10812345678999"


def test_a_short_name_is_an_ordinary_word_and_stays() -> None:
    assert _clean("น้ำเสียไหลลงคลอง น้ำเน่า", "น้ำ", None) == "น้ำเสียไหลลงคลอง น้ำเน่า"
    assert _clean("ฝนตกหนัก", "ฝน", None, own=False) == "ฝนตกหนัก"
    # …but the line the bot wrote with it goes.
    lines = (("👤 ผู้แจ้ง: น้ำ", "ผู้แจ้ง: ข้อมูลส่วนตัวถูกลบแล้ว"),)
    alert = "🚨 น้ำท่วม\n👤 ผู้แจ้ง: น้ำ\nแจ้งเมื่อ: วันนี้"
    assert _clean(alert, "น้ำ", None, lines=lines) == (
        "🚨 น้ำท่วม\nผู้แจ้ง: ข้อมูลส่วนตัวถูกลบแล้ว\nแจ้งเมื่อ: วันนี้"
    )
    assert _clean("👤 ผู้แจ้ง: น้ำฝน", "น้ำ", None, lines=lines) == "👤 ผู้แจ้ง: น้ำฝน"


def test_a_full_name_and_its_long_parts_in_their_own_texts() -> None:
    text = "หน้าบ้านนายสมชาย  ใจดี และบ้านสมชาย"
    assert _clean(text, "สมชาย ใจดี", None) == f"หน้าบ้านนาย{REMOVED} และบ้าน{REMOVED}"
    # Elsewhere only the full name: a first name alone may be anyone's.
    assert _clean(text, "สมชาย ใจดี", None, own=False) == f"หน้าบ้านนาย{REMOVED} และบ้านสมชาย"


def test_a_correction_writes_the_new_values() -> None:
    found = traces("สมชาย ใจดี", "0812345678", parts=False, name_as="สมชาย ใจงาม",
                   phone_as="0899999999")  # fmt: skip
    said, changed = scrub("บ้านนายสมชาย ใจดี โทร 081-234-5678", found.own)
    assert changed and said == "บ้านนายสมชาย ใจงาม โทร 0899999999"


def test_where_the_bot_writes_a_staff_members_name() -> None:
    """A one-word name (an officer's nickname) in the lines the bot writes with it."""
    history = "• 20 มี.ค. 69 รับเรื่องแล้ว · ดาว — จะไปดูพรุ่งนี้\n• 21 มี.ค. 69 เสร็จสิ้น · ดาว"
    assert _clean(history, "ดาว", None, own=False) == (
        f"• 20 มี.ค. 69 รับเรื่องแล้ว · {REMOVED} — จะไปดูพรุ่งนี้\n• 21 มี.ค. 69 เสร็จสิ้น · {REMOVED}"
    )
    taken = "เรื่อง PRB-2569-000001 ถูกดำเนินการไปแล้วโดย ดาว (สถานะ: รับเรื่องแล้ว)"
    assert _clean(taken, "ดาว", None, own=False) == taken.replace("โดย ดาว", f"โดย {REMOVED}")
    assert _clean("ดาวเคราะห์ · ดาวน์โหลด", "ดาว", None, own=False) == "ดาวเคราะห์ · ดาวน์โหลด"
