"""Reading and writing the ``options`` table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.storage.tables import Option


async def load_options(db: AsyncSession) -> dict[str, str]:
    rows = (await db.execute(select(Option.key, Option.value))).all()
    return {key: value or "" for key, value in rows}


async def save_option(db: AsyncSession, key: str, value: str) -> None:
    """Insert or update one option in one statement (concurrent saves of a key don't collide)."""
    dialect = db.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(Option).values(key=key, value=value)
        await db.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))
        return
    row = await db.get(Option, key)
    if row is None:
        db.add(Option(key=key, value=value))
    else:
        row.value = value
