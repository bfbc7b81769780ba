"""Settings for a test: its database, its media directory, no `.env` file."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings


def make_settings(database_url: str, media_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "FIELDBOT_MEDIA_DIR": media_dir,
        # Tests type far faster than people: the flood limit is tested on its own.
        "FIELDBOT_FLOOD_PER_MINUTE": 10_000,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def telegram_on(base: str, token: str, secret: str) -> dict[str, object]:
    """The settings that turn the Telegram channel on, its API at `base` (a fake on loopback)."""
    return {
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_WEBHOOK_SECRET": secret,
        "TELEGRAM_API_BASE_URL": base.rstrip("/"),
    }
