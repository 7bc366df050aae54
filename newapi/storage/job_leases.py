"""Leases that let one worker (of all workers on all nodes) run a periodic job per period.

Our own table (additive; New API never reads it). Claiming is one conditional
UPDATE of the job's row, or the INSERT of it the first time, so of several
workers racing for the same period exactly one wins on every database.
"""

from __future__ import annotations

import time
from typing import cast

from sqlalchemy import String, Table, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from newapi.storage.tables import Base
from newapi.storage.types import GoInt


class JobLease(Base):
    __tablename__ = "newapi_job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    expires_at: Mapped[int] = mapped_column(GoInt, nullable=False, default=0)


async def claim(engine: AsyncEngine, name: str, holder: str, seconds: int, now: int | None = None) -> bool:
    """True if ``holder`` now holds ``name`` for ``seconds`` (the previous lease had expired)."""
    now = int(time.time()) if now is None else now
    table = cast(Table, JobLease.__table__)
    async with engine.begin() as conn:
        taken = await conn.execute(
            update(table)
            .where(table.c.name == name, table.c.expires_at <= now)
            .values(holder=holder, expires_at=now + seconds)
        )
        if int(taken.rowcount or 0) == 1:
            return True
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(table).values(name=name, holder=holder, expires_at=now + seconds))
    except IntegrityError:
        return False  # the row exists and its lease is still running
    return True


async def release(engine: AsyncEngine, name: str, holder: str, keep_until: int) -> None:
    """Shorten our lease to ``keep_until`` (so the next period can start on time)."""
    table = cast(Table, JobLease.__table__)
    async with engine.begin() as conn:
        await conn.execute(
            update(table).where(table.c.name == name, table.c.holder == holder).values(expires_at=keep_until)
        )
