"""The catalogs in `locales/` and the translator that reads them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.lists import Lists
from handlers.forms import FORMS
from handlers.i18n import LOCALES_DIR, MAX_KEYWORD_TEXT, Translator, fold, load_catalogs

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("th", "en")
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _read(lang: str) -> Catalog:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "fieldbot.po").open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.fixture(scope="module")
def raw() -> dict[str, dict[str, str]]:
    """Every entry as written, empty ones included (the translator drops those)."""
    return {
        lang: {str(m.id): str(m.string) for m in _read(lang) if m.id and isinstance(m.id, str)}
        for lang in LANGUAGES
    }


def test_both_languages_are_loaded(i18n: Translator) -> None:
    assert i18n.languages == ("th", "en")  # Thai first: the last resort of every lookup
    assert i18n.default == "th"


def test_same_keys_in_every_language(raw: dict[str, dict[str, str]]) -> None:
    th, en = set(raw["th"]), set(raw["en"])
    assert sorted(th - en) == []
    assert sorted(en - th) == []


def test_no_empty_or_fuzzy_entries() -> None:
    for lang in LANGUAGES:
        for message in _read(lang):
            if not message.id:
                continue
            assert str(message.string).strip(), f"{lang}: {message.id} is empty"
            assert not message.fuzzy, f"{lang}: {message.id} is marked fuzzy"


def test_no_key_is_listed_twice() -> None:
    for lang in LANGUAGES:
        text = (LOCALES_DIR / lang / "LC_MESSAGES" / "fieldbot.po").read_text(encoding="utf-8")
        ids = re.findall(r'^msgid "(.+)"$', text, re.MULTILINE)
        assert len(ids) == len(set(ids)), lang


def test_placeholders_match_between_languages(raw: dict[str, dict[str, str]]) -> None:
    for key, thai in raw["th"].items():
        english = raw["en"].get(key, "")
        assert set(PLACEHOLDER.findall(thai)) == set(PLACEHOLDER.findall(english)), key


def test_placeholders_are_well_formed(raw: dict[str, dict[str, str]]) -> None:
    for lang, entries in raw.items():
        for key, text in entries.items():
            for name in PLACEHOLDER.findall(text):
                assert name, f"{lang}: {key} has an empty {{}}"
            # Every brace belongs to a placeholder, so str.format_map cannot fail.
            assert PLACEHOLDER.sub("", text).count("{") == 0, f"{lang}: {key}"
            assert PLACEHOLDER.sub("", text).count("}") == 0, f"{lang}: {key}"


def test_keyword_lists_have_no_empty_words(raw: dict[str, dict[str, str]]) -> None:
    for lang, entries in raw.items():
        for key, text in entries.items():
            if key.startswith("kw."):
                words = text.split("|")
                assert all(w.strip() == w and w for w in words), f"{lang}: {key} = {text!r}"


def test_global_commands_do_not_share_words(i18n: Translator) -> None:
    commands = ("kw.cancel", "kw.menu", "kw.help", "kw.back", "kw.skip", "kw.done", "kw.more")
    for i, first in enumerate(commands):
        for second in commands[i + 1 :]:
            assert not i18n.keywords(first) & i18n.keywords(second), (first, second)


def _form_keys() -> Iterator[tuple[str, str]]:
    for form in FORMS.values():
        yield form.id, f"{form.key}.title"
        for step in form.steps:
            if step.type == "confirm":
                yield form.id, f"{form.key}.confirm.prompt"
                continue
            if step.type != "area":  # the area pick asks per stage (area.<stage>.prompt)
                yield form.id, f"{step.key}.prompt"
            yield form.id, f"{step.key}.label"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_form_and_step_has_its_sentences(i18n: Translator, lang: str) -> None:
    missing = [f"{form}: {key}" for form, key in _form_keys() if not i18n.has(lang, key)]
    assert missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_area_stages_have_prompts(i18n: Translator, lang: str) -> None:
    for stage in ("province", "district", "subdistrict", "village"):
        assert i18n.has(lang, f"area.{stage}.prompt")
    for stage in ("province", "district", "subdistrict"):
        assert i18n.has(lang, f"error.area_{stage}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_choice_has_a_label(i18n: Translator, lists: Lists, lang: str) -> None:
    wanted = {f"choice.{name}.{v}" for name, values in lists.options.items() for v in values}
    for form in FORMS.values():
        for step in form.steps:
            values = step.options or lists.options.get(step.options_list or "", ())
            if step.type in ("choice", "multi"):
                assert values, f"{form.id}.{step.id} has no options"
            wanted |= {f"choice.{step.options_list}.{v}" for v in values}
    assert sorted(k for k in wanted if not i18n.has(lang, k)) == []


def test_choice_labels_are_distinct_within_a_list(i18n: Translator, lists: Lists) -> None:
    """Typing a label picks its option, so two options of a list must not look the same."""
    for lang in LANGUAGES:
        for name, values in lists.options.items():
            labels = [fold(i18n.t(lang, f"choice.{name}.{v}")) for v in values]
            assert len(labels) == len(set(labels)), (lang, name)


# ------------------------------------------------------------------ keys used in the source


def _source_files() -> Iterator[Path]:
    for package in ("handlers", "bot", "storage"):
        yield from sorted((ROOT / package).rglob("*.py"))


def _literals(prefixes: set[str]) -> Iterator[tuple[Path, str, bool]]:
    """(file, literal, is an f-string prefix) for every quoted string that starts like a key."""
    alternatives = "|".join(sorted(map(re.escape, prefixes)))
    plain = re.compile(
        rf"""(?<![\w])(?P<q>["'])(?P<key>(?:{alternatives})\.[A-Za-z0-9_.]*)(?P=q)"""
    )
    formatted = re.compile(rf"""(?<![\w])[fF](?P<q>["'])(?P<key>(?:{alternatives})\.[^"'{{]*)\{{""")
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        for match in plain.finditer(text):
            yield path, match["key"], False
        for match in formatted.finditer(text):
            yield path, match["key"], True


def test_every_key_in_the_source_exists(raw: dict[str, dict[str, str]]) -> None:
    keys = set(raw["th"])
    prefixes = {key.split(".")[0] for key in keys}
    assert {"error", "nav", "menu", "form", "summary", "area", "photos", "kw"} <= prefixes
    found = list(_literals(prefixes))
    assert len(found) > 50  # the scan sees the source at all
    missing = []
    for path, literal, is_prefix in found:
        # A key, or the start of keys: a form's or step's key prefix, or the fixed part of an
        # f-string such as f"choice.{list}.{value}".
        exact = literal in keys and not is_prefix
        starts = any(k.startswith(literal if is_prefix else literal + ".") for k in keys)
        if not (exact or starts):
            missing.append(f"{path.relative_to(ROOT)}: {literal}")
    assert missing == []


# ------------------------------------------------------------------ the translator


@pytest.fixture
def small() -> Translator:
    return Translator(
        {
            "th": {"greet": "สวัสดี {name}", "only.th": "ไทยเท่านั้น", "kw.yes": "ใช่|ตกลง"},
            "en": {"greet": "Hello {name}", "kw.yes": "Yes | OK"},
        }
    )


def test_lookup_in_the_asked_language(small: Translator) -> None:
    assert small.t("en", "greet", name="Somchai") == "Hello Somchai"
    assert small.t("th", "greet", name="สมชาย") == "สวัสดี สมชาย"


def test_missing_in_english_falls_back_to_thai(small: Translator) -> None:
    assert small.t("en", "only.th") == "ไทยเท่านั้น"
    assert not small.has("en", "only.th")
    assert small.has("th", "only.th")


def test_unknown_language_uses_the_default(small: Translator) -> None:
    assert small.t("lo", "greet", name="x") == "สวัสดี x"
    assert small.t(None, "greet", name="x") == "สวัสดี x"


def test_unknown_key_returns_the_key(small: Translator) -> None:
    assert small.t("en", "no.such.key") == "no.such.key"
    assert small.t("th", "no.such.key", name="x") == "no.such.key"


def test_missing_parameters_stay_visible(small: Translator) -> None:
    assert small.t("en", "greet") == "Hello {name}"  # no params: the sentence as written
    assert small.t("en", "greet", other=1) == "Hello {name}"


def test_keywords_are_folded_across_languages(small: Translator) -> None:
    assert small.keywords("kw.yes") == {"ใช่", "ตกลง", "yes", "ok"}
    assert small.keywords("kw.none") == frozenset()


def test_is_keyword_forgives_case_slashes_and_polite_endings(i18n: Translator) -> None:
    assert i18n.is_keyword("  CANCEL ", "kw.cancel")
    assert i18n.is_keyword("/cancel", "kw.cancel")
    assert i18n.is_keyword("ยกเลิกครับ", "kw.cancel")
    assert i18n.is_keyword("รายงานของฉันค่ะ", "kw.menu_my_reports")
    # Menu numbers are not keywords: a number is read against the menu shown (router).
    assert not i18n.is_keyword("๓", "kw.menu_my_reports")
    assert not i18n.is_keyword("ยกเลิกการประชุม", "kw.cancel")


def test_is_keyword_does_not_read_long_text(i18n: Translator) -> None:
    assert i18n.is_keyword("ยกเลิก" + " " * (MAX_KEYWORD_TEXT - 6), "kw.cancel")
    assert not i18n.is_keyword("ยกเลิก" + " " * (MAX_KEYWORD_TEXT - 5), "kw.cancel")


def test_variants_list_every_language(i18n: Translator) -> None:
    assert i18n.variants("form.registration.name.label") == ("ชื่อ", "Name")


def test_real_catalogs_fall_back_for_a_missing_english_entry(tmp_path: Path) -> None:
    for lang, body in (("th", 'msgid "a.b"\nmsgstr "ไทย"\n'), ("en", 'msgid "a.b"\nmsgstr ""\n')):
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "fieldbot.po").write_text(body, encoding="utf-8")
    catalogs = load_catalogs(tmp_path)
    assert catalogs["en"] == {}  # an empty translation is no translation
    translator = Translator(catalogs)
    assert translator.t("en", "a.b") == "ไทย"


def test_load_only_some_languages() -> None:
    assert set(load_catalogs(languages=["en"])) == {"en"}


def test_no_sentence_shows_a_backslash_and_n(raw: dict[str, dict[str, str]]) -> None:
    """A line break is written \\n in a catalog; written \\\\n it reaches the user as the two
    characters "\\n" (a broadcast preview did)."""
    shown = [(lang, key) for lang, catalog in raw.items() for key, text in catalog.items()
             if "\\n" in text]  # fmt: skip
    assert shown == []
