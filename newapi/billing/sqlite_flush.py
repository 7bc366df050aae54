"""The SQL ledger's flush on SQLite in one hop to the driver's thread.

Through SQLAlchemy's aiosqlite adapter every statement is three hops to aiosqlite's thread
(``cursor()``, ``execute``, ``close``), each a wake-up of that thread and, for the answer, of
the event loop: a flush of ~15 statements made ~39 of them (~80 context switches), which a
worker serving a trickle of requests paid once a second (bench/README.md, "A steady 200 req/s
on newapi/http1"). Here the same statements, compiled once from the same SQLAlchemy
constructs, run back to back on the driver's ``sqlite3`` connection in that thread, inside the
transaction the caller began (``BEGIN IMMEDIATE``) and commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement

from newapi.billing.db_writes import (
    BATCHES,
    BUMP_QUOTA_DATA,
    QUOTA_DATA,
    SETTLE_CHANNEL,
    SETTLE_TOKEN,
    SETTLE_USER,
)
from newapi.billing.sql_leases import LEASE_DROP, LEASE_SHRINK, LEASE_TOUCH

_DIALECT = SQLiteDialect_pysqlite(paramstyle="named")


def _compiled(statement: ClauseElement) -> tuple[str, dict[str, Any]]:
    """The statement's SQL with ``:name`` parameters, and the values of its literal binds."""
    compiled = statement.compile(dialect=_DIALECT)
    return compiled.string, {k: v for k, v in compiled.params.items() if not k.startswith("b_")}


_BATCH = _compiled(insert(BATCHES).values(id=bindparam("b_id"), created_at=bindparam("b_now")))
_SETTLE_USER = _compiled(SETTLE_USER)
_SETTLE_TOKEN = _compiled(SETTLE_TOKEN)
_SETTLE_CHANNEL = _compiled(SETTLE_CHANNEL)
_BUMP = _compiled(BUMP_QUOTA_DATA)
_QD = QUOTA_DATA.c
_BUMP_INSERT = _compiled(
    insert(QUOTA_DATA).values(
        {
            _QD.user_id: bindparam("b_user"),
            _QD.username: bindparam("b_username"),
            _QD.model_name: bindparam("b_model"),
            _QD.created_at: bindparam("b_hour"),
            _QD.use_group: bindparam("b_group"),
            _QD.token_id: bindparam("b_token"),
            _QD.channel_id: bindparam("b_channel"),
            _QD.node_name: bindparam("b_node"),
            _QD.count: bindparam("b_count"),
            _QD.quota: bindparam("b_quota"),
            _QD.token_used: bindparam("b_tokens"),
        }
    )
)
# newapi.billing.sql_leases.shrink_leases' three statements.
_LEASE_SHRINK = _compiled(LEASE_SHRINK)
_LEASE_DROP = _compiled(LEASE_DROP)
_LEASE_TOUCH = _compiled(LEASE_TOUCH)


def _with(statement: tuple[str, dict[str, Any]], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    literals = statement[1]
    return [{**literals, **row} for row in rows] if literals else [dict(row) for row in rows]


@dataclass
class Plan:
    """What one flush writes, in the order the generic path (``SqlLedger._write``) writes it."""

    batch_ids: list[str]
    now: int
    logs: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    buckets: list[dict[str, Any]] = field(default_factory=list)
    # (kind, [(ident, amount), ...] sorted by ident, amounts not zero)
    leases: list[tuple[str, list[tuple[int, int]]]] = field(default_factory=list)
    node: str = ""


def apply(conn: sqlite3.Connection, plan: Plan) -> bool:
    """Run ``plan`` on the driver's connection (in its thread); False if the batch was applied
    before (its id is in ``newapi_flush_batches``: nothing else is written then)."""
    sql, literals = _BATCH
    try:
        conn.executemany(sql, [{**literals, "b_id": ident, "b_now": plan.now} for ident in plan.batch_ids])
    except sqlite3.IntegrityError:
        return False
    for text, sets in plan.logs:
        conn.executemany(text, sets)
    for statement, rows in (
        (_SETTLE_USER, plan.users),
        (_SETTLE_TOKEN, plan.tokens),
        (_SETTLE_CHANNEL, plan.channels),
    ):
        if rows:
            conn.executemany(statement[0], _with(statement, rows))
    for params in plan.buckets:
        if conn.execute(_BUMP[0], {**_BUMP[1], **params}).rowcount == 0:
            conn.execute(_BUMP_INSERT[0], {**_BUMP_INSERT[1], **params})
    for kind, amounts in plan.leases:
        mine = {"b_node": plan.node, "b_kind": kind, "b_now": plan.now}
        if amounts:
            conn.executemany(
                _LEASE_SHRINK[0],
                [
                    {**_LEASE_SHRINK[1], **mine, "b_ident": ident, "b_amount": amount}
                    for ident, amount in amounts
                ],
            )
        conn.execute(_LEASE_DROP[0], {**_LEASE_DROP[1], **mine})
        conn.execute(_LEASE_TOUCH[0], {**_LEASE_TOUCH[1], **mine})
    return True


async def run(conn: AsyncConnection, plan: Plan) -> bool:
    """:func:`apply` in the aiosqlite thread of ``conn``'s connection: one hop for the whole plan."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    # aiosqlite has no public way to run a function in its thread; _execute is how its own
    # methods do it (pinned in pyproject), _conn the sqlite3 connection it owns.
    return bool(await driver._execute(apply, driver._conn, plan))
