"""Reading what field staff type in Thai: numbers, dates, village numbers, phones and names.

Everything here is pure: no I/O, no clock (callers pass ``today``), no mutable globals.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence

from geothai import normalize as _geo_normalize  # type: ignore[attr-defined]
from pythainlp.util import (
    eng_to_thai,
    thai_digit_to_arabic_digit,
    thaiword_to_date,
)
from pythainlp.util.date import thai_abbr_months, thai_full_months
from pythainlp.util.keyboard import EN_TH_KEYB_PAIRS
from rapidfuzz import fuzz, process

__all__ = [
    "choice_candidates",
    "fix_keyboard_layout",
    "has_title",
    "match_choice",
    "match_names",
    "normalize_digits",
    "parse_date",
    "parse_number",
    "parse_phone",
    "parse_village_no",
    "strip_particles",
]

_BE_OFFSET = 543
# A year this large can only be Buddhist Era: Gregorian 2400 is centuries away.
_BE_THRESHOLD = 2400


def normalize_digits(text: str) -> str:
    """Replace Thai digits ๐-๙ with 0-9 and leave everything else unchanged."""
    return thai_digit_to_arabic_digit(text)


# ---------------------------------------------------------------------------
# Keyboard layout
# ---------------------------------------------------------------------------

# Replies that are real English (or commands), even though some of them also map to real Thai
# ("ok" -> "นา", "skip" -> "หารย").
_ENGLISH_WORDS = frozenset(
    {
        "back",
        "cancel",
        "done",
        "edit",
        "end",
        "exit",
        "help",
        "hi",
        "hello",
        "home",
        "menu",
        "n",
        "next",
        "no",
        "ok",
        "okay",
        "quit",
        "restart",
        "send",
        "skip",
        "start",
        "stop",
        "submit",
        "y",
        "yes",
    }
)
_CONSONANTS = frozenset(chr(c) for c in range(0x0E01, 0x0E2F))  # ก..ฮ
_LEADING_VOWELS = frozenset("เแโใไ")
# Vowels and tone marks that are written after a consonant (above, below or to the right of it).
_FOLLOWING = frozenset(
    "\u0e30\u0e31\u0e32\u0e33\u0e45"  # ะ ั า ำ ๅ
    + "".join(chr(c) for c in range(0x0E34, 0x0E3B))  # ิ ี ึ ื ุ ู ฺ
    + "".join(chr(c) for c in range(0x0E47, 0x0E4F))  # ็ ่ ้ ๊ ๋ ์ ํ ๎
)


# Whether every word is spelt the way Thai can be: the keys of most English words are not.
def _plausible_thai(text: str) -> bool:
    words = text.split()
    if not words:
        return False
    for word in words:
        prev = ""
        for ch in word:
            if ch in _FOLLOWING and prev not in _CONSONANTS and prev not in _FOLLOWING:
                return False
            if prev in _LEADING_VOWELS and ch not in _CONSONANTS:
                return False
            if ch == "ๆ" and not prev:
                return False
            prev = ch
        if prev in _LEADING_VOWELS:
            return False
        if word[0] not in _CONSONANTS and word[0] not in _LEADING_VOWELS:
            return False
    return True


def fix_keyboard_layout(text: str) -> str | None:
    """Return the Thai that ``text`` was meant to be if it was typed in the English layout.

    ``"l;ylfu"`` -> ``"สวัสดี"``. The Kedmanee layout is assumed. Returns ``None`` unless all of
    these hold: every character is a key that maps to Thai (or a space); the input is not only
    digits; it is not a common English reply or command (``ok``, ``yes``, ``cancel``, ...); and
    every word of the result is spelt like Thai (starts with a consonant or a leading vowel,
    vowels and tone marks sit on a consonant). The last rule rejects most English words, whose
    letters land on Thai vowels and tone marks. Meant as a second try after the raw text matched
    nothing, so it errs towards ``None``.
    """
    stripped = text.strip()
    if not stripped:
        return None
    if all(ch.isdigit() or ch.isspace() for ch in stripped):
        return None
    if stripped.casefold() in _ENGLISH_WORDS:
        return None
    if any(ch not in EN_TH_KEYB_PAIRS and ch != " " for ch in stripped):
        return None
    thai = eng_to_thai(stripped)
    if not _plausible_thai(thai):
        return None
    return thai


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

# Longest first, so "หลังคาเรือน" is not cut to "หลัง" + "คาเรือน".
_UNITS = (
    "หลังคาเรือน", "ครัวเรือน", "ครอบครัว", "หลัง", "ราย", "ท่าน", "คน",
    "people", "persons", "person", "households", "household", "families", "family", "houses",
)  # fmt: skip
# Words for "about" (or "over") in front of a count; "ราว" may be followed by ๆ, "approx" by
# a dot. "More than 40" is 40, as "40 กว่า" is: the count the person knows.
_ABOUT = ("ประมาณ", "ราว", "เกือบ", "เกิน", "more than", "about", "around", "approximately",
          "approx", "almost", "nearly", "over", "~")  # fmt: skip
# "…or more" behind a count, before or after its unit: "40 กว่า", "สี่สิบกว่าคน", "40+ people".
_MORE = ("กว่าๆ", "กว่า ๆ", "กว่า", "+", "odd", "or so", "or more")
_DIGITS_RE = re.compile(r"^\d{1,3}(?:,\d{3})+$|^\d+$")
# A range, "40-50" or "40 ถึง 50": its lower end is the count the person knows.
_RANGE_RE = re.compile(r"^(\d{1,7})\s?(?:-|–|ถึง|to)\s?(\d{1,7})$")
# A count, even spelt out with "about" and a unit around it, is far shorter than this.
MAX_NUMBER_TEXT = 100

# Thai number words as pythainlp's thaiword_to_num reads them. No word is the start of another,
# so reading them greedily from the left splits a text in the only possible way.
_DIGIT_WORDS = {
    "หนึ่ง": 1, "เอ็ด": 1, "สอง": 2, "ยี่": 2, "สาม": 3, "สี่": 4, "ห้า": 5, "หก": 6, "เจ็ด": 7,
    "แปด": 8, "เก้า": 9,
}  # fmt: skip
_POWER_WORDS = {"สิบ": 10, "ร้อย": 100, "พัน": 1_000, "หมื่น": 10_000, "แสน": 100_000}
_MILLION, _MILLION_WORD, _MINUS_WORD, _ZERO_WORD = 1_000_000, "ล้าน", "ลบ", "ศูนย์"
_NUMBER_WORDS = (*_DIGIT_WORDS, *_POWER_WORDS, _MILLION_WORD, _MINUS_WORD)


def _skip_spaces(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _count_part(text: str) -> str | None:
    """The number in a count such as "ประมาณ 35 คน": one "about" word and one unit in front,
    and one unit behind, are dropped (what ``^(?:about\\s*)?(?:unit\\s*)?(.+?)(?:\\s*unit)?$``
    would capture, found without its quadratic backtracking)."""
    start = 0
    for word in _ABOUT:
        if text.startswith(word):
            start = len(word)
            if word == "ราว" and text.startswith("ๆ", _skip_spaces(text, start)):
                start = _skip_spaces(text, start) + 1
            elif word == "approx" and text.startswith(".", start):
                start += 1
            break
    start = _skip_spaces(text, start)
    for unit in _UNITS:
        if text.startswith(unit, start):
            start = _skip_spaces(text, start + len(unit))
            break
    if start >= len(text):
        return None
    end = _cut_suffix(text, start, len(text), _MORE)
    end = _cut_suffix(text, start, end, _UNITS)
    end = _cut_suffix(text, start, end, _MORE)
    number = text[start:end]
    # A number does not go over two lines ("1\n2" is two answers, not 12).
    return None if "\n" in number else number


def _cut_suffix(text: str, start: int, end: int, words: tuple[str, ...]) -> int:
    """Where `text[start:end]` ends without the longest of `words` at its end and the spaces
    before it (the number before it keeps at least one character)."""
    found = end
    for word in words:
        word_start = end - len(word)
        if word_start > start and text.startswith(word, word_start):
            cut = word_start
            while cut > start + 1 and text[cut - 1].isspace():
                cut -= 1
            found = min(found, cut)
    return found


def _thai_number_words(words: str) -> int | None:
    """Thai number words without spaces ("สามสิบห้า" -> 35), read as pythainlp's
    ``thaiword_to_num`` reads them: ``(ลบ)?(six figures ล้าน)*six figures``, where six figures
    are ``[digit]แสน [digit]หมื่น [digit]พัน [digit]ร้อย [digit]สิบ [digit]``, each optional, in
    that order. That function checks with a regular expression that backtracks exponentially
    ("ล้าน" * 20 + "ลบ" takes seconds), so this reads the words once, left to right."""
    if words == _ZERO_WORD:
        return 0
    tokens: list[str] = []
    index = 0
    while index < len(words):
        token = next((w for w in _NUMBER_WORDS if words.startswith(w, index)), None)
        if token is None:
            return None
        tokens.append(token)
        index += len(token)
    if not tokens:
        return None
    negative = tokens[0] == _MINUS_WORD
    total, digit, digit_read, last_power = 0, 1, False, _MILLION
    for token in tokens[1:] if negative else tokens:
        if token in _DIGIT_WORDS:
            if digit_read:  # two digits in a row
                return None
            digit, digit_read = _DIGIT_WORDS[token], True
        elif token in _POWER_WORDS:
            power = _POWER_WORDS[token]
            if power >= last_power:  # out of order within six figures
                return None
            # A power without a digit means one of it ("ร้อย" is 100).
            total += max(digit, 1) * power
            digit, digit_read, last_power = 0, False, power
        elif token == _MILLION_WORD:
            total = (total + digit) * _MILLION
            digit, digit_read, last_power = 0, False, _MILLION
        else:  # ลบ after the start
            return None
    total += digit
    return -total if negative else total


def parse_number(text: str) -> int | None:
    """Read a whole, non-negative count such as ``"35"``, ``"๓๕"``, ``"สามสิบห้า"``, ``"1,200"``.

    A unit word (คน, ท่าน, ครัวเรือน, หลังคาเรือน, หลัง, ราย, ครอบครัว) before or after the
    number, ประมาณ/ราว/ราวๆ/เกือบ/เกิน (about, over, more than) in front and กว่า (or +,
    "or more") behind are ignored: "40 กว่า" and "สี่สิบกว่าคน" are 40, the count the person
    knows; so is "40-50 คน" (or "40 ถึง 50"), a range read as its lower end. Negative
    numbers, decimals and anything else give ``None``, and so does text longer than
    ``MAX_NUMBER_TEXT`` (100) characters, unread.
    """
    if len(text) > MAX_NUMBER_TEXT:
        return None
    num = _count_part(strip_particles(normalize_digits(text).strip().casefold()).strip())
    if num is None:
        return None
    if _DIGITS_RE.match(num):
        return int(num.replace(",", ""))
    if (span := _RANGE_RE.match(num)) and int(span.group(1)) <= int(span.group(2)):
        return int(span.group(1))
    value = _thai_number_words("".join(num.split()))
    return value if value is not None and value >= 0 else None


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_ENGLISH_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ENGLISH_RELATIVE = {"today": "วันนี้", "yesterday": "เมื่อวาน", "tomorrow": "พรุ่งนี้"}


def _month_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for number, (full, abbr) in enumerate(zip(thai_full_months, thai_abbr_months, strict=True), 1):
        # The spoken short form drops the ending: มีนาคม -> มีนา, เมษายน -> เมษา, กุมภาพันธ์ -> กุมภา.
        short = full.removesuffix("คม").removesuffix("ยน").removesuffix("พันธ์")
        for name in (full, abbr, short):
            names[name.replace(".", "")] = number
    for number, english in enumerate(_ENGLISH_MONTHS, 1):
        names[english] = names[english[:3]] = number
    names["sept"] = 9
    return names


_MONTHS: dict[str, int] = _month_names()
# "วันที่ 15 มีนาคม พ.ศ. 2565" is 26 characters; no date needs more than this.
MAX_DATE_TEXT = 100
_ERA_RE = re.compile(r"(?:พ\.?\s*ศ|ค\.?\s*ศ)\.?")
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?$")
_THAI_MONTH_RE = re.compile(r"^(\d{1,2})\s*(\D+?)\s*(\d{2}|\d{4})?$")
# English puts the month first too: "Mar 15", "March 15, 2026", "march 3rd".
_MONTH_DAY_RE = re.compile(r"^([a-z]{3,9})\.? ?(\d{1,2})(?:st|nd|rd|th)?(?:,? (\d{4}))?$")


def _full_year(year: str) -> int | None:
    value = int(year)
    if len(year) == 2:
        # Two digits are a short Buddhist year, as on Thai forms: 65 -> 2565 -> 2022.
        return 2500 + value - _BE_OFFSET
    if len(year) != 4 or value < 1000:
        return None
    return value - _BE_OFFSET if value >= _BE_THRESHOLD else value


def _make_date(
    day: int, month: int, year: str | None, today: datetime.date
) -> datetime.date | None:
    if year is None:
        # No year: the latest such date not after today. Looping covers 29 Feb.
        for back in range(9):
            try:
                candidate = datetime.date(today.year - back, month, day)
            except ValueError:
                continue
            if candidate <= today:
                return candidate
        return None
    full = _full_year(year)
    if full is None:
        return None
    try:
        return datetime.date(full, month, day)
    except ValueError:
        return None


def parse_date(text: str, today: datetime.date) -> datetime.date | None:
    """Read a date relative to ``today``.

    Accepts วันนี้/เมื่อวาน/เมื่อวานซืน/พรุ่งนี้ (and other words pythainlp knows, plus English
    today/yesterday/tomorrow), ``"15 มี.ค. 65"``, ``"15 มีนาคม 2565"``, ``"15/3/2565"``,
    ``"15-3-2022"``, ``"2022-03-15"``, English with the month first (``"Mar 15"``,
    ``"March 15, 2026"``), and Thai digits anywhere. A leading วันที่ and a พ.ศ./ค.ศ.
    before the year are ignored.

    Years: 2400 or more is Buddhist Era (minus 543); other 4-digit years are Gregorian; 2 digits
    are a short Buddhist year (65 -> 2565 -> 2022). Without a year, the latest such date not after
    ``today``. Impossible dates such as 31/2/2565 give ``None``, and so does text longer than
    ``MAX_DATE_TEXT`` (100) characters, unread.
    """
    if len(text) > MAX_DATE_TEXT:
        return None
    cleaned = normalize_digits(text).strip().casefold()
    compact = re.sub(r"\s+", "", cleaned)
    relative = _ENGLISH_RELATIVE.get(compact, compact)
    # thaiword_to_date falls back to now() without a date, so always pass one.
    moved = thaiword_to_date(relative, datetime.datetime.combine(today, datetime.time()))
    if moved is not None:
        return moved.date()

    cleaned = re.sub(r"^วันที่\s*", "", cleaned)
    cleaned = re.sub(r"\s+", " ", _ERA_RE.sub(" ", cleaned)).strip()
    if m := _ISO_RE.match(cleaned):
        year, month, day = m.groups()
        return _make_date(int(day), int(month), year, today)
    if m := _DMY_RE.match(cleaned):
        day, month, year = m.groups()
        return _make_date(int(day), int(month), year, today)
    if m := _THAI_MONTH_RE.match(cleaned):
        day, month_name, year = m.groups()
        month_no = _MONTHS.get(re.sub(r"[\s.]", "", month_name))
        if month_no is None:
            return None
        return _make_date(int(day), month_no, year, today)
    if m := _MONTH_DAY_RE.match(cleaned):
        month_name, day, year = m.groups()
        month_no = _MONTHS.get(month_name)
        if month_no is None:
            return None
        return _make_date(int(day), month_no, year, today)
    return None


# ---------------------------------------------------------------------------
# Village number, phone
# ---------------------------------------------------------------------------

# One run of spaces may sit between หมู่ and ที่ and one before the number: two optional runs
# side by side ("หมู่\s*(?:ที่)?\s*") would try every split of a long run between them.
_VILLAGE_MARK = r"(?:หมู่(?:\s*บ้าน)?(?:\s*ที่)?|ม\.?|moo\.?|mu\.?|village(?:\s*no\.?)?|no\.?)"
_VILLAGE_RE = re.compile(rf"^{_VILLAGE_MARK}?\s*(\d{{1,2}})$")
# The number first, the village's name after it: "ม.3 บ้านหนองบัว", "moo 3 ban nong bua".
_VILLAGE_FIRST_RE = re.compile(rf"^{_VILLAGE_MARK}?\s*(\d{{1,2}})\s+[^\d\s]")
_VILLAGE_MARKS = ("หมู่", "ม.", "ม", "moo", "mu", "village", "no.")
# "บ้านหนองบัวแดง หมู่ที่ สิบสอง" is 29 characters; a long village name and its number fit.
MAX_VILLAGE_TEXT = 60


def parse_village_no(text: str) -> int | None:
    """Read a village (หมู่) number 1-99: ``"ม.3"``, ``"หมู่ที่ ๓"``, ``"หมู่บ้านที่ 3"``,
    ``"moo 3"``, ``"Village No. 3"``, ``"3"``, the number spelt out (``"หมู่ที่สาม"``), after the
    village's name (``"บ้านหนองบัว ม.3"``) or before it (``"ม.3 บ้านหนองบัว"``).

    Text longer than ``MAX_VILLAGE_TEXT`` (60) characters gives ``None``, unread.
    """
    if len(text) > MAX_VILLAGE_TEXT:
        return None
    cleaned = normalize_digits(text).strip().casefold()
    # The mark that starts the number: at the start, or the last one after a space (the
    # village's name before it: "บ้านหนองบัว ม.3").
    start = 0
    for mark in _VILLAGE_MARKS:
        found = cleaned.rfind(" " + mark)
        if found >= 0:
            start = max(start, found + 1)
    number = _village_number(cleaned[start:])
    if number is None and (first := _VILLAGE_FIRST_RE.match(cleaned)):
        number = int(first.group(1))
    return number if number is not None and 1 <= number <= 99 else None


def _village_number(text: str) -> int | None:
    match = _VILLAGE_RE.match(text)
    if match is not None:
        return int(match.group(1))
    for mark in _VILLAGE_MARKS:  # a number spelt out: "หมู่ที่สาม", "ม. สิบสอง"
        if text.startswith(mark):
            words = text[len(mark) :].strip().removeprefix("บ้าน").strip().removeprefix("ที่")
            return _thai_number_words("".join(words.split()))
    return None


# Titles a Thai name may start with: such a name is not given คุณ in front ("คุณนายสมศักดิ์"
# reads as "Madam Somsak"). Ranks and offices as people write them, with and without dots.
_TITLES = (
    "นางสาว", "นาง", "นาย", "น.ส.", "นส.", "ด.ช.", "ด.ญ.", "เด็กชาย", "เด็กหญิง", "คุณ",
    "ผู้ใหญ่", "ผญบ", "ผู้ช่วย", "กำนัน", "ปลัด", "นายอำเภอ", "ผอ.", "ครู", "อาจารย์", "อ.",
    "หมอ", "นพ.", "พญ.", "ดร.", "ด.ร.", "พระมหา", "พระครู", "พระ", "หลวง",
    "แม่", "พ่อ", "ป้า", "ลุง", "ยาย", "ตา",
    "พล.", "พ.ต.", "ร.ต.", "จ.ส.", "ส.ต.", "ด.ต.", "ร.อ.", "พ.อ.", "อสม.", "ส.ส.", "ส.อบต.",
)  # fmt: skip
# Titles so short that they start ordinary names too (ตา, แม่, อ.): only when a space follows.
_SHORT_TITLES = ("แม่", "พ่อ", "ป้า", "ลุง", "ยาย", "ตา", "อ.", "ครู", "หมอ", "พระ", "หลวง")


def has_title(name: str) -> bool:
    """Whether a Thai name starts with a title (นาย, นาง, นางสาว, ปลัด, ผู้ใหญ่, กำนัน, ดร. …)."""
    name = name.strip()
    for title in _TITLES:
        if name.startswith(title):
            rest = name[len(title) :]
            if title in _SHORT_TITLES:
                return rest[:1].isspace()
            # A vowel or tone mark right after it: one word ("นายิกา" is a name, not นาย;
            # "คุณากร" not คุณ).
            return bool(rest) and unicodedata.category(rest[0]) != "Mn" and rest[0] not in "ะาำๅ"
    return False


_PHONE_CHARS_RE = re.compile(r"^\+?[\d\s().-]+$")
_MOBILE_PREFIXES = ("06", "08", "09")
_LANDLINE_AREA = "234567"
# "+66 (0) 81-234-5678" is 19 characters.
MAX_PHONE_TEXT = 40


def parse_phone(text: str) -> str | None:
    """Read a Thai phone number and return its digits in the national form.

    Mobile: 10 digits starting 06/08/09; landline: 9 digits starting 02-07. Thai digits,
    spaces, hyphens, dots, brackets and a +66 country code (with or without the trunk 0) are
    accepted: ``"+66 81 234 5678"`` -> ``"0812345678"``. Text longer than ``MAX_PHONE_TEXT``
    (40) characters gives ``None``, unread.
    """
    if len(text) > MAX_PHONE_TEXT:
        return None
    cleaned = normalize_digits(text).strip()
    if not _PHONE_CHARS_RE.match(cleaned):
        return None
    international = cleaned.startswith("+")
    digits = re.sub(r"\D", "", cleaned)
    if international:
        if not digits.startswith("66"):
            return None
        digits = "0" + digits[2:].removeprefix("0")
    elif digits.startswith("66") and len(digits) in (10, 11):
        # A national number starts with 0, so a leading 66 can only be the country code.
        digits = "0" + digits[2:]
    if len(digits) == 10 and digits.startswith(_MOBILE_PREFIXES):
        return digits
    if len(digits) == 9 and digits[0] == "0" and digits[1] in _LANDLINE_AREA:
        return digits
    return None


# ---------------------------------------------------------------------------
# Fuzzy matching
# ---------------------------------------------------------------------------

_MUEANG = ("เมือง", "mueang")
_PREFIX_MIN = 3
_PREFIX_SCORE = 80.0
# The longest place name is 31 characters; a query much longer than a name cannot reach the
# cutoff (fuzz.ratio needs the two lengths within a factor of about two), so this loses nothing.
MAX_NAME_QUERY = 200


def _normalize_name(text: str) -> str:
    # geothai drops case, spaces, dots, hyphens and a leading จังหวัด/อำเภอ/จ./อ./... word.
    return str(_geo_normalize(normalize_digits(text).strip()))


def name_key(text: str) -> str:
    """A place name as the matching compares it: Thai digits, case, spaces, dots, hyphens and a
    leading จังหวัด/อำเภอ/ตำบล/จ./อ./ต./… dropped ("อ. แม่ริม" and "แม่ริม" have one key)."""
    return _normalize_name(text)


# The normalized name, plus its forms without a เมือง/Mueang prefix.
def _name_forms(name: str) -> list[str]:
    norm = _normalize_name(name)
    forms = [norm] if norm else []
    for prefix in _MUEANG:
        rest = norm.removeprefix(prefix)
        if rest != norm and rest:
            # Both "เชียงใหม่" and a bare "เมือง" mean เมืองเชียงใหม่.
            forms += [rest, prefix]
    return forms


def _match_normalized(
    query: str,
    candidates: Sequence[tuple[str, Sequence[str]]],
    limit: int,
    cutoff: float,
) -> list[tuple[str, float]]:
    if not query:
        return []
    forms: list[str] = []
    owners: list[int] = []
    for index, (_key, names) in enumerate(candidates):
        for name in names:
            for form in _name_forms(name):
                forms.append(form)
                owners.append(index)
    found = process.extract(query, forms, scorer=fuzz.ratio, limit=None, score_cutoff=cutoff)
    best: dict[int, float] = {}
    for _form, score, position in found:
        owner = owners[position]
        best[owner] = max(best.get(owner, 0.0), float(score))
    if len(query) >= _PREFIX_MIN and cutoff <= _PREFIX_SCORE:
        # The start of a name ("ดอย" for ดอยสะเก็ด, ดอยเต่า…) is a fair guess, below a full match.
        for form, owner in zip(forms, owners, strict=True):
            if form.startswith(query) and form != query:
                best[owner] = max(best.get(owner, 0.0), _PREFIX_SCORE)
    # Ties keep the caller's order (for geothai lists that puts the capital district first).
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return [(candidates[index][0], score) for index, score in ranked[:limit]]


def match_names(
    query: str,
    candidates: Sequence[tuple[str, Sequence[str]]],
    *,
    limit: int = 5,
    cutoff: float = 70.0,
) -> list[tuple[str, float]]:
    """Fuzzy-match what a user typed against named places (or anything with names).

    ``candidates`` are ``(key, names)``, e.g. ``("5001", ("เมืองเชียงใหม่", "Mueang Chiang Mai"))``.
    Both sides are normalized (Thai digits, case, spaces, dots, hyphens, and prefixes such as
    จังหวัด, จ., อำเภอ, อ., ตำบล, ต., เขต, แขวง, กิ่งอำเภอ). A name starting with เมือง/Mueang
    also matches without the prefix, and a bare เมือง matches it ("อ.เมือง"). Scores are
    ``rapidfuzz.fuzz.ratio`` (0-100); an exact normalized match scores 100. Returns
    ``[(key, score)]`` best first, each key once, at most ``limit``, scores ``>= cutoff``;
    equal scores keep the order of ``candidates``. If nothing matches, the query is retried as
    Thai typed in the English keyboard layout. A query longer than ``MAX_NAME_QUERY`` (200)
    characters matches nothing, unread.
    """
    if len(query) > MAX_NAME_QUERY:
        return []
    found = _match_normalized(_normalize_name(query), candidates, limit, cutoff)
    if found:
        return found
    thai = fix_keyboard_layout(query)
    if thai is None:
        return []
    return _match_normalized(_normalize_name(thai), candidates, limit, cutoff)


# Polite endings people add to a one-word answer ("ใช่ครับ").
_PARTICLES = ("นะครับ", "นะคะ", "ครับผม", "ครับ", "คับ", "ค่ะ", "ค่า", "คะ", "จ้ะ", "จ้า", "จ้", "นะ", "ฮะ")
_PARTICLE_LONGEST = max(len(p) for p in _PARTICLES)
_PARTICLES_BY_FIRST = {
    first: tuple(p for p in _PARTICLES if p[0] == first) for first in {p[0] for p in _PARTICLES}
}
_CHOICE_MARKS_RE = re.compile(r"[\s.,'!?-]")
_CHOICE_MIN_SCORE = 85.0
_CHOICE_MIN_LEAD = 10.0
# Choice labels are a few words; fuzz.ratio cannot reach 85 against text over twice as long.
MAX_CHOICE_TEXT = 200


def _without_particles(text: str) -> str:
    """``text`` without the run of particles that ends it (all of them: "ใช่ครับผมครับ" -> "ใช่").

    Particles are made of one another (นะครับ is นะ + ครับ), so a regular expression for a run
    of them backtracks exponentially when the run does not reach the end. Instead, walk back
    from the end, marking each position from which the rest is particles only; once a stretch
    as long as the longest particle has no such position, none further left can have one.
    """
    ends = {len(text)}  # positions from which the rest of the text is particles only
    start = len(text)
    for index in range(len(text) - 1, -1, -1):
        if index + _PARTICLE_LONGEST < start:
            break
        for particle in _PARTICLES_BY_FIRST.get(text[index], ()):
            if index + len(particle) in ends and text.startswith(particle, index):
                ends.add(index)
                start = index
                break
    return text[:start]


def strip_particles(text: str) -> str:
    """A short answer without the polite endings people add ("ใช่ครับ" -> "ใช่").

    Takes time linear in the length of ``text``.
    """
    stripped = _without_particles(text.strip())
    return stripped or text.strip()


def _normalize_choice(text: str) -> str:
    return _CHOICE_MARKS_RE.sub("", normalize_digits(text).casefold())


def _candidates_normalized(
    text: str, choices: Sequence[tuple[str, Sequence[str]]]
) -> tuple[list[str], bool]:
    """The keys `text` fits, and whether they fit exactly: every choice with a label equal to
    it, else those whose best fuzzy score is at least 85 and within 10 of the best one."""
    if not text:
        return [], False
    queries = {text, _without_particles(text)} - {""}
    labels = [(key, _normalize_choice(label)) for key, ls in choices for label in ls]
    exact = list(dict.fromkeys(key for key, label in labels if label in queries))
    if exact:
        return exact, True
    best: dict[str, float] = {}
    for key, label in labels:
        if not label:
            continue
        score = max(float(fuzz.ratio(q, label)) for q in queries)
        best[key] = max(best.get(key, 0.0), score)
    top = max(best.values(), default=0.0)
    if top < _CHOICE_MIN_SCORE:
        return [], False
    close = sorted(
        (k for k, v in best.items() if top - v < _CHOICE_MIN_LEAD), key=lambda k: -best[k]
    )
    return close, False


def _match_choice_normalized(text: str, choices: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    found, exact = _candidates_normalized(text, choices)
    if exact or len(found) == 1:
        return found[0]
    return None


def choice_candidates(text: str, choices: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """The keys of every choice free text may mean, best first: one when it is clear, several
    when two or more fit as well (to be asked which), none when nothing fits. Compared as
    ``match_choice`` compares (the English keyboard layout retried as Thai)."""
    if len(text) > MAX_CHOICE_TEXT:
        return []
    found, _exact = _candidates_normalized(_normalize_choice(text), choices)
    if found:
        return found
    thai = fix_keyboard_layout(text)
    if thai is None:
        return []
    return _candidates_normalized(_normalize_choice(thai), choices)[0]


def match_choice(text: str, choices: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    """Return the key of the choice that free text answers, or ``None`` if it is not clear.

    ``choices`` are ``(key, labels)``. Labels and text are compared without case, spaces,
    dots, hyphens or trailing polite particles (ครับ, ค่ะ, ...), with Thai digits as 0-9. An exact
    match wins (the first choice, if several); otherwise a fuzzy winner needs a
    ``fuzz.ratio`` of at least 85 and a lead of 10 over the best other choice. Text typed in
    the English keyboard layout is retried as Thai. Text longer than ``MAX_CHOICE_TEXT`` (200)
    characters answers nothing, unread.
    """
    if len(text) > MAX_CHOICE_TEXT:
        return None
    found = _match_choice_normalized(_normalize_choice(text), choices)
    if found is not None:
        return found
    thai = fix_keyboard_layout(text)
    if thai is None:
        return None
    return _match_choice_normalized(_normalize_choice(thai), choices)
