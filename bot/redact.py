"""One redaction step for every error text that is logged or stored.

Exception texts carry what the code around them held: an HTTP client error names the URL it
asked, and Telegram's URLs are `{base}/bot{token}/{method}`; python-telegram-bot names the
token outright when Telegram rejects it. `redact` takes out every configured secret (each
process registers its settings at start-up, see `register_settings`) and anything shaped
like a Telegram bot token, configured or not. `RedactingFilter` applies it to every log
record on the handlers `fieldbot` logs through; `bot.outbox` applies it to the errors it
stores.

The patterns run on arbitrary text (user input can reach an error message), so none can
backtrack: literal secrets, and possessive quantifiers that start only at a run's first
character.
"""

from __future__ import annotations

import logging
import re
import threading

from pydantic import SecretStr

from bot.config import Settings

REDACTED = "[redacted]"
# Shorter values would blank out ordinary words and numbers in every line (and are guessed
# sooner than read from a log).
MIN_SECRET = 6

# A bot token is `<bot id>:<35 characters>`; in a URL the colon may be percent-encoded.
_COLON = r"(?::|%3[Aa])"
_TOKEN_SHAPE = rf"(?<![0-9])[0-9]{{5,}}+{_COLON}[A-Za-z0-9_-]{{30,}}+"
# A token in a Bot API path (`/bot<token>/`, `/file/bot<token>/`), whatever its length.
_BOT_PATH = rf"(?<=/bot)[0-9]++{_COLON}[^/\s'\"?#&]++"

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_pattern = re.compile(f"{_TOKEN_SHAPE}|{_BOT_PATH}")


def register(*values: SecretStr | str | None) -> None:
    """Redact these values from now on (empty and very short ones are ignored)."""
    global _secrets, _pattern
    found = {v.get_secret_value() if isinstance(v, SecretStr) else v for v in values if v}
    with _lock:
        secrets = _secrets | {v for v in found if len(v) >= MIN_SECRET}
        if secrets == _secrets:
            return
        # Longest first: a secret that contains another is taken out whole.
        literals = [re.escape(s) for s in sorted(secrets, key=len, reverse=True)]
        _pattern = re.compile("|".join([*literals, _TOKEN_SHAPE, _BOT_PATH]))
        _secrets = secrets


def register_settings(settings: Settings) -> None:
    """Every secret the settings hold: platform credentials and FIELDBOT_SECRET_KEY."""
    register(
        settings.line_channel_secret,
        settings.line_channel_access_token,
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.secret_key,
    )


def redact(text: str) -> str:
    """`text` without secrets or anything shaped like a bot token."""
    return _pattern.sub(REDACTED, text)


_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Redacts a record before its handler formats it: the message with its arguments, the
    traceback (including chained exceptions) and the stack. Install it on handlers, not on
    loggers: a logger's filters do not see records that propagate from its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as it would
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
