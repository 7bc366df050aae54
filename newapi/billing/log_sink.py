"""Consume and error logs into a separate log database (``LOG_SQL_DSN``), once per request.

Without ``LOG_SQL_DSN`` none of this runs: the ledgers write each log row in the
same transaction as its debit. With it, the two live in different databases and
no transaction spans both, so each ledger orders its writes so that a crash at
any point neither loses nor duplicates a log:

- **Redis ledger (logs first).** The stream entries stay pending until they are
  acknowledged, so a batch is always replayed whole after a crash. The flusher
  writes the batch's log rows to the log database and commits, then applies the
  debits to the main database and commits, then acknowledges. In the log
  database each row's request id goes into ``newapi_log_entries`` in the same
  transaction as the row; a replay (a crash after the log commit, or a main
  commit that failed) finds the ids there and writes nothing twice, while the
  main database's ``newapi_ledger_entries`` does the same for the debits.
- **Embedded SQL ledger (outbox).** Its settled debits live in worker memory
  until a flush, so nothing could replay the logs of a flush that a crash cut
  short. The flush commits the log rows to ``newapi_log_outbox`` in the main
  database, in the same transaction as the debits (one commit decides both);
  after the commit the rows are copied to the log database (claimed by request
  id as above) and only then deleted from the outbox. A crash between the copy
  and the delete copies them again, and the claims skip them; rows a dead
  worker left behind are shipped by any other worker.

A log database that is down holds back the Redis ledger's debits with their logs
(the entries wait in the stream, as they do for the main database); the embedded
ledger keeps the rows in its outbox and its debits go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from newapi.billing.db_writes import LOG_BATCHES, OUTBOX, claim_ids, insert_logs, insert_logs_sql
from newapi.billing.ledger import R_LOG, R_REQUEST, record_from_debit_json
from newapi.storage.log_db import LOG_ENTRIES

log = logging.getLogger(__name__)

#: Seconds a written log's request id is kept at least (replays come within minutes).
CLAIM_RETENTION = 2 * 86400


class LogSink:
    """The separate log database's writer: rows in ``LOG_COLUMNS`` order, once per request id."""

    def __init__(self, engine: AsyncEngine, dialect: str) -> None:
        self.engine = engine
        self.dialect = dialect
        self._insert = insert_logs_sql(dialect)
        self.written = 0
        self.skipped = 0

    async def write(self, rows: Sequence[Sequence[Any]], now: int | None = None) -> int:
        """Write the rows whose request id has no log yet, in one transaction; returns how many."""
        if not rows:
            return 0
        firsts: dict[str, Sequence[Any]] = {}
        anonymous: list[Sequence[Any]] = []  # no request id: nothing to key them by
        for row in rows:
            ident = row[R_REQUEST]
            if not ident:
                anonymous.append(row)
            elif ident not in firsts:
                firsts[ident] = row
        moment = int(time.time()) if now is None else now
        async with self.engine.begin() as conn:
            new = await self._claim(conn, list(firsts), moment) if firsts else set()
            # Tuples: rows decoded from JSON are lists, which the drivers' executemany refuses.
            fresh = [tuple(row) for ident, row in firsts.items() if ident in new]
            fresh += [tuple(row) for row in anonymous]
            await insert_logs(conn, self.dialect, self._insert, fresh)
        self.written += len(fresh)
        self.skipped += len(rows) - len(fresh)
        return len(fresh)

    async def write_batches(self, payloads: bytes, now: int | None = None) -> int:
        """The logs of debit batches as the Redis stream holds them (one JSON array of arrays of
        records), parsed and claimed by a PostgreSQL log database itself; returns how many."""
        moment = int(time.time()) if now is None else now
        async with self.engine.begin() as conn:
            result = await conn.exec_driver_sql(LOG_BATCHES, (payloads, moment))
        written = max(result.rowcount, 0)
        self.written += written
        return written

    async def _claim(self, conn: AsyncConnection, idents: list[str], now: int) -> set[str]:
        """Record request ids in the log database; returns those not recorded before."""
        if self.dialect == "postgresql":
            result = await conn.exec_driver_sql(
                "INSERT INTO newapi_log_entries (id, created_at) SELECT unnest($1::varchar[]), $2::bigint"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                (idents, now),
            )
            return {row[0] for row in result.all()}
        return await claim_ids(conn, self.dialect, "newapi_log_entries", idents, now)

    async def ship(self, main: AsyncEngine, limit: int = 1000) -> int:
        """Copy the main database's outbox to the log database, then empty it; returns how many rows."""
        total = 0
        while True:
            async with main.begin() as conn:
                batch = (
                    await conn.execute(
                        select(OUTBOX.c.id, OUTBOX.c.payload).order_by(OUTBOX.c.id).limit(limit)
                    )
                ).all()
            if not batch:
                return total
            await self.write([orjson.loads(payload) for _, payload in batch])
            async with main.begin() as conn:
                await conn.execute(delete(OUTBOX).where(OUTBOX.c.id.in_([ident for ident, _ in batch])))
            total += len(batch)
            if len(batch) < limit:
                return total

    async def prune(self, now: float | None = None, chunk: int = 10_000) -> int:
        """Forget request ids older than any replay can bring back; returns how many."""
        cutoff = int((time.time() if now is None else now) - CLAIM_RETENTION)
        old = LOG_ENTRIES.c.created_at < cutoff
        if self.dialect == "mysql":
            statement = delete(LOG_ENTRIES).where(old).with_dialect_options(mysql_limit=chunk)
        else:
            ids = select(LOG_ENTRIES.c.id).where(old).limit(chunk).scalar_subquery()
            statement = delete(LOG_ENTRIES).where(LOG_ENTRIES.c.id.in_(ids))
        removed = 0
        while True:
            async with self.engine.begin() as conn:
                result = await conn.execute(statement)
            removed += max(result.rowcount, 0)
            if result.rowcount < chunk:
                return removed


def stream_log_rows(entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> list[list[Any]]:
    """The log rows a batch of Redis ledger stream entries carries, in entry order."""
    rows: list[list[Any]] = []
    for _entry_id, fields in entries:
        kind = fields.get(b"k", b"")
        if kind == b"debits":
            records = orjson.loads(fields[b"r"])
        elif kind == b"adjust":
            continue
        elif b"r" in fields:
            records = [orjson.loads(fields[b"r"])]
        elif b"d" in fields:
            records = [record_from_debit_json(fields[b"d"])]
        else:
            continue
        rows.extend(record[:R_LOG] for record in records if record[R_LOG])
    return rows
