"""Reading a gateway's ledger counters straight from its database, for reconciliations."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.worker_kills import Setup

Query = Callable[[str, tuple[Any, ...]], Awaitable[list[tuple[Any, ...]]]]


def sqlite_query(path: Path) -> Query:
    async def query(sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path, timeout=10) as db:
            return list(db.execute(sql.replace("$1", "?").replace("$2", "?"), args).fetchall())

    return query


def pg_query(dsn: str) -> Query:
    async def query(sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return query


async def counters(query: Query, setup: Setup) -> dict[str, int]:
    """Every counter a settlement moves, for the user, token and channel of ``setup``."""
    (user,) = await query(
        "SELECT quota, used_quota, request_count FROM users WHERE id = $1", (setup.user_id,)
    )
    (token,) = await query("SELECT remain_quota, used_quota FROM tokens WHERE id = $1", (setup.token_id,))
    (channel,) = await query("SELECT used_quota FROM channels WHERE id = $1", (setup.channel_id,))
    (data,) = await query(
        "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(quota), 0) FROM quota_data WHERE user_id = $1",
        (setup.user_id,),
    )
    return {
        "quota": user[0],
        "used_quota": user[1],
        "request_count": user[2],
        "token_remain": token[0],
        "token_used": token[1],
        "channel_used": channel[0] or 0,
        "data_count": int(data[0]),
        "data_quota": int(data[1]),
    }


def expected_after(before: dict[str, int], spent: int, count: int) -> dict[str, int]:
    """The counters once ``count`` settlements costing ``spent`` in all are applied."""
    return {
        "quota": before["quota"] - spent,
        "used_quota": before["used_quota"] + spent,
        "request_count": before["request_count"] + count,
        "token_remain": before["token_remain"] - spent,
        "token_used": before["token_used"] + spent,
        "channel_used": before["channel_used"] + spent,
        "data_count": before["data_count"] + count,
        "data_quota": before["data_quota"] + spent,
    }
