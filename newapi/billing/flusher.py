"""Writing the Redis ledger's stream to the database, exactly once per settlement.

One flusher runs at a time across every worker and node (a Redis lease). It
reads a batch of stream entries through a consumer group (pending entries
first: those a dead flusher read but never acknowledged); an entry carries one
settle.lua batch of debit records, or one adjustment or log. It applies them in
ONE database transaction — the request ids into ``newapi_ledger_entries``
(conflicts skipped), then the consume logs, the aggregated counter deltas and
the hourly ``quota_data`` buckets of the settlements that were new — and only
after the commit acknowledges and deletes the entries and lowers the backlog
counter, in one script. A crash at any point leaves the entries pending for
the next flusher; the request ids make the replay a no-op where the commit had
happened. Deadlocks and timeouts are retried with jitter; nothing is dropped.
With a separate log database (``LOG_SQL_DSN``) the logs are written there first,
in a transaction of their own that is idempotent per request id, and the main
transaction carries only the debits (see :mod:`newapi.billing.log_sink`).

The sweeper releases holds whose request outlived its hold expiry (a worker
killed mid-request leaves them behind). It leaves each one empty for a day, so
that a request that was only slow still records its debit when it finishes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import uuid
from collections import defaultdict
from typing import Any, cast

import orjson
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from newapi.billing.db_writes import (
    APPLY_BATCHES,
    APPLY_BATCHES_WITHOUT_LOGS,
    SETTLE_CHANNEL,
    SETTLE_TOKEN,
    SETTLE_USER,
    bump_bucket,
    claim_ids,
    insert_logs,
    insert_logs_sql,
)
from newapi.billing.ledger import (
    R_CHANNEL,
    R_COMPLETION,
    R_CREATED,
    R_GROUP,
    R_LOG,
    R_MODEL,
    R_PROMPT,
    R_QUOTA,
    R_REQUEST,
    R_TOKEN,
    R_TOKEN_UNLIMITED,
    R_USER,
    R_USERNAME,
    record_from_debit_json,
)
from newapi.billing.log_sink import LogSink, stream_log_rows
from newapi.billing.redis_keys import LedgerKeys, script_source
from newapi.resp.client import RespClient, Script
from newapi.storage.ledger_tables import LedgerEntry

log = logging.getLogger(__name__)

GROUP = "flusher"
#: Seconds an applied entry's id is kept at least (replays come from the stream, within minutes).
ENTRY_RETENTION = 2 * 86400.0
#: Seconds between prunings of applied-entry ids.
PRUNE_EVERY = 600.0
CONSUMER = "flusher"  # one flusher at a time (the lease), so one consumer name
#: The most payload bytes one statement of a PostgreSQL flush carries (whole stream entries, at
#: least one). A full batch under load is 200 entries of ~12 KB: as one 2.4 MB statement it was
#: copied into asyncpg's bind data, its message and uvloop's write buffer at once, and the
#: flushing worker's peak RSS stood 13 MB above the other worker's (bench/README.md, "A
#: PostgreSQL + Redis worker's memory"). The statements go in the same transaction.
STATEMENT_BYTES = 256 * 1024

#: The lease renewed by its owner, or taken when free: one round trip a second per worker
#: (a renewal, then a SET NX for the workers that do not lead, were two).
_LEAD = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


def statement_chunks(payloads: list[bytes], limit: int) -> list[list[bytes]]:
    """``payloads`` in order, cut into runs of at most ``limit`` bytes (a longer payload alone)."""
    chunks: list[list[bytes]] = []
    size = limit
    for payload in payloads:
        if size + len(payload) > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(payload)
        size += len(payload) + 1
    return chunks


class Flusher:
    def __init__(
        self,
        redis: Any,
        engine: AsyncEngine,
        dialect: str,
        *,
        prefix: str = "",
        node_name: str = "",
        batch: int = 200,
        interval: float = 1.0,
        lease_ttl: float = 15.0,
        data_export: bool = True,
        fast: RespClient | None = None,
        tombstone_ttl: float = 86400.0,
        logs: LogSink | None = None,
        worker: str = "",
    ) -> None:
        self._redis = redis
        # Its own lean connection (XREADGROUP BLOCK must not stall anyone else's commands);
        # hiredis turns a batch of a thousand entries into lists far cheaper than redis-py.
        self._fast = fast
        self._engine = engine
        self._dialect = dialect
        self.keys = LedgerKeys(prefix)
        self._node_name = node_name
        # Stream entries per transaction: each carries a settle.lua batch (tens of settlements
        # under load), so this bounds a transaction at a few thousand debits.
        self._batch = batch
        self._interval = interval
        self._lease_ttl_ms = int(lease_ttl * 1000)
        self._data_export = data_export
        # How long a swept orphan's empty hold waits for its request to settle after all.
        self._tombstone_ms = int(tombstone_ttl * 1000)
        # Ends with the worker's id when it has one: a survivor that cleans up after the worker
        # then hands the lease on at once (redis_reaper), not after lease_ttl.
        self._owner = f"{node_name}:{worker or f'{os.getpid()}:{uuid.uuid4().hex[:8]}'}"
        # The lease and the sweep's index read go on the flusher's own lean connection, which
        # only this loop uses, one command at a time (redis-py costs ~0.1 ms of Python each).
        self._take_lease: Any = Script(fast, _LEAD) if fast is not None else redis.register_script(_LEAD)
        self._release = redis.register_script(script_source("release.lua"))
        self._ack: Any = (
            Script(fast, script_source("ack.lua"))
            if fast is not None
            else redis.register_script(script_source("ack.lua"))
        )
        self._insert_logs = insert_logs_sql(dialect)
        # A separate log database takes the logs; the main transaction then writes none.
        self._logs = logs
        self._apply_batches = APPLY_BATCHES if logs is None else APPLY_BATCHES_WITHOUT_LOGS
        self._group_ready = False
        self.applied = 0
        self.replayed = 0

    # -- leadership ---------------------------------------------------------------------

    async def _lead(self) -> bool:
        return bool(await self._take_lease(keys=[self.keys.lease], args=[self._owner, self._lease_ttl_ms]))

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.keys.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # -- the loop -----------------------------------------------------------------------

    async def run_forever(self) -> None:
        sweep_at = 0.0
        prune_at = time.monotonic() + PRUNE_EVERY
        while True:
            try:
                if time.monotonic() >= prune_at:
                    prune_at = time.monotonic() + PRUNE_EVERY
                    if await self._lead():
                        await self.prune()
                        if self._logs is not None:
                            await self._logs.prune()
                if time.monotonic() >= sweep_at:
                    # Releasing is atomic and idempotent, so every worker sweeps, leader or not:
                    # a killed leader's orphans don't wait for its lease to expire.
                    await self.sweep()
                    sweep_at = time.monotonic() + self._interval
                if not await self._lead():
                    await asyncio.sleep(self._interval)
                    continue
                await self._ensure_group()
                done, _ = await self._flush_batch(block_ms=int(self._interval * 1000))
                if done < self._batch:
                    # A partial batch: let the next one fill for up to BATCH_UPDATE_INTERVAL.
                    await asyncio.sleep(self._interval)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                log.warning("flusher lost Redis; retrying", exc_info=True)
                self._group_ready = False
                await asyncio.sleep(self._interval)

    async def flush_once(self, block_ms: int | None = None) -> int:
        """Apply one batch (pending entries first); returns how many records it acknowledged
        (settlements, adjustments and logs)."""
        return (await self._flush_batch(block_ms))[1]

    async def _flush_batch(self, block_ms: int | None = None) -> tuple[int, int]:
        """One batch: (stream entries, records) acknowledged."""
        await self._ensure_group()
        entries = await self._read(pending=True)
        if not entries:
            entries = await self._read(pending=False, block_ms=block_ms)
        if not entries:
            return 0, 0
        settlements = await self._apply_with_retry(entries)
        ids = [entry_id for entry_id, _ in entries]
        # Acknowledged only now, after the commit; the backlog counter drops in the same step.
        await self._ack(keys=[self.keys.stream, self.keys.backlog], args=[GROUP, settlements, *ids])
        others = sum(1 for _, fields in entries if fields.get(b"k") != b"debits")
        return len(ids), settlements + others

    async def drain(self, rounds: int = 10_000) -> int:
        """Flush until the stream is empty (tests, shutdown)."""
        total = 0
        for _ in range(rounds):
            done = await self.flush_once()
            if done == 0:
                break
            total += done
        return total

    async def _read(
        self, pending: bool, block_ms: int | None = None
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        command: list[object] = ["XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", self._batch]
        if not pending and block_ms:
            command += ["BLOCK", block_ms]
        command += ["STREAMS", self.keys.stream, "0" if pending else ">"]
        if self._fast is not None:
            response = await self._fast.execute(*command)
        else:
            response = await self._redis.execute_command(*command, NEVER_DECODE=True)
        if not response:
            return []
        _, entries = response[0]
        out: list[tuple[bytes, dict[bytes, bytes]]] = []
        for entry_id, fields in entries:
            # A pending read also lists entries deleted since (their fields are gone); skip those.
            if fields:
                if isinstance(fields, list):
                    fields = dict(zip(fields[::2], fields[1::2], strict=True))
                out.append((entry_id, fields))
        return out

    async def _apply_with_retry(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> int:
        delay = 0.05
        while True:
            try:
                if self._logs is not None:
                    await self._write_logs(entries)
                async with self._engine.begin() as conn:
                    return await self._apply(conn, entries)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Deadlock, timeout, database down: keep the entries and try again.
                log.warning("ledger flush failed; retrying", exc_info=True)
                await asyncio.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 5.0)

    async def _write_logs(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """The batch's logs into the separate log database, committed before the debits are."""
        assert self._logs is not None
        if self._logs.dialect == "postgresql" and all(fields.get(b"k") == b"debits" for _, fields in entries):
            # As _apply_in_database: the log database parses the payloads, not this worker.
            await self._logs.write_batches(b"[%b]" % b",".join([fields[b"r"] for _, fields in entries]))
        else:
            await self._logs.write(stream_log_rows(entries))

    async def _apply(self, conn: AsyncConnection, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> int:
        """Apply ``entries`` in ``conn``'s transaction; returns how many settlements they carry."""
        now = int(time.time())
        if self._dialect == "postgresql" and all(fields.get(b"k") == b"debits" for _, fields in entries):
            return await self._apply_in_database(conn, entries, now)
        parsed: dict[str, tuple[bytes, Any]] = {}
        settlements = 0
        for _entry_id, fields in entries:
            kind = fields.get(b"k", b"")
            if kind == b"debits":
                # One settle.lua batch: a JSON array of debit records, each keyed by its request id.
                records = orjson.loads(fields[b"r"])
                settlements += len(records)
                for record in records:
                    parsed.setdefault(record[R_REQUEST], (b"debit", record))
                continue
            ident = fields.get(b"id", b"").decode()
            if ident and ident not in parsed:
                parsed[ident] = (kind, fields)
        if not parsed:
            return settlements
        new = await self._claim(conn, list(parsed), now)
        self.replayed += len(parsed) - len(new)
        logs: list[list[Any]] = []
        users: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # back, used, count
        tokens: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # back, used
        # Debits grouped by everything their counters depend on: one dict step per debit here,
        # and the per-user, per-token, per-channel and hourly sums come from the few groups.
        groups: dict[tuple[Any, ...], list[int]] = {}
        for ident in new:
            kind, fields = parsed[ident]
            if kind == b"adjust":
                delta = int(fields[b"delta"])
                who = int(fields[b"who"])
                if fields.get(b"kind") == b"token":
                    tokens[who][0] += delta
                else:
                    users[who][0] += delta
                continue
            if isinstance(fields, list):
                record = fields
            elif b"r" in fields:
                record = orjson.loads(fields[b"r"])
            else:
                record = record_from_debit_json(fields[b"d"])
            logged = record[R_LOG]
            if logged and self._logs is None:
                logs.append(record)
            if kind != b"debit":
                continue
            created = record[R_CREATED]
            key = (
                record[R_USER],
                record[R_TOKEN],
                record[R_CHANNEL],
                record[R_TOKEN_UNLIMITED],
                logged,
                record[R_USERNAME],
                record[R_MODEL],
                record[R_GROUP],
                created - created % 3600,
            )
            group = groups.get(key)
            if group is None:
                group = groups[key] = [0, 0, 0]
            group[0] += 1
            group[1] += max(0, record[R_QUOTA])
            group[2] += record[R_PROMPT] + record[R_COMPLETION]
        # The log row is the record's prefix; the two flags after it stay behind.
        await insert_logs(conn, self._dialect, self._insert_logs, [record[:R_LOG] for record in logs])
        await self._write_counters(conn, groups, users, tokens, now)
        self.applied += len(new)
        return settlements

    async def _write_counters(
        self,
        conn: AsyncConnection,
        groups: dict[tuple[Any, ...], list[int]],
        users: dict[int, list[int]],
        tokens: dict[int, list[int]],
        now: int,
    ) -> None:
        """The counter deltas of the new debits (``groups``) and adjustments, rows in id order."""
        channels: dict[int, int] = defaultdict(int)
        buckets: dict[tuple[Any, ...], list[int]] = {}
        export = self._data_export
        for (user_id, token_id, channel_id, unlimited, logged, username, model, group_name, hour), (
            count,
            cost,
            used,
        ) in groups.items():
            user = users[user_id]
            user[0] -= cost
            user[1] += cost
            user[2] += count
            token = tokens[token_id]
            if not unlimited:
                token[0] -= cost
            token[1] += cost
            channels[channel_id] += cost
            if export and logged:
                bucket = buckets.setdefault(
                    (user_id, username, model, hour, group_name, token_id, channel_id), [0, 0, 0]
                )
                bucket[0] += count
                bucket[1] += cost
                bucket[2] += used
        rows = [
            {"b_id": u, "b_back": v[0], "b_used": v[1], "b_count": v[2]} for u, v in sorted(users.items())
        ]
        if rows:
            await conn.execute(SETTLE_USER, rows)
        rows = [
            {"b_id": t, "b_back": v[0], "b_used": v[1], "b_now": now} for t, v in sorted(tokens.items()) if t
        ]
        if rows:
            await conn.execute(SETTLE_TOKEN, rows)
        rows = [{"b_id": c, "b_used": used} for c, used in sorted(channels.items()) if c and used]
        if rows:
            await conn.execute(SETTLE_CHANNEL, rows)
        for key, (count, quota, used) in sorted(buckets.items()):
            await bump_bucket(conn, key, count, quota, used, self._node_name)

    async def _apply_in_database(
        self, conn: AsyncConnection, entries: list[tuple[bytes, dict[bytes, bytes]]], now: int
    ) -> int:
        """PostgreSQL takes the batch payloads as they are: it parses the records, claims their
        request ids, writes the new ones' logs and returns them grouped for the counters, so
        the worker does nothing per debit."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        settlements = 0
        for chunk in statement_chunks([fields[b"r"] for _, fields in entries], STATEMENT_BYTES):
            payloads = b"[" + b",".join(chunk) + b"]"  # one JSON array of settle.lua batches
            result = await conn.exec_driver_sql(self._apply_batches, (payloads, now))
            del payloads
            parsed = 0
            for raw in result.all():
                row: tuple[Any, ...] = tuple(raw)
                parsed = int(row[12])
                if row[0] is None:
                    continue  # the row that carries the total when nothing was new
                # A group seen in an earlier statement: the request ids are claimed in the same
                # transaction, so a later statement's rows are only debits new to both.
                key = tuple(row[:9])
                group = groups.get(key)
                if group is None:
                    groups[key] = [int(row[9]), int(row[10]), int(row[11])]
                else:
                    group[0] += int(row[9])
                    group[1] += int(row[10])
                    group[2] += int(row[11])
            settlements += parsed
        new = sum(group[0] for group in groups.values())
        self.replayed += settlements - new
        users: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        tokens: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        await self._write_counters(conn, groups, users, tokens, now)
        self.applied += new
        return settlements

    async def prune(self, now: float | None = None, chunk: int = 10_000) -> int:
        """Delete applied-entry ids that no stream entry can bring back; returns how many.

        An entry still in the stream (pending or not yet read) was written before any claim
        of its ids, so ids claimed before the oldest entry's time, less an hour, are safe to
        forget; and none younger than ENTRY_RETENTION goes.
        """
        moment = time.time() if now is None else now
        oldest = await self._redis.xrange(self.keys.stream, count=1)
        first = int(oldest[0][0].split(b"-")[0]) / 1000 if oldest else moment
        cutoff = int(min(moment - ENTRY_RETENTION, first - 3600))
        removed = 0
        entries = cast(Table, LedgerEntry.__table__)
        old = entries.c.created_at < cutoff
        if self._dialect == "mysql":
            statement = delete(entries).where(old).with_dialect_options(mysql_limit=chunk)
        else:
            ids = select(entries.c.id).where(old).limit(chunk).scalar_subquery()
            statement = delete(entries).where(entries.c.id.in_(ids))
        while True:
            async with self._engine.begin() as conn:
                result = await conn.execute(statement)
            removed += max(result.rowcount, 0)
            if result.rowcount < chunk:
                return removed

    async def _claim(self, conn: AsyncConnection, idents: list[str], now: int) -> set[str]:
        """Record entry ids; returns those not seen before (the ones to apply).

        Straight to the driver: building this multi-row statement through SQLAlchemy
        compiles it anew for every batch size, which costs more than the insert.
        """
        if self._dialect == "postgresql":
            # Only the ids that were there already come back (normally none): the insert's own
            # RETURNING decides, so two flushers overlapping at a lease handover can't both win.
            result = await conn.exec_driver_sql(
                "WITH fresh AS (INSERT INTO newapi_ledger_entries (id, created_at)"
                " SELECT unnest($1::varchar[]), $2::bigint ON CONFLICT (id) DO NOTHING RETURNING id)"
                " SELECT i FROM unnest($1::varchar[]) AS i EXCEPT ALL SELECT id FROM fresh",
                (idents, now),
            )
            seen = result.all()
            return set(idents).difference(row[0] for row in seen) if seen else set(idents)
        return await claim_ids(conn, self._dialect, "newapi_ledger_entries", idents, now)

    async def close(self) -> None:
        if self._fast is not None:
            await self._fast.aclose()

    # -- orphaned holds -------------------------------------------------------------------

    async def sweep(self, now_ms: int | None = None, limit: int = 500) -> int:
        """Release holds past their expiry; returns how many were released."""
        cutoff = int(time.time() * 1000) if now_ms is None else now_ms
        if self._fast is not None:
            expired = await self._fast.execute(
                "ZRANGEBYSCORE", self.keys.holds, "-inf", cutoff, "LIMIT", 0, limit
            )
        else:
            expired = await self._redis.zrangebyscore(self.keys.holds, "-inf", cutoff, start=0, num=limit)
        released = 0
        for raw in expired:
            request_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            user, token = await self._redis.hmget(self.keys.hold(request_id), "u", "t")
            if user is None:
                await self._redis.zrem(self.keys.holds, request_id)
                continue
            amount = await self._release(
                keys=[
                    self.keys.hold(request_id),
                    self.keys.user(int(user)),
                    self.keys.token(int(token or 0)),
                    self.keys.holds,
                ],
                args=[request_id, self._tombstone_ms],
            )
            released += 1 if int(amount) else 0
        if released:
            log.warning("released %d holds left by requests that never finished", released)
        return released
