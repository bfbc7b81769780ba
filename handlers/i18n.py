"""Translation by key with a fallback chain, from gettext catalogs in `locales/` read with babel.

The message id of every entry is a stable key (``form.activity.type.prompt``); the message string is
the sentence. Keys named ``kw.*`` hold the words a user may type for a command, separated by ``|``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

from handlers.thai import normalize_digits, strip_particles

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "fieldbot"
# The longest command word is 23 characters; with polite endings and spaces a command is still
# far shorter than this, so longer text is no command and is not read.
MAX_KEYWORD_TEXT = 100


class _KeepMissing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Translator:
    """Looks a sentence up by key: in the asked language, the default one, any other, else
    the key itself."""

    catalogs: Mapping[str, Mapping[str, str]]
    default: str = "th"
    _keywords: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.catalogs)

    def has(self, lang: str, key: str) -> bool:
        return bool(self.catalogs.get(lang, {}).get(key))

    def t(self, lang: str | None, key: str, /, **params: object) -> str:
        for candidate in (lang, self.default, *self.catalogs):
            if candidate is None:
                continue
            text = self.catalogs.get(candidate, {}).get(key)
            if text:
                return text.format_map(_KeepMissing(params)) if params else text
        return key

    def keywords(self, key: str) -> frozenset[str]:
        """Every word, in every language, that a user may type for the command `key` (folded)."""
        cached = self._keywords.get(key)
        if cached is None:
            words = {
                fold(word)
                for catalog in self.catalogs.values()
                for word in catalog.get(key, "").split("|")
                if word.strip()
            }
            cached = frozenset(words)
            self._keywords[key] = cached
        return cached

    def is_keyword(self, text: str, key: str) -> bool:
        """Whether what the user typed is one of the words of `key` ("ยกเลิกครับ" is "ยกเลิก").
        Text longer than `MAX_KEYWORD_TEXT` characters is not."""
        if len(text) > MAX_KEYWORD_TEXT:
            return False
        word = fold(normalize_digits(text.strip().lstrip("/")))
        words = self.keywords(key)
        return word in words or fold(strip_particles(word)) in words

    def variants(self, key: str) -> tuple[str, ...]:
        """The sentence for `key` in every language (for matching typed answers to labels)."""
        return tuple(c[key] for c in self.catalogs.values() if c.get(key))

    def words(self, key: str) -> tuple[str, ...]:
        """The words listed at `key` in every language, separated by `|` (the `.also` entries:
        other words people type for a button or an option)."""
        return tuple(w.strip() for ws in self.variants(key) for w in ws.split("|") if w.strip())


def fold(text: str) -> str:
    """Case- and space-insensitive form of a short command word."""
    return " ".join(text.casefold().split())


def load_catalogs(
    directory: Path = LOCALES_DIR, languages: Iterable[str] | None = None
) -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    wanted = set(languages) if languages is not None else None
    for po_path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po_path.parent.parent.name
        if wanted is not None and lang not in wanted:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        catalogs[lang] = {
            str(message.id): str(message.string)
            for message in catalog
            if message.id and isinstance(message.id, str) and message.string
        }
    return catalogs


def load_translator(default: str = "th", directory: Path = LOCALES_DIR) -> Translator:
    catalogs = load_catalogs(directory)
    # Thai first: it is the language of the programme and the last resort of every lookup.
    ordered = {lang: catalogs[lang] for lang in sorted(catalogs, key=lambda x: (x != "th", x))}
    return Translator(ordered, default)
