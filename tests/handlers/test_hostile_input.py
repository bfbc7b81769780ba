"""Issue 9: one message must never stall the service. Every reader of user text in the Thai layer
and the router takes time linear in the length of the text (or refuses long text unread), and
nothing a user can type or tap raises.

The known hostile inputs come first, each under a hang guard; then properties over random Thai,
digits, particles, emoji, combining marks, control characters and lone surrogates, up to 10,000
characters. The guards are timeouts that only catch a hang; no test asserts how fast anything is.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import geothai
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pythainlp.util import thaiword_to_num

from bot.lists import Lists
from handlers import dates, router, thai
from handlers.areas import AreaDirectory
from handlers.cases import parse_case_value, parse_feedback_value
from handlers.engine import (
    MAX_BUTTON_NUMBER,
    BroadcastCommand,
    CaseCommand,
    CaseFeedback,
    Env,
    FormState,
    Result,
    StaffQuery,
    Submitted,
    UserView,
    answer_length,
    input_limit,
    language_of,
    option_values,
)
from handlers.forms import FORMS, Form, Step, SubmitAction
from handlers.i18n import Translator
from handlers.messages import Inbound, Outgoing
from handlers.router import NO_FORM_LIMIT, JoinOutcome, ReportLine
from tests.support.conversation import NEWCOMER, NOW, REGISTERED, SI_PHUM, make_env

# "นะครับ" is also นะ + ครับ: the old particle pattern tried every split of the run, 2^26 of them,
# at each of the 157 places it could start.
PARTICLE_BOMB = "นะครับ" * 26 + "x"
YES_NO = [("yes", ("ใช่", "yes")), ("no", ("ไม่ใช่", "no"))]
TODAY = dt.date(2026, 3, 20)
OFFICER = replace(REGISTERED, staff=(("officer", "5001"),))
ENGLISH_OFFICER = replace(OFFICER, language="en", role=None)
USERS = (REGISTERED, NEWCOMER, OFFICER, ENGLISH_OFFICER)

# A hang, not a slow run: each of these takes milliseconds now and minutes on the old code.
HANG = pytest.mark.timeout(20)
# Property tests run hundreds of examples; this only stops a hang from stalling the suite.
PROPERTY_HANG = pytest.mark.timeout(120)
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def hostile_env(i18n: Translator, lists: Lists, areas: AreaDirectory) -> Env:
    return make_env(i18n, lists, areas)


# ------------------------------------------------------------------ the known hostile inputs


@HANG
def test_regression_particle_run_through_strip_particles() -> None:
    assert thai.strip_particles(PARTICLE_BOMB) == PARTICLE_BOMB
    assert thai.strip_particles("ใช่" + "นะครับ" * 1_500) == "ใช่"


@HANG
def test_regression_particle_run_through_match_choice() -> None:
    assert thai.match_choice(PARTICLE_BOMB, YES_NO) is None
    assert thai.match_choice("ใช่" + "นะครับ" * 26, YES_NO) == "yes"


@HANG
def test_regression_particle_run_through_is_keyword(i18n: Translator) -> None:
    assert not i18n.is_keyword(PARTICLE_BOMB, "kw.cancel")
    assert i18n.is_keyword("ยกเลิกนะครับ", "kw.cancel")


@HANG
def test_regression_particle_run_from_someone_not_registered(hostile_env: Env) -> None:
    result = router.handle(NEWCOMER, None, Inbound("text", PARTICLE_BOMB), hostile_env)
    assert result.state is not None and result.state.form_id == "registration"


@HANG
@pytest.mark.parametrize(
    "text",
    [
        "1" * 10_000,  # int() refuses more than 4,300 digits
        "1" + ",000" * 2_500,
        "ล้าน" * 24 + "ลบ",  # pythainlp's check of number words backtracks exponentially
        "สิบ" * 3_333,
        "1" + " " * 9_998 + "x",  # a lazy match followed by \s*: quadratic
        "ประมาณ" + " " * 9_990 + "คน",
    ],
    ids=["digits", "thousands", "million-words", "ten-words", "spaces", "about-spaces"],
)
def test_regression_long_numbers_through_parse_number(text: str) -> None:
    assert thai.parse_number(text) is None


@HANG
def test_regression_spaces_after_a_village_word() -> None:
    assert thai.parse_village_no("หมู่" + " " * 10_000 + "x") is None


# ------------------------------------------------------------------ what hostile text is made of

PARTICLES = ("นะครับ", "นะคะ", "ครับผม", "ครับ", "คับ", "ค่ะ", "ค่า", "คะ", "จ้ะ", "จ้า", "จ้", "นะ", "ฮะ")
NUMBER_WORDS = (
    "หนึ่ง", "เอ็ด", "สอง", "ยี่", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า",
    "สิบ", "ร้อย", "พัน", "หมื่น", "แสน", "ล้าน", "ลบ", "ศูนย์",
)  # fmt: skip
WORDS = (
    *PARTICLES,
    *NUMBER_WORDS,
    "คน", "หลังคาเรือน", "ครัวเรือน", "ประมาณ", "ราว", "ๆ", "about", "approx.", "~",
    "ยกเลิก", "cancel", "/join", "เข้าร่วม", "เมนู", "menu", "ย้อนกลับ", "ข้าม", "เสร็จ", "ยืนยัน",
    "หมู่", "หมู่ที่", "ม.", "moo", "วันที่", "พ.ศ.", "ค.ศ.", "มีนาคม", "มี.ค.", "วันนี้", "เมื่อวาน",
    "PRB-2569-000123", "+66", "081-234-5678", "1,000", "เชียงใหม่", "อ.เมือง", "จังหวัด", "ใช่",
    "ไม่ใช่", "l;ylfu", "pdg]bd",
)  # fmt: skip
THAI = "".join(chr(c) for c in range(0x0E01, 0x0E5C) if chr(c).isprintable())
DIGITS = "0123456789๐๑๒๓๔๕๖๗๘๙²³¹٣,. -/"
COMBINING = "".join(chr(c) for c in [*range(0x0E31, 0x0E4F), *range(0x0300, 0x0370)])
CONTROL = "".join(chr(c) for c in [*range(0x20), 0x7F, 0x85]) + "\u200b\u200d\u2028\u202e\ufeff"
EMOJI = ("😀", "🙏", "👍🏽", "🇹🇭", "👨‍👩‍👧", "❤️", "🌧️")
SPACES = (" ", "   ", "\t", "\n", "\u00a0", "\u3000")


def _atoms() -> tuple[str, ...]:
    """Pieces to build hostile text from: the words above, emoji and spaces, and random runs
    of Thai, digits, combining marks and control characters, and lone surrogates. Drawn once
    (drawing each character with Hypothesis would cost more than the calls under test)."""
    rng = random.Random(9)
    atoms = [*WORDS, *EMOJI, *SPACES]
    for alphabet in (THAI, DIGITS, COMBINING, CONTROL):
        atoms += ["".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(30)]
    atoms += [chr(rng.randint(0xD800, 0xDFFF)) for _ in range(10)]
    return tuple(atoms)


# Any of those, or anything at all.
_ATOM = st.sampled_from(_atoms()) | st.text(min_size=1, max_size=3)
# An atom once or a few times, or repeated into a long run (particles, ล้าน, spaces, digits).
_CHUNK = st.builds(
    lambda atom, times: atom * times, _ATOM, st.integers(1, 3) | st.integers(1, 3_000)
)
MAX_TEXT = 10_000
HOSTILE_TEXT = st.lists(_CHUNK, max_size=8).map(lambda chunks: "".join(chunks)[:MAX_TEXT])

# Known hostile inputs, given to every property test as explicit examples.
CORPUS = (
    PARTICLE_BOMB,
    "ใช่" + "นะครับ" * 1_600,
    "ล้าน" * 24 + "ลบ",
    "1" * MAX_TEXT,
    "หมู่" + " " * 9_000 + "x",
    "\u0e31" * MAX_TEXT,
    "l;ylfu" * 1_600,
)


def with_corpus(test: Callable[..., None]) -> Callable[..., None]:
    for text in CORPUS:
        test = example(text=text)(test)
    return test


# ------------------------------------------------------------------ the Thai layer


def _check_str(value: object) -> None:
    assert isinstance(value, str)


def _check_optional_number(low: int, high: int | None) -> Callable[[object], None]:
    def check(value: object) -> None:
        assert value is None or (
            isinstance(value, int) and low <= value and (high is None or value <= high)
        )

    return check


def _check_phone(value: object) -> None:
    assert value is None or (isinstance(value, str) and value.isdigit() and len(value) in (9, 10))


def _check_date(value: object) -> None:
    assert value is None or isinstance(value, dt.date)


def _check_choice(value: object) -> None:
    assert value in (None, "yes", "no")


def _province_candidates() -> list[tuple[str, tuple[str, ...]]]:
    return [(p.code, (p.name_th, p.name_en)) for p in geothai.provinces()]


PROVINCES = _province_candidates()
PROVINCE_CODES = {code for code, _names in PROVINCES}


def _check_names(value: object) -> None:
    assert isinstance(value, list) and len(value) <= 5
    for code, score in value:
        assert code in PROVINCE_CODES and 70 <= score <= 100


def _fail(value: object) -> None:
    raise AssertionError(f"unexpected result {value!r}")


# Each public function of the Thai layer that reads text, with what its result must look like.
TEXT_FUNCTIONS: dict[str, tuple[Callable[[str], object], Callable[[object], None]]] = {
    "normalize_digits": (thai.normalize_digits, _check_str),
    "fix_keyboard_layout": (thai.fix_keyboard_layout, lambda v: v is None or _check_str(v)),
    "strip_particles": (thai.strip_particles, _check_str),
    "parse_number": (thai.parse_number, _check_optional_number(0, None)),
    "parse_village_no": (thai.parse_village_no, _check_optional_number(1, 99)),
    "has_title": (thai.has_title, lambda v: None if isinstance(v, bool) else _fail(v)),
    "parse_phone": (thai.parse_phone, _check_phone),
    "parse_date": (lambda text: thai.parse_date(text, TODAY), _check_date),
    "match_choice": (lambda text: thai.match_choice(text, YES_NO), _check_choice),
    "choice_candidates": (
        lambda text: thai.choice_candidates(text, YES_NO),
        lambda v: (
            None if isinstance(v, list) and all(_check_choice(k) is None for k in v) else _fail(v)
        ),
    ),
    "match_names": (lambda text: thai.match_names(text, PROVINCES), _check_names),
}


def test_every_public_function_of_the_thai_layer_is_covered() -> None:
    assert set(TEXT_FUNCTIONS) == set(thai.__all__)


@PROPERTY_HANG
@pytest.mark.parametrize("name", sorted(TEXT_FUNCTIONS))
@PROPERTY
@with_corpus
@given(text=HOSTILE_TEXT)
def test_thai_readers_take_any_text(name: str, text: str) -> None:
    function, check = TEXT_FUNCTIONS[name]
    check(function(text))


@PROPERTY_HANG
@PROPERTY
@with_corpus
@given(text=HOSTILE_TEXT)
def test_strip_particles_only_cuts_the_end(text: str) -> None:
    stripped = thai.strip_particles(text)
    assert text.strip().startswith(stripped)


@PROPERTY_HANG
@settings(PROPERTY, max_examples=100)
@given(day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999 - 543, 12, 31)))
def test_thai_dates_of_any_day(day: dt.date) -> None:
    assert dates.buddhist_year(day) == day.year + 543
    for short in (False, True):
        for lang in ("th", "en"):
            text = dates.format_date(day, lang, short=short)
            assert isinstance(text, str) and str(day.day) in text


@PROPERTY_HANG
@settings(PROPERTY, max_examples=200)
@given(words=st.lists(st.sampled_from(NUMBER_WORDS), min_size=1, max_size=6))
def test_number_words_are_read_as_pythainlp_reads_them(words: list[str]) -> None:
    """The linear reader of number words agrees with pythainlp's thaiword_to_num (safe on
    these few words: its backtracking is exponential only in the number of words)."""
    text = "".join(words)
    try:
        expected: int | None = thaiword_to_num(text)
    except ValueError:
        expected = None
    if expected is not None and expected < 0:
        expected = None
    assert thai.parse_number(text) == expected


# ------------------------------------------------------------------ the translator


@PROPERTY_HANG
@PROPERTY
@with_corpus
@given(text=HOSTILE_TEXT)
def test_is_keyword_takes_any_text(i18n: Translator, text: str) -> None:
    for key in ("kw.cancel", "kw.menu", "kw.back", "kw.skip", "kw.yes", "kw.join"):
        assert isinstance(i18n.is_keyword(text, key), bool)


# ------------------------------------------------------------------ the router


def _sample_answer(step: Step, env: Env) -> Any:
    """A valid answer to `step`, for states that have got past it."""
    if step.type in ("choice", "multi"):
        first = option_values(step, env)[0]
        return [first] if step.type == "multi" else first
    samples: dict[str, Any] = {
        "consent": "agree",
        "text": "ทดสอบ",
        "phone": "0812345678",
        "number": 5,
        "date": "2026-03-19",
        "location": {"registered_village": True},
        "photos": [],
        "area": {"province_code": "50", "district_code": "5001", "subdistrict_code": SI_PHUM,
                 "village_no": 3},
    }  # fmt: skip
    return samples.get(step.type)


# The stages of the area pick, as the engine keeps them in the state's context.
AREA_STAGES: tuple[dict[str, Any], ...] = (
    {"stage": "province"},
    {"stage": "district", "province_code": "50"},
    {"stage": "subdistrict", "province_code": "50", "district_code": "5001"},
    {
        "stage": "village",
        "province_code": "50",
        "district_code": "5001",
        "subdistrict_code": SI_PHUM,
    },
)


def _states_of(form: Form, env: Env) -> list[FormState]:
    """The form waiting at each of its steps (at each stage of an area pick), with every
    earlier question answered and any condition of the step met."""
    states = []
    for index, step in enumerate(form.steps):
        earlier = form.steps[:index]
        answers = {s.id: _sample_answer(s, env) for s in earlier}
        if step.when is not None:
            answers[step.when.step] = step.when.value
        context: dict[str, Any] = {"history": [s.id for s in earlier]}
        stages = AREA_STAGES if step.type == "area" else ({},)
        for stage in stages:
            extra = {"area": dict(stage)} if stage else {}
            states.append(FormState(form.id, form.version, step.id, dict(answers),
                                    {**context, **extra}, NOW))  # fmt: skip
    return states


@pytest.fixture(scope="module")
def form_states(hostile_env: Env) -> list[FormState | None]:
    states: list[FormState | None] = [None]
    for form in FORMS.values():
        states += _states_of(form, hostile_env)
    # Waiting for "continue or start over?" after a day away, and with the menu shown.
    activity = FORMS["activity"]
    old = _states_of(activity, hostile_env)[3]
    states.append(replace(old, updated_at=NOW - dt.timedelta(days=2)))
    states.append(replace(old, context={**old.context, "resume_asked": True}))
    return states


def _too_long(state: FormState | None, text: str) -> int | None:
    """The limit `text` is over where `state` waits, if it is."""
    if state is None:
        return NO_FORM_LIMIT if len(text.strip()) > NO_FORM_LIMIT else None
    step = FORMS[state.form_id].step(state.step_id)
    assert step is not None
    return input_limit(step) if answer_length(step, text) > input_limit(step) else None


def _check_result(result: Result) -> None:
    assert isinstance(result, Result)
    assert result.messages or result.events
    assert all(isinstance(m, Outgoing) and isinstance(m.text, str) for m in result.messages)
    assert result.state is None or isinstance(result.state, FormState)


def _check_text_answer(
    env: Env, user: UserView, state: FormState | None, text: str, result: Result
) -> None:
    _check_result(result)
    limit = _too_long(state, text)
    if limit is not None:  # refused unread, with the limit, and nothing changed
        lang = language_of(user, state, env)
        assert result.messages[0].text == env.i18n.t(lang, "error.too_long", limit=f"{limit:,}")
        assert result.state == state and not result.events


@PROPERTY_HANG
@settings(PROPERTY, max_examples=200)
@given(text=HOSTILE_TEXT, state_no=st.integers(min_value=0), user=st.sampled_from(USERS))
def test_router_takes_any_text_at_any_step(
    hostile_env: Env,
    form_states: list[FormState | None],
    text: str,
    state_no: int,
    user: UserView,
) -> None:
    state = form_states[state_no % len(form_states)]
    result = router.handle(user, state, Inbound("text", text), hostile_env)
    _check_text_answer(hostile_env, user, state, text, result)


@PROPERTY_HANG
@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_router_takes_the_hostile_corpus_at_every_step(
    hostile_env: Env, form_states: list[FormState | None], text: str
) -> None:
    for state in form_states:
        for user in USERS:
            result = router.handle(user, state, Inbound("text", text), hostile_env)
            _check_text_answer(hostile_env, user, state, text, result)


# Button values as they are built, with hostile numbers and words in their slots.
_SLOT = st.one_of(
    st.integers(-5, 10**12).map(str),
    st.sampled_from(["", "²", "٣", "0", "00", "1e3", " 1", "+1", str(MAX_BUTTON_NUMBER + 1)]),
    HOSTILE_TEXT.map(lambda text: text[:300]),
)
_VALUE = st.one_of(
    st.builds(lambda n, a: f"case:{n}:{a}", _SLOT, st.sampled_from(["ack", "show", "x", ""])),
    st.builds(lambda n, a: f"feedback:{n}:{a}", _SLOT, st.sampled_from(["yes", "no", "5", "9"])),
    st.builds(lambda n, a: f"bcast:{n}:{a}", _SLOT, st.sampled_from(["send", "status", "x"])),
    st.builds(lambda n: f"cases:page:{n}", _SLOT),
    st.builds(lambda s, v: f"a:{s}:{v}", st.sampled_from(["area", "role", "date", "x"]),
              st.one_of(_SLOT, _SLOT.map(lambda n: "v" + n), st.sampled_from(["p50", "d5001"]))),
    st.builds(lambda s: f"edit:{s}", _SLOT),
    st.builds(lambda s: f"menu:{s}", _SLOT),
    st.builds(lambda s: f"resume:discard:{s}", _SLOT),
    st.sampled_from(["nav:back", "nav:more", "nav:skip", "nav:done", "nav:cancel",
                     "confirm:submit", "resume:continue"]),
    _SLOT,
)  # fmt: skip


@PROPERTY_HANG
@settings(PROPERTY, max_examples=200)
@given(value=_VALUE, state_no=st.integers(min_value=0), user=st.sampled_from(USERS))
def test_router_takes_any_button_at_any_step(
    hostile_env: Env,
    form_states: list[FormState | None],
    value: str,
    state_no: int,
    user: UserView,
) -> None:
    state = form_states[state_no % len(form_states)]
    result = router.handle(user, state, Inbound("choice", value=value), hostile_env)
    _check_result(result)
    for event in result.events:
        if isinstance(event, CaseCommand | CaseFeedback):
            assert 0 <= event.report_id <= MAX_BUTTON_NUMBER
        if isinstance(event, BroadcastCommand):
            assert 0 <= event.broadcast_id <= MAX_BUTTON_NUMBER
        if isinstance(event, StaffQuery):
            assert 0 <= event.page <= router.MAX_CASE_PAGE


@PROPERTY_HANG
@PROPERTY
@given(value=_VALUE)
def test_push_buttons_parse_only_database_numbers(value: str) -> None:
    for parsed in (parse_case_value(value), parse_feedback_value(value)):
        assert parsed is None or 0 <= parsed[0] <= MAX_BUTTON_NUMBER


_LANG = st.sampled_from(["th", "en", "", "xx"]) | st.text(max_size=5)


@PROPERTY_HANG
@PROPERTY
@given(
    text=HOSTILE_TEXT | st.sampled_from(CORPUS),
    lang=_LANG,
    user=st.sampled_from(USERS),
    status=st.sampled_from(["ok", "expired", "used", "", "x" * 300]),
)
def test_router_renders_any_user_data(
    hostile_env: Env, text: str, lang: str, user: UserView, status: str
) -> None:
    """What the router shows from stored, user-given data (names, titles, areas, references)."""
    env = hostile_env
    assert isinstance(router.menu_message(user, env, lang), Outgoing)
    assert isinstance(router.describe_staff_area(text[:20], lang, env), str)
    line = ReportLine(text[:30], "problem", "received", NOW, text)
    for lines in ([], [line]):
        assert all(isinstance(m, Outgoing) for m in router.render_my_reports(lines, user, env))
    actions: tuple[SubmitAction, ...] = ("register", "join", "activity_report", "update_profile")
    for action in actions:
        event = Submitted("activity", 1, action, {"name": text, "language": lang})
        assert all(isinstance(m, Outgoing) for m in router.after_submit(event, text, user, env))
    outcome = JoinOutcome(status, "officer", text[:6])
    assert all(isinstance(m, Outgoing) for m in router.after_join(outcome, user, None, env))
