"""The SQL ledger's lease rows: quota a worker took from the balances and has not accounted for.

A take grows the worker's row in the same transaction as the conditional update; a
flush shrinks it by what it settles or gives back. Rows of workers that stopped
(refunded by a survivor of their node at once, or by any worker after ORPHAN_AFTER
seconds without a flush) go back to the balances they came from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from newapi.billing.db_writes import LEASES, SETTLE_TOKEN, SETTLE_USER
from newapi.storage.upsert import upsert

log = logging.getLogger(__name__)

ORPHAN_AFTER = 120  # seconds without a flush before another worker refunds a lease


async def grow_lease(
    conn: AsyncConnection, dialect: str, node: str, kind: str, ident: int, amount: int, now: int
) -> None:
    table = LEASES
    statement = upsert(
        dialect,
        table,
        {"node": node, "kind": kind, "ident": ident, "amount": amount, "updated_at": now},
        ["node", "kind", "ident"],
        lambda new: {"amount": table.c.amount + new.amount, "updated_at": new.updated_at},
    )
    await conn.execute(statement)


# What a flush does to the node's rows of one kind, with named parameters, so that the SQLite
# flush (newapi.billing.sqlite_flush) compiles the very same statements.
_MINE = (LEASES.c.node == bindparam("b_node"), LEASES.c.kind == bindparam("b_kind"))
# Relative, so an acquisition committed during the flush keeps its share.
LEASE_SHRINK = (
    update(LEASES)
    .where(*_MINE, LEASES.c.ident == bindparam("b_ident"))
    .values(amount=LEASES.c.amount - bindparam("b_amount"), updated_at=bindparam("b_now"))
)
LEASE_DROP = delete(LEASES).where(*_MINE, LEASES.c.amount <= 0)
LEASE_TOUCH = update(LEASES).where(*_MINE).values(updated_at=bindparam("b_now"))
# The same for both kinds at once (a node's rows are of the two kinds a flush settles): the SQLite
# flush's two statements instead of four.
LEASE_DROP_NODE = delete(LEASES).where(LEASES.c.node == bindparam("b_node"), LEASES.c.amount <= 0)
LEASE_TOUCH_NODE = (
    update(LEASES).where(LEASES.c.node == bindparam("b_node")).values(updated_at=bindparam("b_now"))
)


async def shrink_leases(
    conn: AsyncConnection, node: str, kind: str, accounted: Mapping[int, int], now: int
) -> None:
    """Take what a flush settles (``accounted`` per balance) off the node's rows of ``kind``."""
    mine = {"b_node": node, "b_kind": kind, "b_now": now}
    for ident, amount in sorted(accounted.items()):
        if amount:
            await conn.execute(LEASE_SHRINK, {**mine, "b_ident": ident, "b_amount": amount})
    await conn.execute(LEASE_DROP, mine)
    await conn.execute(LEASE_TOUCH, mine)


async def sweep_orphans(engine: AsyncEngine, node: str) -> int:
    """Refund leases of other workers that stopped flushing (killed); returns how many."""
    cutoff = int(time.time()) - ORPHAN_AFTER
    return await refund_leases(engine, LEASES.c.node != node, LEASES.c.updated_at < cutoff)


async def refund_leases(engine: AsyncEngine, *where: Any) -> int:
    """Give the lease rows matching ``where`` back to their balances; returns how many."""
    table = LEASES
    refunded = 0
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                select(table.c.node, table.c.kind, table.c.ident, table.c.amount).where(*where)
            )
        ).all()
        for node, kind, ident, amount in sorted(rows):
            # The conditional delete makes two sweepers refund a lease once.
            gone = await conn.execute(
                delete(table).where(
                    table.c.node == node, table.c.kind == kind, table.c.ident == ident, *where
                )
            )
            if gone.rowcount == 0 or not amount:
                continue
            if kind == "user":
                await conn.execute(SETTLE_USER, {"b_id": ident, "b_back": amount, "b_used": 0, "b_count": 0})
            else:
                await conn.execute(
                    SETTLE_TOKEN,
                    {"b_id": ident, "b_back": amount, "b_used": 0, "b_now": int(time.time())},
                )
            refunded += 1
    if refunded:
        log.warning("refunded %d quota leases left by stopped workers", refunded)
    return refunded
