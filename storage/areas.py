"""The areas table, filled from the `geothai` package (data CC-BY-4.0)."""

from __future__ import annotations

import geothai
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Area, Meta

_VERSION_KEY = "geothai_data_version"


def _rows() -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for p in geothai.provinces():
        rows.append(
            {
                "code": p.code,
                "level": "province",
                "name_th": p.name_th,
                "name_en": p.name_en,
                "parent_code": None,
            }
        )
        for d in geothai.districts(p.code):
            rows.append(
                {
                    "code": d.code,
                    "level": "district",
                    "name_th": d.name_th,
                    "name_en": d.name_en,
                    "parent_code": p.code,
                }
            )
            for s in geothai.subdistricts(d.code):
                rows.append(
                    {
                        "code": s.code,
                        "level": "subdistrict",
                        "name_th": s.name_th,
                        "name_en": s.name_en,
                        "parent_code": d.code,
                    }
                )
    return rows


async def sync_areas(session: AsyncSession) -> bool:
    """Load or refresh the areas when geothai's data version changed. Returns True if it did."""
    version = str(geothai.DATA_VERSION)
    stored = await session.get(Meta, _VERSION_KEY)
    if stored is not None and stored.value == version:
        return False
    await session.execute(delete(Area))
    rows = _rows()
    for start in range(0, len(rows), 2000):
        await session.execute(insert(Area), rows[start : start + 2000])
    if stored is None:
        session.add(Meta(key=_VERSION_KEY, value=version))
    else:
        stored.value = version
    await session.flush()
    return True


async def area_names(session: AsyncSession, codes: set[str]) -> dict[str, tuple[str, str]]:
    """Thai and English names of the given area codes."""
    if not codes:
        return {}
    result = await session.execute(
        select(col(Area.code), col(Area.name_th), col(Area.name_en)).where(
            col(Area.code).in_(codes)
        )
    )
    return {code: (th, en) for code, th, en in result.all()}
