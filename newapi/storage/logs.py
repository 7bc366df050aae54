"""Queries on the ``logs`` table: filtered pages, statistics, admin-path records, retention.

Consume logs (type 2) are written by the quota ledger in batches; this module
writes only the rare rows of the management paths (top-ups, admin changes,
system notes) and reads and prunes the table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from newapi.core.constants import LogType
from newapi.storage.tables import Log

ESCAPE = "!"


def _like(text: str) -> str:
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


@dataclass(slots=True)
class LogFilter:
    """New API's log filters (§7.1); zero / empty means "any"."""

    type: int = 0
    start: int = 0
    end: int = 0
    username: str = ""
    token_name: str = ""
    model_name: str = ""
    channel: int = 0
    group: str = ""
    request_id: str = ""
    upstream_request_id: str = ""
    user_id: int | None = None
    token_id: int | None = None
    #: a literal substring of ``content`` (wildcards in it are matched as text)
    content: str = ""

    def conditions(self, *, with_time: bool = True) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.user_id is not None:
            out.append(Log.user_id == self.user_id)
        if self.token_id is not None:
            out.append(Log.token_id == self.token_id)
        if self.type:
            out.append(Log.type == self.type)
        if with_time and self.start:
            out.append(Log.created_at >= self.start)
        if with_time and self.end:
            out.append(Log.created_at <= self.end)
        for column, value in (
            (Log.username, self.username),
            (Log.token_name, self.token_name),
            (Log.model_name, self.model_name),
            (Log.group, self.group),
            (Log.request_id, self.request_id),
            (Log.upstream_request_id, self.upstream_request_id),
        ):
            if value:
                out.append(column == value)
        if self.channel:
            out.append(Log.channel_id == self.channel)
        if self.content:
            out.append(Log.content.like(_like(self.content), escape=ESCAPE))
        return out


async def page(db: AsyncSession, where: LogFilter, offset: int, limit: int) -> tuple[list[Log], int]:
    """One page of matching logs, newest first, and how many match in all."""
    conditions = where.conditions()
    total = (await db.execute(select(func.count()).select_from(Log).where(*conditions))).scalar_one()
    rows = (
        (await db.execute(select(Log).where(*conditions).order_by(Log.id.desc()).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    return list(rows), int(total)


async def by_token(db: AsyncSession, token_id: int, limit: int = 100) -> list[Log]:
    rows = await db.execute(select(Log).where(Log.token_id == token_id).order_by(Log.id.desc()).limit(limit))
    return list(rows.scalars().all())


async def stat(db: AsyncSession, where: LogFilter, now: int | None = None) -> dict[str, int]:
    """Quota spent under the filter, and requests / tokens per minute over the last 60 s."""
    where.type = LogType.CONSUME
    now = int(time.time()) if now is None else now
    quota = (
        await db.execute(select(func.coalesce(func.sum(Log.quota), 0)).where(*where.conditions()))
    ).scalar_one()
    recent = [*where.conditions(with_time=False), Log.created_at >= now - 60]
    rpm, tpm = (
        await db.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Log.prompt_tokens), 0)
                + func.coalesce(func.sum(Log.completion_tokens), 0),
            ).where(*recent)
        )
    ).one()
    return {"quota": int(quota or 0), "rpm": int(rpm or 0), "tpm": int(tpm or 0)}


def record(
    db: AsyncSession,
    *,
    user_id: int,
    username: str,
    log_type: int,
    content: str,
    quota: int = 0,
    other: str = "",
    now: int | None = None,
) -> Log:
    """Add one management-path log row to ``db`` (the caller commits)."""
    row = Log(
        user_id=user_id,
        username=username,
        created_at=int(time.time()) if now is None else now,
        type=log_type,
        content=content,
        quota=quota,
        token_name="",
        model_name="",
        prompt_tokens=0,
        completion_tokens=0,
        use_time=0,
        is_stream=False,
        channel_id=0,
        token_id=0,
        group="",
        ip="",
        request_id="",
        upstream_request_id="",
        other=other,
    )
    db.add(row)
    return row


async def delete_before(
    engine: AsyncEngine,
    before: int,
    *,
    batch: int = 1000,
    pause: float = 0.01,
    on_batch: Callable[[int], Any] | None = None,
) -> int:
    """Delete logs older than ``before`` in short transactions of at most ``batch`` rows.

    Each batch is bounded by id (the ``batch``-th oldest matching id), so it is one
    index range on every database, and the pause between batches lets the ledger's
    log inserts take the write lock (SQLite) or proceed without waiting on a long
    lock queue. Returns how many rows were deleted.
    """
    total = 0
    old = Log.created_at < before
    while True:
        async with engine.begin() as conn:
            edge = (
                await conn.execute(select(Log.id).where(old).order_by(Log.id).limit(1).offset(batch - 1))
            ).scalar_one_or_none()
            statement = delete(Log).where(old)
            if edge is not None:
                statement = statement.where(Log.id <= edge)
            removed = int((await conn.execute(statement)).rowcount or 0)
        total += removed
        if on_batch is not None:
            on_batch(removed)
        if edge is None or removed == 0:
            return total
        await asyncio.sleep(pause)
