"""Reading and writing the ``options`` table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.storage.tables import Option


async def load_options(db: AsyncSession) -> dict[str, str]:
    rows = (await db.execute(select(Option.key, Option.value))).all()
    return {key: value or "" for key, value in rows}


async def save_option(db: AsyncSession, key: str, value: str) -> None:
    """Insert or update one option (the caller commits)."""
    row = await db.get(Option, key)
    if row is None:
        db.add(Option(key=key, value=value))
    else:
        row.value = value
