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
