"""The two-platform fixture of tests/bot/test_alerts.py, for the other officer-side tests."""

from tests.bot.test_alerts import platforms  # noqa: F401
