"""Settings from the environment and an optional `.env` file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

# What an empty secret would have switched on, for the message that refuses it.
_SECRET_USE = {
    "line_channel_secret": "the LINE channel",
    "line_channel_access_token": "the LINE channel",
    "telegram_bot_token": "the Telegram channel",
    "telegram_webhook_secret": "the Telegram channel",
    "secret_key": "photo links",
}
MIN_SECRET_KEY = 16
NEW_KEY_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ChannelOffError(RuntimeError):
    """A channel cannot run: built without its credentials (check `Settings.line_enabled` /
    `telegram_enabled` first), or the platform refused them."""


class Settings(BaseSettings):
    """Every setting fieldbot reads. The README's configuration table lists the same names."""

    # hide_input_in_errors: a refused value may be a secret or a URL with a password in it,
    # and the error is printed.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./fieldbot.db", validation_alias="DATABASE_URL"
    )
    media_dir: Path = Field(default=Path("./media"), validation_alias="FIELDBOT_MEDIA_DIR")
    default_language: str = Field(default="th", validation_alias="FIELDBOT_DEFAULT_LANGUAGE")
    timezone: str = Field(default="Asia/Bangkok", validation_alias="FIELDBOT_TIMEZONE")
    host: str = Field(default="127.0.0.1", validation_alias="FIELDBOT_HOST")
    port: int = Field(default=8080, validation_alias="FIELDBOT_PORT")
    pilot_districts_file: Path = Field(
        default=REPO_ROOT / "config" / "pilot_districts.toml",
        validation_alias="FIELDBOT_PILOT_DISTRICTS_FILE",
    )
    choices_file: Path = Field(
        default=REPO_ROOT / "config" / "choices.toml", validation_alias="FIELDBOT_CHOICES_FILE"
    )
    resume_prompt_hours: float = Field(
        default=12.0, validation_alias="FIELDBOT_RESUME_PROMPT_HOURS", ge=0
    )
    log_level: str = Field(default="INFO", validation_alias="FIELDBOT_LOG_LEVEL")
    # The server's public HTTPS address. LINE shows a photo only from a URL it can fetch, so
    # alert photos are served (with a signed link) from here; without it LINE alerts carry
    # no photo (Telegram uploads photos and needs no address).
    public_url: str | None = Field(default=None, validation_alias="FIELDBOT_PUBLIC_URL")
    # Signs those photo links (a key of their own: changing a platform's credentials does not
    # break them, and a leaked platform secret does not let anyone forge them).
    secret_key: SecretStr | None = Field(default=None, validation_alias="FIELDBOT_SECRET_KEY")
    # How long a photo link works (rounded up to the next midnight, UTC).
    media_link_days: int = Field(default=30, validation_alias="FIELDBOT_MEDIA_LINK_DAYS", ge=1)
    # The web desk (/desk/): a session not used for this long ends (sign in again from chat).
    desk_idle_minutes: int = Field(
        default=240, validation_alias="FIELDBOT_DESK_IDLE_MINUTES", ge=1, le=60 * 24 * 30
    )
    # How long a link to a person's own copy of their data ("ข้อมูลของฉัน") works; once only.
    data_copy_hours: float = Field(
        default=24.0, validation_alias="FIELDBOT_DATA_COPY_HOURS", gt=0, le=24 * 30
    )
    # The desk map's tiles: a URL template with {z}/{x}/{y}, and the attribution it requires.
    map_tiles: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        validation_alias="FIELDBOT_MAP_TILES",
    )
    map_attribution: str = Field(
        default="&copy; OpenStreetMap contributors", validation_alias="FIELDBOT_MAP_ATTRIBUTION"
    )
    # How long a dispatcher may hold claimed pushes before another may take them back (a
    # dispatcher that died mid-delivery leaves its rows for this long).
    outbox_lease_seconds: float = Field(
        default=120.0, validation_alias="FIELDBOT_OUTBOX_LEASE_SECONDS", gt=0
    )
    # A case not acknowledged within this many minutes is pushed again, to the officers and
    # the province's coordinators (ด่วนมาก 30 min, ด่วน 4 h, ปกติ 3 days).
    escalate_very_urgent_minutes: int = Field(
        default=30, validation_alias="FIELDBOT_ESCALATE_VERY_URGENT_MINUTES", gt=0
    )
    escalate_urgent_minutes: int = Field(
        default=240, validation_alias="FIELDBOT_ESCALATE_URGENT_MINUTES", gt=0
    )
    escalate_normal_minutes: int = Field(
        default=4320, validation_alias="FIELDBOT_ESCALATE_NORMAL_MINUTES", gt=0
    )
    # How many times a waiting case is escalated; each time waits twice as long as the last
    # (ด่วนมาก: after 30 min, 1 h 30, 3 h 30), then it stays in the summary and digest as
    # overdue rather than ringing phones all night.
    escalate_max_times: int = Field(
        default=3, validation_alias="FIELDBOT_ESCALATE_MAX_TIMES", ge=0, le=10
    )

    # Scheduled work (cron expressions, read in FIELDBOT_TIMEZONE): the weekly activity
    # reminder, the nudge for forms left unfinished over 24 hours, the officers' daily digest.
    reminder_cron: str = Field(default="0 9 * * mon", validation_alias="FIELDBOT_REMINDER_CRON")
    draft_nudge_cron: str = Field(
        default="30 * * * *", validation_alias="FIELDBOT_DRAFT_NUDGE_CRON"
    )
    digest_cron: str = Field(default="0 8 * * *", validation_alias="FIELDBOT_DIGEST_CRON")
    # Retention (PDPA: kept no longer than the work needs), enforced by a daily job at
    # retention_cron (domain.retention): delivered pushes lose their content after
    # retention_outbox_days (the row stays, for the counts); platform event ids, kept to
    # recognise a redelivery, go after retention_event_days; a person silent for
    # retention_person_days is anonymised as an erasure would; reports filed longer ago than
    # retention_report_days stay, anonymous (no reporter). 1825 days: five years.
    retention_outbox_days: int = Field(
        default=30, validation_alias="FIELDBOT_RETENTION_OUTBOX_DAYS", ge=1, le=36500
    )
    retention_event_days: int = Field(
        default=2, validation_alias="FIELDBOT_RETENTION_EVENT_DAYS", ge=1, le=365
    )
    retention_person_days: int = Field(
        default=1825, validation_alias="FIELDBOT_RETENTION_PERSON_DAYS", ge=30, le=36500
    )
    retention_report_days: int = Field(
        default=1825, validation_alias="FIELDBOT_RETENTION_REPORT_DAYS", ge=30, le=36500
    )
    retention_cron: str = Field(default="15 3 * * *", validation_alias="FIELDBOT_RETENTION_CRON")
    # Reminders, nudges, digests and broadcasts wait while these hours last ("HH:MM-HH:MM",
    # may pass midnight; "off" for none). Alerts and escalations never wait.
    quiet_hours: str = Field(default="21:00-07:00", validation_alias="FIELDBOT_QUIET_HOURS")
    # How often an instance that is not running the scheduler checks whether it should take
    # over (PostgreSQL: the one holding an advisory lock runs it).
    leader_retry_seconds: float = Field(
        default=15.0, validation_alias="FIELDBOT_LEADER_RETRY_SECONDS", gt=0
    )
    # The intake (bot.intake): events waiting in memory at most (the inbox holds the rest), how
    # many a minute one person may send before the excess is dropped, and how old an event the
    # inbox still holds must be before an instance that did not receive it handles it.
    intake_capacity: int = Field(default=5000, validation_alias="FIELDBOT_INTAKE_CAPACITY", ge=1)
    flood_per_minute: int = Field(default=30, validation_alias="FIELDBOT_FLOOD_PER_MINUTE", ge=1)
    inbox_grace_seconds: float = Field(
        default=15.0, validation_alias="FIELDBOT_INBOX_GRACE_SECONDS", ge=0
    )
    # Who a villager should call when a very urgent problem has nobody assigned in the bot yet
    # (1784: the Department of Disaster Prevention and Mitigation's hotline).
    emergency_contact: str = Field(default="1784", validation_alias="FIELDBOT_EMERGENCY_CONTACT")
    # Telegram allows a bot about 30 messages a second (more with paid broadcasts).
    telegram_max_per_second: float = Field(
        default=30.0, validation_alias="TELEGRAM_MAX_PER_SECOND", gt=0
    )

    # Platform credentials: a channel is on when its credentials are set.
    line_channel_secret: SecretStr | None = Field(
        default=None, validation_alias="LINE_CHANNEL_SECRET"
    )
    line_channel_access_token: SecretStr | None = Field(
        default=None, validation_alias="LINE_CHANNEL_ACCESS_TOKEN"
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET"
    )
    # Switched on in the LINE Developers console too ("Use webhook redelivery"): LINE then sends
    # a webhook again until it is answered, so an event may be handled before its answer.
    line_webhook_redelivery: bool = Field(default=False, validation_alias="LINE_WEBHOOK_REDELIVERY")
    # Where the official SDKs send their requests (tests point them at fake servers).
    line_api_base_url: str = Field(
        default="https://api.line.me", validation_alias="LINE_API_BASE_URL"
    )
    line_data_api_base_url: str = Field(
        default="https://api-data.line.me", validation_alias="LINE_DATA_API_BASE_URL"
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org", validation_alias="TELEGRAM_API_BASE_URL"
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # People paste the URLs their other tools use; map them to the async drivers we ship.
        for plain, driver in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        return value

    @field_validator(
        "line_channel_secret",
        "line_channel_access_token",
        "telegram_bot_token",
        "telegram_webhook_secret",
        "secret_key",
    )
    @classmethod
    def _not_blank(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # `LINE_CHANNEL_SECRET=` in a .env file is a channel half set up, and an empty key
        # would accept every signature made with it: say so rather than run like that.
        if value is not None and not value.get_secret_value().strip():
            name = info.field_name or ""
            alias = cls.model_fields[name].validation_alias
            raise ValueError(
                f"{alias} is set but empty: unset it to turn {_SECRET_USE[name]} off, "
                "or give it a value"
            )
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY:
            raise ValueError(
                f"FIELDBOT_SECRET_KEY is too short: use {MIN_SECRET_KEY} characters or more "
                f"(for example the output of {NEW_KEY_HINT})"
            )
        return value

    @model_validator(mode="after")
    def _links_are_signed(self) -> Settings:
        if self.public_url and self.secret_key is None:
            raise ValueError(
                "FIELDBOT_PUBLIC_URL is set but FIELDBOT_SECRET_KEY is not: photo links are "
                f"signed with it. Set it to a random value of {MIN_SECRET_KEY} characters or "
                f"more (for example the output of {NEW_KEY_HINT}), or unset FIELDBOT_PUBLIC_URL"
            )
        return self

    @field_validator("line_api_base_url", "line_data_api_base_url", "telegram_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("reminder_cron", "draft_nudge_cron", "digest_cron", "retention_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        fields = value.split()
        if len(fields) == 5 and any(ch.isdigit() for ch in fields[4]):
            # APScheduler counts weekdays from 0 = Monday, standard cron from 0 = Sunday: a
            # number here would quietly move the job by a day.
            raise ValueError(
                f"{value!r}: write the weekday as a name (mon, tue, … sun, or mon-fri), "
                "not a number"
            )
        try:
            CronTrigger.from_crontab(value)
        except ValueError as error:
            raise ValueError(
                f"not a cron expression (minute hour day month weekday): {error}"
            ) from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        from domain.quiet import parse_window

        parse_window(value)  # raises ValueError with the reason
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("FIELDBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Bangkok)") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        if value not in ("th", "en"):
            raise ValueError("FIELDBOT_DEFAULT_LANGUAGE must be 'th' or 'en'")
        return value

    @property
    def escalation_after(self) -> dict[str, dt.timedelta]:
        return {
            "very_urgent": dt.timedelta(minutes=self.escalate_very_urgent_minutes),
            "urgent": dt.timedelta(minutes=self.escalate_urgent_minutes),
            "normal": dt.timedelta(minutes=self.escalate_normal_minutes),
        }

    @property
    def desk_url(self) -> str:
        """Where the desk's sign-in links point: the public address, else this server's own."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def line_enabled(self) -> bool:
        return self.line_channel_secret is not None and self.line_channel_access_token is not None

    @property
    def telegram_enabled(self) -> bool:
        # Without the secret anyone could post updates to the webhook, so both are needed.
        return self.telegram_bot_token is not None and self.telegram_webhook_secret is not None


def explain(error: ValidationError) -> str:
    """The settings' refusal as lines a person reads: `NAME: what is wrong`, one a setting
    (never the value given, which may be a secret)."""
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "\n".join(lines)
