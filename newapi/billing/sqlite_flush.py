"""The SQL ledger's flush on SQLite: the whole transaction in one hop to the driver's thread.

Through SQLAlchemy's aiosqlite adapter every statement is three hops to aiosqlite's thread
(``cursor()``, ``execute``, ``close``), each a wake-up of that thread and, for the answer, of
the event loop: a flush of ~15 statements made ~39 of them (~80 context switches), which a
worker serving a trickle of requests paid once a second (bench/README.md, "A steady 200 req/s
on newapi/http1"). Here the same statements, compiled once from the same SQLAlchemy
constructs, run back to back on the driver's ``sqlite3`` connection in that thread, between
the ``BEGIN IMMEDIATE`` and the ``COMMIT`` that the same function issues: SQLAlchemy's begin
and commit around it (through greenlet, five more hops) cost ~0.6M instructions a flush, as much
as eleven log rows (bench/README.md, "The SQLite flush's transaction in the one hop").
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.util import greenlet_spawn

from newapi.billing.db_writes import (
    BATCHES,
    BUMP_QUOTA_DATA,
    QUOTA_DATA,
    SETTLE_CHANNEL,
    SETTLE_TOKEN,
    SETTLE_USER,
)
from newapi.billing.sql_leases import LEASE_DROP_NODE, LEASE_SHRINK, LEASE_TOUCH_NODE
from newapi.storage.engine import RETURNED_CLEAN

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
# newapi.billing.sql_leases.shrink_leases' three statements, the last two for both kinds at once.
_LEASE_SHRINK = _compiled(LEASE_SHRINK)
_LEASE_DROP = _compiled(LEASE_DROP_NODE)
_LEASE_TOUCH = _compiled(LEASE_TOUCH_NODE)


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
    committed: bool = False  # set in the driver's thread once COMMIT returned


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
        if amounts:
            mine = {"b_node": plan.node, "b_kind": kind, "b_now": plan.now}
            conn.executemany(
                _LEASE_SHRINK[0],
                [
                    {**_LEASE_SHRINK[1], **mine, "b_ident": ident, "b_amount": amount}
                    for ident, amount in amounts
                ],
            )
    if plan.leases:
        node = {"b_node": plan.node, "b_now": plan.now}
        conn.execute(_LEASE_DROP[0], {**_LEASE_DROP[1], **node})
        conn.execute(_LEASE_TOUCH[0], {**_LEASE_TOUCH[1], **node})
    return True


def transaction(conn: sqlite3.Connection, plan: Plan) -> bool:
    """:func:`apply` as one transaction, in the driver's thread: ``BEGIN IMMEDIATE`` (waiting for
    the write lock as long as the connection's busy timeout says), the plan, ``COMMIT``; any
    error rolls everything back and is raised, and a batch applied before writes nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        applied = apply(conn, plan)
        conn.execute("COMMIT" if applied else "ROLLBACK")
    except BaseException:
        # SQLite may have rolled back already (a full disk, an I/O error); else it is ours to do.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    plan.committed = applied
    return applied


async def run(engine: AsyncEngine, plan: Plan) -> bool:
    """:func:`transaction` in the aiosqlite thread of a connection of ``engine``'s pool: one hop
    for the whole flush; False if the batch was applied before.

    The thread runs the transaction to its end whatever happens to the awaiting task, so a
    cancellation waits for the outcome: a committed flush returns True (the caller books it as
    written) and the task gets its cancellation back at its next await; otherwise it raises.
    """
    raw = await engine.raw_connection()  # the pool's checkout, in a greenlet: it may connect
    driver: Any = raw.driver_connection
    try:
        # aiosqlite has no public way to run a function in its thread; _execute is how its own
        # methods do it (pinned in pyproject), _conn the sqlite3 connection it owns.
        return bool(await driver._execute(transaction, driver._conn, plan))
    except asyncio.CancelledError:
        await _drained(driver)
        if not plan.committed:
            raise
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()
        task.cancel()  # delivered at the task's next await, after the caller's bookkeeping
        return True
    finally:
        if _in_transaction(driver):  # a ROLLBACK failed in the thread: the pool's turn
            await greenlet_spawn(raw.close)
        else:
            # The transaction ended in the thread: the pool's rollback on return (a hop) is moot.
            raw.info[RETURNED_CLEAN] = True
            raw.close()


def _in_transaction(driver: Any) -> bool:
    try:
        return bool(driver.in_transaction)
    except ValueError:  # the connection was closed (disposed at shutdown): nothing to roll back
        return False


def _nothing() -> None:
    return None


async def _drained(driver: Any) -> None:
    """Wait until the thread has run what was queued to it before now (it runs its queue in
    order), however often the waiting task is cancelled meanwhile."""
    marker = asyncio.ensure_future(driver._execute(_nothing))
    while not marker.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait((marker,))  # never cancels the marker itself
    if not marker.cancelled():
        marker.exception()  # retrieved: its error (a closed connection) ends the wait as well
