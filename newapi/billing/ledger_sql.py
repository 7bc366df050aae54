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
transaction that a batch id makes idempotent. A flush that raised may have committed all
the same (the connection lost once COMMIT was sent): its batch is kept whole, with its
ids, and retried alone before any later work is taken, so a retry either applies it or
finds it applied, and never carries (and skips) debits settled since.

A worker that dies loses the settled debits it had not flushed yet, so each
settlement is first written to the worker's journal (:mod:`newapi.billing.journal`),
before the response's last byte; a flush seals the journal's segment and deletes it
once committed, recording the segment's id in ``newapi_flush_batches`` with the
debits. When a worker of the node dies (its lock is free, :mod:`newapi.node.workers`),
a survivor, within a second, replays its remaining segments (each in one
transaction that records the segment's id, so a segment the dead worker had
flushed is skipped) and refunds its lease rows: the requests it settled are billed,
the ones it had only reserved are released. Leases of workers on other nodes
(a server database shared by several nodes) are refunded after ORPHAN_AFTER
seconds without a flush.

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
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

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
    bucket_params,
    bump_bucket,
    insert_logs,
    insert_logs_sql,
    sqlite_log_batches,
)
from newapi.billing.journal import Journal, discard, read_segment, segments_of
from newapi.billing.ledger import Debit, Hold
from newapi.billing.log_sink import LogSink
from newapi.billing.sql_balances import Balance, Taken, add_to_bucket, forget_idle, take_out
from newapi.billing.sql_leases import grow_lease, refund_leases, shrink_leases, sweep_orphans
from newapi.billing.sql_outbox import OutboxShipper
from newapi.core.errors import QuotaExceeded
from newapi.core.ticks import seconds_to_tick
from newapi.node.workers import Presence, new_worker_id

log = logging.getLogger(__name__)

# Spare credit is only taken from balances this many reservations deep, so a
# nearly empty balance is always reserved exactly and never stranded in a worker.
SPARE_DEPTH = 64


class _Short(Exception):
    """A conditional update found the balance short; aborts the transaction."""

    def __init__(self, side: str) -> None:
        super().__init__(side)
        self.side = side


