"""The two-platform fixture for the officer-side tests (tests/support/platforms.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.platforms import Platforms, open_platforms


@pytest.fixture
async def platforms(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Platforms]:
    async with open_platforms(database_url, tmp_path, clock) as opened:
        yield opened
