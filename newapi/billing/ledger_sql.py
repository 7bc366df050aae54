"""The embedded ledger: conditional SQL updates, per-worker leases, batched flushes.

A reservation never goes around the database: quota is taken from ``users``
(and ``tokens``) with ``UPDATE ... WHERE quota >= n``, so concurrent requests on
any number of workers can never overdraw. To avoid one such update per request,
a worker may take a little spare credit with it when the balance is large, and
serves later reservations of the same user from that credit.

Everything taken and not yet accounted for is recorded as a lease row in the
same transaction. Every flush (about once a second while busy) writes the
consume logs and counters of settled requests, gives spare credit back and
shrinks the lease to what in-flight requests still hold, all in one
transaction that a batch id makes idempotent. A worker that dies leaves only
its lease rows behind; the sweeper refunds them.

With a separate log database (``LOG_SQL_DSN``) the flush commits the log rows to
an outbox beside the debits and copies them over after the commit (see
:mod:`newapi.billing.log_sink`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from newapi.billing.db_writes import (
    BATCHES,
    LEASES,
    OUTBOX,
    SETTLE_CHANNEL,
    SETTLE_TOKEN,
    SETTLE_USER,
    TAKE_TOKEN,
    TAKE_USER,
    TOKENS,
    USERS,
    bump_bucket,
    insert_logs_sql,
)
from newapi.billing.ledger import Debit, Hold
from newapi.billing.log_sink import LogSink
from newapi.core.errors import QuotaExceeded

log = logging.getLogger(__name__)

# Spare credit is only taken from balances this many reservations deep, so a
# nearly empty balance is always reserved exactly and never stranded in a worker.
SPARE_DEPTH = 64
ORPHAN_AFTER = 120  # seconds without a flush before another worker refunds a lease


class _Short(Exception):
    """A conditional update found the balance short; aborts the transaction."""

    def __init__(self, side: str) -> None:
        super().__init__(side)
        self.side = side


@dataclass
class _Balance:
    """One balance (a user's or a token's) as this worker sees it between flushes."""

    free: int = 0  # taken from the database, not held by any request (negative: debt to pay)
    held: int = 0  # held by in-flight requests
    lease: int = 0  # recorded in the lease row: taken and not yet accounted for
    back: int = 0  # to give back at the next flush
    used: int = 0  # settled spend not yet flushed
    count: int = 0  # settled requests not yet flushed
    spent_recently: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SqlLedger:
    def __init__(
        self,
        engine: AsyncEngine,
        dialect: str,
        *,
        node_name: str = "",
        flush_interval: float = 1.0,
        data_export: bool = True,
        owns_engine: bool = False,
        logs: LogSink | None = None,
    ) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._dialect = dialect
        self.node = f"{node_name or 'node'}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._node_name = node_name
        self._interval = flush_interval
        self._data_export = data_export
        self._users: dict[int, _Balance] = defaultdict(_Balance)
        self._tokens: dict[int, _Balance] = defaultdict(_Balance)
        self._channels: dict[int, int] = defaultdict(int)
        self._debits: list[Debit] = []
        self._buckets: dict[tuple[Any, ...], list[int]] = {}
        self._settled: set[str] = set()
        self._insert_logs_sql = insert_logs_sql(dialect)
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.flushes = 0
        self.failed_flushes = 0
        self._logs = logs
        # Rows may wait in the outbox (this worker's, or a dead one's): look at start.
        self._outbox_pending = logs is not None
        self._ship_lock = asyncio.Lock()
        self._prune_at = 0.0

    # -- reservations -------------------------------------------------------------------

    async def reserve(self, hold: Hold, balance_hint: int = 0) -> None:
        amount = hold.amount
        if amount <= 0:
            return
        user = self._users[hold.user_id]
        token = None if hold.unlimited else self._tokens[hold.token_id]
        if user.free < amount or (token is not None and token.free < amount):
            async with user.lock:
                if user.free < amount or (token is not None and token.free < amount):
                    await self._take(hold, user, token, balance_hint)
        user.free -= amount
        user.held += amount
        if token is not None:
            token.free -= amount
            token.held += amount

    def _spare(self, balance: _Balance, amount: int, hint: int) -> int:
        if hint < SPARE_DEPTH * amount:
            return 0
        return min(max(amount * 4, balance.spent_recently), hint // 16)

    async def _take(self, hold: Hold, user: _Balance, token: _Balance | None, hint: int) -> None:
        need_user = max(0, hold.amount - user.free)
        need_token = 0 if token is None else max(0, hold.amount - token.free)
        spare = self._spare(user, hold.amount, hint)
        now = int(time.time())
        for extra in (spare, 0) if spare else (0,):
            take_user = need_user + extra if need_user else 0
            take_token = need_token + extra if need_token else 0
            try:
                async with self._engine.begin() as conn:
                    if take_user:
                        result = await conn.execute(TAKE_USER, {"b_id": hold.user_id, "b_n": take_user})
                        if result.rowcount == 0:
                            raise _Short("user")
                        await self._grow_lease(conn, "user", hold.user_id, take_user, now)
                    if take_token:
                        result = await conn.execute(TAKE_TOKEN, {"b_id": hold.token_id, "b_n": take_token})
                        if result.rowcount == 0:
                            raise _Short("token")
                        await self._grow_lease(conn, "token", hold.token_id, take_token, now)
            except _Short as short:
                if extra:
                    continue  # the spare was too much; try for exactly what this request needs
                if short.side == "user":
                    raise QuotaExceeded("insufficient user quota", code="insufficient_user_quota") from None
                raise QuotaExceeded(
                    "the token's remaining quota is not enough for this request",
                    code="pre_consume_token_quota_failed",
                ) from None
            user.free += take_user
            user.lease += take_user
            if token is not None:
                token.free += take_token
                token.lease += take_token
            return

    async def _grow_lease(self, conn: AsyncConnection, kind: str, ident: int, amount: int, now: int) -> None:
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        table = LEASES
        statement = dialect_insert(table).values(
            node=self.node, kind=kind, ident=ident, amount=amount, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["node", "kind", "ident"],
            set_={
                "amount": table.c.amount + statement.excluded.amount,
                "updated_at": statement.excluded.updated_at,
            },
        )
        await conn.execute(statement)

    async def settle(self, hold: Hold, debit: Debit) -> None:
        if hold.settled or debit.request_id in self._settled:
            return
        hold.settled = True
        self._settled.add(debit.request_id)
        self._account(hold, debit.quota)
        self._channels[debit.channel_id] += debit.quota
        self._debits.append(debit)
        if self._data_export and debit.log:
            hour = debit.created_at - debit.created_at % 3600
            key = (
                debit.user_id,
                debit.username,
                debit.model_name,
                hour,
                debit.group,
                debit.token_id,
                debit.channel_id,
            )
            bucket = self._buckets.setdefault(key, [0, 0, 0])
            bucket[0] += 1
            bucket[1] += debit.quota
            bucket[2] += debit.prompt_tokens + debit.completion_tokens
        if len(self._debits) >= 2000:
            self._wake.set()

    def _account(self, hold: Hold, cost: int) -> None:
        # The hold becomes the real cost: the difference goes back to free credit
        # (negative free credit is a debt the next flush takes unconditionally, as
        # New API lets a settled request push a balance below zero).
        cost = max(0, cost)
        for balance in (self._users[hold.user_id], None if hold.unlimited else self._tokens[hold.token_id]):
            if balance is None:
                continue
            balance.held -= max(0, hold.amount)
            balance.free += max(0, hold.amount) - cost
            balance.used += cost
            balance.count += 1
            balance.spent_recently += cost
        if hold.unlimited:
            token = self._tokens[hold.token_id]
            token.used += cost

    async def adjust(self, user_id: int, delta: int, *, token_id: int = 0) -> int:
        table = TOKENS if token_id else USERS
        column = table.c.remain_quota if token_id else table.c.quota
        ident = token_id or user_id
        async with self._engine.begin() as conn:
            await conn.execute(update(table).where(table.c.id == ident).values({column: column + delta}))
            value = (await conn.execute(select(column).where(table.c.id == ident))).scalar_one_or_none()
        return int(value or 0)

    async def record_only(self, debit: Debit) -> None:
        if debit.log:
            self._debits.append(debit)

    async def release(self, hold: Hold) -> None:
        if hold.settled or hold.amount <= 0:
            hold.settled = True
            return
        hold.settled = True
        for balance in (self._users[hold.user_id], None if hold.unlimited else self._tokens[hold.token_id]):
            if balance is not None:
                balance.held -= hold.amount
                balance.free += hold.amount

    # -- flushing -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sql-ledger-flush")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Give back all spare credit at shutdown.
        for balance in (*self._users.values(), *self._tokens.values()):
            balance.spent_recently = 0
        try:
            await self._final_flush()
            await self.ship_logs()
        finally:
            if self._owns_engine:
                await self._engine.dispose()

    async def _final_flush(self) -> None:
        for _ in range(3):
            try:
                await self.flush(final=True)
                return
            except Exception:
                log.exception("final ledger flush failed; retrying")
                await asyncio.sleep(0.5)

    async def _run(self) -> None:
        sweep_at = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
                if time.monotonic() >= sweep_at:
                    await self.sweep_orphans()
                    sweep_at = time.monotonic() + 30
                    self._outbox_pending = self._logs is not None
                await self.ship_logs()
            except Exception:
                self.failed_flushes += 1
                log.warning("ledger flush failed; will retry", exc_info=True)

    def _has_work(self) -> bool:
        if self._debits or self._channels:
            return True
        return any(b.free > 0 or b.lease != b.held for b in (*self._users.values(), *self._tokens.values()))

    async def flush(self, final: bool = False) -> None:
        """Write settled debits and counters, give back spare credit, shrink leases; one transaction."""
        async with self._flush_lock:
            if not self._has_work():
                return
            debits, self._debits = self._debits, []
            buckets, self._buckets = self._buckets, {}
            channels, self._channels = self._channels, defaultdict(int)
            # Taken out synchronously (no await in between), so a reservation running
            # during the write can never spend credit that is being given back.
            users = {uid: _take_out(b) for uid, b in self._users.items()}
            tokens = {tid: _take_out(b) for tid, b in self._tokens.items()}
            batch = uuid.uuid4().hex
            try:
                await self._write(batch, debits, buckets, channels, users, tokens)
            except BaseException:
                # One transaction: nothing was applied. Put the work back for the next try.
                self._debits[:0] = debits
                for key, values in buckets.items():
                    merged = self._buckets.setdefault(key, [0, 0, 0])
                    for i in range(3):
                        merged[i] += values[i]
                for cid, used in channels.items():
                    self._channels[cid] += used
                _put_back(users, self._users)
                _put_back(tokens, self._tokens)
                raise
            if self._logs is not None and any(d.log for d in debits):
                self._outbox_pending = True
            self._settled.difference_update(d.request_id for d in debits)
            _forget_idle(self._users)
            _forget_idle(self._tokens)
            self.flushes += 1

    async def _write(
        self,
        batch: str,
        debits: list[Debit],
        buckets: dict[tuple[Any, ...], list[int]],
        channels: dict[int, int],
        users: dict[int, _Taken],
        tokens: dict[int, _Taken],
    ) -> None:
        now = int(time.time())
        async with self._engine.begin() as conn:
            try:
                await conn.execute(insert(BATCHES).values(id=batch, created_at=now))
            except IntegrityError:
                return  # this batch was applied by an earlier attempt whose commit we did not see
            rows = [d.log_row() for d in debits if d.log]
            if rows and self._logs is not None:
                # Committed with the debits, copied to the log database after (ship_logs).
                await conn.execute(insert(OUTBOX), [{"payload": orjson.dumps(row).decode()} for row in rows])
            elif rows:
                # Straight to the driver: SQLAlchemy's per-row parameter handling would
                # cost as much again as the insert itself at thousands of rows a second.
                await conn.exec_driver_sql(self._insert_logs_sql, rows)
            # Fixed order (by id) so concurrent flushes of several workers never deadlock.
            user_rows = [
                {"b_id": uid, "b_back": t.back, "b_used": t.used, "b_count": t.count}
                for uid, t in sorted(users.items())
                if t.back or t.used or t.count
            ]
            if user_rows:
                await conn.execute(SETTLE_USER, user_rows)
            token_rows = [
                {"b_id": tid, "b_back": t.back, "b_used": t.used, "b_now": now}
                for tid, t in sorted(tokens.items())
                if t.back or t.used
            ]
            if token_rows:
                await conn.execute(SETTLE_TOKEN, token_rows)
            channel_rows = [{"b_id": cid, "b_used": used} for cid, used in sorted(channels.items()) if used]
            if channel_rows:
                await conn.execute(SETTLE_CHANNEL, channel_rows)
            for key, (count, quota, tokens_used) in sorted(buckets.items()):
                await bump_bucket(conn, key, count, quota, tokens_used, self._node_name)
            await self._write_leases(conn, "user", users, now)
            await self._write_leases(conn, "token", tokens, now)

    async def ship_logs(self) -> int:
        """Copy the outbox's log rows to the log database (``LOG_SQL_DSN``); returns how many.

        A failure leaves them in the outbox for the next try; the debits are not held back.
        """
        if self._logs is None or not self._outbox_pending:
            return 0
        async with self._ship_lock:
            self._outbox_pending = False
            try:
                shipped = await self._logs.ship(self._engine)
                if time.monotonic() >= self._prune_at:
                    self._prune_at = time.monotonic() + 600
                    await self._logs.prune()
            except Exception:
                self._outbox_pending = True
                log.warning("copying logs to the log database failed; will retry", exc_info=True)
                return 0
        return shipped

    async def _write_leases(
        self, conn: AsyncConnection, kind: str, taken: dict[int, _Taken], now: int
    ) -> None:
        table = LEASES
        mine = (table.c.node == self.node, table.c.kind == kind)
        for ident, t in sorted(taken.items()):
            if not t.accounted:
                continue
            # Relative, so an acquisition committed during this flush keeps its share.
            await conn.execute(
                update(table)
                .where(*mine, table.c.ident == ident)
                .values(amount=table.c.amount - t.accounted, updated_at=now)
            )
        await conn.execute(delete(table).where(*mine, table.c.amount <= 0))
        await conn.execute(update(table).where(*mine).values(updated_at=now))

    async def sweep_orphans(self) -> int:
        """Refund leases of workers that stopped flushing (killed); returns how many."""
        table = LEASES
        cutoff = int(time.time()) - ORPHAN_AFTER
        refunded = 0
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(table.c.node, table.c.kind, table.c.ident, table.c.amount).where(
                        table.c.node != self.node, table.c.updated_at < cutoff
                    )
                )
            ).all()
            for node, kind, ident, amount in sorted(rows):
                # The conditional delete makes two sweepers refund a lease once.
                gone = await conn.execute(
                    delete(table).where(
                        table.c.node == node,
                        table.c.kind == kind,
                        table.c.ident == ident,
                        table.c.updated_at < cutoff,
                    )
                )
                if gone.rowcount == 0 or not amount:
                    continue
                if kind == "user":
                    await conn.execute(
                        SETTLE_USER, {"b_id": ident, "b_back": amount, "b_used": 0, "b_count": 0}
                    )
                else:
                    await conn.execute(
                        SETTLE_TOKEN,
                        {"b_id": ident, "b_back": amount, "b_used": 0, "b_now": int(time.time())},
                    )
                refunded += 1
        if refunded:
            log.warning("refunded %d quota leases left by stopped workers", refunded)
        return refunded


@dataclass(slots=True)
class _Taken:
    back: int  # spare credit to give back (negative: a debt to take)
    used: int
    count: int
    accounted: int  # how much of the lease this flush settles


def _take_out(balance: _Balance) -> _Taken:
    taken = _Taken(balance.free, balance.used, balance.count, balance.lease - balance.held)
    balance.free = 0
    balance.used = 0
    balance.count = 0
    balance.lease = balance.held
    balance.spent_recently = taken.used
    return taken


def _put_back(taken: dict[int, _Taken], balances: dict[int, _Balance]) -> None:
    for ident, t in taken.items():
        balance = balances[ident]
        balance.free += t.back
        balance.used += t.used
        balance.count += t.count
        balance.lease += t.accounted


def _forget_idle(balances: dict[int, _Balance]) -> None:
    idle = [i for i, b in balances.items() if not (b.free or b.held or b.used or b.lease or b.lock.locked())]
    for ident in idle:
        del balances[ident]
