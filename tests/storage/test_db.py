"""The engine itself: what a database error may say about the row it failed on."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import IntegrityError

from bot.service import Core
from storage.models import User

NAME = "สมชาย ใจดีมาก"
PHONE = "0812345678"


async def test_a_database_error_does_not_carry_personal_values(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    """Names and phone numbers are bound parameters: an error (in a log line or stored
    anywhere) must not repeat them."""
    async with core.sessions() as session, session.begin():
        session.add(User(platform="line", platform_user_id="Uperson", display_name="first"))
    # SQLAlchemy's own statement logging included (aiosqlite logs every statement with its
    # values at DEBUG too, which is why `fieldbot` keeps that logger at WARNING).
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    with pytest.raises(IntegrityError) as raised:
        async with core.sessions() as session, session.begin():
            session.add(
                User(platform="line", platform_user_id="Uperson", display_name=NAME, phone=PHONE)
            )
    logging.getLogger("test").error("insert failed: %s", raised.value, exc_info=raised.value)
    for text in (str(raised.value), repr(raised.value), caplog.text):
        assert NAME not in text and PHONE not in text
    assert "users" in str(raised.value)  # the error still says what failed
