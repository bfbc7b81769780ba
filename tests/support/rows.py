"""Every row of a database as text: what a test searches for a name or a phone number that
must be gone (after an erasure, after retention)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from storage.db import SessionFactory


async def every_row(sessions: SessionFactory) -> str:
    """Every row of every table, one JSON line each."""
    parts: list[str] = []
    async with sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                values: list[Any] = [v.isoformat() if hasattr(v, "isoformat") else v for v in row]
                parts.append(json.dumps(values, ensure_ascii=False, default=str))
    return "\n".join(parts)
