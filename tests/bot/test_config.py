"""Settings names and defaults, and the checks on configured lists and pilot districts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from bot.config import ChannelOffError, Settings, explain
from bot.lists import ConfigError, load_lists
from handlers.i18n import load_translator

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "FIELDBOT_MEDIA_DIR",
        "FIELDBOT_DEFAULT_LANGUAGE",
        "FIELDBOT_TIMEZONE",
        "FIELDBOT_HOST",
        "FIELDBOT_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///./fieldbot.db"
    assert settings.media_dir == Path("./media")
    assert settings.default_language == "th"
    assert settings.timezone == "Asia/Bangkok"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert not settings.line_enabled and not settings.telegram_enabled


def test_environment_and_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DATABASE_URL=postgresql://u@db/fieldbot\nFIELDBOT_DEFAULT_LANGUAGE=en\n"
        "TELEGRAM_BOT_TOKEN=123:abc\nTELEGRAM_WEBHOOK_SECRET=s3cret\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FIELDBOT_MEDIA_DIR", str(tmp_path / "m"))
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql+asyncpg://u@db/fieldbot"
    assert settings.default_language == "en"
    assert settings.media_dir == tmp_path / "m"
    assert settings.telegram_enabled
    assert not Settings(_env_file=None, TELEGRAM_BOT_TOKEN="1:a").telegram_enabled  # type: ignore[call-arg]
    assert "123:abc" not in repr(settings)  # secrets never show up in logs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FIELDBOT_TIMEZONE", "Mars/Olympus"),
        ("FIELDBOT_DEFAULT_LANGUAGE", "fr"),
        ("FIELDBOT_RETENTION_CRON", "every night"),
        ("FIELDBOT_RETENTION_OUTBOX_DAYS", "0"),
        # A period of people or reports in days, not years: five would erase everyone.
        ("FIELDBOT_RETENTION_PERSON_DAYS", "5"),
        ("FIELDBOT_RETENTION_REPORT_DAYS", "5"),
    ],
)
def test_bad_values_are_refused(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_retention_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OUTBOX_DAYS", "EVENT_DAYS", "PERSON_DAYS", "REPORT_DAYS", "CRON"):
        monkeypatch.delenv(f"FIELDBOT_RETENTION_{name}", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.retention_outbox_days, settings.retention_event_days) == (30, 2)
    assert (settings.retention_person_days, settings.retention_report_days) == (1825, 1825)
    assert settings.retention_cron == "15 3 * * *"


def test_shipped_lists_load() -> None:
    lists = load_lists(CONFIG / "choices.toml", CONFIG / "pilot_districts.toml", load_translator())
    assert "khok_nong_na" in lists.options["activity_types"]
    assert len(lists.options["partner_sectors"]) == 7
    assert lists.pilot_districts == frozenset()


def test_pilot_districts_are_validated(tmp_path: Path) -> None:
    good = tmp_path / "pilot.toml"
    good.write_text('districts = ["5001", "4001"]\n', encoding="utf-8")
    lists = load_lists(CONFIG / "choices.toml", good, load_translator())
    assert lists.pilot_districts == {"5001", "4001"}

    bad = tmp_path / "bad.toml"
    bad.write_text('districts = ["5001", "9999", "50"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="9999, 50"):
        load_lists(CONFIG / "choices.toml", bad, load_translator())


def test_a_new_option_without_labels_is_refused(tmp_path: Path) -> None:
    choices = tmp_path / "choices.toml"
    text = (CONFIG / "choices.toml").read_text(encoding="utf-8")
    choices.write_text(
        text.replace('"other",\n]', '"other", "solar_pump",\n]', 1), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"choice\.activity_types\.solar_pump"):
        load_lists(choices, CONFIG / "pilot_districts.toml", load_translator())


def test_a_new_question_without_its_words_is_refused() -> None:
    """A step added to a form with its words in one catalog only: the bot refuses to start
    and names the key, instead of asking an English speaker in Thai (the trial of issue 10)."""
    from handlers.forms import FORMS
    from handlers.i18n import Translator
    from tests.support.added_question import WORDS, problem_with_water

    i18n = load_translator()
    only_thai = {lang: {**entries, **(WORDS["th"] if lang == "th" else {})}
                 for lang, entries in i18n.catalogs.items()}  # fmt: skip
    forms = {**FORMS, "problem": problem_with_water()}
    with pytest.raises(ConfigError, match=r"en: form\.problem\.water_source\.label") as refused:
        load_lists(CONFIG / "choices.toml", CONFIG / "pilot_districts.toml",
                   Translator(only_thai, i18n.default), forms)  # fmt: skip
    assert "en: form.problem.water_source.prompt" in str(refused.value)
    assert "th: form.problem.water_source" not in str(refused.value)


@pytest.mark.parametrize(
    "name",
    [
        "LINE_CHANNEL_SECRET",
        "LINE_CHANNEL_ACCESS_TOKEN",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
        "FIELDBOT_SECRET_KEY",
    ],
)
@pytest.mark.parametrize("value", ["", "  "])
def test_empty_secrets_are_refused(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`LINE_CHANNEL_SECRET=` in a .env would otherwise turn a channel on with an empty key
    (every signature made with it checks out)."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = explain(raised.value)
    assert message.startswith(f"{name}: {name} is set but empty")
    assert "unset it" in message and "give it a value" in message


def test_setting_errors_never_repeat_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db/x")
    monkeypatch.setenv("FIELDBOT_PORT", "hunter2")
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "hunter2" not in str(raised.value) and "hunter2" not in explain(raised.value)
    assert explain(raised.value).startswith("FIELDBOT_PORT: ")


@pytest.mark.parametrize("channel", ["line", "telegram"])
def test_a_channel_without_credentials_says_so(channel: str) -> None:
    """An explicit error, not an `assert` (which `python -O` removes)."""
    core = SimpleNamespace(settings=Settings(_env_file=None))  # type: ignore[call-arg]
    if channel == "line":
        from bot.channels.line.adapter import LineChannel

        with pytest.raises(ChannelOffError, match="LINE_CHANNEL_ACCESS_TOKEN"):
            LineChannel(core)  # type: ignore[arg-type]
    else:
        from bot.channels.telegram.adapter import TelegramChannel

        with pytest.raises(ChannelOffError, match="TELEGRAM_WEBHOOK_SECRET"):
            TelegramChannel(core)  # type: ignore[arg-type]


def test_a_public_url_needs_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDBOT_PUBLIC_URL", "https://bot.example.org")
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = explain(raised.value)
    assert "FIELDBOT_PUBLIC_URL is set but FIELDBOT_SECRET_KEY is not" in message
    monkeypatch.setenv("FIELDBOT_SECRET_KEY", "0123456789abcdef")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.media_link_days == 30
    assert "0123456789abcdef" not in repr(settings)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "FIELDBOT_SECRET_KEY is set but empty"),
        (" " * 20, "FIELDBOT_SECRET_KEY is set but empty"),
        ("short-key-15-ch", "FIELDBOT_SECRET_KEY is too short"),
    ],
)
def test_weak_secret_keys_are_refused(
    value: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDBOT_SECRET_KEY", value)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert explain(raised.value).startswith(f"FIELDBOT_SECRET_KEY: {says}")
    assert value.strip() == "" or value not in explain(raised.value)


def test_photo_links_last_at_least_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDBOT_MEDIA_LINK_DAYS", "0")
    with pytest.raises(ValidationError, match="FIELDBOT_MEDIA_LINK_DAYS"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_data_copy_link_lasts_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDBOT_DATA_COPY_HOURS", raising=False)
    assert Settings(_env_file=None).data_copy_hours == 24  # type: ignore[call-arg]
    monkeypatch.setenv("FIELDBOT_DATA_COPY_HOURS", "2.5")
    assert Settings(_env_file=None).data_copy_hours == 2.5  # type: ignore[call-arg]
    for wrong in ("0", "-1", str(24 * 31)):
        monkeypatch.setenv("FIELDBOT_DATA_COPY_HOURS", wrong)
        with pytest.raises(ValidationError, match="FIELDBOT_DATA_COPY_HOURS"):
            Settings(_env_file=None)  # type: ignore[call-arg]
