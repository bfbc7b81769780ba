"""Every sentence the desk's templates show comes from the catalogs, in Thai and English."""

from __future__ import annotations

import re
from pathlib import Path

from handlers.i18n import load_catalogs

TEMPLATES = Path(__file__).resolve().parents[3] / "bot" / "desk" / "templates"
EXACT = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']\s*[,)]""")
PREFIX = re.compile(r"""\bt\(\s*["']([a-z_.]+\.)["']\s*~""")


def test_every_key_the_templates_use_is_in_both_catalogs() -> None:
    catalogs = load_catalogs()
    found = 0
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        for key in EXACT.findall(text):
            found += 1
            for lang in ("th", "en"):
                assert key in catalogs[lang], f"{path.name}: {key} missing in {lang}"
        for prefix in PREFIX.findall(text):
            found += 1
            for lang in ("th", "en"):
                assert any(k.startswith(prefix) for k in catalogs[lang]), (path.name, prefix)
    assert found > 40  # the scan sees the templates at all
