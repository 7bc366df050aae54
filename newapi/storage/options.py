"""Reading and writing the ``options`` table."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.storage.tables import Option
from newapi.storage.upsert import upsert


async def load_options(db: AsyncSession) -> dict[str, str]:
    rows = (await db.execute(select(Option.key, Option.value))).all()
    return {key: value or "" for key, value in rows}


async def save_option(db: AsyncSession, key: str, value: str) -> None:
    """Insert or update one option in one statement (concurrent saves of a key don't collide)."""
    dialect = db.get_bind().dialect.name
    statement = upsert(
        dialect,
        cast(Table, Option.__table__),
        {"key": key, "value": value},
        ["key"],
        lambda _: {"value": value},
    )
    await db.execute(statement)