@dataclass(slots=True)
class _Batch:
    """One flush's work and the ids that make its transaction idempotent (its own, then those of
    the journal segments it carries), kept whole until a transaction of it is known to have
    committed: retried with the same ids it is either applied once or found applied."""

    ids: list[str]
    debits: list[Debit]
    buckets: dict[tuple[Any, ...], list[int]]
    channels: dict[int, int]
    users: dict[int, Taken]
    tokens: dict[int, Taken]
    upto: int  # the journal mark of its last segment (0: none), dropped once it committed


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
        self.worker = new_worker_id()
        self.node = f"{node_name or 'node'}:{self.worker}"
        self._node_name = node_name
        self._interval = flush_interval
        self._data_export = data_export
        self._users: dict[int, Balance] = defaultdict(Balance)
        self._tokens: dict[int, Balance] = defaultdict(Balance)
        self._channels: dict[int, int] = defaultdict(int)
        self._debits: list[Debit] = []
        self._buckets: dict[tuple[Any, ...], list[int]] = {}
        self._settled: set[str] = set()
        self._doubt: _Batch | None = None  # a failed flush's batch, perhaps committed
        self._insert_logs_sql = insert_logs_sql(dialect)
        # On SQLite (logs in the same database) a flush's writes go to the driver's thread in
        # one hop (newapi.billing.sqlite_flush) instead of three hops per statement.
        self._one_hop = dialect == "sqlite" and logs is None
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.flushes = 0
        self.failed_flushes = 0
        self._logs = logs
        self._shipper = None if logs is None else OutboxShipper(logs, engine)
        self._presence: Presence | None = None
        self._journal: Journal | None = None
        self._node_dir = ""
        self.replayed = 0

    def use_node(self, directory: str, presence: Presence) -> None:
        """Journal settlements in the node directory and clean up after the node's dead workers."""
        self._presence = presence
        self.worker = presence.id
        self.node = f"{self._node_name or 'node'}:{self.worker}"
        self._node_dir = directory
        self._journal = Journal(directory, presence.id)

    # -- reservations -------------------------------------------------------------------

    async def reserve(self, hold: Hold, balance_hint: int = 0) -> None:
        amount = hold.amount
        if amount <= 0:
            return
        user = self._users[hold.user_id]
        token = None if hold.unlimited else self._tokens[hold.token_id]
        if user.free < amount or (token is not None and token.free < amount):
            # Reservations queued behind the lock say what they need, and the take in progress
            # takes that too: a burst of N new requests costs a few database round trips, not
            # N / 5 in a row with every later request waiting (issue 19: 10,000 streams opened
            # within seconds kept plain requests waiting for seconds).
            self._want(user, token, amount)
            waiting = True
            try:
                async with user.lock:
                    self._want(user, token, -amount)
                    waiting = False
                    if user.free < amount or (token is not None and token.free < amount):
                        # The user's lock covers the user's balance only: a flush must not forget
                        # the token's (idle until this take lands) meanwhile.
                        if token is not None:
                            token.taking += 1
                        try:
                            await self._take(hold, user, token, balance_hint)
                        finally:
                            if token is not None:
                                token.taking -= 1
            finally:
                if waiting:
                    self._want(user, token, -amount)
        user.free -= amount
        user.held += amount
        if token is not None:
            token.free -= amount
            token.held += amount

    @staticmethod
    def _want(user: Balance, token: Balance | None, amount: int) -> None:
        user.wanted += amount
        if token is not None:
            token.wanted += amount

    def _spare(self, balance: Balance, amount: int, hint: int) -> int:
        if hint < SPARE_DEPTH * amount:
            return 0
        return min(max(amount * 4, balance.spent_recently), hint // 16)

    async def _take(self, hold: Hold, user: Balance, token: Balance | None, hint: int) -> None:
        need_user = max(0, hold.amount - user.free)
        need_token = 0 if token is None else max(0, hold.amount - token.free)
        spare = self._spare(user, hold.amount, hint)
        # Spare credit, and what the reservations queued behind this one need; if the balance
        # cannot give all of it, exactly what this request needs (as before).
        extra_user, extra_token = spare + user.wanted, spare + (0 if token is None else token.wanted)
        now = int(time.time())
        for extra in ((extra_user, extra_token), (0, 0)) if extra_user or extra_token else ((0, 0),):
            take_user = need_user + extra[0] if need_user else 0
            take_token = need_token + extra[1] if need_token else 0
            try:
                async with self._engine.begin() as conn:
                    if take_user:
                        result = await conn.execute(TAKE_USER, {"b_id": hold.user_id, "b_n": take_user})
                        if result.rowcount == 0:
                            raise _Short("user")
                        await grow_lease(conn, self._dialect, self.node, "user", hold.user_id, take_user, now)
                    if take_token:
                        result = await conn.execute(TAKE_TOKEN, {"b_id": hold.token_id, "b_n": take_token})
                        if result.rowcount == 0:
                            raise _Short("token")
                        await grow_lease(
                            conn, self._dialect, self.node, "token", hold.token_id, take_token, now
                        )
            except _Short as short:
                if extra[0] or extra[1]:
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

    async def settle(self, hold: Hold, debit: Debit) -> None:
        if hold.settled or debit.request_id in self._settled:
            return
        hold.settled = True
        self._settled.add(debit.request_id)
        self._account(hold, debit.quota)
        self._channels[debit.channel_id] += debit.quota
        self._debits.append(debit)
        if self._journal is not None:
            self._journal.append(orjson.dumps(debit.record(), option=orjson.OPT_APPEND_NEWLINE))
        if self._data_export and debit.log:
            add_to_bucket(self._buckets, debit)
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
            if self._journal is not None:
                self._journal.close()
                if self._journal.empty() and self._presence is not None:
                    self._presence.close()  # else a survivor or the next start replays what is left
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
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds_to_tick(loop, self._interval))
            self._wake.clear()
            try:
                await self.flush()
                await self._reap_quietly()
                if time.monotonic() >= sweep_at:
                    await self.sweep_orphans()
                    sweep_at = time.monotonic() + 30
                    if self._shipper is not None:
                        self._shipper.pending = True
                await self.ship_logs()
            except Exception:
                self.failed_flushes += 1
                log.warning("ledger flush failed; will retry", exc_info=True)

    def _has_work(self) -> bool:
        if self._doubt is not None:
            return True
        if self._debits or self._channels or (self._journal is not None and not self._journal.empty()):
            return True
        return any(b.free > 0 or b.lease != b.held for b in (*self._users.values(), *self._tokens.values()))

    async def flush(self, final: bool = False) -> None:
        """Write settled debits and counters, give back spare credit, shrink leases; one transaction."""
        async with self._flush_lock:
            doubt = self._doubt
            if doubt is not None:
                # A flush that failed may have committed all the same: its batch is retried alone,
                # with its own ids, before anything later is taken (which it must not carry).
                await self._write_batch(doubt)
                self._booked(doubt)
            if not self._has_work():
                return
            # Until a transaction of it is known to have committed (or found applied), a batch
            # stays in doubt, and so does its credit: given back by a commit we may not have
            # seen, it must be neither spent here nor given back twice.
            batch = self._doubt = self._take_batch()
            await self._write_batch(batch)
            self._booked(batch)

    def _take_batch(self) -> _Batch:
        debits, self._debits = self._debits, []
        buckets, self._buckets = self._buckets, {}
        channels, self._channels = self._channels, defaultdict(int)
        # Taken out synchronously (no await in between), so a reservation running
        # during the write can never spend credit that is being given back.
        users = {uid: take_out(b) for uid, b in self._users.items()}
        tokens = {tid: take_out(b) for tid, b in self._tokens.items()}
        ids = [os.urandom(16).hex()]  # as unique as uuid4().hex, without building a UUID
        upto = 0
        journal = self._journal
        if journal is not None:
            # Every journal line so far is in ``debits``, and every segment still sealed is one
            # no committed batch carried (a batch in doubt is settled before this is taken).
            journal.seal()
            ids += [f"j:{self.worker}:{segment}" for segment, _ in journal.sealed]
            upto = journal.sealed[-1][1] if journal.sealed else 0
        return _Batch(ids, debits, buckets, channels, users, tokens, upto)

    def _write_batch(self, b: _Batch) -> Coroutine[Any, Any, None]:
        # The coroutine of _write itself (no frame of its own between the flush and the writes).
        return self._write(b.ids, b.debits, b.buckets, b.channels, b.users, b.tokens)

    def _booked(self, batch: _Batch) -> None:
        """``batch`` committed (or was found applied): its segments may go."""
        self._doubt = None
        if self._shipper is not None and any(d.log for d in batch.debits):
            self._shipper.pending = True
        self._settled.difference_update(d.request_id for d in batch.debits)
        if batch.upto and self._journal is not None:
            self._journal.drop(batch.upto)
        forget_idle(self._users)
        forget_idle(self._tokens)
        self.flushes += 1

    async def _write(
        self,
        ids: list[str],
        debits: list[Debit],
        buckets: dict[tuple[Any, ...], list[int]],
        channels: dict[int, int],
        users: dict[int, Taken],
        tokens: dict[int, Taken],
    ) -> None:
        """One transaction of the writes, made idempotent by ``ids`` (a batch's own, then the
        journal segments it carries): nothing is written when they were inserted before."""
        now = int(time.time())
        if self._one_hop:
            # The same writes and the transaction around them in one hop to the driver's thread
            # (sqlite_flush) instead of ~39, and none of SQLAlchemy's begin and commit. Imported
            # here, once a flush: it brings sqlite3 and SQLite's dialect, which a worker on
            # PostgreSQL or MySQL never needs.
            from newapi.billing.sqlite_flush import Plan
            from newapi.billing.sqlite_flush import run as run_sqlite_flush

            plan = Plan(ids, now, node=self.node)
            plan.logs = sqlite_log_batches([d.log_row() for d in debits if d.log])
            plan.users = [
                {"b_id": uid, "b_back": t.back, "b_used": t.used, "b_count": t.count}
                for uid, t in sorted(users.items())
                if t.back or t.used or t.count
            ]
            plan.tokens = [
                {"b_id": tid, "b_back": t.back, "b_used": t.used, "b_now": now}
                for tid, t in sorted(tokens.items())
                if t.back or t.used
            ]
            plan.channels = [{"b_id": cid, "b_used": used} for cid, used in sorted(channels.items()) if used]
            plan.buckets = [
                bucket_params(key, count, quota, tokens_used, self._node_name)
                for key, (count, quota, tokens_used) in sorted(buckets.items())
            ]
            plan.leases = [
                (kind, [(i, t.accounted) for i, t in sorted(taken.items()) if t.accounted])
                for kind, taken in (("user", users), ("token", tokens))
            ]
            await run_sqlite_flush(self._engine, plan)
            return
        async with self._engine.begin() as conn:
            try:
                await conn.execute(insert(BATCHES), [{"id": ident, "created_at": now} for ident in ids])
            except IntegrityError:
                return  # this batch was applied by an earlier attempt whose commit we did not see
            rows = [d.log_row() for d in debits if d.log]
            if rows and self._logs is not None:
                # Committed with the debits, copied to the log database after (ship_logs).
                await conn.execute(insert(OUTBOX), [{"payload": orjson.dumps(row).decode()} for row in rows])
            elif rows:
                # Straight to the driver: SQLAlchemy's per-row parameter handling would
                # cost as much again as the insert itself at thousands of rows a second.
                # On SQLite in multi-row statements (see sqlite_log_batches); PostgreSQL keeps
                # its executemany here (COPY is the Redis flusher's, not measured for this path).
                await insert_logs(conn, self._dialect, self._insert_logs_sql, rows, copy=False)
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
            for kind, taken in (("user", users), ("token", tokens)):
                await shrink_leases(conn, self.node, kind, {i: t.accounted for i, t in taken.items()}, now)

    async def ship_logs(self) -> int:
        """Copy the outbox's log rows to the log database (``LOG_SQL_DSN``); returns how many.

        A failure leaves them in the outbox for the next try; the debits are not held back.
        """
        return 0 if self._shipper is None else await self._shipper.ship()

    async def sweep_orphans(self) -> int:
        """Refund leases of workers that stopped flushing (killed); returns how many."""
        return await sweep_orphans(self._engine, self.node)

    # -- dead workers of this node ------------------------------------------------------

    async def reap_dead_workers(self) -> int:
        """Bill what dead workers of this node settled (their journals) and refund the rest of
        their leases; returns how many workers were cleaned up."""
        presence = self._presence
        if presence is None:
            return 0
        reaped = 0
        for worker in presence.others():
            with presence.claim_dead(worker) as claimed:
                if not claimed:
                    continue
                await self.replay_journal(worker)
                # Its leases hold what its unsettled requests had reserved: they are released.
                await refund_leases(self._engine, LEASES.c.node.like(f"%:{worker}"))
                reaped += 1
        return reaped

    async def _reap_quietly(self) -> None:
        try:
            await self.reap_dead_workers()
            if self._journal is not None and self._journal.wants_spares():
                await asyncio.to_thread(self._journal.prepare)
        except Exception:
            log.warning("cleaning up after a stopped worker failed; will retry", exc_info=True)

    async def replay_journal(self, worker: str) -> int:
        """Apply a dead worker's journal segments that its flushes had not; returns the debits."""
        applied = 0
        for segment, path in segments_of(self._node_dir, worker):
            debits = [Debit.from_record(line) for line in read_segment(path)]
            users: dict[int, Taken] = defaultdict(lambda: Taken(0, 0, 0, 0))
            tokens: dict[int, Taken] = defaultdict(lambda: Taken(0, 0, 0, 0))
            channels: dict[int, int] = defaultdict(int)
            buckets: dict[tuple[Any, ...], list[int]] = {}
            for debit in debits:
                cost = max(0, debit.quota)
                user = users[debit.user_id]
                user.back -= cost
                user.used += cost
                user.count += 1
                token = tokens[debit.token_id]
                if not debit.token_unlimited:
                    token.back -= cost
                token.used += cost
                token.count += 1
                channels[debit.channel_id] += debit.quota
                if self._data_export and debit.log:
                    add_to_bucket(buckets, debit)
            # Idempotent by the segment's id: skipped when the dead worker's flush carried it.
            await self._write([f"j:{worker}:{segment}"], debits, buckets, channels, users, tokens)
            if self._shipper is not None:
                self._shipper.pending = True
            os.unlink(path)
            applied += len(debits)
        discard(self._node_dir, worker)
        if applied:
            self.replayed += applied
            log.warning("replayed %d settlements journaled by stopped worker %s", applied, worker)
        return applied
