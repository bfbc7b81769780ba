"""A person's own copy of their data (PDPA s.30), behind a one-time link.

The chat ("ข้อมูลของฉัน / My data") issues a link; opening it shows a page with one button, and
only pressing it (a POST) spends the link and downloads a ZIP: `my-data.json`, everything held
about the person (`domain.privacy.copy_of`), and `my-reports.csv`, their reports as a table.
A chat app that fetches the link to draw a preview spends nothing. Only the token's SHA-256 is
stored (`storage.models.DataCopy`); the link works once, until it expires."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.privacy import ERASED
from handlers.forms import Form
from handlers.i18n import Translator
from handlers.reports import export_cells, export_columns, report_forms
from storage import onetime
from storage.export import csv_cells
from storage.models import DataCopy, User

PATH = "/desk/my-data/"  # the link's path, before the token (served by bot/desk/my_data.py)
ZIP_NAME = "fieldbot-my-data.zip"
JSON_NAME = "my-data.json"
CSV_NAME = "my-reports.csv"

# The CSV's own columns, before the answers: (name without words, locale key of its header).
_HEAD = (
    ("reference", "export.reference"),
    ("kind", "export.kind"),
    ("status", "export.status"),
    ("filed_at", "export.created_at"),
)


digest = onetime.digest


async def issue(session: AsyncSession, user_id: int, now: dt.datetime, valid: dt.timedelta) -> str:
    """A new link's token for `user_id`, usable once within `valid` (storage.onetime)."""
    return await onetime.give(session, DataCopy, user_id, now, valid)


def url(base: str, token: str) -> str:
    """The link a person opens: `base` is the server's public address (`Rules.desk_url`)."""
    return f"{base.rstrip('/')}{PATH}{token}"


async def find(session: AsyncSession, token: str) -> DataCopy | None:
    """The link a token names, whatever its state (used, expired): None if it never was."""
    if not token or len(token) > onetime.MAX_TOKEN:
        return None
    return await session.get(DataCopy, digest(token))


async def _owner(session: AsyncSession, user_id: int) -> User | None:
    user = await session.get(User, user_id)
    if user is None or user.platform == ERASED:
        return None
    return user


async def peek(session: AsyncSession, token: str, now: dt.datetime) -> User | None:
    """Whose data a live link (known, unused, unexpired) gives, without spending it."""
    found = await find(session, token)
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    return await _owner(session, found.user_id)


async def redeem(session: AsyncSession, token: str, now: dt.datetime) -> User | None:
    """Spend a live link: whose data it gives; None when unknown, used or expired (two
    presses at once give one copy)."""
    user_id = await onetime.spend(session, DataCopy, token, now)
    return await _owner(session, user_id) if user_id is not None else None


# ---------------------------------------------------------------- the files


def _form_of(kind: str, forms: list[Form]) -> Form | None:
    return next((f for f in forms if f.submit == f"{kind}_report"), None)


def _plain(value: Any) -> str:
    """An answer no form step describes any more (an older form), as text."""
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "; ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _moment(text: Any, tz: dt.tzinfo | None) -> str:
    if not isinstance(text, str) or tz is None:
        return str(text or "")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _photo_count(value: Any) -> int:
    """Photos in an answer: stored (a list of them), or as the copy gives them ({"photos": n},
    privacy.copy_of)."""
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict) and isinstance(value.get("photos"), int):
        return int(value["photos"])
    return 0


def reports_csv(
    copy: Mapping[str, Any], *, i18n: Translator | None = None, tz: dt.tzinfo | None = None
) -> str:
    """The person's reports from `copy` (`privacy.copy_of`'s output) as CSV, one row each:
    reference, kind, status, when filed, then each answer in a column of its own (as the
    officers' export names them: topic, urgency, …, latitude, longitude), the number of
    photos, and any answer no form describes any more. UTF-8 text with a BOM, so that Excel
    shows Thai.

    With `i18n`, headers, kinds, statuses and chosen options are words in the person's
    language (`copy["profile"]["language"]`), else column names and stored ids; with `tz`,
    times are local ("2026-03-20 09:00"), else as in the copy (ISO 8601, UTC)."""
    forms = report_forms()
    answer_cols = export_columns(forms)
    reports = [r for r in copy.get("reports") or [] if isinstance(r, Mapping)]
    lang = (copy.get("profile") or {}).get("language")
    label: Callable[[str], str]
    if i18n is not None:
        translator = i18n

        def label(key: str) -> str:
            return translator.t(lang, key)
    else:

        def label(key: str) -> str:  # "choice.urgency.very_urgent" -> "very_urgent"
            return key.rpartition(".")[2]

    # Answers outside every step of their report's form, each a column at the end.
    extra: list[str] = []
    for report in reports:
        form = _form_of(str(report.get("kind")), forms)
        known = {s.id for s in form.steps} if form else set()
        for key in report.get("answers") or {}:
            if key not in known and key not in extra:
                extra.append(key)

    def header(name: str, key: str) -> str:
        return label(key) if i18n is not None else name

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([
        *(header(name, key) for name, key in _HEAD),
        *(header(c.name, c.header) for c in answer_cols),
        header("photo_count", "export.photo_count"),
        *extra,
    ])  # fmt: skip
    for report in reports:
        kind = str(report.get("kind") or "")
        answers: Mapping[str, Any] = report.get("answers") or {}
        form = _form_of(kind, forms)
        cells = export_cells(form, answers, label) if form else {}
        photos = sum(_photo_count(answers.get(s.id)) for s in (form.steps if form else ())
                     if s.type == "photos")  # fmt: skip
        row = [
            report.get("reference"),
            label(f"kind.{kind}"),
            label(f"status.{report.get('status')}"),
            _moment(report.get("filed_at"), tz),
            *(cells.get(c.name) for c in answer_cols),
            photos,
        ]
        writer.writerow([*csv_cells(row), *csv_cells([_plain(answers.get(k)) for k in extra])])
    return out.getvalue()


def archive(
    copy: Mapping[str, Any], *, i18n: Translator | None = None, tz: dt.tzinfo | None = None
) -> bytes:
    """The ZIP a person downloads: `my-data.json` (all of `copy`, indented, Thai as Thai) and
    `my-reports.csv` (`reports_csv`, with the same `i18n` and `tz`)."""
    text = json.dumps(copy, ensure_ascii=False, indent=2, default=str) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(JSON_NAME, text.encode())
        bundle.writestr(CSV_NAME, reports_csv(copy, i18n=i18n, tz=tz).encode())
    return buffer.getvalue()
